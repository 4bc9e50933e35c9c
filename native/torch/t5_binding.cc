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

#include <unistd.h>

#include <cstdio>

#include "common.h"
#include "t5_model.h"

namespace ext5 {
namespace {

using t5::Batch;
using t5::Config;
using t5::GenerateOptions;
using t5::Model;

std::string ShapeStr(at::IntArrayRef s) { return "[" + c10::Join(", ", s) + "]"; }

// ---- config ------------------------------------------------------------------------------------

int64_t PositiveKey(const Napi::Object& o, const char* key, std::optional<int64_t> def, int64_t min = 1) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) {
    if (!def) ThrowCode("EXT5_CONFIG", std::string("config is missing required key '") + key + "'");
    return *def;
  }
  const std::string name = std::string("config.") + key;
  int64_t n = GetInt(v, name.c_str());
  if (n < min) ThrowCode("EXT5_CONFIG", name + " must be >= " + std::to_string(min) + ", got " + std::to_string(n));
  if (n > (int64_t{1} << 31)) ThrowCode("EXT5_CONFIG", name + " is unreasonably large (" + std::to_string(n) + ")");
  return n;
}

// Bounds a config before anything is allocated: a config.json with 100,000 layers used to build
// for a minute and take gigabytes before the checkpoint's names showed it was wrong (issue #16).
// Layer and head counts beyond any published T5 by far are refused, and so is a model whose
// float32 parameters alone would not fit in this machine's physical memory.
void CheckModelSize(const Config& c, double params) {
  constexpr int64_t kMaxLayers = 1024, kMaxHeads = 1024;
  if (c.num_layers > kMaxLayers || c.num_decoder_layers > kMaxLayers) {
    ThrowCode("EXT5_CONFIG", "config has " + std::to_string(c.num_layers) + " encoder / " +
                                 std::to_string(c.num_decoder_layers) + " decoder layers; at most " +
                                 std::to_string(kMaxLayers) + " are supported");
  }
  if (c.num_heads > kMaxHeads) {
    ThrowCode("EXT5_CONFIG", "config.num_heads " + std::to_string(c.num_heads) + " is more than " + std::to_string(kMaxHeads));
  }
  double bytes = params * 4.0;
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  double phys = pages > 0 && page > 0 ? static_cast<double>(pages) * static_cast<double>(page) : 1e12;
  if (bytes > phys) {
    char buf[200];
    std::snprintf(buf, sizeof buf, "config describes ~%.3g parameters (%.1f GB in float32), more than this machine's %.1f GB of memory",
                  params, bytes / 1e9, phys / 1e9);
    ThrowCode("EXT5_CONFIG", buf);
  }
}

