// The JS class `T5Model` over t5::Model: config parsing, argument validation (before any
// libtorch call), parameter exchange with HF names, and sync + Promise entry points. Heavy calls
// (forward, forwardBackward, generate, score) run off the JS thread in their *Async forms; a model
// takes one call at a time (EXT5_BUSY otherwise).
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <atomic>
#include <cstring>
#include <cmath>
#include <memory>
#include <set>
#include <sstream>

#include "common.h"
#include "t5_inputs.h"
#include "t5_model.h"

namespace ext5 {
namespace {

using t5::Batch;
using t5::Config;
using t5::GenerateOptions;
using t5::Model;
using t5io::ConfigToJs;
using t5io::CheckModelSize;
using t5io::Ids;
using t5io::IsInteger;
using t5io::ParseBatch;
using t5io::ParseConfig;
using t5io::ParsedBatch;
using t5io::ParseGenerateOptions;
using t5io::Present;
using t5io::ShapeStr;

// ---- the model object ---------------------------------------------------------------------------

struct State {
  explicit State(std::unique_ptr<Model> m) : model(std::move(m)) {}
  std::unique_ptr<Model> model;
  std::atomic<bool> busy{false};
};

// Marks the model busy for one call (sync, or until an async call's promise settles).
BusyGuard BusyLock(const std::shared_ptr<State>& s) {
  return BusyGuard(s, s->busy, "the model is already running a call (one in-flight call per model); await it first");
}

// Generation and scoring never use dropout, whatever the model's mode.
class EvalScope {
 public:
  explicit EvalScope(Model& m) : m_(m), was_(m.training()) { m_.set_training(false); }
  ~EvalScope() { m_.set_training(was_); }

 private:
  Model& m_;
  bool was_;
};

struct ForwardResult {
  at::Tensor loss;
  at::Tensor logits;
  double weight_sum = 0;
};

Napi::Value ForwardToJs(Napi::Env env, ForwardResult& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("loss", r.loss.defined() ? Napi::Number::New(env, r.loss.item<double>()) : env.Null());
  o.Set("weightSum", Napi::Number::New(env, r.weight_sum));
  if (r.logits.defined()) o.Set("logits", TensorHandle::Wrap(env, r.logits));
  return o;
}

class T5ModelWrap : public Napi::ObjectWrap<T5ModelWrap> {
 public:
  static void Init(Napi::Env env, Napi::Object exports) {
    Napi::Function ctor = DefineClass(
        env, "T5Model",
        {
            InstanceMethod("namedParameters", &T5ModelWrap::NamedParameters),
            InstanceMethod("loadParameters", &T5ModelWrap::LoadParameters),
            InstanceMethod("numParameters", &T5ModelWrap::NumParameters),
            InstanceMethod("forward", &T5ModelWrap::Forward),
            InstanceMethod("forwardAsync", &T5ModelWrap::ForwardAsync),
            InstanceMethod("forwardBackward", &T5ModelWrap::ForwardBackward),
            InstanceMethod("forwardBackwardAsync", &T5ModelWrap::ForwardBackwardAsync),
            InstanceMethod("generate", &T5ModelWrap::GenerateSync),
            InstanceMethod("generateAsync", &T5ModelWrap::GenerateAsync),
            InstanceMethod("score", &T5ModelWrap::ScoreSync),
            InstanceMethod("scoreAsync", &T5ModelWrap::ScoreAsync),
            InstanceMethod("train", &T5ModelWrap::Train),
            InstanceMethod("zeroGrad", &T5ModelWrap::ZeroGrad),
            InstanceMethod("to", &T5ModelWrap::To),
            InstanceMethod("dispose", &T5ModelWrap::Dispose),
            InstanceMethod("setSharding", &T5ModelWrap::SetSharding),
            InstanceMethod("reduceShardedGradsAsync", &T5ModelWrap::ReduceShardedGradsAsync),
            InstanceMethod("finishShardedGrads", &T5ModelWrap::FinishShardedGrads),
            InstanceMethod("gatherShardedParametersAsync", &T5ModelWrap::GatherShardedParametersAsync),
            InstanceMethod("releaseShardedParameters", &T5ModelWrap::ReleaseShardedParameters),
            InstanceMethod("shardBytes", &T5ModelWrap::ShardBytes),
            InstanceAccessor("training", &T5ModelWrap::Training, nullptr),
            InstanceAccessor("device", &T5ModelWrap::Device, nullptr),
            InstanceAccessor("config", &T5ModelWrap::ConfigGet, nullptr),
            InstanceAccessor("busy", &T5ModelWrap::Busy, nullptr),
            InstanceAccessor("computeDtype", &T5ModelWrap::ComputeDtype, nullptr),
            InstanceAccessor("gradientCheckpointing", &T5ModelWrap::GradientCheckpointing,
                             &T5ModelWrap::SetGradientCheckpointing),
            InstanceAccessor("disposed", &T5ModelWrap::Disposed, nullptr),
        });
    constructor() = new Napi::FunctionReference(Napi::Persistent(ctor));
    exports.Set("T5Model", ctor);
  }

