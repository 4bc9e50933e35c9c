// Adafactor: the algorithm (AdafactorCore, sources in adafactor.h) and its JS class `Adafactor`
// (lib/native/optim.ts is the typed contract, lib/optim/adafactor.ts the public wrapper).
// One native call runs the whole step over every parameter; stepAsync() runs it on a worker.
#include "adafactor.h"

#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <numeric>
#include <set>

#include "common.h"

namespace ext5 {

namespace {

std::string ShapeString(at::IntArrayRef s) { return "[" + c10::Join(", ", s) + "]"; }

bool IsFloat(at::ScalarType t) {
  return t == at::kFloat || t == at::kDouble || t == at::kHalf || t == at::kBFloat16;
}

std::vector<int64_t> Without(at::IntArrayRef shape, int64_t dim) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); i++) {
    if (i != dim) out.push_back(shape[i]);
  }
  return out;
}

void CheckOptions(const AdafactorOptions& o) {
  auto finite = [](double v) { return std::isfinite(v); };
  // 0 is allowed: warm-up schedules start there.
  if (o.lr.has_value() && (!finite(*o.lr) || *o.lr < 0)) ThrowArg("lr must be a finite number >= 0");
  if (o.lr.has_value() && o.relative_step) {
    ThrowArg("lr and relativeStep: true cannot be combined (relative step computes its own rate); "
             "pass relativeStep: false with an explicit lr, or leave lr out");
  }
  if (o.warmup_init && !o.relative_step) ThrowArg("warmupInit needs relativeStep: true");
  // eps1 keeps 1/sqrt(v) finite: with 0, a zero gradient gives 0/0 = NaN in every parameter.
  if (!finite(o.eps1) || o.eps1 <= 0) ThrowArg("eps1 must be a finite number > 0 (T5 uses 1e-30)");
  if (!finite(o.eps2) || o.eps2 < 0) ThrowArg("eps2 must be a finite number >= 0");
  if (std::isnan(o.clip_threshold) || o.clip_threshold < 0) {
    ThrowArg("clipThreshold must be >= 0 (0 or Infinity disables update clipping)");
  }
  if (!finite(o.decay_rate) || o.decay_rate <= 0) ThrowArg("decayRate must be a finite number > 0 (beta2_t = 1 - t^-decayRate)");
  if (o.beta1.has_value() && (!finite(*o.beta1) || *o.beta1 < 0 || *o.beta1 >= 1)) {
    ThrowArg("beta1 must be in [0, 1) (or null for no momentum)");
  }
  if (o.momentum_dtype != at::kFloat && o.momentum_dtype != at::kBFloat16) {
    ThrowArg("momentumDtype must be 'float32' or 'bfloat16'");
  }
  if (!finite(o.weight_decay) || o.weight_decay < 0) ThrowArg("weightDecay must be a finite number >= 0");
  if (o.min_dim_size_to_factor < 1) ThrowArg("minDimSizeToFactor must be >= 1");
}

}  // namespace

// ---- AdafactorCore --------------------------------------------------------------------------------

