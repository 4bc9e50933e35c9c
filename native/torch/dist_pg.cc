// c10d process groups for data-parallel training (docs/distributed.md): a TCPStore rendezvous
// with torchrun's variables (dist_rendezvous.cc), Gloo on CPU, NCCL on CUDA when this libtorch and the build have it,
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
// derive from c10d::Backend instead of c10d::ProcessGroup (guarded in dist_pg.h); that path and the
// NCCL path compile only where their headers exist and are untested here (no 2.x, no GPU).
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <torch/version.h>

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

#include "dist_pg.h"
#include "t5_model.h"

namespace ext5 {
namespace {

using namespace ::ext5::dist;  // NOLINT: the group record and rendezvous (dist_pg.h)

std::mutex g_table_mu;
// Leaked on purpose: at process exit a stuck Gloo thread must not make static destructors hang.
auto* g_table = new std::map<int64_t, std::shared_ptr<Group>>();
int64_t g_next_id = 1;

// One collective's hold on its group. The reference to the process group is dropped on the
// worker thread when the collective ends (so a group destroyed meanwhile is torn down off the JS
// thread); the busy flag is given back on the JS thread just before the promise settles (the
// release hook of common.h's PromiseWorker), so a group is busy exactly while a promise of it is
// pending.
struct Lease {
  Lease(std::shared_ptr<Group> g, BusyGuard b) : group(std::move(g)), pg(group->pg), busy(std::move(b)) {}
  std::shared_ptr<Group> group;
  c10::intrusive_ptr<PgBase> pg;
  BusyGuard busy;
  void Finish(const std::string& broken_reason) {
    std::lock_guard<std::mutex> lock(group->mu);
    if (!broken_reason.empty() && group->broken.empty()) group->broken = broken_reason;
    if (group->destroyed) group->scratch.assign(kMaxInFlight, at::Tensor());
    pg.reset();
  }
  void Release() {
    std::lock_guard<std::mutex> lock(group->mu);
    busy.Release();
  }
};

template <typename R>
Napi::Promise RunCollectiveAsync(Napi::Env env, std::shared_ptr<Lease> lease, std::function<R()> work,
                                 std::function<Napi::Value(Napi::Env, R&)> done) {
  return RunAsync<R>(env, std::move(work), std::move(done), [lease] { lease->Release(); });
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
  BusyGuard busy(g, g->busy,
                 op + ": another collective on this process group is still running; await it first "
                      "(collectives must run one at a time, in the same order on every rank)");
  return std::make_shared<Lease>(g, std::move(busy));
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
  for (auto ok : {at::kFloat, at::kDouble, at::kHalf, at::kBFloat16, at::kInt, at::kLong, at::kByte, at::kChar}) {
    if (t == ok) return true;
  }
  return false;
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
    o.Set("gloo", GlooCompiled());
    o.Set("nccl", NcclAvailable());
    return o;
  });

  // distInit({rank, worldSize, masterAddr, masterPort, timeoutMs, backend?, ifname?, hostname?})
  //   -> Promise<group id>. Blocks (off thread) until every rank has joined or the timeout.
  SetMethod(env, exports, "distInit", [](const Napi::CallbackInfo& info) -> Napi::Value {
    CheckArgCount(info, 1, 1, "distInit");
    InitArgs a = ReadInitArgs(info[0]);
    CheckBackendCompiled(a);
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
    o.Set("busy", g->busy.load());
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
      if (!g->busy.load()) g->scratch.assign(kMaxInFlight, at::Tensor());
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

// The collectives of a sharded model (t5_shard.cc), run synchronously on the thread running the
// model's forward and backward. Each takes the group's busy flag like a JS collective, checks that
// every rank sends the same layout, and classifies failures as the JS collectives do.
class GroupShardComm : public t5::ShardComm {
 public:
  GroupShardComm(int64_t id, const Group& g) : id_(id), rank_(g.rank), size_(g.size) {}
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void broadcast(const std::vector<at::Tensor>& ts, int root) override { Run(ts, root, false); }
  void reduce(const std::vector<at::Tensor>& ts, int root) override { Run(ts, root, true); }

 private:
  // Broadcast from `root`, or sum into `root` (reduce), in 25 MB buckets as the JS collectives.
  void Run(const std::vector<at::Tensor>& ts, int root, bool reduce) {
    const std::string op = reduce ? "sharded reduce" : "sharded broadcast";
    auto lease = Acquire(id_, op);
    const int64_t timeout_ms = lease->group->timeoutMs;
    try {
      RunCollective(lease, op, timeout_ms, [&] {
        for (const auto& t : ts) {
          if (lease->group->backend == "gloo" && !t.device().is_cpu()) {
            ThrowCode("EXT5_DEVICE", op + ": a tensor is on " + DeviceName(t.device()) + "; gloo works on CPU tensors");
          }
        }
        at::NoGradGuard no_grad;
        auto deadline = Clock::now() + Ms(timeout_ms);
        auto buckets = PlanBuckets(ts, int64_t{25} << 20);
        CheckSameLayout(lease, op, (reduce ? 200 : 100) + root, buckets, timeout_ms, deadline);
        const bool is_root = rank_ == root;
        c10d::ReduceOptions ropts;
        ropts.rootRank = root;
        ropts.timeout = Ms(timeout_ms);
        c10d::BroadcastOptions bopts;
        bopts.rootRank = root;
        bopts.timeout = Ms(timeout_ms);
        PipelineBuckets(
            lease, buckets, reduce || is_root, deadline,
            [&](std::vector<at::Tensor>& one) {
              return reduce ? lease->pg->reduce(one, ropts) : lease->pg->broadcast(one, bopts);
            },
            [&](Bucket& b) {
              if (reduce == is_root) Unpack(b, Op::kSum, size_);
            });
      });
    } catch (...) {
      lease->Release();
      throw;
    }
    lease->Release();
  }

  int64_t id_;
  int rank_, size_;
};

}  // namespace

std::shared_ptr<t5::ShardComm> dist::MakeShardComm(int64_t group_id) {
  return std::make_shared<GroupShardComm>(group_id, *Find(group_id, "setSharding"));
}

EXT5_REGISTER(dist_pg, InitDist);

}  // namespace ext5