Config ParseConfig(const Napi::Value& v) {
  if (!v.IsObject() || v.IsArray()) ThrowCode("EXT5_CONFIG", "config must be an object with Hugging Face T5 keys");
  Napi::Object o = v.As<Napi::Object>();
  Config c;
  c.vocab_size = PositiveKey(o, "vocab_size", std::nullopt);
  c.d_model = PositiveKey(o, "d_model", std::nullopt);
  c.d_kv = PositiveKey(o, "d_kv", std::nullopt);
  c.d_ff = PositiveKey(o, "d_ff", std::nullopt);
  c.num_layers = PositiveKey(o, "num_layers", std::nullopt);
  c.num_heads = PositiveKey(o, "num_heads", std::nullopt);
  c.num_decoder_layers = PositiveKey(o, "num_decoder_layers", c.num_layers);
  c.num_buckets = PositiveKey(o, "relative_attention_num_buckets", 32, 2);
  c.max_distance = PositiveKey(o, "relative_attention_max_distance", 128, 1);
  c.pad_token_id = PositiveKey(o, "pad_token_id", 0, 0);
  c.eos_token_id = PositiveKey(o, "eos_token_id", 1, 0);
  c.decoder_start_token_id = PositiveKey(o, "decoder_start_token_id", 0, 0);
  if (c.max_distance <= c.num_buckets / 4) {
    ThrowCode("EXT5_CONFIG", "config.relative_attention_max_distance must exceed relative_attention_num_buckets / 4");
  }
  for (auto [key, id] : {std::pair<const char*, int64_t>{"pad_token_id", c.pad_token_id},
                         {"eos_token_id", c.eos_token_id},
                         {"decoder_start_token_id", c.decoder_start_token_id}}) {
    if (id >= c.vocab_size) {
      ThrowCode("EXT5_CONFIG", std::string("config.") + key + " (" + std::to_string(id) + ") must be < vocab_size (" +
                                   std::to_string(c.vocab_size) + ")");
    }
  }
  Napi::Value dr = o.Get("dropout_rate");
  if (!dr.IsUndefined() && !dr.IsNull()) {
    c.dropout_rate = GetNumber(dr, "config.dropout_rate");
    if (!(c.dropout_rate >= 0 && c.dropout_rate < 1)) ThrowCode("EXT5_CONFIG", "config.dropout_rate must be in [0, 1)");
  }
  Napi::Value eps = o.Get("layer_norm_epsilon");
  if (!eps.IsUndefined() && !eps.IsNull()) {
    c.layer_norm_epsilon = GetNumber(eps, "config.layer_norm_epsilon");
    if (!(c.layer_norm_epsilon > 0 && c.layer_norm_epsilon < 1)) {
      ThrowCode("EXT5_CONFIG", "config.layer_norm_epsilon must be in (0, 1)");
    }
  }
  Napi::Value ff = o.Get("feed_forward_proj");
  std::string proj = ff.IsUndefined() || ff.IsNull() ? "relu" : GetString(ff, "config.feed_forward_proj");
  if (proj == "relu") {
    c.gated = false;
  } else if (proj == "gated-gelu") {
    c.gated = true;
  } else {
    ThrowCode("EXT5_CONFIG", "config.feed_forward_proj '" + proj + "' is not supported (expected 'relu' or 'gated-gelu')");
  }
  Napi::Value tie = o.Get("tie_word_embeddings");
  c.tie_word_embeddings = tie.IsUndefined() || tie.IsNull() ? true : GetBool(tie, "config.tie_word_embeddings");
  return c;
}

Napi::Object ConfigToJs(Napi::Env env, const Config& c) {
  Napi::Object o = Napi::Object::New(env);
  auto n = [&](const char* k, double v) { o.Set(k, Napi::Number::New(env, v)); };
  n("vocab_size", c.vocab_size);
  n("d_model", c.d_model);
  n("d_kv", c.d_kv);
  n("d_ff", c.d_ff);
  n("num_layers", c.num_layers);
  n("num_decoder_layers", c.num_decoder_layers);
  n("num_heads", c.num_heads);
  n("relative_attention_num_buckets", c.num_buckets);
  n("relative_attention_max_distance", c.max_distance);
  n("dropout_rate", c.dropout_rate);
  n("layer_norm_epsilon", c.layer_norm_epsilon);
  o.Set("feed_forward_proj", Napi::String::New(env, c.gated ? "gated-gelu" : "relu"));
  o.Set("tie_word_embeddings", Napi::Boolean::New(env, c.tie_word_embeddings));
  n("pad_token_id", c.pad_token_id);
  n("eos_token_id", c.eos_token_id);
  n("decoder_start_token_id", c.decoder_start_token_id);
  return o;
}

// ---- inputs ------------------------------------------------------------------------------------

