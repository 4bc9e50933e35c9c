// Tensor creation, read-back and the ops that scripting and tests need. Hot paths (T5 forward,
// backward, optimizer steps, decoding) never go through these per element: see t5_*.cc.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <cmath>
#include <cstring>
#include <unordered_map>

#include "common.h"

namespace ext5 {
namespace {

using Fn = std::function<Napi::Value(const Napi::CallbackInfo&)>;

Napi::Value W(Napi::Env env, const at::Tensor& t) { return TensorHandle::Wrap(env, t); }

at::TensorOptions Options(const Napi::Value& dtype, const Napi::Value& device, at::ScalarType def = at::kFloat) {
  at::TensorOptions o = at::TensorOptions().dtype(def);
  if (!dtype.IsUndefined() && !dtype.IsNull()) o = o.dtype(ParseDtype(GetString(dtype, "dtype")));
  if (!device.IsUndefined() && !device.IsNull()) o = o.device(ParseDevice(GetString(device, "device")));
  return o;
}

std::vector<int64_t> Shape(const Napi::Value& v, const char* name) {
  auto shape = GetIntArray(v, name);
  if (shape.size() > 16) ThrowArg(std::string(name) + " has more than 16 dimensions");
  double numel = 1;
  for (size_t i = 0; i < shape.size(); i++) {
    if (shape[i] < 0) ThrowArg(std::string(name) + "[" + std::to_string(i) + "] must be >= 0");
    numel *= static_cast<double>(shape[i]);
  }
  if (numel > 1e12) ThrowArg(std::string(name) + " describes more than 10^12 elements");
  return shape;
}

// The dtype that a typed array's elements hold natively.
at::ScalarType TypedArrayDtype(napi_typedarray_type t, const char* name) {
  switch (t) {
    case napi_float32_array: return at::kFloat;
    case napi_float64_array: return at::kDouble;
    case napi_int32_array: return at::kInt;
    case napi_bigint64_array: return at::kLong;
    case napi_uint8_array: return at::kByte;
    case napi_uint8_clamped_array: return at::kByte;
    case napi_int8_array: return at::kChar;
    case napi_int16_array: return at::kShort;
    default:
      ThrowArg(std::string(name) +
               " must be a Float32Array, Float64Array, Int32Array, BigInt64Array, Uint8Array, Int8Array or Int16Array");
  }
}

// fromTypedArray(data, shape, dtype?, device?)
Napi::Value FromTypedArray(const Napi::CallbackInfo& info) {
  CheckArgCount(info, 2, 4, "fromTypedArray");
  if (!info[0].IsTypedArray()) ThrowArg("data must be a typed array");
  auto ta = info[0].As<Napi::TypedArray>();
  auto shape = Shape(info[1], "shape");
  at::ScalarType natural = TypedArrayDtype(ta.TypedArrayType(), "data");
  int64_t numel = 1;
  for (auto s : shape) numel *= s;
  if (static_cast<int64_t>(ta.ElementLength()) != numel) {
    ThrowCode("EXT5_SHAPE", "data has " + std::to_string(ta.ElementLength()) + " elements but shape [" +
                                c10::Join(", ", shape) + "] needs " + std::to_string(numel));
  }
  auto opts = Options(info[2], info[3], natural);
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(natural));
  if (numel > 0) {
    auto [src, bytes] = TypedArrayBytes(ta);
    std::memcpy(t.data_ptr(), src, bytes);
  }
  CheckFitsInteger(t, opts.dtype().toScalarType(), "data");
  if (opts.dtype().toScalarType() == at::kBool && natural == at::kByte) {
    t = t.ne(0);
  }
  t = t.to(opts.device(), opts.dtype().toScalarType());
  return W(info.Env(), t);
}

// Raw bits of float16/bfloat16 (Uint16Array) -> tensor, for checkpoints that keep half types.
Napi::Value FromHalfBits(const Napi::CallbackInfo& info) {
  CheckArgCount(info, 3, 4, "fromHalfBits");
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint16_array) {
    ThrowArg("data must be a Uint16Array of raw float16/bfloat16 bits");
  }
  auto ta = info[0].As<Napi::TypedArray>();
  auto shape = Shape(info[1], "shape");
  auto dtype = ParseDtype(GetString(info[2], "dtype"));
  if (dtype != at::kHalf && dtype != at::kBFloat16) ThrowArg("dtype must be 'float16' or 'bfloat16'");
  int64_t numel = 1;
  for (auto s : shape) numel *= s;
  if (static_cast<int64_t>(ta.ElementLength()) != numel) {
    ThrowCode("EXT5_SHAPE", "data has " + std::to_string(ta.ElementLength()) + " elements but shape needs " +
                                std::to_string(numel));
  }
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
  if (numel > 0) {
    auto [src, bytes] = TypedArrayBytes(ta);
    std::memcpy(t.data_ptr(), src, bytes);
  }
  if (info.Length() > 3 && !info[3].IsUndefined()) t = t.to(ParseDevice(GetString(info[3], "device")));
  return W(info.Env(), t);
}

