// c10d process groups for data-parallel training (docs/distributed.md): a TCPStore rendezvous
// with torchrun's variables, Gloo on CPU, NCCL on CUDA when this libtorch and the build have it,
// and the collectives the training loop needs: bucketed all-reduce (sum, avg, max, min),
// bucketed broadcast from a root, barrier, and an all-gather of small byte strings (config
// agreement checks). Every collective is a Promise (the waiting happens on a libuv worker thread,
// so JS timers and signal handlers keep running), every wait has a deadline, and a failed
// collective leaves the group "broken" so that later calls fail at once instead of queueing
// behind a stuck one.
//
// The bucketing follows the idea of PyTorch's DistributedDataParallel reducer
// (pytorch/pytorch torch/csrc/distributed/c10d/reducer.cpp): tensors are packed in their given
// order into flat buffers of at most `bucketBytes` per dtype and device, each buffer is reduced
// with one collective, and the results are copied back. Buckets are pipelined: the next one is
// packed while the previous one is on the wire (Gloo runs it on its own threads). Before any
// data moves, the ranks compare a fingerprint of their buckets (CheckSameLayout).
//
// Groups are numbers into a process-wide table, like tensor handles. A group's objects are
// released off the JS thread (destroy() is a Promise too), because Gloo's destructor joins its
// worker threads and may have to wait for a stuck collective to reach its own timeout.
//
// libtorch versions: compiled and tested against Debian's 1.13.1. For 2.x the process groups
// derive from c10d::Backend instead of c10d::ProcessGroup (guarded below); that path and the
// NCCL path compile only where their headers exist and are untested here (no 2.x, no GPU).
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <torch/version.h>

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/Types.hpp>
#if TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/distributed/c10d/Backend.hpp>
#else
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#endif

#ifdef EXT5_HAVE_GLOO_HEADERS
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif

// NCCL needs a CUDA libtorch and nccl.h on the include path (pip: site-packages/nvidia/nccl/
// include, e.g. through CPLUS_INCLUDE_PATH). ProcessGroupNCCL.hpp is empty unless USE_C10D_NCCL.
#if defined(EXT5_WITH_CUDA) && defined(__has_include)
#if __has_include(<nccl.h>) && __has_include(<torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>)
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL 1
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#define EXT5_HAVE_NCCL 1
#endif
#endif

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common.h"

