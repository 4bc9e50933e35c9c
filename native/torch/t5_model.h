// T5 / T5.1.1 encoder-decoder on plain ATen, with Hugging Face parameter names.
//
// The architecture follows the T5 paper (Raffel et al. 2020, §2.1) and the public description in HF
// transformers `src/transformers/models/t5/modeling_t5.py` (T5Attention, T5LayerNorm,
// T5DenseActDense / T5DenseGatedActDense, `_relative_position_bucket`), re-written here on ATen:
//  - RMS norm without mean subtraction, computed in float32, pre-norm residual;
//  - attention without biases and without 1/sqrt(d_kv) scaling;
//  - a learned relative position bias computed by the first layer of each stack and shared by
//    all its layers (bidirectional buckets in the encoder, causal in the decoder, none for
//    cross-attention);
//  - v1.0: ReLU FFN and tied embeddings (decoder output scaled by d_model^-0.5);
//    v1.1: gated-GELU (tanh approximation) FFN and an untied lm_head.
// Packed rows (google/seqio feature_converters.py EncDecFeatureConverter) are supported through segment ids
// and positions: attention stays inside a segment and relative positions come from `positions`.
//
// Parameters are float32 master weights held in one ordered list (stable order, HF names). On
// CUDA the matmuls run in bfloat16 (weights cast per call, autocast-style), norms and the
// softmax/loss in float32, so gradients land in float32 on the master weights.
#pragma once

#include <ATen/ATen.h>
#include <torch/version.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace ext5 {
namespace t5 {

struct Config {
  int64_t vocab_size = 32128;
  int64_t d_model = 512;
  int64_t d_kv = 64;
  int64_t d_ff = 2048;
  int64_t num_layers = 6;
  int64_t num_decoder_layers = 6;
  int64_t num_heads = 8;
  int64_t num_buckets = 32;
  int64_t max_distance = 128;
  double dropout_rate = 0.1;
  double layer_norm_epsilon = 1e-6;
  bool gated = false;  // feed_forward_proj == "gated-gelu"
  // lm_head is shared.weight (true) or its own lm_head.weight (false).
  bool tie_word_embeddings = true;
  // The decoder output is multiplied by d_model^-0.5 before lm_head (mesh-tensorflow's
  // convention for tied T5 v1.0). Hugging Face's T5Config key; when a config leaves it out it
  // follows tie_word_embeddings, as transformers 4.x did.
  bool scale_decoder_outputs = true;
  int64_t pad_token_id = 0;
  int64_t eos_token_id = 1;
  int64_t decoder_start_token_id = 0;
};

// Inputs of one forward pass. Undefined tensors mean "absent". All integer tensors are int64 on
// the model's device by the time they reach the model (the binding validates and converts).
struct Batch {
  at::Tensor input_ids;               // [B, S]
  at::Tensor attention_mask;          // [B, S] (nonzero = real token)
  at::Tensor decoder_input_ids;       // [B, T]
  at::Tensor decoder_attention_mask;  // [B, T]
  at::Tensor labels;                  // [B, T], -100 = ignored
  at::Tensor encoder_segment_ids;     // [B, S], 0 = padding
  at::Tensor decoder_segment_ids;     // [B, T]
  at::Tensor encoder_positions;       // [B, S]
  at::Tensor decoder_positions;       // [B, T]
  at::Tensor loss_weights;            // [B, T] float
  double z_loss = 0.0;
  double label_smoothing = 0.0;
  bool return_logits = false;
};

struct Output {
  at::Tensor loss;    // 0-dim float32 (undefined without labels)
  at::Tensor logits;  // [B, T, V] float32 (only when asked)
  double weight_sum = 0;  // the loss denominator: non-ignored tokens or sum of weights
};

// Beam search stopping, transformers' `early_stopping` (see t5_decode.cc): kTrue (true),
// kHeuristic (false), kNever ("never").
enum class EarlyStopping { kTrue, kHeuristic, kNever };

// Options of generate(); see t5_decode.cc.
struct GenerateOptions {
  int64_t max_new_tokens = 20;
  int64_t num_beams = 1;
  double length_penalty = 1.0;
  EarlyStopping early_stopping = EarlyStopping::kHeuristic;
  bool do_sample = false;
  double temperature = 1.0;
  int64_t top_k = 0;
  double top_p = 1.0;
  uint64_t seed = 0;
  bool use_cache = true;
};

struct ScoreResult {
  at::Tensor sums;       // [B] float32: sum of target log-likelihoods under targetMask
  at::Tensor per_token;  // [B, T] float32 (0 where masked)
};

class Model;
struct BlockCheckpoint;
struct ShardedBlock;

// The collectives a sharded model runs inside forward and backward (t5_shard.cc), implemented over
// a process group (dist_pg.cc). Each call blocks until done or the group's deadline, and throws a
// coded error on failure; every rank must make the same calls in the same order.
class ShardComm {
 public:
  virtual ~ShardComm() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Overwrites `ts` on every rank but `root` with root's values.
  virtual void broadcast(const std::vector<at::Tensor>& ts, int root) = 0;
  // Sums `ts` over the ranks into root's tensors (the others' are left undefined in value).
  virtual void reduce(const std::vector<at::Tensor>& ts, int root) = 0;
};

// Sharded data parallelism (training.sharding, t5_shard.cc): who owns each parameter, what this
// rank keeps of the others', and the owned parameters' gradients reduced so far this step.
struct ShardState {
  std::shared_ptr<ShardComm> comm;
  // Block parameters' gradients are reduced to their owners as each checkpointed block's backward
  // ends (`gradients` and `full` with checkpointing), instead of reaching `.grad`.
  bool reduce_in_backward = false;
  // By parameter (TensorImpl): the owning rank, whether it is freed between uses on non-owners
  // (`full`), and its full shape.
  std::unordered_map<const void*, int> owner;
  std::unordered_map<const void*, bool> freed;
  std::unordered_map<const void*, std::vector<int64_t>> shape;
  // Blocks whose freed parameters are gathered now (the same on every rank: all gather and free
  // together).
  std::unordered_set<const void*> gathered;
  // Owned parameters' reduced gradients, summed over the micro-batches of this step.
  std::unordered_map<const void*, at::Tensor> grad_sum;
};

// The key/value cache of one generation: self-attention K/V grow by one step each call;
// cross-attention K/V are computed once from the encoder output.
struct DecodeCache {
  std::vector<at::Tensor> self_k, self_v;    // per layer [N, H, maxT, d_kv]
  std::vector<at::Tensor> cross_k, cross_v;  // per layer [N, H, S, d_kv]
  at::Tensor cross_bias;                     // [N, 1, 1, S] additive mask (float32)
  at::Tensor self_bias;                      // [1, H, 1, maxT] causal bias by distance (see start_cache)
  int64_t length = 0;
  int64_t max_len = 0;
  void Reorder(const at::Tensor& index);
};

class Model {
 public:
  // `init` false leaves the parameters as allocated (for a model whose every parameter is loaded next).
  Model(const Config& cfg, at::Device device, uint64_t seed, bool init = true);