// A Tensor (handle or TS Tensor) or {data: TypedArray, shape: number[]} -> CPU/any-device tensor.
at::Tensor ReadArray(const Napi::Value& v, const std::string& name) {
  if (v.IsTypedArray()) ThrowArg(name + " as a typed array needs its shape: pass {data, shape} or a Tensor");
  // The TS Tensor has a data() method; only a plain {data: TypedArray, shape} takes this branch.
  if (v.IsObject() && !TensorHandle::Is(v) && v.As<Napi::Object>().Get("data").IsTypedArray()) {
    Napi::Object o = v.As<Napi::Object>();
    Napi::Value d = o.Get("data");
    auto ta = d.As<Napi::TypedArray>();
    auto shape = GetIntArray(o.Get("shape"), (name + ".shape").c_str());
    at::ScalarType st;
    switch (ta.TypedArrayType()) {
      case napi_int32_array: st = at::kInt; break;
      case napi_bigint64_array: st = at::kLong; break;
      case napi_float32_array: st = at::kFloat; break;
      case napi_float64_array: st = at::kDouble; break;
      case napi_uint8_array: st = at::kByte; break;
      default: ThrowCode("EXT5_DTYPE", name + ".data must be an Int32Array, BigInt64Array, Float32Array or Float64Array");
    }
    int64_t numel = 1;
    for (auto s : shape) {
      if (s < 0 || s > (int64_t{1} << 40)) ThrowCode("EXT5_SHAPE", name + ".shape has a size out of range");
      numel *= s;
      if (numel > (int64_t{1} << 40)) ThrowCode("EXT5_SHAPE", name + ".shape describes too many elements");
    }
    if (numel != static_cast<int64_t>(ta.ElementLength())) {
      ThrowCode("EXT5_SHAPE", name + " has " + std::to_string(ta.ElementLength()) + " elements but shape " +
                                  ShapeStr(shape) + " needs " + std::to_string(numel));
    }
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(st));
    if (numel > 0) {
      auto [src, bytes] = TypedArrayBytes(ta);
      std::memcpy(t.data_ptr(), src, bytes);
    }
    return t;
  }
  return TensorHandle::Get(v, name.c_str()).detach();
}

bool Present(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  return !v.IsUndefined() && !v.IsNull();
}

bool IsInteger(at::ScalarType t) {
  return t == at::kInt || t == at::kLong || t == at::kShort || t == at::kChar || t == at::kByte;
}

// Validates an integer [B, L] tensor and returns it as int64 on `dev`.
at::Tensor Ids(const Napi::Value& v, const std::string& name, const at::Device& dev, std::optional<int64_t> vocab,
               bool allow_ignore, at::IntArrayRef expect_shape = {}) {
  at::Tensor t = ReadArray(v, name);
  if (!IsInteger(t.scalar_type())) {
    ThrowCode("EXT5_DTYPE", name + " must hold integers (Int32Array/BigInt64Array or an int32/int64 Tensor), got " +
                                DtypeName(t.scalar_type()));
  }
  if (t.dim() != 2) ThrowCode("EXT5_SHAPE", name + " must be 2-D [batch, length], got shape " + ShapeStr(t.sizes()));
  if (t.size(0) == 0 || t.size(1) == 0) ThrowCode("EXT5_SHAPE", name + " must not be empty, got shape " + ShapeStr(t.sizes()));
  if (!expect_shape.empty() && !t.sizes().equals(expect_shape)) {
    ThrowCode("EXT5_SHAPE", name + " has shape " + ShapeStr(t.sizes()) + " but must be " + ShapeStr(expect_shape));
  }
  if (!t.device().is_cpu() && t.device() != dev) {
    ThrowCode("EXT5_DEVICE", name + " is on " + DeviceName(t.device()) + " but the model is on " + DeviceName(dev));
  }
  t = t.to(at::kLong);
  at::Tensor bad_neg = allow_ignore ? (t.lt(0) & t.ne(-100)) : t.lt(0);
  if (bad_neg.any().item<bool>()) {
    ThrowCode("EXT5_INDEX", name + " holds negative values" +
                                std::string(allow_ignore ? " other than -100 (the ignore index)" : "") + " (min " +
                                std::to_string(t.min().item<int64_t>()) + ")");
  }
  if (vocab) {
    int64_t mx = t.max().item<int64_t>();
    if (mx >= *vocab) {
      ThrowCode("EXT5_INDEX", name + " holds token id " + std::to_string(mx) + " but vocab_size is " +
                                  std::to_string(*vocab) + " (ids must be < vocab_size)");
    }
  }
  return t.to(dev);
}

at::Tensor Weights(const Napi::Value& v, const std::string& name, const at::Device& dev, at::IntArrayRef shape) {
  at::Tensor t = ReadArray(v, name);
  if (!at::isFloatingType(t.scalar_type()) && !IsInteger(t.scalar_type())) {
    ThrowCode("EXT5_DTYPE", name + " must hold numbers, got " + DtypeName(t.scalar_type()));
  }
  if (!t.sizes().equals(shape)) {
    ThrowCode("EXT5_SHAPE", name + " has shape " + ShapeStr(t.sizes()) + " but must be " + ShapeStr(shape));
  }
  if (!t.device().is_cpu() && t.device() != dev) {
    ThrowCode("EXT5_DEVICE", name + " is on " + DeviceName(t.device()) + " but the model is on " + DeviceName(dev));
  }
  t = t.to(at::kFloat);
  if (!at::isfinite(t).all().item<bool>() || t.lt(0).any().item<bool>()) {
    ThrowCode("EXT5_VALUE", name + " must be finite and >= 0");
  }
  return t.to(dev);
}

