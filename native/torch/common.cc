// Error conversion, argument validation, module registration and the Tensor handle.
#include "common.h"

#include <c10/util/Exception.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <torch/cuda.h>

#include <algorithm>
#include <cmath>
#include <atomic>
#include <map>
#include <random>
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

std::pair<uint8_t*, size_t> TypedArrayBytes(const Napi::TypedArray& ta) {
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_value buffer;
  size_t offset = 0;
  napi_status st = napi_get_typedarray_info(ta.Env(), ta, &type, &length, &data, &buffer, &offset);
  if (st != napi_ok) ThrowArg("cannot read the typed array's memory");
  return {static_cast<uint8_t*>(data), ta.ByteLength()};
}

void CheckFitsInteger(const at::Tensor& t, at::ScalarType target, const std::string& name, bool exact) {
  if (!at::isIntegralType(target, /*includeBool=*/false) || t.numel() == 0 || t.scalar_type() == target) return;
  const at::ScalarType src = t.scalar_type();
  if (src == at::kBool) return;
  // Inclusive bounds of the target as doubles; int64's upper bound 2^63 - 1 is not a double, so
  // it is checked as "< 2^63".
  double lo = 0, hi = 0;
  switch (target) {
    case at::kByte: lo = 0; hi = 255; break;
    case at::kChar: lo = -128; hi = 127; break;
    case at::kShort: lo = -32768; hi = 32767; break;
    case at::kInt: lo = -2147483648.0; hi = 2147483647.0; break;
    case at::kLong: lo = -9223372036854775808.0; hi = 9223372036854775808.0; break;
    default: return;
  }
  const std::string dt = DtypeName(target);
  if (at::isFloatingType(src)) {
    at::Tensor d = t.detach().to(at::kDouble);
    if (!at::isfinite(d).all().item<bool>()) {
      ThrowCode("EXT5_VALUE", name + " holds NaN or Infinity, which " + dt + " cannot hold");
    }
    if (exact && !d.eq(d.trunc()).all().item<bool>()) {
      ThrowCode("EXT5_VALUE", name + " holds a non-integer value (e.g. " +
                                  std::to_string(d.masked_select(d.ne(d.trunc()))[0].item<double>()) +
                                  ") and the dtype is " + dt + ": round it first, or use a floating-point dtype");
    }
    double mn = d.min().item<double>(), mx = d.max().item<double>();
    bool over = target == at::kLong ? (mx >= hi) : (mx > hi);
    if (mn < lo || over) {
      std::ostringstream o;
      o.precision(17);
      o << name << " holds " << (mn < lo ? mn : mx) << ", outside the range of " << dt;
      ThrowCode("EXT5_VALUE", o.str() + "; values are never wrapped");
    }
    return;
  }
  if (target == at::kLong) return;  // every integer source fits int64
  at::Tensor l = t.detach().to(at::kLong);
  int64_t mn = l.min().item<int64_t>(), mx = l.max().item<int64_t>();
  if (static_cast<double>(mn) < lo || static_cast<double>(mx) > hi) {
    ThrowCode("EXT5_VALUE", name + " holds " + std::to_string(static_cast<double>(mn) < lo ? mn : mx) +
                                ", outside the range of " + dt + "; values are never wrapped");
  }
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
// Lock-free counters per device slot (0 = cpu, 1 + i = cuda:i): handles are created and
// disposed on every op, so this must cost next to nothing.
constexpr int kSlots = 17;
std::atomic<int64_t> g_tensors[kSlots];
std::atomic<int64_t> g_bytes[kSlots];
// Handles released because their TS Tensor was garbage-collected (Sweep, or the finalizer's
// disposeCollected) rather than disposed: live + collected changes only when code creates or
// disposes tensors, never with garbage-collection timing.
std::atomic<int64_t> g_collected_tensors[kSlots];
std::atomic<int64_t> g_collected_bytes[kSlots];
std::atomic<bool> g_used[kSlots];

int SlotOf(const at::Device& d) {
  if (d.is_cuda()) return 1 + std::min<int>(d.has_index() ? d.index() : 0, kSlots - 2);
  return 0;
}
}  // namespace

std::vector<std::pair<std::string, DeviceStats>> LiveStats() {
  std::vector<std::pair<std::string, DeviceStats>> out;
  for (int i = 0; i < kSlots; i++) {
    if (!g_used[i].load()) continue;
    DeviceStats s;
    s.tensors = g_tensors[i].load();
    s.bytes = g_bytes[i].load();
    s.collected_tensors = g_collected_tensors[i].load();
    s.collected_bytes = g_collected_bytes[i].load();
    out.emplace_back(i == 0 ? "cpu" : "cuda:" + std::to_string(i - 1), s);
  }
  return out;
}