  const Config& config() const { return cfg_; }
  at::Device device() const { return device_; }
  bool training() const { return training_; }
  void set_training(bool t) { training_ = t; }

  // Ordered (name, parameter) pairs; the tensors are the live parameters.
  const std::vector<std::pair<std::string, at::Tensor>>& named_parameters() const { return params_; }
  int64_t num_parameters() const;
  // Copies values in (shapes checked by the caller), converting dtype/device.
  void load(const std::string& name, const at::Tensor& value);
  bool has(const std::string& name) const { return index_.count(name) > 0; }
  const at::Tensor& param(const std::string& name) const;
  // Moves all parameters to `device` (new tensors: previously handed-out handles go stale).
  void to(at::Device device);
  void zero_grad();

  // Full forward pass (+ loss when labels are present). Grad mode is the caller's.
  Output forward(const Batch& b) const;

  // Encoder output [B, S, d] for ids [B, S] and key mask [B, S] (bool).
  at::Tensor encode(const at::Tensor& ids, const at::Tensor& key_mask, const at::Tensor& segs,
                    const at::Tensor& positions) const;
  // Decoder hidden states -> logits [B, T, V] float32.
  at::Tensor logits(const at::Tensor& dec_hidden) const;
  // Full decoder pass over ids [B, T] (no cache).
  at::Tensor decode_full(const at::Tensor& dec_ids, const at::Tensor& dec_key_mask, const at::Tensor& dec_segs,
                         const at::Tensor& dec_positions, const at::Tensor& enc_out, const at::Tensor& enc_key_mask,
                         const at::Tensor& enc_segs) const;