struct ParsedBatch {
  Batch batch;
  double grad_scale = 1.0;
};

ParsedBatch ParseBatch(const Napi::Value& v, const Model& m) {
  if (!v.IsObject() || v.IsArray()) ThrowArg("batch must be an object ({inputIds, labels, ...})");
  Napi::Object o = v.As<Napi::Object>();
  const auto dev = m.device();
  const int64_t V = m.config().vocab_size;
  ParsedBatch p;
  Batch& b = p.batch;
  if (!Present(o, "inputIds")) ThrowArg("batch.inputIds is required");
  b.input_ids = Ids(o.Get("inputIds"), "inputIds", dev, V, false);
  const auto enc_shape = b.input_ids.sizes().vec();
  if (Present(o, "attentionMask")) b.attention_mask = Ids(o.Get("attentionMask"), "attentionMask", dev, {}, false, enc_shape);
  if (!Present(o, "decoderInputIds") && !Present(o, "labels")) {
    ThrowArg("batch needs labels or decoderInputIds (the decoder has nothing to read otherwise)");
  }
  std::vector<int64_t> dec_shape;
  if (Present(o, "decoderInputIds")) {
    b.decoder_input_ids = Ids(o.Get("decoderInputIds"), "decoderInputIds", dev, V, false);
    dec_shape = b.decoder_input_ids.sizes().vec();
  }
  if (Present(o, "labels")) {
    b.labels = Ids(o.Get("labels"), "labels", dev, V, true, dec_shape);
    dec_shape = b.labels.sizes().vec();
  }
  if (dec_shape[0] != enc_shape[0]) {
    ThrowCode("EXT5_SHAPE", "decoder batch size " + std::to_string(dec_shape[0]) + " differs from inputIds batch size " +
                                std::to_string(enc_shape[0]));
  }
  if (Present(o, "decoderAttentionMask")) {
    b.decoder_attention_mask = Ids(o.Get("decoderAttentionMask"), "decoderAttentionMask", dev, {}, false, dec_shape);
  }
  const bool es = Present(o, "encoderSegmentIds"), ds = Present(o, "decoderSegmentIds");
  if (es != ds) ThrowArg("packed batches need both encoderSegmentIds and decoderSegmentIds");
  if (es) {
    b.encoder_segment_ids = Ids(o.Get("encoderSegmentIds"), "encoderSegmentIds", dev, {}, false, enc_shape);
    b.decoder_segment_ids = Ids(o.Get("decoderSegmentIds"), "decoderSegmentIds", dev, {}, false, dec_shape);
  }
  if (Present(o, "encoderPositions")) {
    b.encoder_positions = Ids(o.Get("encoderPositions"), "encoderPositions", dev, {}, false, enc_shape);
  }
  if (Present(o, "decoderPositions")) {
    b.decoder_positions = Ids(o.Get("decoderPositions"), "decoderPositions", dev, {}, false, dec_shape);
  }
  if (Present(o, "lossWeights")) {
    if (!b.labels.defined()) ThrowArg("batch.lossWeights needs labels");
    b.loss_weights = Weights(o.Get("lossWeights"), "lossWeights", dev, dec_shape);
  }
  if (Present(o, "zLoss")) {
    b.z_loss = GetNumber(o.Get("zLoss"), "batch.zLoss");
    if (!(b.z_loss >= 0 && std::isfinite(b.z_loss))) ThrowArg("batch.zLoss must be a finite number >= 0");
  }
  if (Present(o, "labelSmoothing")) {
    b.label_smoothing = GetNumber(o.Get("labelSmoothing"), "batch.labelSmoothing");
    if (!(b.label_smoothing >= 0 && b.label_smoothing < 1)) ThrowArg("batch.labelSmoothing must be in [0, 1)");
  }
  if (Present(o, "returnLogits")) b.return_logits = GetBool(o.Get("returnLogits"), "batch.returnLogits");
  if (Present(o, "gradScale")) {
    p.grad_scale = GetNumber(o.Get("gradScale"), "batch.gradScale");
    if (!std::isfinite(p.grad_scale)) ThrowArg("batch.gradScale must be finite");
  }
  return p;
}

