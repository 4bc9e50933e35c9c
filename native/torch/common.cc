// Error conversion, argument validation, module registration and the Tensor handle.
#include "common.h"

#include <c10/util/Exception.h>
#include <torch/cuda.h>

#include <cmath>
#include <map>
#include <mutex>
#include <sstream>

namespace ext5 {

// ---- errors -------------------------------------------------------------------------------

void ThrowArg(const std::string& message) { throw ArgError("EXT5_INVALID_ARG", message); }
void ThrowCode(const std::string& code, const std::string& message) { throw ArgError(code, message); }

namespace {

// c10 messages can carry trailing whitespace and, in some builds, a "Exception raised from"
// trailer; keep the user-facing part only.
std::string CleanTorchMessage(const std::string& raw) {
  std::string m = raw;
  auto pos = m.find("\nException raised from");
  if (pos != std::string::npos) m = m.substr(0, pos);
  while (!m.empty() && std::isspace(static_cast<unsigned char>(m.back()))) m.pop_back();
  return m;
}

}  // namespace

std::pair<std::string, std::string> DescribeCurrentException() {
  try {
    throw;
  } catch (const ArgError& e) {
    return {e.code, e.message};
  } catch (const c10::IndexError& e) {
    return {"EXT5_INDEX", CleanTorchMessage(e.what_without_backtrace())};
  } catch (const c10::TypeError& e) {
    return {"EXT5_TYPE", CleanTorchMessage(e.what_without_backtrace())};
  } catch (const c10::ValueError& e) {
    return {"EXT5_VALUE", CleanTorchMessage(e.what_without_backtrace())};
  } catch (const c10::NotImplementedError& e) {
    return {"EXT5_NOT_IMPLEMENTED", CleanTorchMessage(e.what_without_backtrace())};
  } catch (const c10::Error& e) {
    std::string msg = CleanTorchMessage(e.what_without_backtrace());
    if (msg.find("out of memory") != std::string::npos) return {"EXT5_OUT_OF_MEMORY", msg};
    return {"EXT5_TORCH", msg};
  } catch (const std::bad_alloc&) {
    return {"EXT5_OUT_OF_MEMORY", "out of memory (std::bad_alloc)"};
  } catch (const Napi::Error& e) {
    return {"EXT5_INTERNAL", e.Message()};
  } catch (const std::exception& e) {
    return {"EXT5_NATIVE", e.what()};
  } catch (...) {
    return {"EXT5_NATIVE", "unknown native exception"};
  }
}

Napi::Error MakeError(Napi::Env env, const std::string& code, const std::string& message) {
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code.empty() ? "EXT5_NATIVE" : code));
  return err;
}

void RethrowAsJs(Napi::Env env) {
  auto [code, message] = DescribeCurrentException();
  throw MakeError(env, code, message);
}

// ---- argument helpers -----------------------------------------------------------------------

void CheckArgCount(const Napi::CallbackInfo& info, size_t min, size_t max, const char* fn) {
  if (info.Length() < min || info.Length() > max) {
    std::ostringstream o;
    o << fn << "() takes " << min;
    if (max != min) o << " to " << max;
    o << " argument(s), got " << info.Length();
    ThrowArg(o.str());
  }
}

double GetNumber(const Napi::Value& v, const char* name) {
  if (!v.IsNumber()) ThrowArg(std::string(name) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (std::isnan(d)) ThrowArg(std::string(name) + " must not be NaN");
  return d;
}

int64_t GetInt(const Napi::Value& v, const char* name) {
  if (!v.IsNumber()) ThrowArg(std::string(name) + " must be an integer");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::floor(d) != d || std::fabs(d) > 9007199254740991.0) {
    ThrowArg(std::string(name) + " must be a finite integer");
  }
  return static_cast<int64_t>(d);
}