AdafactorCore::AdafactorCore(std::vector<at::Tensor> params, std::vector<std::string> names, AdafactorOptions options)
    : params_(std::move(params)), names_(std::move(names)), options_(options) {
  CheckOptions(options_);
  if (params_.empty()) {
    ThrowArg("Adafactor needs at least one parameter, got an empty list (did the model return no parameters?)");
  }
  if (names_.size() != params_.size()) {
    ThrowArg("Adafactor got " + std::to_string(params_.size()) + " parameters but " + std::to_string(names_.size()) +
             " names");
  }
  std::map<std::string, size_t> seen_names;
  std::map<const void*, size_t> seen_data;
  for (size_t i = 0; i < params_.size(); i++) {
    const at::Tensor& p = params_[i];
    const std::string& n = names_[i];
    std::string label = "parameter " + std::to_string(i) + " ('" + n + "')";
    if (n.empty()) ThrowArg("parameter " + std::to_string(i) + " has an empty name");
    if (n.find_first_of(" \t\n") != std::string::npos) ThrowArg(label + ": names must not contain whitespace");
    if (!p.defined()) ThrowArg(label + " is an undefined tensor");
    if (!IsFloat(p.scalar_type())) {
      ThrowCode("EXT5_DTYPE", label + " is " + DtypeName(p.scalar_type()) +
                                  "; Adafactor only updates floating-point tensors (float32, bfloat16, float16, float64)");
    }
    if (p.is_sparse()) ThrowArg(label + " is sparse; Adafactor needs dense parameters");
    auto [it, fresh] = seen_names.emplace(n, i);
    if (!fresh) {
      ThrowArg("duplicate parameter name '" + n + "' (parameters " + std::to_string(it->second) + " and " +
               std::to_string(i) + ")");
    }
    if (p.numel() > 0) {
      auto [jt, fresh_data] = seen_data.emplace(p.data_ptr(), i);
      if (!fresh_data) {
        ThrowArg("parameters " + std::to_string(jt->second) + " ('" + names_[jt->second] + "') and " +
                 std::to_string(i) + " ('" + n +
                 "') are the same tensor (or share memory); pass each parameter once, e.g. list tied weights once");
      }
    }
  }
  state_.resize(params_.size());
}

std::pair<int64_t, int64_t> AdafactorCore::FactoredDims(at::IntArrayRef shape, const AdafactorOptions& o) {
  if (!o.factored || shape.size() < 2) return {-1, -1};
  // A stable ascending sort of the dims by size: the last is the largest (the later one wins
  // ties), the one before it the second largest, as numpy's argsort does in optax.
  std::vector<int64_t> order(shape.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return shape[a] < shape[b]; });
  int64_t d0 = order[order.size() - 1];
  int64_t d1 = order[order.size() - 2];
  if (shape[d1] < o.min_dim_size_to_factor) return {-1, -1};
  return {d0, d1};
}

at::ScalarType AdafactorCore::StateDtype(const at::Tensor& p) const {
  // Half-precision parameters keep float32 statistics (and compute in float32), as HF does.
  return p.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
}

void AdafactorCore::InitState(size_t i, const at::Tensor& grad) {
  const at::Tensor& p = params_[i];
  AdafactorParamState st;
  auto opts = at::TensorOptions().dtype(StateDtype(p)).device(p.device());
  std::tie(st.d0, st.d1) = FactoredDims(p.sizes(), options_);
  if (st.factored()) {
    st.v_row = at::zeros(Without(p.sizes(), st.d0), opts);
    st.v_col = at::zeros(Without(p.sizes(), st.d1), opts);
  } else {
    st.v = at::zeros(p.sizes(), opts);
  }
  if (options_.beta1.has_value()) st.m = at::zeros(p.sizes(), opts.dtype(options_.momentum_dtype));
  state_[i] = std::move(st);
}