namespace ext5 {
namespace {

#if TORCH_VERSION_MAJOR >= 2
using PgBase = c10d::Backend;
#else
using PgBase = c10d::ProcessGroup;
#endif
using Ms = std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// At most this many bucket collectives are on the wire at once: enough to overlap packing with
// communication, without doubling the memory of all gradients.
constexpr size_t kMaxInFlight = 2;

struct Group {
  int rank = 0;
  int size = 1;
  std::string backend;
  std::string where;  // "host:port", for messages
  int64_t timeoutMs = 0;
  // Where the group's own small messages (fingerprints, lengths) live: CPU for Gloo, this
  // rank's GPU for NCCL (which moves CUDA tensors only).
  at::Device comm_device = at::kCPU;
  std::mutex mu;
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<PgBase> pg;
  bool busy = false;
  bool destroyed = false;
  std::string broken;  // why the group cannot be used any more; empty while healthy
  // Flat buffers reused across calls, one per bucket in flight (only the collective holding the
  // busy flag touches them): fresh 25 MB buffers each step cost page faults and allocator time.
  std::vector<at::Tensor> scratch = std::vector<at::Tensor>(kMaxInFlight);
};

std::mutex g_table_mu;
// Leaked on purpose: at process exit a stuck Gloo thread must not make static destructors hang.
auto* g_table = new std::map<int64_t, std::shared_ptr<Group>>();
int64_t g_next_id = 1;

// One collective's hold on its group. The reference to the process group is dropped on the
// worker thread when the collective ends (so a group destroyed meanwhile is torn down off the JS
// thread); the busy flag is cleared on the JS thread just before the promise settles, so a group
// is busy exactly while a promise of it is pending.
struct Lease {
  std::shared_ptr<Group> group;
  c10::intrusive_ptr<PgBase> pg;
  void Finish(const std::string& broken_reason) {
    std::lock_guard<std::mutex> lock(group->mu);
    if (!broken_reason.empty() && group->broken.empty()) group->broken = broken_reason;
    if (group->destroyed) group->scratch.assign(kMaxInFlight, at::Tensor());
    pg.reset();
  }
  void Release() {
    std::lock_guard<std::mutex> lock(group->mu);
    group->busy = false;
  }
};

// common.h's PromiseWorker plus a hook on the JS thread that releases the lease before the
// promise settles, on success and on failure alike.
template <typename R>
class CollectiveWorker : public Napi::AsyncWorker {
 public:
  CollectiveWorker(Napi::Env env, std::shared_ptr<Lease> lease, std::function<R()> work,
                   std::function<Napi::Value(Napi::Env, R&)> done)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), lease_(std::move(lease)),
        work_(std::move(work)), done_(std::move(done)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      result_ = work_();
    } catch (...) {
      auto [code, message] = DescribeCurrentException();
      code_ = code;
      SetError(message);
    }
  }
  void OnOK() override {
    lease_->Release();
    try {
      deferred_.Resolve(done_(Env(), *result_));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }
  void OnError(const Napi::Error& e) override {
    lease_->Release();
    deferred_.Reject(MakeError(Env(), code_, e.Message()).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<Lease> lease_;
  std::function<R()> work_;
  std::function<Napi::Value(Napi::Env, R&)> done_;
  std::optional<R> result_;
  std::string code_;
};

template <typename R>
Napi::Promise RunCollectiveAsync(Napi::Env env, std::shared_ptr<Lease> lease, std::function<R()> work,
                                 std::function<Napi::Value(Napi::Env, R&)> done) {
  auto* w = new CollectiveWorker<R>(env, std::move(lease), std::move(work), std::move(done));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

bool Contains(const std::string& s, const char* needle) {
  std::string a = s, b = needle;
  std::transform(a.begin(), a.end(), a.begin(), ::tolower);
  std::transform(b.begin(), b.end(), b.begin(), ::tolower);
  return a.find(b) != std::string::npos;
}

std::string Peers(int size) {
  return std::to_string(size - 1) + (size - 1 == 1 ? " peer" : " peers");
}

// Turns a libtorch/Gloo failure of `op` into an ArgError with a stable code and a message that
// names the operation, this rank and the peer count.
[[noreturn]] void ThrowDistFailure(const std::string& op, const Group& g, int64_t timeout_ms, const std::string& code,
                                   const std::string& raw) {
  std::string who = "rank " + std::to_string(g.rank) + " of " + std::to_string(g.size);
  if (code == "EXT5_DIST_TIMEOUT" || Contains(raw, "timed out") || Contains(raw, "timeout")) {
    ThrowCode("EXT5_DIST_TIMEOUT", op + " timed out after " + std::to_string(timeout_ms) + " ms waiting for " +
                                       Peers(g.size) + " (" + who + "): a peer is stuck, much slower, or gone. (" +
                                       raw + ")");
  }
  if (Contains(raw, "closed by peer") || Contains(raw, "connection reset") || Contains(raw, "broken pipe") ||
      Contains(raw, "connection refused") || Contains(raw, "socket closed") || Contains(raw, "read error") ||
      Contains(raw, "eof")) {
    ThrowCode("EXT5_DIST_PEER_LOST", op + " failed on " + who + ": a peer process closed its connection (it " +
                                         "exited or crashed). (" + raw + ")");
  }
  ThrowCode("EXT5_DIST", op + " failed on " + who + ": " + raw +
                             " (every rank must call the same collectives in the same order, with tensors of "
                             "the same shapes and dtypes)");
}

std::shared_ptr<Group> Find(int64_t id, const std::string& op) {
  std::lock_guard<std::mutex> lock(g_table_mu);
  auto it = g_table->find(id);
  if (it == g_table->end()) ThrowCode("EXT5_INVALID_ARG", op + ": no process group with id " + std::to_string(id));
  return it->second;
}

std::shared_ptr<Lease> Acquire(int64_t id, const std::string& op) {
  auto g = Find(id, op);
  std::lock_guard<std::mutex> lock(g->mu);
  if (g->destroyed) {
    ThrowCode("EXT5_DIST_DESTROYED", op + " on a destroyed process group (rank " + std::to_string(g->rank) + " of " +
                                         std::to_string(g->size) + "); create a new one with initFromEnv()");
  }
  if (!g->broken.empty()) {
    ThrowCode("EXT5_DIST_BROKEN", op + ": this process group is unusable after an earlier failure (" + g->broken +
                                      "); destroy it and restart the job");
  }
  if (g->busy) {
    ThrowCode("EXT5_BUSY", op + ": another collective on this process group is still running; await it first "
                                "(collectives must run one at a time, in the same order on every rank)");
  }
  g->busy = true;
  auto lease = std::make_shared<Lease>();
  lease->group = g;
  lease->pg = g->pg;
  return lease;
}

int64_t TimeoutArg(const Napi::Value& v, const Group& g) {
  if (v.IsUndefined() || v.IsNull()) return g.timeoutMs;
  int64_t t = GetInt(v, "timeoutMs");
  if (t <= 0) ThrowArg("timeoutMs must be > 0 (milliseconds)");
  return t;
}

// Runs the body of a collective on the worker thread; a failure is classified and rethrown.
template <typename F>
void RunCollective(const std::shared_ptr<Lease>& lease, const std::string& op, int64_t timeout_ms, F&& body) {
  const Group& g = *lease->group;
  try {
    body();
  } catch (...) {
    auto [code, raw] = DescribeCurrentException();
    // Our own checks fail before any data is sent, on every rank alike: the group stays usable.
    if (code == "EXT5_INVALID_ARG" || code == "EXT5_DIST_MISMATCH") {
      lease->Finish("");
      throw;
    }
    // Anything else may have left peers mid-collective: nothing later could line up.
    lease->Finish(op + " failed: " + raw);
    ThrowDistFailure(op, g, timeout_ms, code, raw);
  }
  lease->Finish("");
}

void WaitUntil(const c10::intrusive_ptr<c10d::Work>& work, Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<Ms>(deadline - Clock::now());
  if (left.count() <= 0) ThrowCode("EXT5_DIST_TIMEOUT", "deadline passed before the collective completed");
  work->wait(left);
}

// ---- tensors and buckets ---------------------------------------------------------------------

enum class Op { kSum, kAvg, kMax, kMin };

Op ParseOp(const std::string& s) {
  if (s == "sum") return Op::kSum;
  if (s == "avg") return Op::kAvg;
  if (s == "max") return Op::kMax;
  if (s == "min") return Op::kMin;
  ThrowArg("op must be 'sum', 'avg', 'max' or 'min', got '" + s + "'");
}

c10d::ReduceOp ToReduceOp(Op op) {
  switch (op) {
    case Op::kMax: return c10d::ReduceOp::MAX;
    case Op::kMin: return c10d::ReduceOp::MIN;
    default: return c10d::ReduceOp::SUM;  // avg = sum, then divide (Gloo has no AVG in 1.13)
  }
}

bool SupportedDtype(at::ScalarType t) {
  switch (t) {
    case at::kFloat:
    case at::kDouble:
    case at::kHalf:
    case at::kBFloat16:
    case at::kInt:
    case at::kLong:
    case at::kByte:
    case at::kChar: return true;
    default: return false;
  }
}

// The dtype a tensor travels in: Gloo has no bfloat16 in 1.13, so bfloat16 is summed in float32
// (exactly representable, and a more accurate sum).
at::ScalarType WireDtype(at::ScalarType t, const std::string& backend) {
  if (t == at::kBFloat16 && backend == "gloo") return at::kFloat;
  return t;
}

// Reads the tensor list, or with grads=true the gradients of a parameter list: parameters that
// do not require grad are skipped; a parameter that requires grad but has none gets a zero
// gradient, so that every rank reduces the same buckets (like DDP's unused parameters).
std::vector<at::Tensor> ReadTensors(const Napi::Value& v, bool grads, const Group& g, Op op, const char* what) {
  if (!v.IsArray()) ThrowArg(std::string(what) + " must be an array of tensors");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) {
    std::string name = std::string(what) + "[" + std::to_string(i) + "]";
    at::Tensor t = TensorHandle::Get(a.Get(i), name.c_str());
    if (grads) {
      if (!t.requires_grad()) continue;
      at::Tensor gr = t.grad();
      if (!gr.defined()) {
        t.mutable_grad() = at::zeros_like(t);
        gr = t.grad();
      }
      t = gr;
      name += ".grad";
    }
    if (t.is_sparse()) ThrowArg(name + " is sparse; only dense tensors can be reduced");
    if (!SupportedDtype(t.scalar_type())) {
      ThrowCode("EXT5_DTYPE", name + " is " + DtypeName(t.scalar_type()) +
                                  "; collectives take float32, float64, float16, bfloat16, int32, int64, int8 or uint8");
    }
    if (op == Op::kAvg && !at::isFloatingType(t.scalar_type())) {
      ThrowCode("EXT5_DTYPE", name + " is " + DtypeName(t.scalar_type()) + "; op 'avg' needs floating-point tensors");
    }
    if (g.backend == "gloo" && !t.device().is_cpu()) {
      ThrowCode("EXT5_DEVICE", name + " is on " + DeviceName(t.device()) +
                                   "; the gloo backend works on CPU tensors (use backend 'nccl' for CUDA)");
    }
    if (g.backend == "nccl" && !t.device().is_cuda()) {
      ThrowCode("EXT5_DEVICE", name + " is on " + DeviceName(t.device()) + "; the nccl backend needs CUDA tensors");
    }
    out.push_back(t);
  }
  return out;
}

struct Bucket {
  std::vector<at::Tensor> members;
  std::vector<int64_t> offsets;
  int64_t numel = 0;
  at::Tensor flat;  // the buffer on the wire
  bool aliased = false;  // flat is the member itself (one contiguous tensor in its own dtype)
  c10::intrusive_ptr<c10d::Work> work;
};

// Packs tensors, in order, into buckets of at most bucket_bytes per (dtype, device); a tensor
// larger than the limit gets its own bucket; bucket_bytes <= 0 means one bucket per tensor.
// The plan depends only on the tensor list, so every rank with the same list builds the same.
std::vector<Bucket> PlanBuckets(const std::vector<at::Tensor>& ts, int64_t bucket_bytes) {
  std::vector<Bucket> closed;
  std::vector<std::pair<std::string, Bucket>> open;  // by key, in order of first appearance
  for (const auto& t : ts) {
    if (t.numel() == 0) continue;
    std::string key = DtypeName(t.scalar_type()) + "@" + DeviceName(t.device());
    auto it = std::find_if(open.begin(), open.end(), [&](const auto& p) { return p.first == key; });
    if (it == open.end()) {
      open.emplace_back(key, Bucket{});
      it = std::prev(open.end());
    }
    Bucket& b = it->second;
    int64_t bytes = t.numel() * static_cast<int64_t>(t.element_size());
    int64_t have = b.numel * static_cast<int64_t>(t.element_size());
    if (!b.members.empty() && (bucket_bytes <= 0 || have + bytes > bucket_bytes)) {
      closed.push_back(std::move(b));
      b = Bucket{};
    }
    b.offsets.push_back(b.numel);
    b.members.push_back(t);
    b.numel += t.numel();
  }
  for (auto& p : open) {
    if (!p.second.members.empty()) closed.push_back(std::move(p.second));
  }
  return closed;
}

// Gives the bucket its wire buffer: the tensor itself when it is alone, contiguous and in its
// wire dtype; else a reusable scratch buffer (grown as needed), filled when `fill`.
void Pack(Bucket& b, const std::string& backend, bool fill, at::Tensor& scratch) {
  const at::Tensor& first = b.members.front();
  at::ScalarType wire = WireDtype(first.scalar_type(), backend);
  if (b.members.size() == 1 && first.is_contiguous() && wire == first.scalar_type()) {
    b.flat = first.view({-1});
    b.aliased = true;
    return;
  }
  if (!scratch.defined() || scratch.scalar_type() != wire || scratch.device() != first.device() ||
      scratch.numel() < b.numel) {
    scratch = at::Tensor();  // free the old one before allocating
    scratch = at::empty({b.numel}, first.options().dtype(wire));
  }
  b.flat = scratch.narrow(0, 0, b.numel);
  if (!fill) return;
  for (size_t i = 0; i < b.members.size(); i++) {
    const at::Tensor& m = b.members[i];
    b.flat.narrow(0, b.offsets[i], m.numel()).copy_(m.reshape({-1}));
  }
}

void Unpack(Bucket& b, Op op, int size) {
  if (op == Op::kAvg) b.flat.div_(size);
  if (b.aliased) return;
  for (size_t i = 0; i < b.members.size(); i++) {
    at::Tensor& m = b.members[i];
    m.copy_(b.flat.narrow(0, b.offsets[i], m.numel()).view(m.sizes()));
  }
}

struct Traffic {
  int64_t buckets = 0;
  int64_t bytes = 0;
};

Napi::Value TrafficToJs(Napi::Env env, const Traffic& t) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("buckets", Napi::Number::New(env, static_cast<double>(t.buckets)));
  o.Set("bytes", Napi::Number::New(env, static_cast<double>(t.bytes)));
  return o;
}

// Gloo trusts that every rank sends buffers of the same size: a rank receiving more bytes than
// it posted aborts the whole process from Gloo's I/O thread. So before moving data, the ranks
// all-gather a fingerprint of what they are about to send (bucket count, element count, and a
// hash of the kind of collective, op/root, dtypes and shapes) and all refuse together, with the
// same message, when they differ. Costs one tiny all-gather per call.
void CheckSameLayout(const std::shared_ptr<Lease>& lease, const std::string& op_name, int64_t kind,
                     const std::vector<Bucket>& buckets, int64_t timeout_ms, Clock::time_point deadline) {
  const Group& g = *lease->group;
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](int64_t x) {
    h ^= static_cast<uint64_t>(x);
    h *= 1099511628211ull;
  };
  mix(kind);
  int64_t total = 0;
  for (const auto& b : buckets) {
    mix(b.numel);
    mix(static_cast<int64_t>(b.members.front().scalar_type()));
    for (const auto& m : b.members) {
      mix(m.dim());
      for (int64_t d : m.sizes()) mix(d);
    }
    total += b.numel;
  }
  auto on = at::TensorOptions().dtype(at::kLong).device(g.comm_device);
  std::vector<at::Tensor> in{
      at::tensor(std::vector<int64_t>{static_cast<int64_t>(buckets.size()), total, static_cast<int64_t>(h >> 1)},
                 at::kLong)
          .to(g.comm_device)};
  std::vector<std::vector<at::Tensor>> out(1);
  for (int r = 0; r < g.size; r++) out[0].push_back(at::empty({3}, on));
  c10d::AllgatherOptions opts;
  opts.timeout = Ms(timeout_ms);
  WaitUntil(lease->pg->allgather(out, in, opts), deadline);
  for (auto& t : out[0]) t = t.to(at::kCPU);
  auto describe = [&](int r) {
    const int64_t* p = out[0][r].data_ptr<int64_t>();
    return "rank " + std::to_string(r) + " has " + std::to_string(p[1]) + " element(s) in " + std::to_string(p[0]) +
           " bucket(s)";
  };
  const int64_t* ref = out[0][0].data_ptr<int64_t>();
  for (int r = 1; r < g.size; r++) {
    const int64_t* p = out[0][r].data_ptr<int64_t>();
    if (p[0] != ref[0] || p[1] != ref[1] || p[2] != ref[2]) {
      bool counts_equal = p[0] == ref[0] && p[1] == ref[1];
      ThrowCode("EXT5_DIST_MISMATCH",
                op_name + ": the ranks disagree on what to reduce: " + describe(0) + ", " + describe(r) +
                    (counts_equal ? " (same sizes, but different shapes, dtypes, op or root)" : "") +
                    ". Every rank must pass the same list of tensors (same shapes and dtypes, same order) to "
                    "the same collective; nothing was sent");
    }
  }
}

// ---- rendezvous --------------------------------------------------------------------------------

std::vector<uint8_t> Bytes(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }
std::string Str(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }

bool IsLoopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

struct InitArgs {
  int rank = 0;
  int size = 1;
  std::string addr;
  int port = 0;
  int64_t timeout_ms = 0;
  std::string backend;
  std::string ifname;
  std::string hostname;
  int local_rank = 0;
};

[[noreturn]] void ThrowRendezvous(const InitArgs& a, const std::string& code, const std::string& raw) {
  std::string where = a.addr + ":" + std::to_string(a.port);
  std::string who = "rank " + std::to_string(a.rank) + " of " + std::to_string(a.size);
  if (code.rfind("EXT5_DIST", 0) == 0) ThrowCode(code, raw);
  if (Contains(raw, "address already in use") || Contains(raw, "failed to listen") || Contains(raw, "failed to bind")) {
    ThrowCode("EXT5_DIST_PORT_IN_USE", "rank 0 cannot listen on port " + std::to_string(a.port) +
                                           " (MASTER_PORT): it is in use by another process. (" + raw + ")");
  }
  if (Contains(raw, "timed out") || Contains(raw, "timeout")) {
    ThrowCode("EXT5_DIST_TIMEOUT", "rendezvous of " + std::to_string(a.size) + " ranks at " + where + " timed out after " +
                                       std::to_string(a.timeout_ms) + " ms (" + who + ", waiting for " +
                                       Peers(a.size) + "): check that every worker runs with the same MASTER_ADDR, " +
                                       "MASTER_PORT and WORLD_SIZE, and that rank 0 is reachable. (" + raw + ")");
  }
  ThrowCode("EXT5_DIST", "rendezvous at " + where + " failed (" + who + "): " + raw);
}

c10::intrusive_ptr<PgBase> MakeGloo(const InitArgs& a, const c10::intrusive_ptr<c10d::Store>& store) {
#ifdef EXT5_HAVE_GLOO_HEADERS
  auto opts = c10d::ProcessGroupGloo::Options::create(Ms(a.timeout_ms));
  // Which local interface Gloo's TCP pairs bind to: an explicit interface or host, loopback for a
  // single-machine job on 127.0.0.1, else the address this machine's hostname resolves to.
  if (!a.ifname.empty()) {
    opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(a.ifname));
  } else if (!a.hostname.empty()) {
    opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(a.hostname));
  } else if (IsLoopback(a.addr)) {
    opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
  } else {
    opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  }
  opts->threads = 2;
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, a.rank, a.size, opts);
#else
  ThrowCode("EXT5_DIST_UNAVAILABLE",
            "this addon was built without the Gloo headers, so the gloo backend is unavailable (Debian: "
            "apt-get install libgloo-dev, then rebuild with `node scripts/build-native.js torch`)");
