// Reading the JS arguments of the T5 binding (see t5_inputs.h).
#include "t5_inputs.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>

#include "common.h"

namespace ext5 {
namespace t5io {

using t5::Batch;
using t5::Config;
using t5::EarlyStopping;
using t5::GenerateOptions;
using t5::Model;

std::string ShapeStr(at::IntArrayRef s) { return "[" + c10::Join(", ", s) + "]"; }

// ---- config ------------------------------------------------------------------------------------

namespace {
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
}  // namespace

// Bounds a config before anything is allocated: unbounded, a config.json with 100,000 layers
// builds for a minute and takes gigabytes before the checkpoint's names show that it is wrong.
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
  Napi::Value scale = o.Get("scale_decoder_outputs");
  c.scale_decoder_outputs = scale.IsUndefined() || scale.IsNull() ? c.tie_word_embeddings
                                                                  : GetBool(scale, "config.scale_decoder_outputs");
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
  o.Set("scale_decoder_outputs", Napi::Boolean::New(env, c.scale_decoder_outputs));
  n("pad_token_id", c.pad_token_id);
  n("eos_token_id", c.eos_token_id);
  n("decoder_start_token_id", c.decoder_start_token_id);
  return o;
}

// ---- inputs ------------------------------------------------------------------------------------

namespace {
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
}  // namespace

bool Present(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  return !v.IsUndefined() && !v.IsNull();
}

bool IsInteger(at::ScalarType t) {
  return t == at::kInt || t == at::kLong || t == at::kShort || t == at::kChar || t == at::kByte;
}

// Validates an integer [B, L] tensor and returns it as int64 on `dev`.
at::Tensor Ids(const Napi::Value& v, const std::string& name, const at::Device& dev, std::optional<int64_t> vocab,
               bool allow_ignore, at::IntArrayRef expect_shape) {
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

namespace {
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
}  // namespace

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
  if (Present(o, "earlyStopping")) {
    Napi::Value es = o.Get("earlyStopping");
    if (es.IsBoolean()) {
      g.early_stopping = es.As<Napi::Boolean>().Value() ? EarlyStopping::kTrue : EarlyStopping::kHeuristic;
    } else if (es.IsString() && es.As<Napi::String>().Utf8Value() == "never") {
      g.early_stopping = EarlyStopping::kNever;
    } else {
      ThrowArg("earlyStopping must be true, false or 'never'");
    }
  }
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

}  // namespace t5io
}  // namespace ext5