  // new T5Model(config, {device?: string, seed?: number, computeDtype?: string, initialize?: boolean})
  explicit T5ModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<T5ModelWrap>(info) {
    Napi::Env env = info.Env();
    EXT5_TRY
    CheckArgCount(info, 1, 2, "T5Model");
    Config cfg = ParseConfig(info[0]);
    at::Device dev(at::kCPU);
    uint64_t seed = 0;
    bool init = true;
    std::optional<at::ScalarType> compute;
    if (info.Length() > 1 && !info[1].IsUndefined() && !info[1].IsNull()) {
      if (!info[1].IsObject()) ThrowArg("options must be an object ({device, seed, computeDtype})");
      Napi::Object o = info[1].As<Napi::Object>();
      if (Present(o, "computeDtype")) {
        std::string cd = GetString(o.Get("computeDtype"), "options.computeDtype");
        if (cd == "float32") {
          compute = at::kFloat;
        } else if (cd == "bfloat16") {
          compute = at::kBFloat16;
        } else {
          ThrowArg("options.computeDtype must be 'float32' or 'bfloat16' (T5 activations overflow in float16), got '" +
                   cd + "'");
        }
      }
      if (Present(o, "device")) dev = ParseDevice(GetString(o.Get("device"), "options.device"));
      if (Present(o, "initialize")) init = GetBool(o.Get("initialize"), "options.initialize");
      if (Present(o, "seed")) {
        int64_t s = GetInt(o.Get("seed"), "options.seed");
        if (s < 0) ThrowArg("options.seed must be >= 0");
        seed = static_cast<uint64_t>(s);
      }
    }
    double params = static_cast<double>(cfg.vocab_size) * cfg.d_model *
                    (cfg.tie_word_embeddings ? 1 : 2) +
                    static_cast<double>(cfg.num_layers + cfg.num_decoder_layers) *
                        (4.0 * cfg.d_model * cfg.num_heads * cfg.d_kv * 2 + 3.0 * cfg.d_model * cfg.d_ff);
    CheckModelSize(cfg, params);
    state_ = std::make_shared<State>(std::make_unique<Model>(cfg, dev, seed, init));
    state_->model->set_compute_dtype(compute);
    EXT5_CATCH(env)
  }

 private:
  static Napi::FunctionReference*& constructor() {
    static Napi::FunctionReference* c = nullptr;
    return c;
  }

  std::shared_ptr<State> Live() {
    if (!state_) ThrowCode("EXT5_DISPOSED", "the T5 model has been disposed");
    return state_;
  }