int64_t AdafactorCore::Step(std::optional<double> lr_override) {
  const AdafactorOptions& o = options_;
  if (lr_override.has_value()) {
    if (o.relative_step) ThrowArg("step(lr): an explicit learning rate needs relativeStep: false");
    if (!std::isfinite(*lr_override) || *lr_override < 0) ThrowArg("step(lr): lr must be a finite number >= 0");
  }
  std::optional<double> lr = lr_override.has_value() ? lr_override : o.lr;
  if (!o.relative_step && !lr.has_value()) {
    ThrowArg("Adafactor has relativeStep: false but no learning rate: pass lr in the options or to step(lr)");
  }
  // Validate every gradient before changing anything, so a bad one leaves all parameters as they were.
  for (size_t i = 0; i < params_.size(); i++) {
    const at::Tensor& p = params_[i];
    const at::Tensor& g = p.grad();
    if (!g.defined()) continue;
    std::string label = "parameter '" + names_[i] + "'";
    if (g.is_sparse()) ThrowArg(label + " has a sparse gradient; Adafactor does not support sparse gradients");
    if (!g.sizes().equals(p.sizes())) {
      ThrowCode("EXT5_SHAPE", label + " has shape " + ShapeString(p.sizes()) + " but its gradient has shape " +
                                  ShapeString(g.sizes()));
    }
    if (g.device() != p.device()) ThrowCode("EXT5_DEVICE", label + ": gradient and parameter are on different devices");
    if (!IsFloat(g.scalar_type())) ThrowCode("EXT5_DTYPE", label + " has a non-floating-point gradient");
  }

  at::NoGradGuard no_grad;  // in-place updates of leaf tensors that require grad
  int64_t updated = 0;
  for (size_t i = 0; i < params_.size(); i++) {
    at::Tensor p = params_[i];
    at::Tensor g = p.grad();
    if (!g.defined() || p.numel() == 0) continue;
    if (state_[i].step == 0 && !state_[i].v.defined() && !state_[i].v_row.defined()) InitState(i, g);
    AdafactorParamState& st = state_[i];
    at::ScalarType cdt = StateDtype(p);
    at::Tensor grad = g.scalar_type() == cdt ? g : g.to(cdt);
    at::Tensor param = p.scalar_type() == cdt ? p : p.to(cdt);  // float32 working copy of a half param

    st.step += 1;
    const double t = static_cast<double>(st.step);
    const double beta2 = 1.0 - std::pow(t, -o.decay_rate);

    at::Tensor update;
    at::Tensor g2 = grad.square().add_(o.eps1);
    if (st.factored()) {
      st.v_row.mul_(beta2).add_(g2.mean(st.d0), 1.0 - beta2);
      st.v_col.mul_(beta2).add_(g2.mean(st.d1), 1.0 - beta2);
      // The rank-1 estimate V ~ v_row x v_col / mean(v_row): normalise v_row by its mean over
      // d1 (its index shifts down by one when d1 comes after the removed d0).
      int64_t reduced_d1 = st.d1 > st.d0 ? st.d1 - 1 : st.d1;
      at::Tensor row_factor = st.v_row.div(st.v_row.mean(reduced_d1, /*keepdim=*/true)).rsqrt_().unsqueeze(st.d0);
      at::Tensor col_factor = st.v_col.rsqrt().unsqueeze(st.d1);
      update = grad.mul(row_factor).mul_(col_factor);
    } else {
      st.v.mul_(beta2).add_(g2, 1.0 - beta2);
      update = st.v.rsqrt().mul_(grad);
    }
    g2 = at::Tensor();

    const double numel_sqrt = std::sqrt(static_cast<double>(p.numel()));
    double rho;
    if (o.relative_step) {
      double cap = o.warmup_init ? 1e-6 * t : 1e-2;
      rho = std::min(cap, 1.0 / std::sqrt(t));
    } else {
      rho = *lr;
    }
    // a_t = rho * max(eps2, RMS(X)), and the whole step factor a_t / max(1, RMS(U) / d), as
    // 0-dim tensors on the parameter's device: no host sync inside the step on a GPU, and U
    // itself is scaled once (or not at all) instead of once per factor.
    at::Tensor lr_t = o.scale_parameter ? param.norm().div_(numel_sqrt).clamp_min_(o.eps2).mul_(rho)
                                        : at::scalar_tensor(rho, at::TensorOptions().dtype(cdt).device(p.device()));
    at::Tensor factor = lr_t;
    if (o.clip_threshold > 0 && std::isfinite(o.clip_threshold)) {
      factor = lr_t.div(update.norm().div_(numel_sqrt).div_(o.clip_threshold).clamp_min_(1.0));
    }
    // Decoupled weight decay on the pre-update value, as transformers orders it.
    if (o.weight_decay > 0) param.mul_(lr_t.mul(-o.weight_decay).add_(1.0));

    if (o.beta1.has_value()) {
      const double b1 = *o.beta1;
      update.mul_(factor);
      if (st.m.scalar_type() == cdt) {
        st.m.mul_(b1).add_(update, 1.0 - b1);
        param.sub_(st.m);
      } else {
        at::Tensor m = st.m.to(cdt).mul_(b1).add_(update, 1.0 - b1);
        st.m.copy_(m);
        param.sub_(m);
      }
    } else if (param.device().is_cpu()) {
      param.sub_(update, factor.item<double>());  // one fused pass; item() costs nothing on the CPU
    } else {
      param.sub_(update.mul_(factor));
    }
    if (!param.is_same(p)) p.copy_(param);
    updated++;
  }
  step_count_++;
  return updated;
}