bool GetBool(const Napi::Value& v, const char* name) {
  if (!v.IsBoolean()) ThrowArg(std::string(name) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

std::string GetString(const Napi::Value& v, const char* name) {
  if (!v.IsString()) ThrowArg(std::string(name) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

std::vector<int64_t> GetIntArray(const Napi::Value& v, const char* name) {
  if (!v.IsArray()) ThrowArg(std::string(name) + " must be an array of integers");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<int64_t> out;
  out.reserve(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) {
    std::string item = std::string(name) + "[" + std::to_string(i) + "]";
    out.push_back(GetInt(a.Get(i), item.c_str()));
  }
  return out;
}

std::optional<int64_t> GetOptionalInt(const Napi::Value& v, const char* name) {
  if (v.IsUndefined() || v.IsNull()) return std::nullopt;
  return GetInt(v, name);
}

namespace {
const std::map<std::string, at::ScalarType>& DtypeTable() {
  static const std::map<std::string, at::ScalarType> table = {
      {"float32", at::kFloat}, {"float64", at::kDouble}, {"float16", at::kHalf}, {"bfloat16", at::kBFloat16},
      {"int64", at::kLong},    {"int32", at::kInt},      {"int16", at::kShort},  {"int8", at::kChar},
      {"uint8", at::kByte},    {"bool", at::kBool},
  };
  return table;
}
}  // namespace

at::ScalarType ParseDtype(const std::string& s) {
  auto& t = DtypeTable();
  auto it = t.find(s);
  if (it == t.end()) {
    std::string known;
    for (auto& [k, _] : t) known += (known.empty() ? "" : ", ") + k;
    ThrowCode("EXT5_INVALID_DTYPE", "unknown dtype '" + s + "' (expected one of " + known + ")");
  }
  return it->second;
}

std::string DtypeName(at::ScalarType type) {
  for (auto& [k, v] : DtypeTable()) {
    if (v == type) return k;
  }
  return std::string(c10::toString(type));
}

at::Device ParseDevice(const std::string& s) {
  if (s == "cpu") return at::Device(at::kCPU);
  int64_t index = -1;
  if (s == "cuda") {
    index = 0;
  } else if (s.rfind("cuda:", 0) == 0 && s.size() > 5 && s.size() <= 8 &&
             s.find_first_not_of("0123456789", 5) == std::string::npos) {
    index = std::stoll(s.substr(5));
  } else {
    ThrowCode("EXT5_INVALID_DEVICE", "unknown device '" + s + "' (expected 'cpu', 'cuda' or 'cuda:N')");
  }
  if (!torch::cuda::is_available()) {
    ThrowCode("EXT5_NO_CUDA", "device '" + s +
                                  "' requested but CUDA is not available (this libtorch has no CUDA, or no GPU "
                                  "is visible); use 'cpu' or build against a CUDA libtorch");
  }
  int64_t count = static_cast<int64_t>(torch::cuda::device_count());
  if (index >= count) {
    ThrowCode("EXT5_INVALID_DEVICE",
              "device '" + s + "' does not exist (" + std::to_string(count) + " CUDA device(s) visible)");
  }
  return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(index));
}

std::string DeviceName(const at::Device& d) {
  if (d.is_cpu()) return "cpu";
  if (d.is_cuda()) return "cuda:" + std::to_string(d.has_index() ? d.index() : 0);
  return d.str();
}

int64_t NormalizeDim(int64_t dim, int64_t ndim, const char* name) {
  int64_t n = ndim == 0 ? 1 : ndim;
  if (dim < -n || dim >= n) {
    ThrowCode("EXT5_INDEX", std::string(name) + " " + std::to_string(dim) + " is out of range for a tensor with " +
                                std::to_string(ndim) + " dimension(s)");
  }
  return dim < 0 ? dim + n : dim;
}

// ---- live-handle statistics -------------------------------------------------------------------

namespace {
std::mutex g_stats_mutex;
std::map<std::string, DeviceStats>& Stats() {
  static std::map<std::string, DeviceStats> s;
  return s;
}
}  // namespace

std::vector<std::pair<std::string, DeviceStats>> LiveStats() {
  std::lock_guard<std::mutex> lock(g_stats_mutex);
  return {Stats().begin(), Stats().end()};
}

// ---- Tensor handle ---------------------------------------------------------------------------

namespace {
struct AddonData {
  Napi::FunctionReference tensor_ctor;
};
// Set while Wrap() constructs a handle, so `new Tensor()` from JS (without a tensor) is refused.
thread_local at::Tensor* g_pending = nullptr;
}  // namespace

void TensorHandle::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "TensorHandle",
                                    {
                                        InstanceMethod("dispose", &TensorHandle::Dispose),
                                        InstanceAccessor("disposed", &TensorHandle::IsDisposed, nullptr),
                                        InstanceAccessor("shape", &TensorHandle::Shape, nullptr),
                                        InstanceAccessor("dtype", &TensorHandle::Dtype, nullptr),
                                        InstanceAccessor("device", &TensorHandle::Device, nullptr),
                                        InstanceAccessor("requiresGrad", &TensorHandle::RequiresGrad, nullptr),
                                        InstanceAccessor("nbytes", &TensorHandle::Nbytes, nullptr),
                                    });
  auto* data = env.GetInstanceData<AddonData>();
  if (data == nullptr) {
    data = new AddonData();
    env.SetInstanceData(data);
  }
  data->tensor_ctor = Napi::Persistent(ctor);
  exports.Set("TensorHandle", ctor);
}

Napi::Object TensorHandle::Wrap(Napi::Env env, at::Tensor t) {
  if (!t.defined()) ThrowCode("EXT5_INTERNAL", "tried to return an undefined tensor");
  auto* data = env.GetInstanceData<AddonData>();
  g_pending = &t;
  Napi::Object obj;
  try {
    obj = data->tensor_ctor.New({});
  } catch (...) {
    g_pending = nullptr;
    throw;
  }
  g_pending = nullptr;
  return obj;
}

bool TensorHandle::Is(const Napi::Value& v) {
  if (!v.IsObject()) return false;
  auto* data = v.Env().GetInstanceData<AddonData>();
  return v.As<Napi::Object>().InstanceOf(data->tensor_ctor.Value());
}

at::Tensor TensorHandle::Get(const Napi::Value& v, const char* name) {
  Napi::Value inner = v;
  // The TypeScript Tensor class keeps its native handle in `_h`; accept either.
  if (v.IsObject() && !Is(v)) {
    Napi::Value h = v.As<Napi::Object>().Get("_h");
    if (!h.IsUndefined()) inner = h;
  }
  if (!Is(inner)) ThrowArg(std::string(name) + " must be a Tensor");
  auto* self = Napi::ObjectWrap<TensorHandle>::Unwrap(inner.As<Napi::Object>());
  if (!self->live_) ThrowCode("EXT5_DISPOSED", std::string(name) + " is a disposed Tensor");
  return self->tensor_;
}

TensorHandle::TensorHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorHandle>(info) {
  if (g_pending == nullptr) {
    throw MakeError(info.Env(), "EXT5_INVALID_ARG",
                    "TensorHandle cannot be constructed directly; use the tensor factory functions");
  }
  tensor_ = *g_pending;
  live_ = true;
  device_key_ = DeviceName(tensor_.device());
  bytes_ = static_cast<int64_t>(tensor_.numel()) * static_cast<int64_t>(tensor_.element_size());
  {
    std::lock_guard<std::mutex> lock(g_stats_mutex);
    auto& s = Stats()[device_key_];
    s.tensors += 1;
    s.bytes += bytes_;
  }
  // Tell V8 about CPU memory it cannot see, so garbage collection runs when handles pile up.
  if (tensor_.device().is_cpu() && bytes_ > 0) {
    external_ = bytes_;
    Napi::MemoryManagement::AdjustExternalMemory(info.Env(), external_);
  }
}

void TensorHandle::Release(Napi::BasicEnv env) {
  if (!live_) return;
  live_ = false;
  {
    std::lock_guard<std::mutex> lock(g_stats_mutex);
    auto& s = Stats()[device_key_];
    s.tensors -= 1;
    s.bytes -= bytes_;
  }
  if (external_ != 0) {
    Napi::MemoryManagement::AdjustExternalMemory(env, -external_);
    external_ = 0;
  }
  tensor_ = at::Tensor();
}

void TensorHandle::Finalize(Napi::BasicEnv env) { Release(env); }

Napi::Value TensorHandle::Dispose(const Napi::CallbackInfo& info) {
  Release(info.Env());
  return info.Env().Undefined();
}

Napi::Value TensorHandle::IsDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !live_);
}