  Napi::Value NamedParameters(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    EXT5_TRY
    auto s = Live();
    BusyGuard lock = BusyLock(s);
    const auto& ps = s->model->named_parameters();
    Napi::Array out = Napi::Array::New(env, ps.size());
    for (size_t i = 0; i < ps.size(); i++) {
      Napi::Array pair = Napi::Array::New(env, 2);
      pair.Set(uint32_t{0}, Napi::String::New(env, ps[i].first));
      pair.Set(uint32_t{1}, TensorHandle::Wrap(env, ps[i].second));
      out.Set(i, pair);
    }
    return out;
    EXT5_CATCH(env)
  }

  // loadParameters(entries: [name, Tensor][], strict) -> {missing, unexpected, loaded}
  Napi::Value LoadParameters(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    EXT5_TRY
    CheckArgCount(info, 1, 2, "loadParameters");
    auto s = Live();
    BusyGuard lock = BusyLock(s);
    Model& m = *s->model;
    if (m.sharded()) {
      ThrowCode("EXT5_SHARDING", "loadParameters: the model is sharded (some parameters live on other ranks); "
                                 "load before setSharding, or turn sharding off first");
    }
    bool strict = info.Length() > 1 && !info[1].IsUndefined() ? GetBool(info[1], "strict") : true;
    if (!info[0].IsArray()) ThrowArg("entries must be an array of [name, Tensor] pairs");
    Napi::Array arr = info[0].As<Napi::Array>();
    std::vector<std::pair<std::string, at::Tensor>> todo;
    std::vector<std::string> unexpected, skipped;
    std::set<std::string> seen;
    for (uint32_t i = 0; i < arr.Length(); i++) {
      Napi::Value e = arr.Get(i);
      std::string where = "entries[" + std::to_string(i) + "]";
      if (!e.IsArray() || e.As<Napi::Array>().Length() != 2) ThrowArg(where + " must be a [name, Tensor] pair");
      std::string name = GetString(e.As<Napi::Array>().Get(uint32_t{0}), (where + "[0]").c_str());
      at::Tensor t = TensorHandle::Get(e.As<Napi::Array>().Get(uint32_t{1}), (where + "[1] (" + name + ")").c_str());
      if (!seen.insert(name).second) ThrowArg("parameter '" + name + "' appears twice in entries");
      // HF checkpoints may carry the tied copies of shared.weight under these names.
      std::string target = name;
      if (name == "encoder.embed_tokens.weight" || name == "decoder.embed_tokens.weight" ||
          (name == "lm_head.weight" && m.config().tie_word_embeddings)) {
        target = "shared.weight";
      }
      if (!m.has(target)) {
        unexpected.push_back(name);
        continue;
      }
      if (target != name) {
        skipped.push_back(name);
        continue;
      }
      const at::Tensor& p = m.param(target);
      if (!t.sizes().equals(p.sizes())) {
        ThrowCode("EXT5_SHAPE", "parameter '" + name + "' has shape " + ShapeStr(t.sizes()) + " but the model expects " +
                                    ShapeStr(p.sizes()) + " (does config.json match the checkpoint?)");
      }
      if (!at::isFloatingType(t.scalar_type())) {
        ThrowCode("EXT5_DTYPE", "parameter '" + name + "' has dtype " + DtypeName(t.scalar_type()) +
                                    " (expected a floating dtype)");
      }
      todo.emplace_back(name, t);
    }
    // An alias fills shared.weight only when the checkpoint lacks it.
    if (!seen.count("shared.weight")) {
      for (auto& alias : skipped) {
        for (uint32_t i = 0; i < arr.Length(); i++) {
          Napi::Array e = arr.Get(i).As<Napi::Array>();
          if (e.Get(uint32_t{0}).As<Napi::String>().Utf8Value() != alias) continue;
          at::Tensor t = TensorHandle::Get(e.Get(uint32_t{1}), alias.c_str());
          if (!t.sizes().equals(m.param("shared.weight").sizes())) {
            ThrowCode("EXT5_SHAPE", "parameter '" + alias + "' has shape " + ShapeStr(t.sizes()) +
                                        " but shared.weight is " + ShapeStr(m.param("shared.weight").sizes()));
          }
          todo.emplace_back("shared.weight", t);
          seen.insert("shared.weight");
          break;
        }
        if (seen.count("shared.weight")) break;
      }
    }
    std::set<std::string> loaded;
    for (auto& [n, _] : todo) loaded.insert(n);
    std::vector<std::string> missing;
    for (auto& [n, _] : m.named_parameters()) {
      if (!loaded.count(n)) missing.push_back(n);
    }
    if (strict && (!missing.empty() || !unexpected.empty())) {
      std::ostringstream msg;
      msg << "loadParameters(strict): ";
      if (!missing.empty()) msg << "missing " << missing.size() << " parameter(s): " << c10::Join(", ", missing);
      if (!missing.empty() && !unexpected.empty()) msg << "; ";
      if (!unexpected.empty()) msg << "unexpected " << unexpected.size() << ": " << c10::Join(", ", unexpected);
      ThrowCode("EXT5_CHECKPOINT", msg.str());
    }
    for (auto& [n, t] : todo) m.load(n, t);
    Napi::Object r = Napi::Object::New(env);
    auto list = [&](const std::vector<std::string>& v) {
      Napi::Array a = Napi::Array::New(env, v.size());
      for (size_t i = 0; i < v.size(); i++) a.Set(i, Napi::String::New(env, v[i]));
      return a;
    };
    r.Set("missing", list(missing));
    r.Set("unexpected", list(unexpected));
    r.Set("loaded", Napi::Number::New(env, static_cast<double>(todo.size())));
    return r;
    EXT5_CATCH(env)
  }