  // Incremental decoding.
  DecodeCache start_cache(const at::Tensor& enc_out, const at::Tensor& enc_key_mask, int64_t max_len) const;
  // One step: ids [N] at position cache.length -> logits [N, V] float32.
  at::Tensor decode_step(DecodeCache& cache, const at::Tensor& ids) const;

  // bfloat16 on CUDA, float32 on CPU, unless set explicitly (CPU bfloat16 uses oneDNN's bf16
  // GEMMs where the CPU has them; it is also how the CUDA mixed-precision path gets tested).
  at::ScalarType compute_dtype() const {
    if (compute_override_) return *compute_override_;
    return device_.is_cuda() ? at::kBFloat16 : at::kFloat;
  }
  void set_compute_dtype(std::optional<at::ScalarType> t) { compute_override_ = t; }

  // Activation checkpointing (t5_checkpoint.cc): while grad mode is on, each encoder and decoder
  // block keeps only its inputs and the RNG state its dropout drew from, and runs again during
  // backward. Passes without grad (eval forward, score, generate and its KV cache) never use it.
  // The graph of a checkpointed pass refers to this model: run its backward while the model is
  // alive and before to() (the binding does forward and backward in one call).
  bool gradient_checkpointing() const { return checkpointing_; }
  void set_gradient_checkpointing(bool on) { checkpointing_ = on; }

  // Sharded data parallelism (t5_shard.cc). `owners` and `freed` follow named_parameters() order.
  // Turning it on frees this rank's copies of the block parameters it does not own when `freed`
  // says so (they read as empty tensors until gathered); off (comm null) gathers them back first.
  void set_sharding(std::shared_ptr<ShardComm> comm, const std::vector<int>& owners, const std::vector<bool>& freed,
                    bool reduce_in_backward);
  bool sharded() const { return shard_ != nullptr; }
  // Reduces the gradients in `.grad` (every trainable parameter but those reduced in backward) to
  // their owners, adds them to the owners' sums and drops `.grad` everywhere. Once per micro-batch.
  void reduce_grads_to_owners();
  // Moves the sums into the owned parameters' `.grad` (divided by the world size: an average over
  // ranks) for the optimizer step, and clears them. Non-owned parameters end with no `.grad`.
  void finish_sharded_grads();
  // Gathers every freed parameter from its owner (for evaluation or export), and frees them again.
  void gather_all();
  void release_all();
  // Bytes this rank holds: parameters (as stored now) and reduced gradient sums.
  std::pair<int64_t, int64_t> shard_bytes() const;

  // Whether attention may run through libtorch 2.x's fused scaled_dot_product_attention (on CUDA
  // by default, on the CPU with EXT5_SDPA=1; EXT5_SDPA=0 at model creation keeps the explicit path).
  bool sdpa() const { return sdpa_; }
  void set_sdpa(bool on) {
#if TORCH_VERSION_MAJOR >= 2
    sdpa_ = on;
#else
    sdpa_ = false;
#endif
  }

  // While alive, parameters cast to the compute dtype are kept and reused (decoding casts every
  // weight once per call instead of once per step). Only for no-grad work on a busy model.
  class CastCacheScope {
   public:
    explicit CastCacheScope(const Model& m) : m_(m) { m_.cache_casts_ = true; }
    ~CastCacheScope() {
      m_.cache_casts_ = false;
      m_.cast_cache_.clear();
    }

   private:
    const Model& m_;
  };

 private:
  friend struct BlockCheckpoint;
  friend struct ShardedBlock;
  struct Attention {
    at::Tensor q, k, v, o, rel;  // rel only in layer 0 of a stack's self-attention
  };
  struct Block {
    at::Tensor ln_self, ln_cross, ln_ff;
    Attention self, cross;
    at::Tensor wi, wi_0, wi_1, wo;
  };
  // Calls f on each defined parameter of a block, in one fixed order (the checkpoint function
  // passes them as inputs and rebuilds the block from them in that order).
  template <class B, class F>
  static void ForEachParam(B& b, F&& f) {
    for (auto* t : {&b.ln_self, &b.self.q, &b.self.k, &b.self.v, &b.self.o, &b.ln_cross, &b.cross.q, &b.cross.k,
                    &b.cross.v, &b.cross.o, &b.wi, &b.wi_0, &b.wi_1, &b.wo, &b.ln_ff}) {
      if (t->defined()) f(*t);
    }
  }