#endif
}

c10::intrusive_ptr<PgBase> MakeNccl(const InitArgs& a, const c10::intrusive_ptr<c10d::Store>& store) {
#ifdef EXT5_HAVE_NCCL
  if (!at::hasCUDA()) ThrowCode("EXT5_DIST_UNAVAILABLE", "backend 'nccl' needs a CUDA device; none is available");
  int gpus = at::detail::getCUDAHooks().getNumGPUs();
  if (a.local_rank >= gpus) {
    ThrowCode("EXT5_DIST_CONFIG", "LOCAL_RANK=" + std::to_string(a.local_rank) + " but this machine has " +
                                      std::to_string(gpus) + " CUDA device(s): start at most one process per GPU");
  }
  auto opts = c10d::ProcessGroupNCCL::Options::create();
  opts->timeout = Ms(a.timeout_ms);
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, a.rank, a.size, opts);
#else
  ThrowCode("EXT5_DIST_UNAVAILABLE",
            "backend 'nccl' is not compiled into this addon: it needs a CUDA build of libtorch and nccl.h on the "
            "include path at build time (pip: CPLUS_INCLUDE_PATH=<site-packages>/nvidia/nccl/include); use "
            "backend 'gloo' on CPU");
#endif
}

std::shared_ptr<Group> Rendezvous(const InitArgs& a) {
  c10::intrusive_ptr<c10d::Store> store;
  try {
    auto deadline = Clock::now() + Ms(a.timeout_ms);
    c10d::TCPStoreOptions so;
    so.port = static_cast<std::uint16_t>(a.port);
    so.isServer = a.rank == 0;
    so.numWorkers = static_cast<std::size_t>(a.size);
    // We wait for the workers ourselves, against our deadline: 1.13's own wait overshoots it
    // (about twice the timeout), and its client connect rounds the timeout down to whole seconds.
    so.waitWorkers = false;
    so.timeout = Ms(std::max<int64_t>(a.timeout_ms, 1000));
    store = c10::make_intrusive<c10d::TCPStore>(a.addr, so);

    // Agreement checks before Gloo's own rendezvous, which would only time out: rank 0 publishes
    // the world size, every rank claims its rank number once.
    std::string ws = std::to_string(a.size);
    if (a.rank == 0) store->set("ext5/world_size", Bytes(ws));
    int64_t claims = store->add("ext5/rank/" + std::to_string(a.rank), 1);
    if (claims > 1) {
      ThrowCode("EXT5_DIST_CONFIG", "two workers claim RANK=" + std::to_string(a.rank) +
                                        "; every worker needs a distinct RANK in 0.." + std::to_string(a.size - 1));
    }
    if (a.rank != 0) {
      auto left = std::chrono::duration_cast<Ms>(deadline - Clock::now());
      store->wait({"ext5/world_size"}, std::max(left, Ms(1)));
      std::string theirs = Str(store->get("ext5/world_size"));
      if (theirs != ws) {
        ThrowCode("EXT5_DIST_CONFIG", "WORLD_SIZE disagrees: rank " + std::to_string(a.rank) + " has WORLD_SIZE=" +
                                          ws + " but rank 0 has WORLD_SIZE=" + theirs +
                                          "; start every worker with the same WORLD_SIZE");
      }
    }
    int64_t joined = store->add("ext5/joined", 1);
    while (joined < a.size) {
      if (Clock::now() >= deadline) {
        ThrowCode("EXT5_DIST_TIMEOUT",
                  "rendezvous of " + std::to_string(a.size) + " ranks at " + a.addr + ":" + std::to_string(a.port) +
                      " timed out after " + std::to_string(a.timeout_ms) + " ms (rank " + std::to_string(a.rank) +
                      "): only " + std::to_string(joined) + " of " + std::to_string(a.size) +
                      " ranks joined; check that every worker runs with the same MASTER_ADDR, MASTER_PORT and "
                      "WORLD_SIZE, and that rank 0 is reachable");
      }
      std::this_thread::sleep_for(Ms(10));
      joined = store->add("ext5/joined", 0);
    }
  } catch (...) {
    auto [code, raw] = DescribeCurrentException();
    ThrowRendezvous(a, code, raw);
  }

  auto g = std::make_shared<Group>();
  g->rank = a.rank;
  g->size = a.size;
  g->backend = a.backend;
  g->where = a.addr + ":" + std::to_string(a.port);
  g->timeoutMs = a.timeout_ms;
  if (a.backend == "nccl") g->comm_device = at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(a.local_rank));
  g->store = store;
  try {
    auto prefixed = c10::make_intrusive<c10d::PrefixStore>("ext5/" + a.backend, store);
    g->pg = a.backend == "nccl" ? MakeNccl(a, prefixed) : MakeGloo(a, prefixed);
  } catch (...) {
    auto [code, raw] = DescribeCurrentException();
    ThrowRendezvous(a, code, raw);
  }
  return g;
}