Napi::Value CopyOut(Napi::Env env, at::Tensor t, bool raw) {
  t = t.detach();
  if (!t.device().is_cpu()) t = t.to(at::kCPU);
  at::ScalarType st = t.scalar_type();
  napi_typedarray_type kind;
  if (raw && (st == at::kHalf || st == at::kBFloat16)) {
    kind = napi_uint16_array;
  } else {
    switch (st) {
      case at::kFloat: kind = napi_float32_array; break;
      case at::kDouble: kind = napi_float64_array; break;
      case at::kHalf:
      case at::kBFloat16: t = t.to(at::kFloat); kind = napi_float32_array; break;
      case at::kInt: kind = napi_int32_array; break;
      case at::kLong: kind = napi_bigint64_array; break;
      case at::kShort: kind = napi_int16_array; break;
      case at::kChar: kind = napi_int8_array; break;
      case at::kByte:
      case at::kBool: kind = napi_uint8_array; break;
      default: ThrowCode("EXT5_TYPE", "cannot read back dtype " + DtypeName(st));
    }
  }
  t = t.contiguous();
  size_t bytes = static_cast<size_t>(t.numel()) * t.element_size();
  Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(env, bytes);
  if (bytes > 0) std::memcpy(buf.Data(), t.data_ptr(), bytes);
  size_t n = static_cast<size_t>(t.numel());
  switch (kind) {
    case napi_float32_array: return Napi::Float32Array::New(env, n, buf, 0);
    case napi_float64_array: return Napi::Float64Array::New(env, n, buf, 0);
    case napi_int32_array: return Napi::Int32Array::New(env, n, buf, 0);
    case napi_bigint64_array: return Napi::BigInt64Array::New(env, n, buf, 0);
    case napi_int16_array: return Napi::Int16Array::New(env, n, buf, 0);
    case napi_int8_array: return Napi::Int8Array::New(env, n, buf, 0);
    case napi_uint16_array: return Napi::Uint16Array::New(env, n, buf, 0);
    default: return Napi::Uint8Array::New(env, n, buf, 0);
  }
}