// ---- Tensor handle ---------------------------------------------------------------------------

namespace {

// What one CPU tensor costs beyond its elements (TensorImpl, StorageImpl, allocator
// bookkeeping), reported to V8 with the elements so that many small forgotten tensors drive
// garbage collection too.
constexpr int64_t kTensorOverhead = 256;
// After this many bytes of tensors are released, unused heap is returned to the system:
// glibc keeps freed memory in its arenas (one per OpenMP thread), so RSS stayed at its peak
// after forgotten tensors were collected.
constexpr int64_t kTrimEvery = 128 * 1024 * 1024;
std::atomic<int64_t> g_released_since_trim{0};

void MaybeTrim(int64_t released) {
#if defined(__GLIBC__)
  if (g_released_since_trim.fetch_add(released, std::memory_order_relaxed) + released >= kTrimEvery) {
    g_released_since_trim.store(0, std::memory_order_relaxed);
    malloc_trim(0);
  }
#else
  (void)released;
#endif
}
// A handle is generation * kIndexSpan + slot index. Generations run through [kGenBase,
// kGenBase + kGenSpan) and wrap there, so every handle lies in [2^52, 2^53): exact as a double, and
// no small number (a count, an index, a shape) is ever a handle. Each slot starts its generations
// at a random offset, so a number made up or computed by mistake names a live tensor with odds of
// about one in 2^28, instead of a handle being predictable from the order tensors were made.
constexpr double kIndexSpan = 16777216.0;  // 2^24 slots
constexpr uint32_t kGenBase = 1u << 28;
constexpr uint32_t kGenSpan = 1u << 28;

struct Slot {
  at::Tensor tensor;
  uint32_t gen = 0;     // generation of the last handle issued for this slot
  uint32_t first = 0;   // offset in [0, kGenSpan) of the slot's first generation
  uint64_t issued = 0;  // handles issued for this slot so far
  bool live = false;
  int dev = 0;
  int64_t bytes = 0;
  int64_t external = 0;
  napi_ref owner = nullptr;  // weak reference to the TS Tensor that owns the handle (see Sweep)
};

// Forgotten tensors inside a synchronous loop: a FinalizationRegistry callback only runs when the
// event loop turns, so a loop that never yields would keep every intermediate alive (without the
// sweep below, RSS measured from 222 MB to 1.1 GB). V8 does collect the Tensor objects during the loop (the external memory
// reported below drives it); a weak napi reference sees that synchronously. So CPU tensors of
// kWatchBytes or more get a weak reference to their TS Tensor (`watch`, called by
// Tensor.fromHandle when `watchFlag` asks for it: small tensors, where a call would cost more
// than the op, keep only the finalizer), and after every kSweepEvery bytes of new tensors the
// slots whose Tensor was collected are released.
constexpr int64_t kWatchBytes = 4096;
constexpr int64_t kSweepEvery = 64 * 1024 * 1024;

struct AddonData {
  std::vector<Slot> slots;
  std::vector<uint32_t> free;
  std::mt19937 rng{std::random_device{}()};  // slots' first generations
  int64_t wrapped_since_sweep = 0;
  std::vector<uint32_t> watched;       // slot indices that hold an owner reference
  Napi::Reference<Napi::ArrayBuffer> flag_buffer;
  int32_t* flag = nullptr;             // [0]: the last wrapped handle wants watch()
};

AddonData& Data(Napi::Env env) {
  auto* d = env.GetInstanceData<AddonData>();
  if (d == nullptr) {
    d = new AddonData();
    env.SetInstanceData(d);
  }
  return *d;
}

enum class Lookup { kLive, kDisposed, kInvalid };

Lookup Find(AddonData& d, const Napi::Value& v, Slot** out) {
  if (!v.IsNumber()) return Lookup::kInvalid;
  double id = v.As<Napi::Number>().DoubleValue();
  constexpr double kMin = static_cast<double>(kGenBase) * kIndexSpan;  // 2^52
  if (!(id >= kMin) || id > 9007199254740991.0 || std::floor(id) != id) return Lookup::kInvalid;
  auto gen = static_cast<uint64_t>(id / kIndexSpan);
  auto index = static_cast<uint64_t>(id - static_cast<double>(gen) * kIndexSpan);
  if (index >= d.slots.size()) return Lookup::kInvalid;
  Slot& s = d.slots[index];
  if (s.live && s.gen == gen) {
    *out = &s;
    return Lookup::kLive;
  }
  // Issued before (now disposed) when gen is among the slot's first `issued` generations.
  uint64_t k = (gen - kGenBase + kGenSpan - s.first) % kGenSpan;
  return k < std::min<uint64_t>(s.issued, kGenSpan) ? Lookup::kDisposed : Lookup::kInvalid;
}

Napi::Value Unwrapped(const Napi::Value& v) {
  if (v.IsObject()) return v.As<Napi::Object>().Get("_h");
  return v;
}

}  // namespace