InitArgs ReadInitArgs(const Napi::Value& v) {
  if (!v.IsObject()) ThrowArg("distInit takes an options object");
  Napi::Object o = v.As<Napi::Object>();
  InitArgs a;
  int64_t size = GetInt(o.Get("worldSize"), "worldSize");
  if (size < 1 || size > 65536) ThrowArg("worldSize must be between 1 and 65536, got " + std::to_string(size));
  int64_t rank = GetInt(o.Get("rank"), "rank");
  if (rank < 0 || rank >= size) {
    ThrowArg("rank must be in 0.." + std::to_string(size - 1) + " for worldSize " + std::to_string(size) + ", got " +
             std::to_string(rank));
  }
  int64_t port = GetInt(o.Get("masterPort"), "masterPort");
  if (port < 1 || port > 65535) ThrowArg("masterPort must be in 1..65535, got " + std::to_string(port));
  int64_t timeout = GetInt(o.Get("timeoutMs"), "timeoutMs");
  if (timeout <= 0) ThrowArg("timeoutMs must be > 0 (milliseconds)");
  a.rank = static_cast<int>(rank);
  a.size = static_cast<int>(size);
  a.port = static_cast<int>(port);
  a.timeout_ms = timeout;
  a.addr = GetString(o.Get("masterAddr"), "masterAddr");
  if (a.addr.empty()) ThrowArg("masterAddr must not be empty");
  a.backend = o.Has("backend") && !o.Get("backend").IsUndefined() ? GetString(o.Get("backend"), "backend") : "gloo";
  if (a.backend != "gloo" && a.backend != "nccl") ThrowArg("backend must be 'gloo' or 'nccl', got '" + a.backend + "'");
  if (o.Has("ifname") && !o.Get("ifname").IsUndefined()) a.ifname = GetString(o.Get("ifname"), "ifname");
  if (o.Has("hostname") && !o.Get("hostname").IsUndefined()) a.hostname = GetString(o.Get("hostname"), "hostname");
  if (o.Has("localRank") && !o.Get("localRank").IsUndefined()) {
    int64_t lr = GetInt(o.Get("localRank"), "localRank");
    if (lr < 0 || lr >= 4096) ThrowArg("localRank must be in 0..4095, got " + std::to_string(lr));
    a.local_rank = static_cast<int>(lr);
  }
  return a;
}

