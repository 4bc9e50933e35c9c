// The rendezvous of data-parallel training (docs/distributed.md): a TCPStore with torchrun's
// variables (MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK), agreement checks that fail fast with a
// clear message where Gloo's own rendezvous would only time out, and the creation of the Gloo
// (CPU) or NCCL (CUDA) process group. Split from dist_pg.cc, which holds the collectives.
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

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
#include <thread>

#include "dist_pg.h"

namespace ext5 {
namespace dist {

bool Contains(const std::string& s, const char* needle) {
  std::string a = s, b = needle;
  std::transform(a.begin(), a.end(), a.begin(), ::tolower);
  std::transform(b.begin(), b.end(), b.begin(), ::tolower);
  return a.find(b) != std::string::npos;
}

std::string Peers(int size) {
  return std::to_string(size - 1) + (size - 1 == 1 ? " peer" : " peers");
}

namespace {

// ---- rendezvous --------------------------------------------------------------------------------

std::vector<uint8_t> Bytes(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }
std::string Str(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }

bool IsLoopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}


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

// libtorch >= 2.4 asks for the libuv TCPStore backend by default, and builds without libuv
// (Debian's libtorch 2.6) then refuse with "use_libuv was requested but PyTorch was build
// without libuv support": fall back to the classic backend, as torch.distributed does with
// USE_LIBUV=0. Nothing has been bound when that refusal comes, so the retry is clean.
c10::intrusive_ptr<c10d::Store> MakeStore(const std::string& addr, c10d::TCPStoreOptions so) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 2)
  try {
    return c10::make_intrusive<c10d::TCPStore>(addr, so);
  } catch (const std::exception& e) {
    if (!so.useLibUV || !Contains(e.what(), "libuv")) throw;
    so.useLibUV = false;
  }
#endif
  return c10::make_intrusive<c10d::TCPStore>(addr, so);
}

}  // namespace

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
    store = MakeStore(a.addr, so);

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


bool GlooCompiled() {
#ifdef EXT5_HAVE_GLOO_HEADERS
  return true;
#else
  return false;
#endif
}

bool NcclAvailable() {
#ifdef EXT5_HAVE_NCCL
  return at::hasCUDA();
#else
  return false;
#endif
}

void CheckBackendCompiled(const InitArgs& a) {
#ifndef EXT5_HAVE_GLOO_HEADERS
  if (a.backend == "gloo") MakeGloo(a, {});
#endif
#ifndef EXT5_HAVE_NCCL
  if (a.backend == "nccl") MakeNccl(a, {});
#endif
  (void)a;
}

}  // namespace dist
}  // namespace ext5