  Napi::Value NumParameters(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    EXT5_TRY
    return Napi::Number::New(env, static_cast<double>(Live()->model->num_parameters()));
    EXT5_CATCH(env)
  }

  static ForwardResult RunForward(State& s, const Batch& b, bool backward, double grad_scale) {
    ForwardResult r;
    if (backward) {
      at::AutoGradMode grad(true);
      t5::Output out = s.model->forward(b);
      (out.loss * grad_scale).backward();
      r.loss = out.loss.detach();
      if (out.logits.defined()) r.logits = out.logits.detach();
      r.weight_sum = out.weight_sum;
    } else {
      at::NoGradGuard no_grad;
      t5::Output out = s.model->forward(b);
      r.loss = out.loss;
      r.logits = out.logits;
      r.weight_sum = out.weight_sum;
    }
    return r;
  }

  Napi::Value ForwardImpl(const Napi::CallbackInfo& info, bool backward, bool async) {
    Napi::Env env = info.Env();
    EXT5_TRY
    const char* fn = backward ? (async ? "forwardBackwardAsync" : "forwardBackward") : (async ? "forwardAsync" : "forward");
    CheckArgCount(info, 1, 1, fn);
    auto s = Live();
    ParsedBatch p = ParseBatch(info[0], *s->model);
    if (backward && !p.batch.labels.defined()) ThrowArg(std::string(fn) + "() needs batch.labels to compute a loss");
    auto lock = std::make_shared<BusyGuard>(BusyLock(s));
    if (!async) {
      ForwardResult r = RunForward(*s, p.batch, backward, p.grad_scale);
      return ForwardToJs(env, r);
    }
    Batch b = p.batch;
    double scale = p.grad_scale;
    return RunAsync<ForwardResult>(
        env,
        [s, b, backward, scale]() mutable {
          ForwardResult r = RunForward(*s, b, backward, scale);
          if (r.loss.defined()) (void)r.loss.item<double>();  // finish the work off the JS thread
          return r;
        },
        ForwardToJs, [lock] { lock->Release(); });
    EXT5_CATCH(env)
  }

  Napi::Value Forward(const Napi::CallbackInfo& info) { return ForwardImpl(info, false, false); }
  Napi::Value ForwardAsync(const Napi::CallbackInfo& info) { return ForwardImpl(info, false, true); }
  Napi::Value ForwardBackward(const Napi::CallbackInfo& info) { return ForwardImpl(info, true, false); }
  Napi::Value ForwardBackwardAsync(const Napi::CallbackInfo& info) { return ForwardImpl(info, true, true); }