// ---- exports -----------------------------------------------------------------------------------

// Moves buckets through a collective with at most kMaxInFlight on the wire: the next bucket is
// packed while earlier ones travel. `issue` starts the collective on a packed one-tensor list;
// `done` copies a finished bucket back where the op requires it.
template <typename Issue, typename Done>
Traffic PipelineBuckets(const std::shared_ptr<Lease>& lease, std::vector<Bucket>& buckets, bool fill,
                        Clock::time_point deadline, Issue&& issue, Done&& done) {
  Traffic traffic;
  std::deque<Bucket*> in_flight;
  auto finish_oldest = [&] {
    Bucket* b = in_flight.front();
    in_flight.pop_front();
    WaitUntil(b->work, deadline);
    done(*b);
    b->flat = at::Tensor();
    b->work.reset();
  };
  for (size_t i = 0; i < buckets.size(); i++) {
    Bucket& b = buckets[i];
    Pack(b, lease->group->backend, fill, lease->group->scratch[i % kMaxInFlight]);
    std::vector<at::Tensor> one{b.flat};
    b.work = issue(one);
    traffic.buckets++;
    traffic.bytes += b.flat.numel() * static_cast<int64_t>(b.flat.element_size());
    in_flight.push_back(&b);
    if (in_flight.size() >= kMaxInFlight) finish_oldest();
  }
  while (!in_flight.empty()) finish_oldest();
  return traffic;
}

