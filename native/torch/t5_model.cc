// T5 forward pass, masks, relative position bias and loss (see t5_model.h for the architecture
// and its sources).
#include "t5_model.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>
#include <torch/version.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace ext5 {
namespace t5 {

namespace {

// The additive value of a masked attention score. Scores are float32 when the mask is added, so
// the float32 minimum keeps a fully masked row finite (softmax then spreads uniformly, as in HF).
constexpr float kMaskValue = std::numeric_limits<float>::lowest();

at::Tensor Additive(const at::Tensor& allowed) {
  // allowed: bool, broadcastable to [B, H, Lq, Lk]
  return at::where(allowed, at::zeros({}, allowed.options().dtype(at::kFloat)),
                   at::full({}, kMaskValue, allowed.options().dtype(at::kFloat)));
}

// libtorch 2.x has a fused at::scaled_dot_product_attention; EXT5_SDPA=0 keeps the explicit
// matmul/softmax path (for side-by-side measurements and parity tests).
// Measured on a CPU (libtorch 2.6, docs/gpu.md) the fused path was about 2x slower than the
// explicit one, so by default it runs on CUDA only; EXT5_SDPA=1 forces it on the CPU too.
bool SdpaWanted() {
#if TORCH_VERSION_MAJOR >= 2
  const char* v = std::getenv("EXT5_SDPA");
  return v == nullptr || std::strcmp(v, "0") != 0;
#else
  return false;
#endif
}
bool SdpaOnCpu() {
  const char* v = std::getenv("EXT5_SDPA");
  return v != nullptr && std::strcmp(v, "1") == 0;
}

}  // namespace

// Port of `_relative_position_bucket` from Hugging Face transformers
// `src/transformers/models/t5/modeling_t5.py` (itself from mesh-tensorflow): half the buckets
// hold exact small offsets, the rest grow logarithmically up to max_distance; bidirectional
// stacks split the buckets by the sign of the offset, causal stacks map keys after the query to 0.
at::Tensor RelativePositionBucket(const at::Tensor& relative_position, bool bidirectional, int64_t num_buckets,
                                  int64_t max_distance) {
  at::Tensor rp = relative_position;
  at::Tensor buckets = at::zeros_like(rp);
  if (bidirectional) {
    num_buckets /= 2;
    buckets = buckets + rp.gt(0).to(at::kLong) * num_buckets;
    rp = rp.abs();
  } else {
    rp = -at::clamp_max(rp, 0);
  }
  const int64_t max_exact = num_buckets / 2;
  at::Tensor is_small = rp.lt(max_exact);
  // Offsets below max_exact take the other branch; clamping first keeps log() finite there.
  at::Tensor large = at::log(rp.clamp_min(max_exact).to(at::kFloat) / static_cast<double>(max_exact)) /
                     std::log(static_cast<double>(max_distance) / static_cast<double>(max_exact)) *
                     static_cast<double>(num_buckets - max_exact);
  at::Tensor if_large = (large.to(at::kLong) + max_exact).clamp_max(num_buckets - 1);
  return buckets + at::where(is_small, rp, if_large);
}

at::Tensor ShiftRight(const at::Tensor& labels, const at::Tensor& segs, int64_t start_id, int64_t pad_id) {
  const int64_t T = labels.size(1);
  at::Tensor shifted = at::full_like(labels, start_id);
  if (T > 1) shifted.narrow(1, 1, T - 1).copy_(labels.narrow(1, 0, T - 1));
  if (segs.defined() && T > 1) {
    // A packed row restarts teacher forcing at every segment start (seqio EncDecFeatureConverter).
    at::Tensor starts = segs.narrow(1, 1, T - 1).ne(segs.narrow(1, 0, T - 1));
    at::Tensor tail = shifted.narrow(1, 1, T - 1);
    tail.masked_fill_(starts, start_id);
  }
  shifted.masked_fill_(shifted.eq(-100), pad_id);
  return shifted;
}

void DecodeCache::Reorder(const at::Tensor& index) {
  // Beams only ever move within their own batch item, whose cross-attention K/V are identical,
  // so only the self-attention cache needs reordering.
  for (auto& t : self_k) t = t.index_select(0, index);
  for (auto& t : self_v) t = t.index_select(0, index);
}

// ---- construction ------------------------------------------------------------------------------

at::Tensor& Model::add(const std::string& name, std::vector<int64_t> shape, double std, at::Generator& gen) {
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(at::kFloat));
  if (!init_) {
    // Left as allocated: every parameter is loaded next.
  } else if (std > 0) {
    t.normal_(0.0, std, gen);
  } else {
    t.fill_(1.0);
  }
  index_[name] = params_.size();
  params_.emplace_back(name, t);
  return params_.back().second;
}

