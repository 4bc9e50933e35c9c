// Gradient utilities for the training loop, each one native call over all parameters:
//   clipGradNorm(params, maxNorm, normType?) -> total norm before clipping (NaN/Infinity when a
//     gradient is not finite; then nothing is scaled, so the caller can skip the step or stop);
//   gradNorm(params, normType?) -> the same norm without clipping;
//   scaleGrads(params, factor) -> multiplies every gradient, e.g. 1/microBatches when
//     gradients were accumulated over several forward/backward calls.
// The clipping rule follows PyTorch's torch.nn.utils.clip_grad_norm_ (pytorch/pytorch
// torch/nn/utils/clip_grad.py): coefficient maxNorm / (total + 1e-6), applied only when < 1.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <cmath>
#include <limits>

#include "common.h"

namespace ext5 {
namespace {

std::vector<at::Tensor> ParamList(const Napi::Value& v) {
  if (!v.IsArray()) ThrowArg("params must be an array of tensors");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) {
    at::Tensor p = TensorHandle::Get(a.Get(i), ("params[" + std::to_string(i) + "]").c_str());
    if (!at::isFloatingType(p.scalar_type())) {
      ThrowCode("EXT5_DTYPE", "params[" + std::to_string(i) + "] is " + DtypeName(p.scalar_type()) +
                                  "; only floating-point tensors have gradients");
    }
    out.push_back(p);
  }
  return out;
}

double NormType(const Napi::CallbackInfo& info, size_t index) {
  if (info.Length() <= index || info[index].IsUndefined() || info[index].IsNull()) return 2.0;
  double p = GetNumber(info[index], "normType");
  if (!(p == 2.0 || p == 1.0 || (std::isinf(p) && p > 0))) ThrowArg("normType must be 1, 2 or Infinity");
  return p;
}

// The norm of all gradients together, computed on the gradients' device with a single host
// sync at the end. Gradients are read in float32 (float64 stays float64).
double TotalNorm(const std::vector<at::Tensor>& params, double p) {
  std::vector<at::Tensor> norms;
  at::Device device = at::kCPU;
  bool first = true;
  for (const auto& param : params) {
    const at::Tensor& g = param.grad();
    if (!g.defined() || g.numel() == 0) continue;
    if (first) {
      device = g.device();
      first = false;
    }
    at::Tensor gf = g.scalar_type() == at::kDouble ? g : g.to(at::kFloat);
    at::Tensor n = std::isinf(p) ? gf.abs().max() : gf.norm(p);
    norms.push_back(n.to(device, at::kDouble));
  }
  if (norms.empty()) return 0.0;
  at::Tensor all = at::stack(norms);
  at::Tensor total = std::isinf(p) ? all.max() : all.norm(p);
  return total.item<double>();
}

void ScaleAll(const std::vector<at::Tensor>& params, double factor) {
  at::NoGradGuard no_grad;
  for (const auto& param : params) {
    at::Tensor g = param.grad();
    if (g.defined()) g.mul_(factor);
  }
}

void InitGradUtils(Napi::Env env, Napi::Object exports) {
  SetMethod(env, exports, "clipGradNorm", [](const Napi::CallbackInfo& info) -> Napi::Value {
    CheckArgCount(info, 2, 3, "clipGradNorm");
    auto params = ParamList(info[0]);
    double max_norm = GetNumber(info[1], "maxNorm");
    if (!(max_norm > 0)) ThrowArg("maxNorm must be > 0");
    double p = NormType(info, 2);
    double total = TotalNorm(params, p);
    if (std::isfinite(total) && std::isfinite(max_norm)) {
      double coef = max_norm / (total + 1e-6);
      if (coef < 1.0) ScaleAll(params, coef);
    }
    return Napi::Number::New(info.Env(), total);
  });

  SetMethod(env, exports, "gradNorm", [](const Napi::CallbackInfo& info) -> Napi::Value {
    CheckArgCount(info, 1, 2, "gradNorm");
    auto params = ParamList(info[0]);
    return Napi::Number::New(info.Env(), TotalNorm(params, NormType(info, 1)));
  });

  SetMethod(env, exports, "scaleGrads", [](const Napi::CallbackInfo& info) -> Napi::Value {
    CheckArgCount(info, 2, 2, "scaleGrads");
    auto params = ParamList(info[0]);
    double factor = GetNumber(info[1], "factor");
    if (!std::isfinite(factor)) ThrowArg("factor must be finite");
    ScaleAll(params, factor);
    return info.Env().Undefined();
  });
}

}  // namespace

EXT5_REGISTER(grad_utils, InitGradUtils);

}  // namespace ext5