Napi::Value TensorHandle::Shape(const Napi::CallbackInfo& info) {
  if (!live_) throw MakeError(info.Env(), "EXT5_DISPOSED", "the Tensor has been disposed");
  auto sizes = tensor_.sizes();
  Napi::Array a = Napi::Array::New(info.Env(), sizes.size());
  for (size_t i = 0; i < sizes.size(); i++) a.Set(i, Napi::Number::New(info.Env(), static_cast<double>(sizes[i])));
  return a;
}

Napi::Value TensorHandle::Dtype(const Napi::CallbackInfo& info) {
  if (!live_) throw MakeError(info.Env(), "EXT5_DISPOSED", "the Tensor has been disposed");
  return Napi::String::New(info.Env(), DtypeName(tensor_.scalar_type()));
}

Napi::Value TensorHandle::Device(const Napi::CallbackInfo& info) {
  if (!live_) throw MakeError(info.Env(), "EXT5_DISPOSED", "the Tensor has been disposed");
  return Napi::String::New(info.Env(), DeviceName(tensor_.device()));
}

Napi::Value TensorHandle::RequiresGrad(const Napi::CallbackInfo& info) {
  if (!live_) throw MakeError(info.Env(), "EXT5_DISPOSED", "the Tensor has been disposed");
  return Napi::Boolean::New(info.Env(), tensor_.requires_grad());
}