Model::Model(const Config& cfg, at::Device device, uint64_t seed, bool init)
    : cfg_(cfg), device_(at::kCPU), sdpa_(SdpaWanted()), sdpa_cpu_(SdpaOnCpu()), init_(init) {
  at::NoGradGuard no_grad;
  // Initialisation as in HF T5PreTrainedModel._init_weights with factor 1.0, drawn on the CPU
  // from a per-model generator so a seed gives the same weights on every device.
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const int64_t d = cfg.d_model, inner = cfg.num_heads * cfg.d_kv, H = cfg.num_heads;
  const double sd = std::pow(static_cast<double>(d), -0.5);
  add("shared.weight", {cfg.vocab_size, d}, 1.0, gen);
  auto stack = [&](const std::string& prefix, int64_t layers, bool decoder) {
    for (int64_t i = 0; i < layers; i++) {
      const std::string b = prefix + ".block." + std::to_string(i) + ".layer.";
      auto attention = [&](const std::string& p, bool rel) {
        add(p + ".q.weight", {inner, d}, std::pow(static_cast<double>(d * cfg.d_kv), -0.5), gen);
        add(p + ".k.weight", {inner, d}, sd, gen);
        add(p + ".v.weight", {inner, d}, sd, gen);
        add(p + ".o.weight", {d, inner}, std::pow(static_cast<double>(inner), -0.5), gen);
        if (rel) add(p + ".relative_attention_bias.weight", {cfg.num_buckets, H}, sd, gen);
      };
      attention(b + "0.SelfAttention", i == 0);
      add(b + "0.layer_norm.weight", {d}, 0, gen);
      int64_t ff = 1;
      if (decoder) {
        attention(b + "1.EncDecAttention", false);
        add(b + "1.layer_norm.weight", {d}, 0, gen);
        ff = 2;
      }
      const std::string f = b + std::to_string(ff) + ".DenseReluDense.";
      if (cfg.gated) {
        add(f + "wi_0.weight", {cfg.d_ff, d}, sd, gen);
        add(f + "wi_1.weight", {cfg.d_ff, d}, sd, gen);
      } else {
        add(f + "wi.weight", {cfg.d_ff, d}, sd, gen);
      }
      add(f + "wo.weight", {d, cfg.d_ff}, std::pow(static_cast<double>(cfg.d_ff), -0.5), gen);
      add(b + std::to_string(ff) + ".layer_norm.weight", {d}, 0, gen);
    }
    add(prefix + ".final_layer_norm.weight", {d}, 0, gen);
  };
  stack("encoder", cfg.num_layers, false);
  stack("decoder", cfg.num_decoder_layers, true);
  if (!cfg.tie_word_embeddings) add("lm_head.weight", {cfg.vocab_size, d}, 1.0, gen);
  for (auto& [_, p] : params_) p.requires_grad_(true);
  if (!device.is_cpu()) {
    to(device);
  } else {
    bind();
  }
}

void Model::bind() {
  auto P = [&](const std::string& n) -> at::Tensor { return param(n); };
  auto opt = [&](const std::string& n) -> at::Tensor { return has(n) ? param(n) : at::Tensor(); };
  shared_ = P("shared.weight");
  enc_final_ = P("encoder.final_layer_norm.weight");
  dec_final_ = P("decoder.final_layer_norm.weight");
  lm_head_ = cfg_.tie_word_embeddings ? at::Tensor() : P("lm_head.weight");
  auto stack = [&](const std::string& prefix, int64_t layers, bool decoder, std::vector<Block>& out) {
    out.clear();
    for (int64_t i = 0; i < layers; i++) {
      const std::string b = prefix + ".block." + std::to_string(i) + ".layer.";
      Block blk;
      auto attention = [&](const std::string& p) {
        Attention a{P(p + ".q.weight"), P(p + ".k.weight"), P(p + ".v.weight"), P(p + ".o.weight"),
                    opt(p + ".relative_attention_bias.weight")};
        return a;
      };
      blk.self = attention(b + "0.SelfAttention");
      blk.ln_self = P(b + "0.layer_norm.weight");
      int64_t ff = 1;
      if (decoder) {
        blk.cross = attention(b + "1.EncDecAttention");
        blk.ln_cross = P(b + "1.layer_norm.weight");
        ff = 2;
      }
      const std::string f = b + std::to_string(ff) + ".DenseReluDense.";
      blk.wi = opt(f + "wi.weight");
      blk.wi_0 = opt(f + "wi_0.weight");
      blk.wi_1 = opt(f + "wi_1.weight");
      blk.wo = P(f + "wo.weight");
      blk.ln_ff = P(b + std::to_string(ff) + ".layer_norm.weight");
      out.push_back(blk);
    }
  };
  stack("encoder", cfg_.num_layers, false, enc_);
  stack("decoder", cfg_.num_decoder_layers, true, dec_);
}