// NaN and Infinity are valid float values: an op computes with them (an integer dtype refuses
// them where the value is converted).
at::Scalar ScalarArg(const Napi::Value& v, const char* name) {
  if (v.IsBoolean()) return at::Scalar(v.As<Napi::Boolean>().Value());
  if (!v.IsNumber()) ThrowArg(std::string(name) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (std::floor(d) == d && std::fabs(d) < 9007199254740992.0) return at::Scalar(static_cast<int64_t>(d));
  return at::Scalar(d);
}

// A tensor argument, or a number/boolean that becomes a 0-dim tensor on `device`. 0-dim tensors
// follow PyTorch's promotion rules (they never widen a tensor of the same category), so
// `float32 + 2` stays float32 and `int32 + 0.5` becomes float32, as in Python.
at::Tensor WrappedScalar(const Napi::Value& v, const char* name) {
  // A "wrapped number" is how PyTorch marks Python scalars: it never widens the other operand
  // within a category, and as a CPU scalar it may be combined with CUDA tensors.
  if (!v.IsBoolean() && !v.IsNumber()) ThrowArg(std::string(name) + " must be a number or boolean");
  at::Scalar s = v.IsBoolean() ? at::Scalar(v.As<Napi::Boolean>().Value()) : ScalarArg(v, name);
  at::ScalarType st = v.IsBoolean() ? at::kBool : (s.isIntegral(false) ? at::kLong : at::kDouble);
  at::Tensor t = at::scalar_tensor(s, at::TensorOptions().dtype(st));
  t.unsafeGetTensorImpl()->set_wrapped_number(true);
  return t;
}

// Handles and scalars are both JS numbers, so callers say which one they pass.
at::Tensor TensorOrScalar(const Napi::Value& v, const char* name, bool scalar) {
  return scalar ? WrappedScalar(v, name) : TensorHandle::Get(v, name);
}

bool IsWrapped(const at::Tensor& t) { return t.unsafeGetTensorImpl()->is_wrapped_number(); }

void SameDevice(const at::Tensor& a, const at::Tensor& b, const char* what) {
  if (a.device() != b.device()) {
    ThrowCode("EXT5_DEVICE", std::string(what) + ": tensors are on different devices (" + DeviceName(a.device()) +
                                 " and " + DeviceName(b.device()) + "); move one with .to()");
  }
}

std::string ShapeStr(const at::Tensor& t) { return "[" + c10::Join(", ", t.sizes()) + "]"; }

void RequireFloating(const at::Tensor& t, const char* op) {
  if (!at::isFloatingType(t.scalar_type())) {
    ThrowCode("EXT5_DTYPE", std::string(op) + " needs a floating-point tensor, got " + DtypeName(t.scalar_type()) +
                                "; convert with .to('float32')");
  }
}

const std::unordered_map<std::string, at::Tensor (*)(const at::Tensor&)>& UnaryOps() {
  static const std::unordered_map<std::string, at::Tensor (*)(const at::Tensor&)> ops = {
      {"neg", [](const at::Tensor& t) { return at::neg(t); }},
      {"abs", [](const at::Tensor& t) { return at::abs(t); }},
      {"exp", [](const at::Tensor& t) { return at::exp(t); }},
      {"log", [](const at::Tensor& t) { return at::log(t); }},
      {"sqrt", [](const at::Tensor& t) { return at::sqrt(t); }},
      {"rsqrt", [](const at::Tensor& t) { return at::rsqrt(t); }},
      {"tanh", [](const at::Tensor& t) { return at::tanh(t); }},
      {"sigmoid", [](const at::Tensor& t) { return at::sigmoid(t); }},
      {"relu", [](const at::Tensor& t) { return at::relu(t); }},
      {"gelu", [](const at::Tensor& t) { return at::gelu(t); }},
      {"geluTanh", [](const at::Tensor& t) { return at::gelu(t, "tanh"); }},
      {"square", [](const at::Tensor& t) { return at::square(t); }},
      {"floor", [](const at::Tensor& t) { return at::floor(t); }},
      {"ceil", [](const at::Tensor& t) { return at::ceil(t); }},
      {"round", [](const at::Tensor& t) { return at::round(t); }},
      {"logicalNot", [](const at::Tensor& t) { return at::logical_not(t); }},
      {"isnan", [](const at::Tensor& t) { return at::isnan(t); }},
      {"isfinite", [](const at::Tensor& t) { return at::isfinite(t); }},
  };
  return ops;
}

// Ops that are only defined for floating types: checked up front for a clear error.
bool NeedsFloat(const std::string& op) {
  return op == "exp" || op == "log" || op == "sqrt" || op == "rsqrt" || op == "tanh" || op == "sigmoid" ||
         op == "gelu" || op == "geluTanh";
}

using BinaryFn = at::Tensor (*)(const at::Tensor&, const at::Tensor&);
const std::unordered_map<std::string, BinaryFn>& BinaryOps() {
  static const std::unordered_map<std::string, BinaryFn> ops = {
      {"add", [](const at::Tensor& a, const at::Tensor& b) { return at::add(a, b); }},
      {"sub", [](const at::Tensor& a, const at::Tensor& b) { return at::sub(a, b); }},
      {"mul", [](const at::Tensor& a, const at::Tensor& b) { return at::mul(a, b); }},
      {"div", [](const at::Tensor& a, const at::Tensor& b) { return at::div(a, b); }},
      {"pow", [](const at::Tensor& a, const at::Tensor& b) { return at::pow(a, b); }},
      {"maximum", [](const at::Tensor& a, const at::Tensor& b) { return at::maximum(a, b); }},
      {"minimum", [](const at::Tensor& a, const at::Tensor& b) { return at::minimum(a, b); }},
      {"eq", [](const at::Tensor& a, const at::Tensor& b) { return at::eq(a, b); }},
      {"ne", [](const at::Tensor& a, const at::Tensor& b) { return at::ne(a, b); }},
      {"lt", [](const at::Tensor& a, const at::Tensor& b) { return at::lt(a, b); }},
      {"le", [](const at::Tensor& a, const at::Tensor& b) { return at::le(a, b); }},
      {"gt", [](const at::Tensor& a, const at::Tensor& b) { return at::gt(a, b); }},
      {"ge", [](const at::Tensor& a, const at::Tensor& b) { return at::ge(a, b); }},
      {"logicalAnd", [](const at::Tensor& a, const at::Tensor& b) { return at::logical_and(a, b); }},
      {"logicalOr", [](const at::Tensor& a, const at::Tensor& b) { return at::logical_or(a, b); }},
  };
  return ops;
}

void CheckBroadcast(const at::Tensor& a, const at::Tensor& b, const std::string& op) {
  auto sa = a.sizes();
  auto sb = b.sizes();
  size_t n = std::max(sa.size(), sb.size());
  for (size_t i = 0; i < n; i++) {
    int64_t da = i < sa.size() ? sa[sa.size() - 1 - i] : 1;
    int64_t db = i < sb.size() ? sb[sb.size() - 1 - i] : 1;
    if (da != db && da != 1 && db != 1) {
      ThrowCode("EXT5_SHAPE", op + ": shapes " + ShapeStr(a) + " and " + ShapeStr(b) + " cannot be broadcast together");
    }
  }
}

// An integer raised to a negative integer power has no integer result (PyTorch refuses it for a
// Scalar exponent, but a tensor exponent silently gives 0 or 1).
void CheckIntegerPow(const at::Tensor& a, const at::Tensor& b) {
  if (!at::isIntegralType(a.scalar_type(), true) || !at::isIntegralType(b.scalar_type(), true)) return;
  if (b.numel() > 0 && b.lt(0).any().item<bool>()) {
    ThrowCode("EXT5_VALUE", "pow: integers to negative integer powers are not allowed; convert with .to('float32')");
  }
}

at::Tensor Matmul(const at::Tensor& a, const at::Tensor& b) {
  SameDevice(a, b, "matmul");
  if (a.dim() == 0 || b.dim() == 0) ThrowCode("EXT5_SHAPE", "matmul needs tensors with at least one dimension");
  int64_t ka = a.size(-1);
  int64_t kb = b.dim() == 1 ? b.size(0) : b.size(-2);
  if (ka != kb) {
    ThrowCode("EXT5_SHAPE", "matmul: shapes " + ShapeStr(a) + " and " + ShapeStr(b) + " do not match (" +
                                std::to_string(ka) + " != " + std::to_string(kb) + ")");
  }
  if (a.scalar_type() != b.scalar_type()) {
    ThrowCode("EXT5_DTYPE", "matmul: dtypes differ (" + DtypeName(a.scalar_type()) + " and " +
                                DtypeName(b.scalar_type()) + "); convert one with .to()");
  }
  return at::matmul(a, b);
}

std::vector<at::Tensor> TensorList(const Napi::Value& v, const char* name) {
  if (!v.IsArray()) ThrowArg(std::string(name) + " must be an array of Tensors");
  auto arr = v.As<Napi::Array>();
  if (arr.Length() == 0) ThrowArg(std::string(name) + " must not be empty");
  std::vector<at::Tensor> out;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    std::string n = std::string(name) + "[" + std::to_string(i) + "]";
    out.push_back(TensorHandle::Get(arr.Get(i), n.c_str()));
    SameDevice(out.front(), out.back(), name);
  }
  return out;
}