void AdafactorCore::ZeroGrad(bool set_to_none) {
  at::NoGradGuard no_grad;
  for (auto& p : params_) {
    if (!p.grad().defined()) continue;
    if (set_to_none) {
      p.mutable_grad() = at::Tensor();
    } else {
      p.mutable_grad().zero_();
    }
  }
}

std::vector<std::pair<std::string, at::Tensor>> AdafactorCore::StateDict() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (size_t i = 0; i < params_.size(); i++) {
    const auto& st = state_[i];
    const std::string prefix = "state." + names_[i] + ".";
    out.emplace_back(prefix + "step", at::scalar_tensor(st.step, at::TensorOptions().dtype(at::kLong)));
    if (st.step == 0) continue;
    if (st.factored()) {
      out.emplace_back(prefix + "v_row", st.v_row.clone());
      out.emplace_back(prefix + "v_col", st.v_col.clone());
    } else {
      out.emplace_back(prefix + "v", st.v.clone());
    }
    if (st.m.defined()) out.emplace_back(prefix + "m", st.m.clone());
  }
  return out;
}

int64_t AdafactorCore::StateBytes() const {
  int64_t bytes = 0;
  for (const auto& st : state_) {
    for (const at::Tensor* t : {&st.v_row, &st.v_col, &st.v, &st.m}) {
      if (t->defined()) bytes += t->numel() * static_cast<int64_t>(t->element_size());
    }
  }
  return bytes;
}

void AdafactorCore::LoadStateDict(const std::vector<std::pair<std::string, at::Tensor>>& entries, int64_t step_count) {
  if (step_count < 0) ThrowArg("stepCount must be >= 0");
  std::map<std::string, at::Tensor> byKey;
  for (const auto& [k, v] : entries) {
    if (!byKey.emplace(k, v).second) ThrowCode("EXT5_OPTIMIZER_STATE", "optimizer state has key '" + k + "' twice");
  }
  std::set<std::string> used;
  auto take = [&](const std::string& key, const std::string& param) -> at::Tensor {
    auto it = byKey.find(key);
    if (it == byKey.end()) {
      ThrowCode("EXT5_OPTIMIZER_STATE", "optimizer state has no '" + key + "' for parameter '" + param +
                                            "' (it was saved for a different parameter list or different options)");
    }
    used.insert(key);
    return it->second;
  };
  std::vector<AdafactorParamState> fresh(params_.size());
  for (size_t i = 0; i < params_.size(); i++) {
    const at::Tensor& p = params_[i];
    const std::string& n = names_[i];
    const std::string prefix = "state." + n + ".";
    at::Tensor step = take(prefix + "step", n);
    if (step.dim() != 0 || at::isFloatingType(step.scalar_type()) || step.scalar_type() == at::kBool) {
      ThrowCode("EXT5_OPTIMIZER_STATE", "'" + prefix + "step' must be a 0-dimensional integer tensor, got shape " +
                                            ShapeString(step.sizes()) + " of " + DtypeName(step.scalar_type()));
    }
    AdafactorParamState st;
    st.step = step.to(at::kCPU).to(at::kLong).item<int64_t>();
    if (st.step < 0) ThrowCode("EXT5_OPTIMIZER_STATE", "'" + prefix + "step' is negative");
    if (st.step > 0) {
      auto opts = at::TensorOptions().dtype(StateDtype(p)).device(p.device());
      std::tie(st.d0, st.d1) = FactoredDims(p.sizes(), options_);
      auto load = [&](const std::string& field, const std::vector<int64_t>& shape, at::TensorOptions o) {
        at::Tensor t = take(prefix + field, n);
        if (!t.sizes().equals(shape)) {
          ThrowCode("EXT5_OPTIMIZER_STATE", "'" + prefix + field + "' has shape " + ShapeString(t.sizes()) +
                                                " but parameter '" + n + "' of shape " + ShapeString(p.sizes()) +
                                                " needs " + ShapeString(shape) +
                                                " (saved for another model, or with other factoring options)");
        }
        if (!IsFloat(t.scalar_type())) {
          ThrowCode("EXT5_OPTIMIZER_STATE", "'" + prefix + field + "' must be floating point, got " + DtypeName(t.scalar_type()));
        }
        return t.to(o.device(), o.dtype().toScalarType(), /*non_blocking=*/false, /*copy=*/true);
      };
      if (st.factored()) {
        st.v_row = load("v_row", Without(p.sizes(), st.d0), opts);
        st.v_col = load("v_col", Without(p.sizes(), st.d1), opts);
      } else {
        st.v = load("v", p.sizes().vec(), opts);
      }
      if (options_.beta1.has_value()) st.m = load("m", p.sizes().vec(), opts.dtype(options_.momentum_dtype));
    }
    fresh[i] = std::move(st);
  }
  for (const auto& [k, v] : byKey) {
    if (used.count(k) == 0) {
      ThrowCode("EXT5_OPTIMIZER_STATE",
                "optimizer state has an unexpected key '" + k +
                    "' (no such parameter, or state saved with other options, e.g. momentum or factoring)");
    }
  }
  state_ = std::move(fresh);
  step_count_ = step_count;
}