const at::Tensor& Model::param(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) throw std::out_of_range("no parameter named " + name);
  return params_[it->second].second;
}

int64_t Model::num_parameters() const {
  int64_t n = 0;
  for (auto& [_, p] : params_) {
    // A parameter freed on this rank by sharding `full` still counts at its full size.
    if (shard_ && shard_->shape.count(p.unsafeGetTensorImpl())) {
      int64_t k = 1;
      for (int64_t d : shard_->shape.at(p.unsafeGetTensorImpl())) k *= d;
      n += k;
    } else {
      n += p.numel();
    }
  }
  return n;
}

void Model::load(const std::string& name, const at::Tensor& value) {
  at::NoGradGuard no_grad;
  at::Tensor& p = params_.at(index_.at(name)).second;
  p.copy_(value.to(p.device(), p.scalar_type()));
}

void Model::to(at::Device device) {
  if (device == device_) return;
  at::NoGradGuard no_grad;
  for (auto& [_, p] : params_) {
    at::Tensor moved = p.detach().to(device).clone();
    moved.requires_grad_(true);
    p = moved;
  }
  device_ = device;
  bind();
}

void Model::zero_grad() {
  for (auto& [_, p] : params_) {
    if (p.grad().defined()) p.mutable_grad() = at::Tensor();
  }
}

// ---- building blocks -------------------------------------------------------------------------------

at::Tensor Model::w(const at::Tensor& p) const {
  at::ScalarType ct = compute_dtype();
  if (p.scalar_type() == ct) return p;
  if (!cache_casts_) return p.to(ct);
  auto it = cast_cache_.find(p.unsafeGetTensorImpl());
  if (it != cast_cache_.end()) return it->second;
  at::Tensor c = p.to(ct);
  cast_cache_.emplace(p.unsafeGetTensorImpl(), c);
  return c;
}

at::Tensor Model::norm(const at::Tensor& x, const at::Tensor& weight) const {
  at::Tensor x32 = x.to(at::kFloat);
  at::Tensor var = x32.pow(2).mean({-1}, /*keepdim=*/true);
  at::Tensor y = x32 * at::rsqrt(var + cfg_.layer_norm_epsilon);
  return (weight * y).to(compute_dtype());
}

at::Tensor Model::dropout(const at::Tensor& x) const {
  if (!training_ || cfg_.dropout_rate <= 0) return x;
  return at::dropout(x, cfg_.dropout_rate, /*train=*/true);
}

at::Tensor Model::ffn(const Block& blk, const at::Tensor& x) const {
  at::Tensor h;
  if (cfg_.gated) {
    h = at::gelu(at::linear(x, w(blk.wi_0)), "tanh") * at::linear(x, w(blk.wi_1));
  } else {
    h = at::relu(at::linear(x, w(blk.wi)));
  }
  return at::linear(dropout(h), w(blk.wo));
}

namespace {
// [B, L, H*dkv] -> [B, H, L, dkv]
at::Tensor Heads(const at::Tensor& x, int64_t H, int64_t dkv) {
  return x.view({x.size(0), x.size(1), H, dkv}).transpose(1, 2);
}
}  // namespace