void InitDist(Napi::Env env, Napi::Object exports) {
  SetMethod(env, exports, "distBackends", [](const Napi::CallbackInfo& info) -> Napi::Value {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
#ifdef EXT5_HAVE_GLOO_HEADERS
    o.Set("gloo", true);
#else
    o.Set("gloo", false);
#endif
#ifdef EXT5_HAVE_NCCL
    o.Set("nccl", at::hasCUDA());
#else
    o.Set("nccl", false);
#endif
    return o;
  });

  // distInit({rank, worldSize, masterAddr, masterPort, timeoutMs, backend?, ifname?, hostname?})
  //   -> Promise<group id>. Blocks (off thread) until every rank has joined or the timeout.
  SetMethod(env, exports, "distInit", [](const Napi::CallbackInfo& info) -> Napi::Value {
    CheckArgCount(info, 1, 1, "distInit");
    InitArgs a = ReadInitArgs(info[0]);
#ifndef EXT5_HAVE_GLOO_HEADERS
    if (a.backend == "gloo") MakeGloo(a, {});
#endif
#ifndef EXT5_HAVE_NCCL
    if (a.backend == "nccl") MakeNccl(a, {});
#endif
    return RunAsync<int64_t>(
        info.Env(),
        [a]() -> int64_t {
          auto g = Rendezvous(a);
          std::lock_guard<std::mutex> lock(g_table_mu);
          int64_t id = g_next_id++;
          (*g_table)[id] = g;
          return id;
        },
        [](Napi::Env env, int64_t& id) -> Napi::Value { return Napi::Number::New(env, static_cast<double>(id)); });
  });

  // distAllReduce(id, tensors, op, bucketBytes, timeoutMs?, grads?) -> Promise<{buckets, bytes}>
  //   Reduces in place. grads=true reduces the gradients of a parameter list.
  SetMethod(env, exports, "distAllReduce", [](const Napi::CallbackInfo& info) -> Napi::Value {
    CheckArgCount(info, 4, 6, "distAllReduce");
    int64_t id = GetInt(info[0], "id");
    auto g = Find(id, "allReduce");
    Op op = ParseOp(GetString(info[2], "op"));
    int64_t bucket_bytes = GetInt(info[3], "bucketBytes");
    int64_t timeout_ms = TimeoutArg(info.Length() > 4 ? info[4] : info.Env().Undefined(), *g);
    bool grads = info.Length() > 5 && !info[5].IsUndefined() ? GetBool(info[5], "grads") : false;
    auto tensors = ReadTensors(info[1], grads, *g, op, grads ? "params" : "tensors");
    auto lease = Acquire(id, "allReduce");
    return RunCollectiveAsync<Traffic>(
        info.Env(), lease,
        [lease, tensors, op, bucket_bytes, timeout_ms]() -> Traffic {
          Traffic traffic;
          RunCollective(lease, "allReduce", timeout_ms, [&] {
            at::NoGradGuard no_grad;
            const Group& g = *lease->group;
            auto deadline = Clock::now() + Ms(timeout_ms);
            auto buckets = PlanBuckets(tensors, bucket_bytes);
            CheckSameLayout(lease, "allReduce", 1 + static_cast<int64_t>(op), buckets, timeout_ms, deadline);
            c10d::AllreduceOptions opts;
            opts.reduceOp = ToReduceOp(op);
            opts.timeout = Ms(timeout_ms);
            traffic = PipelineBuckets(
                lease, buckets, true, deadline, [&](std::vector<at::Tensor>& one) { return lease->pg->allreduce(one, opts); },
                [&](Bucket& b) { Unpack(b, op, g.size); });
          });
          return traffic;
        },
        [](Napi::Env env, Traffic& t) -> Napi::Value { return TrafficToJs(env, t); });
  });

  // distBroadcast(id, tensors, root, bucketBytes, timeoutMs?) -> Promise<{buckets, bytes}>
  //   Overwrites the tensors of every rank but `root` with root's values (parameters included:
  //   the copy runs without autograd).
  SetMethod(env, exports, "distBroadcast", [](const Napi::CallbackInfo& info) -> Napi::Value {
    CheckArgCount(info, 4, 5, "distBroadcast");
    int64_t id = GetInt(info[0], "id");
    auto g = Find(id, "broadcast");
    int64_t root = GetInt(info[2], "root");
    if (root < 0 || root >= g->size) {
      ThrowArg("root must be a rank in 0.." + std::to_string(g->size - 1) + ", got " + std::to_string(root));
    }
    int64_t bucket_bytes = GetInt(info[3], "bucketBytes");
    int64_t timeout_ms = TimeoutArg(info.Length() > 4 ? info[4] : info.Env().Undefined(), *g);
    auto tensors = ReadTensors(info[1], false, *g, Op::kSum, "tensors");
    auto lease = Acquire(id, "broadcast");
    return RunCollectiveAsync<Traffic>(
        info.Env(), lease,
        [lease, tensors, root, bucket_bytes, timeout_ms]() -> Traffic {
          Traffic traffic;
          RunCollective(lease, "broadcast", timeout_ms, [&] {
            at::NoGradGuard no_grad;
            const Group& g = *lease->group;
            bool is_root = g.rank == root;
            auto deadline = Clock::now() + Ms(timeout_ms);
            auto buckets = PlanBuckets(tensors, bucket_bytes);
            CheckSameLayout(lease, "broadcast", 100 + root, buckets, timeout_ms, deadline);
            c10d::BroadcastOptions opts;
            opts.rootRank = root;
            opts.rootTensor = 0;
            opts.timeout = Ms(timeout_ms);
            traffic = PipelineBuckets(
                lease, buckets, is_root, deadline,
                [&](std::vector<at::Tensor>& one) { return lease->pg->broadcast(one, opts); },
                [&](Bucket& b) {
                  if (!is_root) Unpack(b, Op::kSum, g.size);
                });
          });
          return traffic;
        },
        [](Napi::Env env, Traffic& t) -> Napi::Value { return TrafficToJs(env, t); });
  });

  // distBarrier(id, timeoutMs?) -> Promise<void>
  SetMethod(env, exports, "distBarrier", [](const Napi::CallbackInfo& info) -> Napi::Value {
    CheckArgCount(info, 1, 2, "distBarrier");
    int64_t id = GetInt(info[0], "id");
    auto g = Find(id, "barrier");
    int64_t timeout_ms = TimeoutArg(info.Length() > 1 ? info[1] : info.Env().Undefined(), *g);
    auto lease = Acquire(id, "barrier");
    return RunCollectiveAsync<bool>(
        info.Env(), lease,
        [lease, timeout_ms]() -> bool {
          RunCollective(lease, "barrier", timeout_ms, [&] {
            c10d::BarrierOptions opts;
            opts.timeout = Ms(timeout_ms);
            auto work = lease->pg->barrier(opts);
            WaitUntil(work, Clock::now() + Ms(timeout_ms));
          });
          return true;
        },
        [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); });
  });

  // distAllGatherBytes(id, Uint8Array, timeoutMs?) -> Promise<Uint8Array[]> (one per rank, in
  //   rank order). For small messages such as configuration checks: lengths first, then the
  //   bytes padded to the longest.
  SetMethod(env, exports, "distAllGatherBytes", [](const Napi::CallbackInfo& info) -> Napi::Value {
    CheckArgCount(info, 2, 3, "distAllGatherBytes");
    int64_t id = GetInt(info[0], "id");
    auto g = Find(id, "allGather");
    if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      ThrowArg("data must be a Uint8Array");
    }
    Napi::Uint8Array arr = info[1].As<Napi::Uint8Array>();
    if (arr.ElementLength() > (64u << 20)) ThrowArg("data must be at most 64 MiB (allGather is meant for small objects)");
    std::vector<uint8_t> mine(arr.Data(), arr.Data() + arr.ElementLength());
    int64_t timeout_ms = TimeoutArg(info.Length() > 2 ? info[2] : info.Env().Undefined(), *g);
    auto lease = Acquire(id, "allGather");
    using Out = std::vector<std::vector<uint8_t>>;
    return RunCollectiveAsync<Out>(
        info.Env(), lease,
        [lease, mine, timeout_ms]() -> Out {
          Out out;
          RunCollective(lease, "allGather", timeout_ms, [&] {
            const Group& g = *lease->group;
            auto deadline = Clock::now() + Ms(timeout_ms);
            c10d::AllgatherOptions opts;
            opts.timeout = Ms(timeout_ms);
            auto on = at::TensorOptions().device(g.comm_device);
            std::vector<at::Tensor> len_in{at::full({1}, static_cast<int64_t>(mine.size()), on.dtype(at::kLong))};
            std::vector<std::vector<at::Tensor>> len_out(1);
            for (int r = 0; r < g.size; r++) len_out[0].push_back(at::empty({1}, on.dtype(at::kLong)));
            WaitUntil(lease->pg->allgather(len_out, len_in, opts), deadline);
            int64_t longest = 1;
            std::vector<int64_t> lens;
            for (auto& t : len_out[0]) {
              lens.push_back(t.item<int64_t>());
              longest = std::max(longest, lens.back());
            }
            at::Tensor padded = at::zeros({longest}, at::kByte);
            if (!mine.empty()) std::memcpy(padded.data_ptr<uint8_t>(), mine.data(), mine.size());
            std::vector<at::Tensor> in{padded.to(g.comm_device)};
            std::vector<std::vector<at::Tensor>> gathered(1);
            for (int r = 0; r < g.size; r++) gathered[0].push_back(at::empty({longest}, on.dtype(at::kByte)));
            WaitUntil(lease->pg->allgather(gathered, in, opts), deadline);
            for (int r = 0; r < g.size; r++) {
              at::Tensor host = gathered[0][r].to(at::kCPU);
              const uint8_t* p = host.data_ptr<uint8_t>();
              out.emplace_back(p, p + lens[r]);
            }
          });
          return out;
        },
        [](Napi::Env env, Out& out) -> Napi::Value {
          Napi::Array a = Napi::Array::New(env, out.size());
          for (size_t i = 0; i < out.size(); i++) {
            Napi::Uint8Array u = Napi::Uint8Array::New(env, out[i].size());
            if (!out[i].empty()) std::memcpy(u.Data(), out[i].data(), out[i].size());
            a.Set(static_cast<uint32_t>(i), u);
          }
          return a;
        });
  });

  // distStatus(id) -> {rank, worldSize, backend, address, timeoutMs, busy, destroyed, broken}
  SetMethod(env, exports, "distStatus", [](const Napi::CallbackInfo& info) -> Napi::Value {
    CheckArgCount(info, 1, 1, "distStatus");
    auto g = Find(GetInt(info[0], "id"), "status");
    Napi::Env env = info.Env();
    std::lock_guard<std::mutex> lock(g->mu);
    Napi::Object o = Napi::Object::New(env);
    o.Set("rank", g->rank);
    o.Set("worldSize", g->size);
    o.Set("backend", g->backend);
    o.Set("address", g->where);
    o.Set("timeoutMs", Napi::Number::New(env, static_cast<double>(g->timeoutMs)));
    o.Set("busy", g->busy);
    o.Set("destroyed", g->destroyed);
    o.Set("broken", g->broken.empty() ? env.Null() : Napi::String::New(env, g->broken));
    return o;
  });

  // distDestroy(id) -> Promise<boolean> (false when it was already destroyed). Releases the
  //   process group and the store off the JS thread. A collective still running keeps its own
  //   reference and finishes (or times out) first.
  SetMethod(env, exports, "distDestroy", [](const Napi::CallbackInfo& info) -> Napi::Value {
    CheckArgCount(info, 1, 1, "distDestroy");
    auto g = Find(GetInt(info[0], "id"), "destroy");
    c10::intrusive_ptr<PgBase> pg;
    c10::intrusive_ptr<c10d::Store> store;
    bool was_live;
    {
      std::lock_guard<std::mutex> lock(g->mu);
      was_live = !g->destroyed;
      g->destroyed = true;
      pg = std::move(g->pg);
      store = std::move(g->store);
      // A collective in flight still packs into the scratch buffers; it frees them when it ends.
      if (!g->busy) g->scratch.assign(kMaxInFlight, at::Tensor());
    }
    return RunAsync<bool>(
        info.Env(),
        [pg, store, was_live]() mutable -> bool {
          pg.reset();
          store.reset();
          return was_live;
        },
        [](Napi::Env env, bool& live) -> Napi::Value { return Napi::Boolean::New(env, live); });
  });
}

}  // namespace

EXT5_REGISTER(dist_pg, InitDist);

}  // namespace ext5