  // generate(inputIds, attentionMask?, options?)
  Napi::Value GenerateImpl(const Napi::CallbackInfo& info, bool async) {
    Napi::Env env = info.Env();
    EXT5_TRY
    CheckArgCount(info, 1, 3, async ? "generateAsync" : "generate");
    auto s = Live();
    const auto dev = s->model->device();
    at::Tensor ids = Ids(info[0], "inputIds", dev, s->model->config().vocab_size, false);
    at::Tensor mask;
    if (info.Length() > 1 && !info[1].IsUndefined() && !info[1].IsNull()) {
      mask = Ids(info[1], "attentionMask", dev, {}, false, ids.sizes().vec());
    }
    GenerateOptions opt = ParseGenerateOptions(info.Length() > 2 ? info[2] : env.Undefined());
    auto lock = std::make_shared<BusyGuard>(BusyLock(s));
    auto work = [s, ids, mask, opt]() {
      EvalScope eval(*s->model);
      return t5::Generate(*s->model, ids, mask, opt).to(at::kCPU);
    };
    if (!async) return TensorHandle::Wrap(env, work());
    return RunAsync<at::Tensor>(
        env, work, [](Napi::Env e, at::Tensor& t) { return TensorHandle::Wrap(e, t); }, [lock] { lock->Release(); });
    EXT5_CATCH(env)
  }
  Napi::Value GenerateSync(const Napi::CallbackInfo& info) { return GenerateImpl(info, false); }
  Napi::Value GenerateAsync(const Napi::CallbackInfo& info) { return GenerateImpl(info, true); }

  // score(inputIds, attentionMask?, targets, targetMask?) -> {sums, perToken}
  Napi::Value ScoreImpl(const Napi::CallbackInfo& info, bool async) {
    Napi::Env env = info.Env();
    EXT5_TRY
    CheckArgCount(info, 3, 4, async ? "scoreAsync" : "score");
    auto s = Live();
    const auto dev = s->model->device();
    const int64_t V = s->model->config().vocab_size;
    at::Tensor ids = Ids(info[0], "inputIds", dev, V, false);
    at::Tensor mask;
    if (!info[1].IsUndefined() && !info[1].IsNull()) mask = Ids(info[1], "attentionMask", dev, {}, false, ids.sizes().vec());
    at::Tensor targets = Ids(info[2], "targets", dev, V, false);
    if (targets.size(0) != ids.size(0)) {
      ThrowCode("EXT5_SHAPE", "targets batch size " + std::to_string(targets.size(0)) +
                                  " differs from inputIds batch size " + std::to_string(ids.size(0)));
    }
    at::Tensor tmask;
    if (info.Length() > 3 && !info[3].IsUndefined() && !info[3].IsNull()) {
      tmask = Ids(info[3], "targetMask", dev, {}, false, targets.sizes().vec());
    }
    auto lock = std::make_shared<BusyGuard>(BusyLock(s));
    auto work = [s, ids, mask, targets, tmask]() {
      EvalScope eval(*s->model);
      t5::ScoreResult r = t5::Score(*s->model, ids, mask, targets, tmask);
      return std::make_pair(r.sums.to(at::kCPU), r.per_token.to(at::kCPU));
    };
    auto done = [](Napi::Env e, std::pair<at::Tensor, at::Tensor>& r) -> Napi::Value {
      Napi::Object o = Napi::Object::New(e);
      o.Set("sums", TensorHandle::Wrap(e, r.first));
      o.Set("perToken", TensorHandle::Wrap(e, r.second));
      return o;
    };
    if (!async) {
      auto r = work();
      return done(env, r);
    }
    return RunAsync<std::pair<at::Tensor, at::Tensor>>(env, work, done, [lock] { lock->Release(); });
    EXT5_CATCH(env)
  }
  Napi::Value ScoreSync(const Napi::CallbackInfo& info) { return ScoreImpl(info, false); }
  Napi::Value ScoreAsync(const Napi::CallbackInfo& info) { return ScoreImpl(info, true); }