at::Tensor Model::core(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& bias,
                       bool drop) const {
  // T5 folds the 1/sqrt(d_kv) scaling into the initialisation of q: no scaling here.
#if TORCH_VERSION_MAJOR >= 2
  if (sdpa_ && (q.is_cuda() || sdpa_cpu_)) {
    // The bias (relative positions + masks, float32, learnable through the position table) goes
    // in as the additive attn_mask, which SDPA wants in the query's dtype. A reduced-precision
    // copy clamps to that dtype's lowest finite value first: float32's lowest would round to
    // -inf and turn fully masked rows (padding queries) into NaN instead of a uniform softmax.
    at::Tensor mask = bias;
    if (q.scalar_type() != at::kFloat) {
      const double lowest = q.scalar_type() == at::kHalf ? -65504.0 : -3.3895313892515355e38;
      mask = bias.clamp_min(lowest).to(q.scalar_type());
    }
    const double p = drop && training_ ? cfg_.dropout_rate : 0.0;
    return at::scaled_dot_product_attention(q, k, v, mask, p, /*is_causal=*/false, /*scale=*/1.0);
  }
#endif
  at::Tensor scores = at::matmul(q, k.transpose(-1, -2)).to(at::kFloat) + bias;
  at::Tensor probs = at::softmax(scores, -1).to(compute_dtype());
  return at::matmul(drop ? dropout(probs) : probs, v);
}

at::Tensor Model::attend(const Attention& a, const at::Tensor& x, const at::Tensor& kv, const at::Tensor& bias) const {
  const int64_t H = cfg_.num_heads, dkv = cfg_.d_kv, inner = H * dkv;
  at::Tensor q, k, v;
  // One GEMM for the projections that read the same input (the weight concat is cheap next to
  // the matmul, and its backward is a narrow).
  if (x.is_same(kv)) {
    auto qkv = at::linear(x, at::cat({w(a.q), w(a.k), w(a.v)}, 0)).split(inner, -1);
    q = qkv[0], k = qkv[1], v = qkv[2];
  } else {
    q = at::linear(x, w(a.q));
    auto kv2 = at::linear(kv, at::cat({w(a.k), w(a.v)}, 0)).split(inner, -1);
    k = kv2[0], v = kv2[1];
  }
  q = Heads(q, H, dkv);
  k = Heads(k, H, dkv);
  v = Heads(v, H, dkv);
  at::Tensor out = core(q, k, v, bias, /*drop=*/true).transpose(1, 2).reshape({x.size(0), x.size(1), inner});
  return at::linear(out, w(a.o));
}

at::Tensor Model::position_bias(const at::Tensor& rel_weight, const at::Tensor& q_pos, const at::Tensor& k_pos,
                                bool bidirectional) const {
  // q_pos [B|1, Lq], k_pos [B|1, Lk] -> [B|1, H, Lq, Lk] float32
  at::Tensor rel = k_pos.unsqueeze(1) - q_pos.unsqueeze(2);
  at::Tensor buckets = RelativePositionBucket(rel, bidirectional, cfg_.num_buckets, cfg_.max_distance);
  return at::embedding(rel_weight, buckets).permute({0, 3, 1, 2}).to(at::kFloat);
}

namespace {
at::Tensor KeyMask(const at::Tensor& mask, const at::Tensor& segs, const at::Tensor& ids) {
  if (mask.defined()) return mask.ne(0);
  if (segs.defined()) return segs.ne(0);
  return at::ones(ids.sizes(), ids.options().dtype(at::kBool));
}

at::Tensor Positions(const at::Tensor& given, int64_t L, const at::Device& dev) {
  if (given.defined()) return given;
  return at::arange(L, at::TensorOptions().dtype(at::kLong).device(dev)).unsqueeze(0);
}
}  // namespace

at::Tensor Model::encode(const at::Tensor& ids, const at::Tensor& key_mask, const at::Tensor& segs,
                         const at::Tensor& positions) const {
  const int64_t S = ids.size(1);
  at::Tensor allowed = key_mask.view({ids.size(0), 1, 1, S});
  if (segs.defined()) allowed = allowed & segs.unsqueeze(2).eq(segs.unsqueeze(1)).unsqueeze(1);
  at::Tensor pos = Positions(positions, S, ids.device());
  at::Tensor bias = position_bias(enc_.at(0).self.rel, pos, pos, /*bidirectional=*/true) + Additive(allowed);
  at::Tensor h = dropout(at::embedding(shared_, ids).to(compute_dtype()));
  for (const Block& blk : enc_) h = run_block(blk, h, bias, at::Tensor(), at::Tensor());
  return dropout(norm(h, enc_final_));
}