at::Tensor IndexArg(const Napi::Value& v, const char* name, const at::Tensor& like) {
  at::Tensor idx = TensorHandle::Get(v, name);
  if (idx.scalar_type() != at::kLong && idx.scalar_type() != at::kInt) {
    ThrowCode("EXT5_DTYPE", std::string(name) + " must be an int64 or int32 tensor, got " + DtypeName(idx.scalar_type()));
  }
  SameDevice(like, idx, name);
  return idx.to(at::kLong);
}

void InitTensorOps(Napi::Env env, Napi::Object exports) {
  SetMethod(env, exports, "fromTypedArray", FromTypedArray);
  SetMethod(env, exports, "fromHalfBits", FromHalfBits);

  SetMethod(env, exports, "toTypedArray", [](const Napi::CallbackInfo& info) {
    CheckArgCount(info, 1, 2, "toTypedArray");
    bool raw = info.Length() > 1 && !info[1].IsUndefined() && GetBool(info[1], "raw");
    return CopyOut(info.Env(), TensorHandle::Get(info[0], "tensor"), raw);
  });

  SetMethod(env, exports, "item", [](const Napi::CallbackInfo& info) -> Napi::Value {
    CheckArgCount(info, 1, 1, "item");
    at::Tensor t = TensorHandle::Get(info[0], "tensor");
    if (t.numel() != 1) {
      ThrowCode("EXT5_SHAPE", "item() needs a tensor with exactly one element, got shape " + ShapeStr(t));
    }
    if (t.scalar_type() == at::kBool) return Napi::Boolean::New(info.Env(), t.item<bool>());
    return Napi::Number::New(info.Env(), t.item<double>());
  });

  // Factories: zeros/ones/rand/randn(shape, dtype?, device?), full(shape, value, dtype?, device?)
  for (const char* name : {"zeros", "ones", "rand", "randn", "empty"}) {
    std::string n = name;
    SetMethod(env, exports, name, [n](const Napi::CallbackInfo& info) {
      CheckArgCount(info, 1, 3, n.c_str());
      auto shape = Shape(info[0], "shape");
      auto opts = Options(info[1], info[2]);
      if ((n == "rand" || n == "randn") && !at::isFloatingType(opts.dtype().toScalarType())) {
        ThrowCode("EXT5_DTYPE", n + " needs a floating-point dtype");
      }
      at::Tensor t = n == "zeros" ? at::zeros(shape, opts)
                     : n == "ones" ? at::ones(shape, opts)
                     : n == "rand" ? at::rand(shape, opts)
                     : n == "randn" ? at::randn(shape, opts)
                                    : at::empty(shape, opts);
      return W(info.Env(), t);
    });
  }
  SetMethod(env, exports, "full", [](const Napi::CallbackInfo& info) {
    CheckArgCount(info, 2, 4, "full");
    auto shape = Shape(info[0], "shape");
    at::Scalar value = ScalarArg(info[1], "value");
    auto opts = Options(info[2], info[3]);
    if (value.isFloatingPoint()) {
      CheckFitsInteger(at::scalar_tensor(value, at::kDouble), opts.dtype().toScalarType(), "value");
    }
    return W(info.Env(), at::full(shape, value, opts));
  });
  SetMethod(env, exports, "arange", [](const Napi::CallbackInfo& info) {
    CheckArgCount(info, 3, 5, "arange");
    double start = GetNumber(info[0], "start"), end = GetNumber(info[1], "end"), step = GetNumber(info[2], "step");
    if (step == 0) ThrowArg("step must not be 0");
    if ((end - start) / step > 1e10) ThrowArg("arange would create more than 10^10 elements");
    at::ScalarType def = (std::floor(start) == start && std::floor(end) == end && std::floor(step) == step) ? at::kLong : at::kFloat;
    return W(info.Env(), at::arange(at::Scalar(start), at::Scalar(end), at::Scalar(step), Options(info[3], info[4], def)));
  });
  SetMethod(env, exports, "manualSeed", [](const Napi::CallbackInfo& info) {
    CheckArgCount(info, 1, 1, "manualSeed");
    int64_t seed = GetInt(info[0], "seed");
    if (seed < 0) ThrowArg("seed must be >= 0");
    at::manual_seed(static_cast<uint64_t>(seed));
    return info.Env().Undefined();
  });

  SetMethod(env, exports, "to", [](const Napi::CallbackInfo& info) {
    CheckArgCount(info, 2, 3, "to");
    at::Tensor t = TensorHandle::Get(info[0], "tensor");
    auto opts = Options(info[1], info[2], t.scalar_type());
    at::Device dev = (info.Length() > 2 && !info[2].IsUndefined() && !info[2].IsNull()) ? opts.device() : t.device();
    // Like PyTorch, a float -> integer conversion truncates fractions; values out of the
    // target's range (and NaN, Infinity) have no integer value and are refused, not wrapped.
    CheckFitsInteger(t, opts.dtype().toScalarType(), "tensor", /*exact=*/false);
    return W(info.Env(), t.to(dev, opts.dtype().toScalarType()));
  });

  // One export per op (e.g. `add(a, b, bIsScalar?)`, `exp(t)`): no op-name string to convert
  // and look up on every call, which is a measurable share of a small op.
  for (const auto& [name, fn] : UnaryOps()) {
    std::string n = name;
    auto f = fn;
    bool needsFloat = NeedsFloat(n);
    SetMethod(env, exports, n.c_str(), [n, f, needsFloat](const Napi::CallbackInfo& info) {
      CheckArgCount(info, 1, 1, n.c_str());
      at::Tensor t = TensorHandle::Get(info[0], "tensor");
      if (needsFloat) RequireFloating(t, n.c_str());
      return W(info.Env(), f(t));
    });
  }
  for (const auto& [name, fn] : BinaryOps()) {
    std::string n = name;
    auto f = fn;
    SetMethod(env, exports, n.c_str(), [n, f](const Napi::CallbackInfo& info) {
      CheckArgCount(info, 2, 3, n.c_str());
      at::Tensor a = TensorHandle::Get(info[0], "a");
      bool scalar = info.Length() > 2 && !info[2].IsUndefined() && GetBool(info[2], "bIsScalar");
      at::Tensor b = TensorOrScalar(info[1], "b", scalar);
      if (!scalar) {
        SameDevice(a, b, n.c_str());
        CheckBroadcast(a, b, n);
      }
      if (n == "pow") CheckIntegerPow(a, b);
      return W(info.Env(), f(a, b));
    });
  }

  SetMethod(env, exports, "matmul", [](const Napi::CallbackInfo& info) {
    CheckArgCount(info, 2, 2, "matmul");
    return W(info.Env(), Matmul(TensorHandle::Get(info[0], "a"), TensorHandle::Get(info[1], "b")));
  });

  // The Promise version runs on a worker thread; the JS thread stays free.
  SetMethod(env, exports, "matmulAsync", [](const Napi::CallbackInfo& info) -> Napi::Value {
    CheckArgCount(info, 2, 2, "matmulAsync");
    at::Tensor a = TensorHandle::Get(info[0], "a"), b = TensorHandle::Get(info[1], "b");
    return RunAsync<at::Tensor>(
        info.Env(), [a, b]() { return Matmul(a, b); },
        [](Napi::Env env, at::Tensor& r) -> Napi::Value { return TensorHandle::Wrap(env, r); });
  });

  // reduce(op, tensor, dims|null, keepdim)
  SetMethod(env, exports, "reduce", [](const Napi::CallbackInfo& info) {
    CheckArgCount(info, 2, 4, "reduce");
    std::string op = GetString(info[0], "op");
    at::Tensor t = TensorHandle::Get(info[1], "tensor");
    bool all = info.Length() < 3 || info[2].IsUndefined() || info[2].IsNull();
    bool keep = info.Length() > 3 && !info[3].IsUndefined() && GetBool(info[3], "keepdim");
    std::vector<int64_t> dims;
    if (!all) {
      dims = info[2].IsNumber() ? std::vector<int64_t>{GetInt(info[2], "dim")} : GetIntArray(info[2], "dims");
      for (auto& d : dims) d = NormalizeDim(d, t.dim(), "dim");
    }
    if ((op == "mean" || op == "std" || op == "var" || op == "logsumexp") && !at::isFloatingType(t.scalar_type())) {
      RequireFloating(t, op.c_str());
    }
    if (t.numel() == 0 && (op == "max" || op == "min" || op == "argmax" || op == "argmin")) {
      ThrowCode("EXT5_SHAPE", op + " of an empty tensor is undefined");
    }
    at::Tensor r;
    if (op == "sum") r = all ? (keep ? t.sum(c10::IntArrayRef{}, true) : t.sum()) : t.sum(dims, keep);
    else if (op == "mean") r = all ? t.mean() : t.mean(dims, keep);
    else if (op == "prod") r = all ? t.prod() : (dims.size() == 1 ? t.prod(dims[0], keep) : (ThrowArg("prod takes one dim"), r));
    else if (op == "std") r = all ? t.std() : t.std(dims, true, keep);
    else if (op == "var") r = all ? t.var() : t.var(dims, true, keep);
    else if (op == "logsumexp") r = t.logsumexp(all ? std::vector<int64_t>{} : dims, keep);
    else if (op == "max" || op == "min" || op == "argmax" || op == "argmin") {
      if (!all && dims.size() != 1) ThrowArg(op + " takes a single dim");
      if (op == "max") r = all ? t.max() : std::get<0>(t.max(dims[0], keep));
      else if (op == "min") r = all ? t.min() : std::get<0>(t.min(dims[0], keep));
      else if (op == "argmax") r = all ? t.argmax() : t.argmax(dims[0], keep);
      else r = all ? t.argmin() : t.argmin(dims[0], keep);
    } else {
      ThrowArg("unknown reduction '" + op + "' (expected sum, mean, prod, std, var, logsumexp, max, min, argmax, argmin)");
    }
    return W(info.Env(), r);
  });

  for (const char* name : {"softmax", "logSoftmax"}) {
    std::string n = name;
    SetMethod(env, exports, name, [n](const Napi::CallbackInfo& info) {
      CheckArgCount(info, 2, 2, n.c_str());
      at::Tensor t = TensorHandle::Get(info[0], "tensor");
      RequireFloating(t, n.c_str());
      int64_t dim = NormalizeDim(GetInt(info[1], "dim"), t.dim(), "dim");
      return W(info.Env(), n == "softmax" ? at::softmax(t, dim) : at::log_softmax(t, dim));
    });
  }

  for (const char* name : {"reshape", "view"}) {
    std::string n = name;
    SetMethod(env, exports, name, [n](const Napi::CallbackInfo& info) {
      CheckArgCount(info, 2, 2, n.c_str());
      at::Tensor t = TensorHandle::Get(info[0], "tensor");
      auto shape = GetIntArray(info[1], "shape");
      int64_t known = 1, infer = 0;
      for (auto s : shape) {
        if (s == -1) infer++;
        else if (s < 0) ThrowCode("EXT5_SHAPE", "shape entries must be >= 0 or -1");
        else known *= s;
      }
      if (infer > 1) ThrowCode("EXT5_SHAPE", "only one shape entry can be -1");
      if ((infer == 0 && known != t.numel()) || (infer == 1 && (known == 0 || t.numel() % known != 0))) {
        ThrowCode("EXT5_SHAPE", "cannot " + n + " a tensor of shape " + ShapeStr(t) + " (" + std::to_string(t.numel()) +
                                    " elements) to [" + c10::Join(", ", shape) + "]");
      }
      if (n == "view" && !t.is_contiguous()) {
        ThrowCode("EXT5_SHAPE", "view needs a contiguous tensor; use reshape() or contiguous() first");
      }
      return W(info.Env(), n == "view" ? t.view(shape) : t.reshape(shape));
    });
  }

  SetMethod(env, exports, "transpose", [](const Napi::CallbackInfo& info) {
    CheckArgCount(info, 3, 3, "transpose");
    at::Tensor t = TensorHandle::Get(info[0], "tensor");
    int64_t a = NormalizeDim(GetInt(info[1], "dim0"), t.dim(), "dim0");
    int64_t b = NormalizeDim(GetInt(info[2], "dim1"), t.dim(), "dim1");
    return W(info.Env(), t.transpose(a, b));
  });

  SetMethod(env, exports, "permute", [](const Napi::CallbackInfo& info) {
    CheckArgCount(info, 2, 2, "permute");
    at::Tensor t = TensorHandle::Get(info[0], "tensor");
    auto dims = GetIntArray(info[1], "dims");
    if (static_cast<int64_t>(dims.size()) != t.dim()) {
      ThrowCode("EXT5_SHAPE", "permute needs " + std::to_string(t.dim()) + " dims, got " + std::to_string(dims.size()));
    }
    std::vector<bool> seen(dims.size(), false);
    for (auto& d : dims) {
      d = NormalizeDim(d, t.dim(), "dim");
      if (seen[d]) ThrowCode("EXT5_SHAPE", "permute dims repeat dim " + std::to_string(d));
      seen[d] = true;
    }
    return W(info.Env(), t.permute(dims));
  });

  // slice(tensor, dim, start, end, step)
  SetMethod(env, exports, "slice", [](const Napi::CallbackInfo& info) {
    CheckArgCount(info, 2, 5, "slice");
    at::Tensor t = TensorHandle::Get(info[0], "tensor");
    if (t.dim() == 0) ThrowCode("EXT5_SHAPE", "cannot slice a 0-dimensional tensor");
    int64_t dim = NormalizeDim(GetInt(info[1], "dim"), t.dim(), "dim");
    auto start = info.Length() > 2 ? GetOptionalInt(info[2], "start") : std::nullopt;
    auto end = info.Length() > 3 ? GetOptionalInt(info[3], "end") : std::nullopt;
    int64_t step = info.Length() > 4 && !info[4].IsUndefined() ? GetInt(info[4], "step") : 1;
    if (step <= 0) ThrowArg("slice step must be > 0");
    // libtorch 1.13 uses c10::optional, 2.x std::optional: convert explicitly for both.
    c10::optional<int64_t> s0 = start ? c10::optional<int64_t>(*start) : c10::nullopt;
    c10::optional<int64_t> s1 = end ? c10::optional<int64_t>(*end) : c10::nullopt;
    return W(info.Env(), t.slice(dim, s0, s1, step));
  });

  SetMethod(env, exports, "indexSelect", [](const Napi::CallbackInfo& info) {
    CheckArgCount(info, 3, 3, "indexSelect");
    at::Tensor t = TensorHandle::Get(info[0], "tensor");
    int64_t dim = NormalizeDim(GetInt(info[1], "dim"), t.dim(), "dim");
    at::Tensor idx = IndexArg(info[2], "index", t);
    if (idx.dim() > 1) ThrowCode("EXT5_SHAPE", "indexSelect needs a 1-D index");
    if (idx.numel() > 0) {
      int64_t lo = idx.min().item<int64_t>(), hi = idx.max().item<int64_t>(), n = t.size(dim);
      if (lo < -n || hi >= n) {
        ThrowCode("EXT5_INDEX", "index out of range: values must be in [" + std::to_string(-n) + ", " +
                                    std::to_string(n) + ") for dim " + std::to_string(dim) + " of size " + std::to_string(n));
      }
      idx = at::where(idx < 0, idx + n, idx);
    }
    return W(info.Env(), t.index_select(dim, idx));
  });

  SetMethod(env, exports, "gather", [](const Napi::CallbackInfo& info) {
    CheckArgCount(info, 3, 3, "gather");
    at::Tensor t = TensorHandle::Get(info[0], "tensor");
    int64_t dim = NormalizeDim(GetInt(info[1], "dim"), t.dim(), "dim");
    at::Tensor idx = IndexArg(info[2], "index", t);
    if (idx.dim() != t.dim()) ThrowCode("EXT5_SHAPE", "gather: index must have as many dims as the tensor");
    if (idx.numel() > 0) {
      int64_t lo = idx.min().item<int64_t>(), hi = idx.max().item<int64_t>();
      if (lo < 0 || hi >= t.size(dim)) {
        ThrowCode("EXT5_INDEX", "gather: index values must be in [0, " + std::to_string(t.size(dim)) + ")");
      }
    }
    return W(info.Env(), t.gather(dim, idx));
  });

  for (const char* name : {"cat", "stack"}) {
    std::string n = name;
    SetMethod(env, exports, name, [n](const Napi::CallbackInfo& info) {
      CheckArgCount(info, 1, 2, n.c_str());
      auto list = TensorList(info[0], "tensors");
      int64_t d = info.Length() > 1 && !info[1].IsUndefined() ? GetInt(info[1], "dim") : 0;
      int64_t nd = list.front().dim() + (n == "stack" ? 1 : 0);
      d = NormalizeDim(d, nd, "dim");
      for (size_t i = 1; i < list.size(); i++) {
        if (list[i].dim() != list[0].dim()) ThrowCode("EXT5_SHAPE", n + ": all tensors need the same number of dims");
        for (int64_t k = 0; k < list[0].dim(); k++) {
          if ((n == "stack" || k != d) && list[i].size(k) != list[0].size(k)) {
            ThrowCode("EXT5_SHAPE", n + ": shapes " + ShapeStr(list[0]) + " and " + ShapeStr(list[i]) + " do not match");
          }
        }
      }
      return W(info.Env(), n == "cat" ? at::cat(list, d) : at::stack(list, d));
    });
  }

  // where(condition, a, b, scalarMask?): bit 0 = a is a scalar, bit 1 = b is a scalar
  SetMethod(env, exports, "where", [](const Napi::CallbackInfo& info) {
    CheckArgCount(info, 3, 4, "where");
    at::Tensor c = TensorHandle::Get(info[0], "condition");
    if (c.scalar_type() != at::kBool) ThrowCode("EXT5_DTYPE", "where: condition must be a bool tensor");
    int64_t mask = info.Length() > 3 && !info[3].IsUndefined() ? GetInt(info[3], "scalarMask") : 0;
    at::Tensor a = TensorOrScalar(info[1], "a", (mask & 1) != 0);
    at::Tensor b = TensorOrScalar(info[2], "b", (mask & 2) != 0);
    if (!IsWrapped(a)) SameDevice(c, a, "where");
    if (!IsWrapped(b)) SameDevice(c, b, "where");
    CheckBroadcast(c, a, "where");
    CheckBroadcast(c, b, "where");
    return W(info.Env(), at::where(c, a, b));
  });

  for (const char* name : {"clone", "detach", "contiguous"}) {
    std::string n = name;
    SetMethod(env, exports, name, [n](const Napi::CallbackInfo& info) {
      CheckArgCount(info, 1, 1, n.c_str());
      at::Tensor t = TensorHandle::Get(info[0], "tensor");
      return W(info.Env(), n == "clone" ? t.clone() : n == "detach" ? t.detach() : t.contiguous());
    });
  }

  // ---- autograd ----
  SetMethod(env, exports, "setRequiresGrad", [](const Napi::CallbackInfo& info) {
    CheckArgCount(info, 2, 2, "setRequiresGrad");
    at::Tensor t = TensorHandle::Get(info[0], "tensor");
    bool flag = GetBool(info[1], "requiresGrad");
    if (flag && !at::isFloatingType(t.scalar_type())) {
      ThrowCode("EXT5_DTYPE", "only floating-point tensors can require gradients, got " + DtypeName(t.scalar_type()));
    }
    if (!t.is_leaf() && !flag) ThrowArg("requiresGrad can only be turned off on leaf tensors; use detach()");
    t.set_requires_grad(flag);
    return info.Env().Undefined();
  });
  SetMethod(env, exports, "backward", [](const Napi::CallbackInfo& info) {
    CheckArgCount(info, 1, 2, "backward");
    at::Tensor t = TensorHandle::Get(info[0], "tensor");
    if (!t.requires_grad()) {
      ThrowCode("EXT5_AUTOGRAD", "backward(): the tensor does not require grad (no input had requiresGrad set, or it "
                                 "was computed under noGrad)");
    }
    if (info.Length() > 1 && !info[1].IsUndefined()) {
      at::Tensor g = TensorHandle::Get(info[1], "gradient");
      if (!g.sizes().equals(t.sizes())) ThrowCode("EXT5_SHAPE", "backward(): gradient shape must match the tensor");
      t.backward(g);
    } else {
      if (t.numel() != 1) ThrowCode("EXT5_SHAPE", "backward() without a gradient needs a scalar tensor, got " + ShapeStr(t));
      t.backward();
    }
    return info.Env().Undefined();
  });
  SetMethod(env, exports, "grad", [](const Napi::CallbackInfo& info) -> Napi::Value {
    CheckArgCount(info, 1, 1, "grad");
    at::Tensor g = TensorHandle::Get(info[0], "tensor").grad();
    if (!g.defined()) return info.Env().Null();
    return W(info.Env(), g);
  });
  SetMethod(env, exports, "zeroGrad", [](const Napi::CallbackInfo& info) {
    CheckArgCount(info, 1, 1, "zeroGrad");
    at::Tensor t = TensorHandle::Get(info[0], "tensor");
    if (t.grad().defined()) t.mutable_grad() = at::Tensor();
    return info.Env().Undefined();
  });
  SetMethod(env, exports, "setGradEnabled", [](const Napi::CallbackInfo& info) {
    CheckArgCount(info, 1, 1, "setGradEnabled");
    bool prev = at::GradMode::is_enabled();
    at::GradMode::set_enabled(GetBool(info[0], "enabled"));
    return Napi::Boolean::New(info.Env(), prev);
  });
  SetMethod(env, exports, "isGradEnabled", [](const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), at::GradMode::is_enabled());
  });
  SetMethod(env, exports, "allclose", [](const Napi::CallbackInfo& info) {
    CheckArgCount(info, 2, 4, "allclose");
    at::Tensor a = TensorHandle::Get(info[0], "a"), b = TensorHandle::Get(info[1], "b");
    double rtol = info.Length() > 2 && !info[2].IsUndefined() ? GetNumber(info[2], "rtol") : 1e-5;
    double atol = info.Length() > 3 && !info[3].IsUndefined() ? GetNumber(info[3], "atol") : 1e-8;
    SameDevice(a, b, "allclose");
    if (!a.sizes().equals(b.sizes())) return Napi::Boolean::New(info.Env(), false);
    return Napi::Boolean::New(info.Env(), at::allclose(a.to(at::kDouble), b.to(at::kDouble), rtol, atol));
  });
}

}  // namespace
}  // namespace ext5

EXT5_REGISTER(tensor_ops, ::ext5::InitTensorOps);