// ---- the JS class ---------------------------------------------------------------------------------

namespace {

AdafactorOptions ParseOptions(const Napi::Value& v) {
  AdafactorOptions o;
  if (v.IsUndefined() || v.IsNull()) return o;
  if (!v.IsObject()) ThrowArg("options must be an object");
  Napi::Object obj = v.As<Napi::Object>();
  auto has = [&](const char* k) {
    Napi::Value x = obj.Get(k);
    return !x.IsUndefined() && !x.IsNull();
  };
  if (has("lr")) o.lr = GetNumber(obj.Get("lr"), "lr");
  if (has("relativeStep")) o.relative_step = GetBool(obj.Get("relativeStep"), "relativeStep");
  if (has("warmupInit")) o.warmup_init = GetBool(obj.Get("warmupInit"), "warmupInit");
  if (has("scaleParameter")) o.scale_parameter = GetBool(obj.Get("scaleParameter"), "scaleParameter");
  if (has("eps1")) o.eps1 = GetNumber(obj.Get("eps1"), "eps1");
  if (has("eps2")) o.eps2 = GetNumber(obj.Get("eps2"), "eps2");
  if (has("clipThreshold")) o.clip_threshold = GetNumber(obj.Get("clipThreshold"), "clipThreshold");
  if (has("decayRate")) o.decay_rate = GetNumber(obj.Get("decayRate"), "decayRate");
  if (has("beta1")) o.beta1 = GetNumber(obj.Get("beta1"), "beta1");
  if (has("momentumDtype")) o.momentum_dtype = ParseDtype(GetString(obj.Get("momentumDtype"), "momentumDtype"));
  if (has("weightDecay")) o.weight_decay = GetNumber(obj.Get("weightDecay"), "weightDecay");
  if (has("factored")) o.factored = GetBool(obj.Get("factored"), "factored");
  if (has("minDimSizeToFactor")) o.min_dim_size_to_factor = GetInt(obj.Get("minDimSizeToFactor"), "minDimSizeToFactor");
  return o;
}

std::optional<double> OptionalLr(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || info[0].IsUndefined() || info[0].IsNull()) return std::nullopt;
  return GetNumber(info[0], "lr");
}

std::vector<std::pair<std::string, at::Tensor>> GetEntries(const Napi::Value& v, const char* name) {
  if (!v.IsArray()) ThrowArg(std::string(name) + " must be an array of [key, tensor] pairs");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (uint32_t i = 0; i < a.Length(); i++) {
    std::string item = std::string(name) + "[" + std::to_string(i) + "]";
    Napi::Value e = a.Get(i);
    if (!e.IsArray() || e.As<Napi::Array>().Length() != 2) ThrowArg(item + " must be a [key, tensor] pair");
    Napi::Array pair = e.As<Napi::Array>();
    out.emplace_back(GetString(pair.Get(0u), (item + "[0]").c_str()), TensorHandle::Get(pair.Get(1u), (item + "[1]").c_str()));
  }
  return out;
}