at::Tensor Model::block(const Block& blk, const at::Tensor& h_in, const at::Tensor& self_bias,
                        const at::Tensor& enc_out, const at::Tensor& cross_bias) const {
  at::Tensor n = norm(h_in, blk.ln_self);
  at::Tensor h = h_in + dropout(attend(blk.self, n, n, self_bias));
  if (enc_out.defined()) h = h + dropout(attend(blk.cross, norm(h, blk.ln_cross), enc_out, cross_bias));
  return h + dropout(ffn(blk, norm(h, blk.ln_ff)));
}

at::Tensor Model::decoder_stack(const at::Tensor& dec_ids, const at::Tensor& self_bias, const at::Tensor& enc_out,
                                const at::Tensor& cross_bias) const {
  at::Tensor h = dropout(at::embedding(shared_, dec_ids).to(compute_dtype()));
  for (const Block& blk : dec_) h = run_block(blk, h, self_bias, enc_out, cross_bias);
  return dropout(norm(h, dec_final_));
}

at::Tensor Model::decode_full(const at::Tensor& dec_ids, const at::Tensor& dec_key_mask, const at::Tensor& dec_segs,
                              const at::Tensor& dec_positions, const at::Tensor& enc_out,
                              const at::Tensor& enc_key_mask, const at::Tensor& enc_segs) const {
  const int64_t B = dec_ids.size(0), T = dec_ids.size(1), S = enc_out.size(1);
  const auto dev = dec_ids.device();
  at::Tensor idx = at::arange(T, at::TensorOptions().dtype(at::kLong).device(dev));
  at::Tensor allowed = idx.unsqueeze(0).le(idx.unsqueeze(1)).view({1, 1, T, T});  // key <= query
  allowed = allowed & dec_key_mask.view({B, 1, 1, T});
  if (dec_segs.defined()) allowed = allowed & dec_segs.unsqueeze(2).eq(dec_segs.unsqueeze(1)).unsqueeze(1);
  at::Tensor pos = Positions(dec_positions, T, dev);
  at::Tensor self_bias = position_bias(dec_.at(0).self.rel, pos, pos, /*bidirectional=*/false) + Additive(allowed);
  at::Tensor cross = enc_key_mask.view({B, 1, 1, S});
  if (dec_segs.defined() && enc_segs.defined()) {
    cross = cross & dec_segs.unsqueeze(2).eq(enc_segs.unsqueeze(1)).unsqueeze(1);
  }
  return decoder_stack(dec_ids, self_bias, enc_out, Additive(cross));
}

at::Tensor Model::logits(const at::Tensor& dec_hidden) const {
  // T5 v1.0 rescales before the tied embedding matrix (mesh-tensorflow convention); the scale and
  // the tie are separate config keys (transformers 5 writes both).
  at::Tensor h = cfg_.scale_decoder_outputs ? dec_hidden * std::pow(static_cast<double>(cfg_.d_model), -0.5) : dec_hidden;
  return at::linear(h, w(cfg_.tie_word_embeddings ? shared_ : lm_head_)).to(at::kFloat);
}

Output Model::forward(const Batch& b) const {
  at::Tensor enc_mask = KeyMask(b.attention_mask, b.encoder_segment_ids, b.input_ids);
  at::Tensor enc_out = encode(b.input_ids, enc_mask, b.encoder_segment_ids, b.encoder_positions);
  at::Tensor dec_ids = b.decoder_input_ids;
  if (!dec_ids.defined()) {
    dec_ids = ShiftRight(b.labels, b.decoder_segment_ids, cfg_.decoder_start_token_id, cfg_.pad_token_id);
  }
  at::Tensor dec_mask = b.decoder_attention_mask.defined()
                            ? b.decoder_attention_mask.ne(0)
                            : at::ones(dec_ids.sizes(), dec_ids.options().dtype(at::kBool));
  at::Tensor hidden = decode_full(dec_ids, dec_mask, b.decoder_segment_ids, b.decoder_positions, enc_out, enc_mask,
                                  b.encoder_segment_ids);
  at::Tensor lg = logits(hidden);  // [B, T, V] float32
  Output out;
  if (b.return_logits) out.logits = lg;
  if (b.labels.defined()) {
    at::Tensor logp = at::log_softmax(lg, -1);
    at::Tensor valid = b.labels.ne(-100);
    at::Tensor target = at::where(valid, b.labels, at::zeros({}, b.labels.options()));
    at::Tensor ce = -logp.gather(-1, target.unsqueeze(-1)).squeeze(-1);  // [B, T]
    if (b.label_smoothing > 0) {
      // PyTorch/HF convention: (1 - eps) * nll + eps * mean over the vocabulary of -log p.
      ce = (1.0 - b.label_smoothing) * ce - b.label_smoothing * logp.mean({-1});
    }
    if (b.z_loss > 0) {
      // T5X z-loss: keeps log Z (the softmax normaliser) near 0.
      ce = ce + b.z_loss * at::logsumexp(lg, {-1}).pow(2);
    }
    at::Tensor weight = valid.to(at::kFloat);
    if (b.loss_weights.defined()) weight = weight * b.loss_weights.to(at::kFloat);
    at::Tensor denom = weight.sum();
    out.weight_sum = denom.item<double>();
    out.loss = (ce * weight).sum() / (out.weight_sum > 0 ? denom : at::ones_like(denom));
  }
  return out;
}

