// Internal to the process-group code: the group record shared by the collectives (dist_pg.cc)
// and the rendezvous that creates one (dist_rendezvous.cc). Not part of the addon's JS surface.
#pragma once

#include <ATen/ATen.h>
#include <torch/version.h>

#include <torch/csrc/distributed/c10d/Store.hpp>
#include <torch/csrc/distributed/c10d/Types.hpp>
#if TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/distributed/c10d/Backend.hpp>
#else
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#endif

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common.h"

namespace ext5 {
namespace dist {

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
  std::atomic<bool> busy{false};  // taken by a Lease's BusyGuard
  bool destroyed = false;
  std::string broken;  // why the group cannot be used any more; empty while healthy
  // Flat buffers reused across calls, one per bucket in flight (only the collective holding the
  // busy flag touches them): fresh 25 MB buffers each step cost page faults and allocator time.
  std::vector<at::Tensor> scratch = std::vector<at::Tensor>(kMaxInFlight);
};


// What distInit was given, validated (ReadInitArgs).
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

// Case-insensitive substring test, for classifying libtorch/Gloo error messages.
bool Contains(const std::string& s, const char* needle);
// "1 peer" / "3 peers", for messages.
std::string Peers(int size);

// Validates distInit's options object (throws ArgError).
InitArgs ReadInitArgs(const Napi::Value& v);
// Whether this build has the Gloo headers, and NCCL with a CUDA device.
bool GlooCompiled();
bool NcclAvailable();
// Throws EXT5_DIST_UNAVAILABLE, saying what to install, when `a.backend` is not compiled in
// (called on the JS thread, before any network work).
void CheckBackendCompiled(const InitArgs& a);
// Runs the TCPStore rendezvous and creates the backend's process group; blocks until every rank
// joined or the deadline (call off the JS thread). Failures are coded EXT5_DIST_* errors.
std::shared_ptr<Group> Rendezvous(const InitArgs& a);

}  // namespace dist
}  // namespace ext5