class AdafactorWrap : public Napi::ObjectWrap<AdafactorWrap> {
 public:
  static void Init(Napi::Env env, Napi::Object exports) {
    Napi::Function ctor = DefineClass(env, "Adafactor",
                                      {
                                          InstanceMethod("step", &AdafactorWrap::StepSync),
                                          InstanceMethod("stepAsync", &AdafactorWrap::StepAsync),
                                          InstanceMethod("zeroGrad", &AdafactorWrap::ZeroGrad),
                                          InstanceMethod("stateDict", &AdafactorWrap::StateDict),
                                          InstanceMethod("loadStateDict", &AdafactorWrap::LoadStateDict),
                                          InstanceMethod("paramInfo", &AdafactorWrap::ParamInfo),
                                          InstanceMethod("dispose", &AdafactorWrap::Dispose),
                                          InstanceAccessor("stepCount", &AdafactorWrap::StepCount, nullptr),
                                          InstanceAccessor("stateBytes", &AdafactorWrap::StateBytes, nullptr),
                                          InstanceAccessor("busy", &AdafactorWrap::Busy, nullptr),
                                          InstanceAccessor("disposed", &AdafactorWrap::Disposed, nullptr),
                                      });
    exports.Set("Adafactor", ctor);
  }

  // new Adafactor(params: TensorHandle[], names: string[], options)
  explicit AdafactorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<AdafactorWrap>(info) {
    Napi::Env env = info.Env();
    EXT5_TRY
    CheckArgCount(info, 2, 3, "Adafactor");
    if (!info[0].IsArray()) ThrowArg("params must be an array of tensors");
    if (!info[1].IsArray()) ThrowArg("names must be an array of strings");
    Napi::Array pa = info[0].As<Napi::Array>(), na = info[1].As<Napi::Array>();
    std::vector<at::Tensor> params;
    std::vector<std::string> names;
    for (uint32_t i = 0; i < pa.Length(); i++) {
      params.push_back(TensorHandle::Get(pa.Get(i), ("params[" + std::to_string(i) + "]").c_str()));
    }
    for (uint32_t i = 0; i < na.Length(); i++) names.push_back(GetString(na.Get(i), ("names[" + std::to_string(i) + "]").c_str()));
    core_ = std::make_shared<AdafactorCore>(std::move(params), std::move(names), ParseOptions(info.Length() > 2 ? info[2] : env.Undefined()));
    EXT5_CATCH(env)
  }

 private:
  AdafactorCore& Core() {
    if (!core_) ThrowCode("EXT5_DISPOSED", "this Adafactor has been disposed");
    return *core_;
  }
  // Takes the busy flag for one call, or throws EXT5_BUSY.
  BusyGuard Acquire() {
    Core();
    return BusyGuard(core_, core_->busy, "Adafactor is busy with a stepAsync() that has not finished; await it first");
  }