// ---- incremental decoding ---------------------------------------------------------------------------

DecodeCache Model::start_cache(const at::Tensor& enc_out, const at::Tensor& enc_key_mask, int64_t max_len) const {
  const int64_t N = enc_out.size(0), H = cfg_.num_heads, dkv = cfg_.d_kv;
  DecodeCache c;
  for (const Block& blk : dec_) {
    c.cross_k.push_back(Heads(at::linear(enc_out, w(blk.cross.k)), H, dkv).contiguous());
    c.cross_v.push_back(Heads(at::linear(enc_out, w(blk.cross.v)), H, dkv).contiguous());
    c.self_k.push_back(at::zeros({N, H, max_len, dkv}, enc_out.options()));
    c.self_v.push_back(at::zeros({N, H, max_len, dkv}, enc_out.options()));
  }
  c.cross_bias = Additive(enc_key_mask.view({N, 1, 1, enc_out.size(1)}));
  // Causal buckets depend only on the distance query - key, so one row covers every step: the
  // query sits at max_len - 1 and keys 0..max_len-1 span distances max_len-1..0 (O(H·L) memory).
  at::Tensor keys = at::arange(max_len, at::TensorOptions().dtype(at::kLong).device(enc_out.device())).unsqueeze(0);
  at::Tensor query = at::full({1, 1}, max_len - 1, keys.options());
  c.self_bias = position_bias(dec_.at(0).self.rel, query, keys, /*bidirectional=*/false);  // [1, H, 1, L]
  c.max_len = max_len;
  return c;
}

at::Tensor Model::decode_step(DecodeCache& c, const at::Tensor& ids) const {
  const int64_t N = ids.size(0), H = cfg_.num_heads, dkv = cfg_.d_kv, t = c.length;
  auto attend_cached = [&](const Attention& a, const at::Tensor& x, const at::Tensor& K, const at::Tensor& V,
                           const at::Tensor& bias) {
    at::Tensor q = Heads(at::linear(x, w(a.q)), H, dkv);  // [N, H, 1, dkv]
    at::Tensor out = core(q, K, V, bias, /*drop=*/false).transpose(1, 2).reshape({N, 1, H * dkv});
    return at::linear(out, w(a.o));
  };
  if (t >= c.max_len) throw std::out_of_range("decode_step past the cache length");
  at::Tensor self_bias = c.self_bias.narrow(3, c.max_len - 1 - t, t + 1);  // keys 0..t: distances t..0
  at::Tensor h = at::embedding(shared_, ids.view({N, 1})).to(compute_dtype());
  for (size_t l = 0; l < dec_.size(); l++) {
    const Block& blk = dec_[l];
    at::Tensor n = norm(h, blk.ln_self);
    c.self_k[l].narrow(2, t, 1).copy_(Heads(at::linear(n, w(blk.self.k)), H, dkv));
    c.self_v[l].narrow(2, t, 1).copy_(Heads(at::linear(n, w(blk.self.v)), H, dkv));
    h = h + attend_cached(blk.self, n, c.self_k[l].narrow(2, 0, t + 1), c.self_v[l].narrow(2, 0, t + 1), self_bias);
    h = h + attend_cached(blk.cross, norm(h, blk.ln_cross), c.cross_k[l], c.cross_v[l], c.cross_bias);
    h = h + ffn(blk, norm(h, blk.ln_ff));
  }
  c.length += 1;
  return logits(norm(h, dec_final_)).view({N, -1});
}

}  // namespace t5
}  // namespace ext5