  Napi::Value Train(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    EXT5_TRY
    CheckArgCount(info, 0, 1, "train");
    auto s = Live();
    BusyGuard lock = BusyLock(s);
    s->model->set_training(info.Length() == 0 || info[0].IsUndefined() ? true : GetBool(info[0], "mode"));
    return env.Undefined();
    EXT5_CATCH(env)
  }

  Napi::Value ZeroGrad(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    EXT5_TRY
    auto s = Live();
    BusyGuard lock = BusyLock(s);
    s->model->zero_grad();
    return env.Undefined();
    EXT5_CATCH(env)
  }

  Napi::Value To(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    EXT5_TRY
    CheckArgCount(info, 1, 1, "to");
    auto s = Live();
    at::Device dev = ParseDevice(GetString(info[0], "device"));
    BusyGuard lock = BusyLock(s);
    if (s->model->sharded()) ThrowCode("EXT5_SHARDING", "to(): a sharded model cannot move; move it before setSharding");
    s->model->to(dev);
    return env.Undefined();
    EXT5_CATCH(env)
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    EXT5_TRY
    if (state_) {
      BusyGuard lock = BusyLock(state_);
      state_.reset();
    }
    return env.Undefined();
    EXT5_CATCH(env)
  }

  Napi::Value Training(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    EXT5_TRY
    return Napi::Boolean::New(env, Live()->model->training());
    EXT5_CATCH(env)
  }
  Napi::Value Device(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    EXT5_TRY
    return Napi::String::New(env, DeviceName(Live()->model->device()));
    EXT5_CATCH(env)
  }
  Napi::Value ConfigGet(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    EXT5_TRY
    return ConfigToJs(env, Live()->model->config());
    EXT5_CATCH(env)
  }
  Napi::Value ComputeDtype(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    EXT5_TRY
    return Napi::String::New(env, DtypeName(Live()->model->compute_dtype()));
    EXT5_CATCH(env)
  }
  Napi::Value GradientCheckpointing(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    EXT5_TRY
    return Napi::Boolean::New(env, Live()->model->gradient_checkpointing());
    EXT5_CATCH(env)
  }
  void SetGradientCheckpointing(const Napi::CallbackInfo& info, const Napi::Value& value) {
    Napi::Env env = info.Env();
    EXT5_TRY
    bool on = GetBool(value, "gradientCheckpointing");
    auto s = Live();
    BusyGuard lock = BusyLock(s);
    s->model->set_gradient_checkpointing(on);
    EXT5_CATCH(env)
  }
  // ---- sharded data parallelism (t5_shard.cc) ----

  // setSharding(groupId | null, owners: number[], freed: boolean[], reduceInBackward: boolean)
  Napi::Value SetSharding(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    EXT5_TRY
    CheckArgCount(info, 1, 4, "setSharding");
    auto s = Live();
    BusyGuard lock = BusyLock(s);
    if (info[0].IsNull() || info[0].IsUndefined()) {
      s->model->set_sharding(nullptr, {}, {}, false);
      return env.Undefined();
    }
    CheckArgCount(info, 4, 4, "setSharding");
    auto comm = dist::MakeShardComm(GetInt(info[0], "groupId"));
    if (!info[1].IsArray() || !info[2].IsArray()) ThrowArg("setSharding: owners and freed must be arrays");
    Napi::Array oa = info[1].As<Napi::Array>(), fa = info[2].As<Napi::Array>();
    std::vector<int> owners;
    std::vector<bool> freed;
    for (uint32_t i = 0; i < oa.Length(); i++) {
      int64_t o = GetInt(oa.Get(i), "owners[i]");
      if (o < 0 || o >= comm->size()) ThrowArg("owners[" + std::to_string(i) + "] is not a rank: " + std::to_string(o));
      owners.push_back(static_cast<int>(o));
    }
    for (uint32_t i = 0; i < fa.Length(); i++) freed.push_back(GetBool(fa.Get(i), "freed[i]"));
    bool in_backward = GetBool(info[3], "reduceInBackward");
    if (in_backward && !s->model->gradient_checkpointing()) {
      ThrowArg("setSharding: reducing gradients in backward needs gradientCheckpointing on");
    }
    s->model->set_sharding(std::move(comm), owners, freed, in_backward);
    return env.Undefined();
    EXT5_CATCH(env)
  }