  Napi::Value StepSync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    EXT5_TRY
    CheckArgCount(info, 0, 1, "step");
    auto lr = OptionalLr(info);
    BusyGuard busy = Acquire();
    return Napi::Number::New(env, static_cast<double>(core_->Step(lr)));
    EXT5_CATCH(env)
  }

  Napi::Value StepAsync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    EXT5_TRY
    CheckArgCount(info, 0, 1, "stepAsync");
    auto lr = OptionalLr(info);
    // The flag is given back when the promise settles, not when the worker finishes, so "busy until
    // awaited" holds deterministically.
    auto busy = std::make_shared<BusyGuard>(Acquire());
    auto core = core_;
    return RunAsync<int64_t>(
        env, [core, lr] { return core->Step(lr); },  // Step() sets its own NoGradGuard (grad mode is thread-local)
        [](Napi::Env e, int64_t& updated) { return Napi::Number::New(e, static_cast<double>(updated)); },
        [busy] { busy->Release(); });
    EXT5_CATCH(env)
  }

  Napi::Value ZeroGrad(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    EXT5_TRY
    CheckArgCount(info, 0, 1, "zeroGrad");
    bool set_to_none = info.Length() < 1 || info[0].IsUndefined() ? true : GetBool(info[0], "setToNone");
    BusyGuard busy = Acquire();
    core_->ZeroGrad(set_to_none);
    return env.Undefined();
    EXT5_CATCH(env)
  }

  // -> { entries: [key, TensorHandle][], stepCount }
  Napi::Value StateDict(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    EXT5_TRY
    CheckArgCount(info, 0, 0, "stateDict");
    BusyGuard busy = Acquire();
    auto entries = core_->StateDict();
    Napi::Array arr = Napi::Array::New(env, entries.size());
    for (size_t i = 0; i < entries.size(); i++) {
      Napi::Array pair = Napi::Array::New(env, 2);
      pair.Set(0u, Napi::String::New(env, entries[i].first));
      pair.Set(1u, TensorHandle::Wrap(env, entries[i].second));
      arr.Set(static_cast<uint32_t>(i), pair);
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("entries", arr);
    out.Set("stepCount", Napi::Number::New(env, static_cast<double>(core_->step_count())));
    return out;
    EXT5_CATCH(env)
  }

  // loadStateDict(entries: [key, TensorHandle][], stepCount)
  Napi::Value LoadStateDict(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    EXT5_TRY
    CheckArgCount(info, 2, 2, "loadStateDict");
    auto entries = GetEntries(info[0], "entries");
    int64_t step_count = GetInt(info[1], "stepCount");
    BusyGuard busy = Acquire();
    core_->LoadStateDict(entries, step_count);
    return env.Undefined();
    EXT5_CATCH(env)
  }

  // -> [{ name, shape, dtype, factoredDims: [d0, d1] | null, step }]
  Napi::Value ParamInfo(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    EXT5_TRY
    AdafactorCore& c = Core();
    Napi::Array arr = Napi::Array::New(env, c.params().size());
    for (size_t i = 0; i < c.params().size(); i++) {
      const at::Tensor& p = c.params()[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", c.names()[i]);
      Napi::Array shape = Napi::Array::New(env, p.dim());
      for (int64_t d = 0; d < p.dim(); d++) shape.Set(static_cast<uint32_t>(d), Napi::Number::New(env, static_cast<double>(p.size(d))));
      o.Set("shape", shape);
      o.Set("dtype", DtypeName(p.scalar_type()));
      auto [d0, d1] = AdafactorCore::FactoredDims(p.sizes(), c.options());
      if (d0 >= 0) {
        Napi::Array dims = Napi::Array::New(env, 2);
        dims.Set(0u, Napi::Number::New(env, static_cast<double>(d0)));
        dims.Set(1u, Napi::Number::New(env, static_cast<double>(d1)));
        o.Set("factoredDims", dims);
      } else {
        o.Set("factoredDims", env.Null());
      }
      arr.Set(static_cast<uint32_t>(i), o);
    }
    return arr;
    EXT5_CATCH(env)
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    EXT5_TRY
    if (core_) {
      if (core_->busy.load()) ThrowCode("EXT5_BUSY", "cannot dispose Adafactor while stepAsync() runs; await it first");
      core_.reset();
    }
    return env.Undefined();
    EXT5_CATCH(env)
  }

  Napi::Value StepCount(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    EXT5_TRY
    return Napi::Number::New(env, static_cast<double>(Core().step_count()));
    EXT5_CATCH(env)
  }
  Napi::Value StateBytes(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    EXT5_TRY
    return Napi::Number::New(env, static_cast<double>(Core().StateBytes()));
    EXT5_CATCH(env)
  }
  Napi::Value Busy(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), core_ && core_->busy.load());
  }
  Napi::Value Disposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !core_); }

  std::shared_ptr<AdafactorCore> core_;
};

void InitAdafactor(Napi::Env env, Napi::Object exports) { AdafactorWrap::Init(env, exports); }

}  // namespace

EXT5_REGISTER(adafactor, InitAdafactor);

}  // namespace ext5
