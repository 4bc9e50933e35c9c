// Runtime facts and settings: libtorch version and location, parallel/BLAS configuration,
// intra-op threads, CUDA devices, live-tensor memory. Used by `ext5 doctor` and memory().
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <dlfcn.h>

#include "common.h"

#ifdef EXT5_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace ext5 {
namespace {

std::string LibraryPathOf(const void* symbol) {
  Dl_info info;
  if (dladdr(symbol, &info) != 0 && info.dli_fname != nullptr) return info.dli_fname;
  return "";
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("torchVersion", TORCH_VERSION);
  o.Set("torchVersionMajor", TORCH_VERSION_MAJOR);
  o.Set("torchVersionMinor", TORCH_VERSION_MINOR);
  o.Set("buildPrefix", EXT5_TORCH_PREFIX);
  o.Set("libtorchPath", LibraryPathOf(reinterpret_cast<const void*>(&at::show_config)));
  o.Set("addonPath", LibraryPathOf(reinterpret_cast<const void*>(&LibraryPathOf)));
  o.Set("config", at::show_config());
  o.Set("parallelInfo", at::get_parallel_info());
  o.Set("numThreads", at::get_num_threads());
  o.Set("numInteropThreads", at::get_num_interop_threads());
  o.Set("hasOpenMP", at::hasOpenMP());
  o.Set("hasMKL", at::hasMKL());
  o.Set("hasMKLDNN", at::hasMKLDNN());
  o.Set("hasLAPACK", at::hasLAPACK());
  bool cuda = torch::cuda::is_available();
  o.Set("cudaAvailable", cuda);
  o.Set("cudaDeviceCount", cuda ? static_cast<double>(torch::cuda::device_count()) : 0.0);
#ifdef EXT5_WITH_CUDA
  o.Set("cudaCompiled", true);
  Napi::Array devices = Napi::Array::New(env);
  if (cuda) {
    for (int64_t i = 0; i < static_cast<int64_t>(torch::cuda::device_count()); i++) {
      auto* p = at::cuda::getDeviceProperties(static_cast<int>(i));
      Napi::Object d = Napi::Object::New(env);
      d.Set("index", static_cast<double>(i));
      d.Set("name", p->name);
      d.Set("totalMemory", static_cast<double>(p->totalGlobalMem));
      d.Set("capability", std::to_string(p->major) + "." + std::to_string(p->minor));
      devices.Set(static_cast<uint32_t>(i), d);
    }
  }
  o.Set("cudaDevices", devices);
#else
  o.Set("cudaCompiled", false);
  o.Set("cudaDevices", Napi::Array::New(env));
#endif
  return o;
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  CheckArgCount(info, 1, 1, "setNumThreads");
  int64_t n = GetInt(info[0], "threads");
  if (n < 1 || n > 1024) ThrowArg("threads must be between 1 and 1024");
  at::set_num_threads(static_cast<int>(n));
  return info.Env().Undefined();
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

Napi::Value Memory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  for (auto& [device, s] : LiveStats()) {
    Napi::Object d = Napi::Object::New(env);
    d.Set("tensors", static_cast<double>(s.tensors));
    d.Set("bytes", static_cast<double>(s.bytes));
    d.Set("collectedTensors", static_cast<double>(s.collected_tensors));
    d.Set("collectedBytes", static_cast<double>(s.collected_bytes));
#ifdef EXT5_WITH_CUDA
    if (device.rfind("cuda", 0) == 0) {
      int idx = device.size() > 5 ? std::stoi(device.substr(5)) : 0;
      auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(idx);
      using c10::cuda::CUDACachingAllocator::StatType;
      d.Set("allocatorAllocated", static_cast<double>(stats.allocated_bytes[static_cast<size_t>(StatType::AGGREGATE)].current));
      d.Set("allocatorReserved", static_cast<double>(stats.reserved_bytes[static_cast<size_t>(StatType::AGGREGATE)].current));
    }
#endif
    o.Set(device, d);
  }
  return o;
}

// libtorch's default CPU generator state (dropout, rand, initialisation), for exact resume.
Napi::Value GetRngState(const Napi::CallbackInfo& info) {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  at::Tensor state;
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    state = gen.get_state();
  }
  return TensorHandle::Wrap(info.Env(), state);
}

Napi::Value SetRngState(const Napi::CallbackInfo& info) {
  CheckArgCount(info, 1, 1, "setRngState");
  at::Tensor state = TensorHandle::Get(info[0], "state");
  if (state.scalar_type() != at::kByte || state.dim() != 1) {
    ThrowCode("EXT5_DTYPE", "setRngState needs the 1-D uint8 tensor that getRngState returned");
  }
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
  return info.Env().Undefined();
}

void InitRuntime(Napi::Env env, Napi::Object exports) {
  SetMethod(env, exports, "getRngState", GetRngState);
  SetMethod(env, exports, "setRngState", SetRngState);
  SetMethod(env, exports, "info", Info);
  SetMethod(env, exports, "setNumThreads", SetNumThreads);
  SetMethod(env, exports, "getNumThreads", GetNumThreads);
  SetMethod(env, exports, "memory", Memory);
}

}  // namespace
}  // namespace ext5

EXT5_REGISTER(runtime, ::ext5::InitRuntime);