// Unknown keys of the option objects are rejected on the TS side (lib/native/t5.ts lists them
// once); here each known key is read and checked for type and range.
GenerateOptions ParseGenerateOptions(const Napi::Value& v) {
  GenerateOptions g;
  if (v.IsUndefined() || v.IsNull()) return g;
  if (!v.IsObject() || v.IsArray()) ThrowArg("generate options must be an object");
  Napi::Object o = v.As<Napi::Object>();
  if (Present(o, "maxNewTokens")) g.max_new_tokens = GetInt(o.Get("maxNewTokens"), "maxNewTokens");
  if (g.max_new_tokens < 1 || g.max_new_tokens > 65536) ThrowArg("maxNewTokens must be in [1, 65536]");
  if (Present(o, "numBeams")) g.num_beams = GetInt(o.Get("numBeams"), "numBeams");
  if (g.num_beams < 1 || g.num_beams > 1024) ThrowArg("numBeams must be in [1, 1024]");
  if (Present(o, "lengthPenalty")) g.length_penalty = GetNumber(o.Get("lengthPenalty"), "lengthPenalty");
  if (!std::isfinite(g.length_penalty)) ThrowArg("lengthPenalty must be finite");
  if (Present(o, "earlyStopping")) g.early_stopping = GetBool(o.Get("earlyStopping"), "earlyStopping");
  if (Present(o, "doSample")) g.do_sample = GetBool(o.Get("doSample"), "doSample");
  if (Present(o, "temperature")) g.temperature = GetNumber(o.Get("temperature"), "temperature");
  if (!(g.temperature > 0) || !std::isfinite(g.temperature)) ThrowArg("temperature must be a finite number > 0");
  if (Present(o, "topK")) g.top_k = GetInt(o.Get("topK"), "topK");
  if (g.top_k < 0) ThrowArg("topK must be >= 0 (0 disables it)");
  if (Present(o, "topP")) g.top_p = GetNumber(o.Get("topP"), "topP");
  if (!(g.top_p > 0 && g.top_p <= 1)) ThrowArg("topP must be in (0, 1]");
  if (Present(o, "seed")) {
    int64_t s = GetInt(o.Get("seed"), "seed");
    if (s < 0) ThrowArg("seed must be >= 0");
    g.seed = static_cast<uint64_t>(s);
  }
  if (Present(o, "useCache")) g.use_cache = GetBool(o.Get("useCache"), "useCache");
  if (g.num_beams > 1 && g.do_sample) ThrowArg("beam sampling is not supported: use numBeams > 1 or doSample, not both");
  if (g.num_beams > 1 && !g.use_cache) ThrowArg("beam search always uses the KV cache (useCache: false is for greedy/sampling)");
  return g;
}

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
            InstanceAccessor("training", &T5ModelWrap::Training, nullptr),
            InstanceAccessor("device", &T5ModelWrap::Device, nullptr),
            InstanceAccessor("config", &T5ModelWrap::ConfigGet, nullptr),
            InstanceAccessor("busy", &T5ModelWrap::Busy, nullptr),
            InstanceAccessor("computeDtype", &T5ModelWrap::ComputeDtype, nullptr),
            InstanceAccessor("disposed", &T5ModelWrap::Disposed, nullptr),
        });
    constructor() = new Napi::FunctionReference(Napi::Persistent(ctor));
    exports.Set("T5Model", ctor);
  }

  // new T5Model(config, {device?: string, seed?: number})
  explicit T5ModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<T5ModelWrap>(info) {
    Napi::Env env = info.Env();
    EXT5_TRY
    CheckArgCount(info, 1, 2, "T5Model");
    Config cfg = ParseConfig(info[0]);
    at::Device dev(at::kCPU);
    uint64_t seed = 0;
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
    state_ = std::make_shared<State>(std::make_unique<Model>(cfg, dev, seed));
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