Napi::Value TensorHandle::Nbytes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), live_ ? static_cast<double>(bytes_) : 0.0);
}

// ---- module registration -------------------------------------------------------------------

namespace {
std::vector<std::pair<const char*, InitFn>>& Modules() {
  static std::vector<std::pair<const char*, InitFn>> m;
  return m;
}
}  // namespace

bool RegisterModule(const char* name, InitFn fn) {
  Modules().emplace_back(name, fn);
  return true;
}

void SetMethod(Napi::Env env, Napi::Object exports, const char* name,
               std::function<Napi::Value(const Napi::CallbackInfo&)> fn) {
  auto* holder = new std::function<Napi::Value(const Napi::CallbackInfo&)>(std::move(fn));
  std::string fname = name;
  Napi::Function f = Napi::Function::New(
      env,
      [](const Napi::CallbackInfo& info) -> Napi::Value {
        auto* h = static_cast<std::function<Napi::Value(const Napi::CallbackInfo&)>*>(info.Data());
        Napi::Env env = info.Env();
        EXT5_TRY
        return (*h)(info);
        EXT5_CATCH(env)
      },
      fname, holder);
  // The holder lives as long as the function; free it with the function.
  f.AddFinalizer([](Napi::Env, std::function<Napi::Value(const Napi::CallbackInfo&)>* p) { delete p; }, holder);
  exports.Set(name, f);
}

}  // namespace ext5

// ---- the addon's entry point ---------------------------------------------------------------

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  ext5::TensorHandle::Init(env, exports);
  for (auto& [name, fn] : ext5::Modules()) fn(env, exports);
  return exports;
}

NODE_API_MODULE(ext5_torch, Init)