  at::Tensor& add(const std::string& name, std::vector<int64_t> shape, double std, at::Generator& gen);
  void bind();  // re-points the block structs at params_ (after construction or to())
  at::Tensor w(const at::Tensor& p) const;  // parameter in the compute dtype
  at::Tensor norm(const at::Tensor& x, const at::Tensor& weight) const;
  at::Tensor dropout(const at::Tensor& x) const;
  at::Tensor ffn(const Block& blk, const at::Tensor& x) const;
  // softmax(q k^T + bias) v for q [B, H, Lq, dkv], k/v [B, H, Lk, dkv], bias float32 broadcastable
  // to [B, H, Lq, Lk]; with `drop`, dropout on the probabilities while training.
  at::Tensor core(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& bias,
                  bool drop) const;
  at::Tensor attend(const Attention& a, const at::Tensor& x, const at::Tensor& kv, const at::Tensor& bias) const;
  at::Tensor position_bias(const at::Tensor& rel_weight, const at::Tensor& q_pos, const at::Tensor& k_pos,
                           bool bidirectional) const;
  // One block: self-attention, cross-attention when enc_out is defined (decoder), FFN.
  at::Tensor block(const Block& blk, const at::Tensor& h, const at::Tensor& self_bias, const at::Tensor& enc_out,
                   const at::Tensor& cross_bias) const;
  // block(), checkpointed when gradient checkpointing is on and grad mode is enabled.
  at::Tensor run_block(const Block& blk, const at::Tensor& h, const at::Tensor& self_bias, const at::Tensor& enc_out,
                       const at::Tensor& cross_bias) const;
  // Sharding helpers (t5_shard.cc): gather one block's freed parameters from their owners (false,
  // and no collective, when they are all here already) and free them again; reduce a list of
  // parameters' gradients to their owners and add them to the owners' sums.
  bool gather_block(const Block& blk) const;
  void release_block(const Block& blk) const;
  void reduce_to_owners(const std::vector<at::Tensor>& params, const std::vector<at::Tensor>& grads) const;
  at::Tensor decoder_stack(const at::Tensor& dec_ids, const at::Tensor& self_bias, const at::Tensor& enc_out,
                           const at::Tensor& cross_bias) const;

  Config cfg_;
  at::Device device_;
  bool training_ = false;
  bool sdpa_ = false;
  bool sdpa_cpu_ = false;  // EXT5_SDPA=1: the fused path on the CPU too
  bool checkpointing_ = false;
  bool init_ = true;
  std::shared_ptr<ShardState> shard_;
  std::optional<at::ScalarType> compute_override_;
  mutable bool cache_casts_ = false;
  mutable std::unordered_map<const void*, at::Tensor> cast_cache_;
  std::vector<std::pair<std::string, at::Tensor>> params_;
  std::unordered_map<std::string, size_t> index_;
  at::Tensor shared_, enc_final_, dec_final_, lm_head_;
  std::vector<Block> enc_, dec_;
};

// HF `_relative_position_bucket` (modeling_t5.py), on int64 relative positions (key - query).
at::Tensor RelativePositionBucket(const at::Tensor& relative_position, bool bidirectional, int64_t num_buckets,
                                  int64_t max_distance);

// Labels shifted right for teacher forcing: start token first, -100 -> pad; with segment ids the
// start token is placed at every segment start (seqio packing).
at::Tensor ShiftRight(const at::Tensor& labels, const at::Tensor& segs, int64_t start_id, int64_t pad_id);

// generate(): returns [B, 1 + n] int64 with the decoder start token first, finished rows padded.
at::Tensor Generate(const Model& m, const at::Tensor& input_ids, const at::Tensor& attention_mask,
                    const GenerateOptions& opt);
// score(): log-likelihood of targets [B, T] under mask, teacher-forced in one pass.
ScoreResult Score(const Model& m, const at::Tensor& input_ids, const at::Tensor& attention_mask,
                  const at::Tensor& targets, const at::Tensor& target_mask);

}  // namespace t5

namespace dist {
// The collectives of the process group with this id (dist_pg.cc), for a sharded model. Throws
// EXT5_INVALID_ARG for an unknown group.
std::shared_ptr<t5::ShardComm> MakeShardComm(int64_t group_id);
}  // namespace dist

}  // namespace ext5