  // A no-argument call of the model, on the JS thread, or (`async`, for one that may run
  // collectives) off it with the model busy until its promise settles.
  Napi::Value ModelCall(const Napi::CallbackInfo& info, const char* fn, void (Model::*method)(), bool async) {
    Napi::Env env = info.Env();
    EXT5_TRY
    CheckArgCount(info, 0, 0, fn);
    auto s = Live();
    auto lock = std::make_shared<BusyGuard>(BusyLock(s));
    if (!async) {
      ((*s->model).*method)();
      return env.Undefined();
    }
    return RunAsync<bool>(
        env,
        [s, method]() {
          ((*s->model).*method)();
          return true;
        },
        [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); }, [lock] { lock->Release(); });
    EXT5_CATCH(env)
  }
  Napi::Value ReduceShardedGradsAsync(const Napi::CallbackInfo& info) {
    return ModelCall(info, "reduceShardedGradsAsync", &Model::reduce_grads_to_owners, true);
  }
  Napi::Value GatherShardedParametersAsync(const Napi::CallbackInfo& info) {
    return ModelCall(info, "gatherShardedParametersAsync", &Model::gather_all, true);
  }
  Napi::Value FinishShardedGrads(const Napi::CallbackInfo& info) {
    return ModelCall(info, "finishShardedGrads", &Model::finish_sharded_grads, false);
  }
  Napi::Value ReleaseShardedParameters(const Napi::CallbackInfo& info) {
    return ModelCall(info, "releaseShardedParameters", &Model::release_all, false);
  }
  Napi::Value ShardBytes(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    EXT5_TRY
    auto [params, grads] = Live()->model->shard_bytes();
    Napi::Object o = Napi::Object::New(env);
    o.Set("parameters", Napi::Number::New(env, static_cast<double>(params)));
    o.Set("gradients", Napi::Number::New(env, static_cast<double>(grads)));
    return o;
    EXT5_CATCH(env)
  }

  Napi::Value Busy(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), state_ && state_->busy.load());
  }
  Napi::Value Disposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !state_); }

  std::shared_ptr<State> state_;
};

void InitT5(Napi::Env env, Napi::Object exports) {
  T5ModelWrap::Init(env, exports);
  // Exposed for tests of the bucket function against worked examples.
  SetMethod(env, exports, "t5RelativePositionBucket", [](const Napi::CallbackInfo& info) -> Napi::Value {
    CheckArgCount(info, 4, 4, "t5RelativePositionBucket");
    at::Tensor rel = TensorHandle::Get(info[0], "relativePosition");
    if (!IsInteger(rel.scalar_type())) ThrowCode("EXT5_DTYPE", "relativePosition must be an integer tensor");
    bool bidir = GetBool(info[1], "bidirectional");
    int64_t nb = GetInt(info[2], "numBuckets"), md = GetInt(info[3], "maxDistance");
    if (nb < 2 || md < 1 || md <= nb / 4) ThrowArg("need numBuckets >= 2 and maxDistance > numBuckets / 4");
    return TensorHandle::Wrap(info.Env(), t5::RelativePositionBucket(rel.to(at::kLong), bidir, nb, md));
  });
}

}  // namespace
}  // namespace ext5

EXT5_REGISTER(t5, ext5::InitT5);