namespace {
void Sweep(Napi::Env env, AddonData& d);
}  // namespace

Napi::Value TensorHandle::Wrap(Napi::Env env, at::Tensor t) {
  if (!t.defined()) ThrowCode("EXT5_INTERNAL", "tried to return an undefined tensor");
  AddonData& d = Data(env);
  uint32_t index;
  if (!d.free.empty()) {
    index = d.free.back();
    d.free.pop_back();
  } else {
    if (d.slots.size() >= static_cast<size_t>(kIndexSpan)) {
      ThrowCode("EXT5_TOO_MANY_TENSORS", "more than 16.7 million live tensors: dispose tensors you no longer need");
    }
    index = static_cast<uint32_t>(d.slots.size());
    d.slots.emplace_back();
    d.slots.back().first = static_cast<uint32_t>(d.rng() % kGenSpan);
  }
  Slot& s = d.slots[index];
  s.gen = kGenBase + static_cast<uint32_t>((s.first + s.issued) % kGenSpan);
  s.issued += 1;
  s.live = true;
  s.dev = SlotOf(t.device());
  s.bytes = static_cast<int64_t>(t.numel()) * static_cast<int64_t>(t.element_size());
  s.external = 0;
  g_used[s.dev].store(true, std::memory_order_relaxed);
  g_tensors[s.dev].fetch_add(1, std::memory_order_relaxed);
  g_bytes[s.dev].fetch_add(s.bytes, std::memory_order_relaxed);
  // Tell V8 about CPU memory it cannot see, so garbage collection runs when tensors pile up.
  if (t.device().is_cpu()) {
    s.external = s.bytes + kTensorOverhead;
    Napi::MemoryManagement::AdjustExternalMemory(env, s.external);
    if (s.bytes >= kWatchBytes && d.flag != nullptr) *d.flag = 1;
  }
  s.owner = nullptr;
  s.tensor = std::move(t);
  d.wrapped_since_sweep += s.bytes;
  if (d.wrapped_since_sweep >= kSweepEvery && !d.watched.empty()) {
    d.wrapped_since_sweep = 0;
    Sweep(env, d);
  }
  return Napi::Number::New(env, static_cast<double>(s.gen) * kIndexSpan + index);
}

bool TensorHandle::Is(const Napi::Value& v) {
  Slot* s = nullptr;
  return Find(Data(v.Env()), Unwrapped(v), &s) == Lookup::kLive;
}

at::Tensor TensorHandle::Get(const Napi::Value& v, const char* name) {
  Slot* s = nullptr;
  switch (Find(Data(v.Env()), Unwrapped(v), &s)) {
    case Lookup::kLive: return s->tensor;
    case Lookup::kDisposed: ThrowCode("EXT5_DISPOSED", std::string(name) + " is a disposed Tensor");
    default: ThrowArg(std::string(name) + " must be a Tensor");
  }
}

namespace {
// `collected`: released because the owning TS Tensor was garbage-collected, not disposed.
void ReleaseSlot(Napi::Env env, AddonData& d, Slot* s, bool collected) {
  s->live = false;
  if (s->owner != nullptr) {
    napi_delete_reference(env, s->owner);
    s->owner = nullptr;
  }
  s->tensor = at::Tensor();
  g_tensors[s->dev].fetch_sub(1, std::memory_order_relaxed);
  g_bytes[s->dev].fetch_sub(s->bytes, std::memory_order_relaxed);
  if (collected) {
    g_collected_tensors[s->dev].fetch_add(1, std::memory_order_relaxed);
    g_collected_bytes[s->dev].fetch_add(s->bytes, std::memory_order_relaxed);
  }
  if (s->external != 0) Napi::MemoryManagement::AdjustExternalMemory(env, -s->external);
  s->external = 0;
  MaybeTrim(s->bytes);
  d.free.push_back(static_cast<uint32_t>(s - d.slots.data()));
}

// Releases every watched slot whose TS Tensor has been garbage-collected (see kWatchBytes).
void Sweep(Napi::Env env, AddonData& d) {
  std::vector<uint32_t> still;
  still.reserve(d.watched.size());
  std::vector<bool> seen(d.slots.size(), false);  // a reused slot may be listed twice
  for (uint32_t index : d.watched) {
    Slot& s = d.slots[index];
    if (!s.live || s.owner == nullptr || seen[index]) continue;
    seen[index] = true;
    napi_value owner = nullptr;
    if (napi_get_reference_value(env, s.owner, &owner) == napi_ok && owner == nullptr) {
      ReleaseSlot(env, d, &s, true);
    } else {
      still.push_back(index);
    }
  }
  d.watched.swap(still);
}
}  // namespace

bool TensorHandle::Release(Napi::Env env, const Napi::Value& v, bool collected) {
  AddonData& d = Data(env);
  Slot* s = nullptr;
  if (Find(d, Unwrapped(v), &s) != Lookup::kLive) return false;
  ReleaseSlot(env, d, s, collected);
  return true;
}

namespace {
at::Tensor LiveOrThrow(const Napi::CallbackInfo& info, const char* fn) {
  if (info.Length() != 1) ThrowArg(std::string(fn) + "() takes 1 argument");
  return TensorHandle::Get(info[0], "tensor");
}
}  // namespace

void TensorHandle::Init(Napi::Env env, Napi::Object exports) {
  AddonData& data = Data(env);
  {
    Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(env, sizeof(int32_t));
    data.flag = static_cast<int32_t*>(buf.Data());
    *data.flag = 0;
    data.flag_buffer = Napi::Persistent(buf);
  }
  // watchFlag(): an Int32Array whose [0] is 1 when the last wrapped handle wants watch(); reading
  // it costs no native call.
  SetMethod(env, exports, "watchFlag", [](const Napi::CallbackInfo& info) -> Napi::Value {
    AddonData& d = Data(info.Env());
    return Napi::Int32Array::New(info.Env(), 1, d.flag_buffer.Value(), 0);
  });
  // watch(handle, tensorObject): keeps a weak reference to the TS Tensor owning a large CPU handle.
  SetMethod(env, exports, "watch", [](const Napi::CallbackInfo& info) -> Napi::Value {
    if (info.Length() != 2 || !info[1].IsObject()) ThrowArg("watch(handle, tensor) takes a handle and its Tensor");
    AddonData& d = Data(info.Env());
    if (d.flag != nullptr) *d.flag = 0;
    Slot* s = nullptr;
    if (Find(d, info[0], &s) == Lookup::kLive && s->owner == nullptr && s->external >= kWatchBytes) {
      napi_ref ref = nullptr;
      if (napi_create_reference(info.Env(), info[1], 0, &ref) == napi_ok) {
        s->owner = ref;
        d.watched.push_back(static_cast<uint32_t>(s - d.slots.data()));
      }
    }
    return info.Env().Undefined();
  });
  SetMethod(env, exports, "dispose", [](const Napi::CallbackInfo& info) {
    if (info.Length() != 1) ThrowArg("dispose() takes 1 argument");
    return Napi::Boolean::New(info.Env(), TensorHandle::Release(info.Env(), info[0], false));
  });
  // disposeCollected(handle): dispose() for the FinalizationRegistry, counted in memory()'s
  // collectedTensors/collectedBytes.
  SetMethod(env, exports, "disposeCollected", [](const Napi::CallbackInfo& info) {
    if (info.Length() != 1) ThrowArg("disposeCollected() takes 1 argument");
    return Napi::Boolean::New(info.Env(), TensorHandle::Release(info.Env(), info[0], true));
  });
  SetMethod(env, exports, "isLive", [](const Napi::CallbackInfo& info) {
    if (info.Length() != 1) ThrowArg("isLive() takes 1 argument");
    return Napi::Boolean::New(info.Env(), TensorHandle::Is(info[0]));
  });
  SetMethod(env, exports, "shapeOf", [](const Napi::CallbackInfo& info) -> Napi::Value {
    at::Tensor t = LiveOrThrow(info, "shapeOf");
    auto sizes = t.sizes();
    Napi::Array a = Napi::Array::New(info.Env(), sizes.size());
    for (size_t i = 0; i < sizes.size(); i++) a.Set(i, Napi::Number::New(info.Env(), static_cast<double>(sizes[i])));
    return a;
  });
  SetMethod(env, exports, "dtypeOf", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::String::New(info.Env(), DtypeName(LiveOrThrow(info, "dtypeOf").scalar_type()));
  });
  SetMethod(env, exports, "deviceOf", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::String::New(info.Env(), DeviceName(LiveOrThrow(info, "deviceOf").device()));
  });
  SetMethod(env, exports, "requiresGradOf", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Boolean::New(info.Env(), LiveOrThrow(info, "requiresGradOf").requires_grad());
  });
  SetMethod(env, exports, "numelOf", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Number::New(info.Env(), static_cast<double>(LiveOrThrow(info, "numelOf").numel()));
  });
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
