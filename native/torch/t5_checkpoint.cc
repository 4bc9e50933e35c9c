// Activation checkpointing of T5 blocks: a custom autograd Function whose forward runs one block
// without recording a graph, keeping only the block's inputs and the RNG state its dropout draws
// from, and whose backward replays that RNG state, runs the block again with grad enabled and
// backpropagates through it. This is the reentrant scheme of PyTorch's torch.utils.checkpoint
// (pytorch/pytorch torch/utils/checkpoint.py, CheckpointFunction), which libtorch's C++ API does
// not have, written on torch::autograd::Function. The block's parameters are inputs of the
// Function, so their gradients reach the parameters through the ordinary autograd edges (and
// torch::autograd::grad on the loss sees them too); the relative position bias, computed once per
// stack from the first block's table, is an input of every block, so each block's share of its
// gradient flows back to the table.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cstdint>
#include <mutex>
#include <optional>

#include "t5_model.h"

namespace ext5 {
namespace t5 {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The states of the generators dropout draws from: the CPU default generator, and on CUDA the
// default generator of the block's device (at::dropout and SDPA's dropout use those).
struct RngState {
  at::Tensor cpu, cuda;
};

at::Tensor GetState(at::Generator gen) {
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

void SetState(at::Generator gen, const at::Tensor& state) {
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

RngState CaptureRng(const at::Device& dev) {
  RngState s;
  s.cpu = GetState(at::globalContext().defaultGenerator(at::kCPU));
  if (dev.is_cuda()) s.cuda = GetState(at::globalContext().defaultGenerator(dev));
  return s;
}

void RestoreRng(const RngState& s, const at::Device& dev) {
  SetState(at::globalContext().defaultGenerator(at::kCPU), s.cpu);
  if (s.cuda.defined()) SetState(at::globalContext().defaultGenerator(dev), s.cuda);
}

// Sets the generators to `replay` for its lifetime and puts back the states they had before, so
// recomputation draws the forward pass's dropout masks and leaves the random stream where
// backward found it (a checkpointed run draws the same numbers as one without checkpointing).
class RngFork {
 public:
  RngFork(const RngState& replay, const at::Device& dev) : dev_(dev), before_(CaptureRng(dev)) {
    RestoreRng(replay, dev);
  }
  ~RngFork() { RestoreRng(before_, dev_); }
  RngFork(const RngFork&) = delete;
  RngFork& operator=(const RngFork&) = delete;

 private:
  at::Device dev_;
  RngState before_;
};

}  // namespace

// Inputs, as one tensor list: hidden states, self-attention bias, then for a decoder block the
// encoder output and the cross-attention bias, then the block's parameters in ForEachParam order.
struct BlockCheckpoint : torch::autograd::Function<BlockCheckpoint> {
  // Non-tensor arguments of forward(); backward returns an undefined gradient for each.
  static constexpr size_t kNonTensorArgs = 2;

  static size_t NumActivations(const Model::Block& blk) { return blk.cross.q.defined() ? 4 : 2; }

  // The block `like` with its parameters replaced by `inputs` (from NumActivations on).
  static Model::Block Rebuild(const Model::Block& like, const variable_list& inputs) {
    Model::Block b = like;
    size_t i = NumActivations(like);
    Model::ForEachParam(b, [&](at::Tensor& t) { t = inputs.at(i++); });
    return b;
  }

  // Runs `blk` on the activations at the front of `in` (hidden states, self-attention bias, then
  // for a decoder block the encoder output and the cross-attention bias).
  static at::Tensor CallBlock(const Model& m, const Model::Block& blk, const variable_list& in) {
    const bool decoder = NumActivations(blk) == 4;
    return m.block(blk, in[0], in[1], decoder ? in[2] : at::Tensor(), decoder ? in[3] : at::Tensor());
  }

  // What forward() keeps for backward: the model and block, the generator states dropout draws
  // from (when it draws), and the inputs.
  static void Save(AutogradContext* ctx, at::TensorList inputs, const Model* m, const Model::Block* blk) {
    ctx->saved_data["model"] = static_cast<int64_t>(reinterpret_cast<intptr_t>(m));
    ctx->saved_data["block"] = static_cast<int64_t>(reinterpret_cast<intptr_t>(blk));
    if (m->training() && m->config().dropout_rate > 0) {
      RngState rng = CaptureRng(inputs[0].device());
      ctx->saved_data["cpu_rng"] = rng.cpu;
      if (rng.cuda.defined()) ctx->saved_data["cuda_rng"] = rng.cuda;
    }
    ctx->save_for_backward(inputs.vec());
  }
  static const Model& SavedModel(AutogradContext* ctx) {
    return *reinterpret_cast<const Model*>(static_cast<intptr_t>(ctx->saved_data["model"].toInt()));
  }
  static const Model::Block& SavedBlock(AutogradContext* ctx) {
    return *reinterpret_cast<const Model::Block*>(static_cast<intptr_t>(ctx->saved_data["block"].toInt()));
  }

  // The first `count` saved inputs, detached; those that required grad require it again and are
  // listed in `wanted`, their positions in `where`.
  static variable_list Detach(const variable_list& saved, size_t count, variable_list& wanted,
                              std::vector<size_t>& where) {
    variable_list in;
    in.reserve(count);
    for (size_t i = 0; i < count; i++) {
      at::Tensor t = saved[i].detach();
      if (saved[i].requires_grad()) {
        t.requires_grad_(true);
        wanted.push_back(t);
        where.push_back(i);
      }
      in.push_back(t);
    }
    return in;
  }

  // `run()` with grad on and the generators replaying the forward pass's dropout masks.
  template <typename F>
  static at::Tensor Recompute(AutogradContext* ctx, const at::Device& dev, F&& run) {
    std::optional<RngFork> fork;
    if (ctx->saved_data.count("cpu_rng")) {
      RngState replay;
      replay.cpu = ctx->saved_data["cpu_rng"].toTensor();
      if (ctx->saved_data.count("cuda_rng")) replay.cuda = ctx->saved_data["cuda_rng"].toTensor();
      fork.emplace(replay, dev);
    }
    at::AutoGradMode grad_mode(true);
    return run();
  }

  static at::Tensor forward(AutogradContext* ctx, at::TensorList inputs, const Model* m, const Model::Block* blk) {
    // Function::apply runs this with grad mode off: nothing inside the block is kept.
    Save(ctx, inputs, m, blk);
    return CallBlock(*m, Rebuild(*blk, inputs.vec()), inputs.vec());
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    const Model& m = SavedModel(ctx);
    const Model::Block& blk = SavedBlock(ctx);
    variable_list saved = ctx->get_saved_variables();
    variable_list grads(saved.size() + kNonTensorArgs);
    if (!grad_out.at(0).defined()) return grads;
    variable_list wanted;
    std::vector<size_t> where;
    variable_list in = Detach(saved, saved.size(), wanted, where);
    if (wanted.empty()) return grads;
    at::Tensor y = Recompute(ctx, in[0].device(), [&] { return CallBlock(m, Rebuild(blk, in), in); });
    variable_list g = torch::autograd::grad({y}, wanted, {grad_out[0]}, /*retain_graph=*/false,
                                            /*create_graph=*/false, /*allow_unused=*/true);
    for (size_t j = 0; j < where.size(); j++) grads[where[j]] = g[j];
    return grads;
  }
};

// The checkpointed block of a sharded run (t5_shard.cc): the inputs are the activations only (and
// a marker that requires grad, so backward runs even when no activation does); the parameters are
// gathered from their owners for the forward pass and again for the recomputation, freed after
// each, and their gradients are reduced to the owners as the block's backward ends instead of
// flowing to `.grad` (the owners sum them over the step's micro-batches).
struct ShardedBlock : torch::autograd::Function<ShardedBlock> {
  using B = BlockCheckpoint;

  static at::Tensor forward(AutogradContext* ctx, at::TensorList inputs, const Model* m, const Model::Block* blk) {
    B::Save(ctx, inputs, m, blk);
    const bool gathered = m->gather_block(*blk);
    at::Tensor y = B::CallBlock(*m, *blk, inputs.vec());
    if (gathered) m->release_block(*blk);
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    const Model& m = B::SavedModel(ctx);
    const Model::Block& blk = B::SavedBlock(ctx);
    variable_list saved = ctx->get_saved_variables();
    variable_list grads(saved.size() + B::kNonTensorArgs);
    at::Tensor gout = grad_out.at(0).defined() ? grad_out[0] : at::Tensor();
    variable_list wanted;
    std::vector<size_t> where;
    variable_list in = B::Detach(saved, saved.size() - 1, wanted, where);  // the last input is the marker
    const bool gathered = m.gather_block(blk);
    // The block with each trainable parameter replaced by a detached alias, so that its gradient
    // comes back from grad() instead of accumulating into `.grad`.
    Model::Block b = blk;
    std::vector<at::Tensor> params;
    const size_t first_param = wanted.size();
    Model::ForEachParam(b, [&](at::Tensor& t) {
      if (!t.requires_grad()) return;
      params.push_back(t);
      t = t.detach().requires_grad_(true);
      wanted.push_back(t);
    });
    std::vector<at::Tensor> pgrads;
    variable_list g;
    if (gout.defined() && !wanted.empty()) {
      at::Tensor y = B::Recompute(ctx, in[0].device(), [&] { return B::CallBlock(m, b, in); });
      g = torch::autograd::grad({y}, wanted, {gout}, /*retain_graph=*/false, /*create_graph=*/false,
                                /*allow_unused=*/true);
      for (size_t j = 0; j < where.size(); j++) grads[where[j]] = g[j];
    }
    for (size_t j = first_param; j < wanted.size(); j++)
      pgrads.push_back(j < g.size() && g[j].defined() ? g[j] : at::zeros_like(wanted[j]));
    wanted.clear();
    b = Model::Block();
    if (gathered) m.release_block(blk);
    // Every rank reduces every block's gradients, in the same order, whether or not its own
    // gradient was defined: the collectives must line up.
    m.reduce_to_owners(params, pgrads);
    return grads;
  }
};

at::Tensor Model::run_block(const Block& blk, const at::Tensor& h, const at::Tensor& self_bias,
                            const at::Tensor& enc_out, const at::Tensor& cross_bias) const {
  if (shard_ && shard_->reduce_in_backward && at::GradMode::is_enabled()) {
    variable_list in{h, self_bias};
    if (enc_out.defined()) {
      in.push_back(enc_out);
      in.push_back(cross_bias);
    }
    in.push_back(at::empty({0}, h.options().dtype(at::kFloat)).requires_grad_(true));
    return ShardedBlock::apply(at::TensorList(in), this, &blk);
  }
  if (!checkpointing_ || !at::GradMode::is_enabled()) {
    // A pass without grad under sharding `full` gathers each block from its owners (a collective:
    // every rank must run the pass), unless every rank gathered all parameters first (gather_all).
    const bool gathered = shard_ && gather_block(blk);
    at::Tensor y = block(blk, h, self_bias, enc_out, cross_bias);
    if (gathered) release_block(blk);
    return y;
  }
  variable_list in{h, self_bias};
  if (enc_out.defined()) {
    in.push_back(enc_out);
    in.push_back(cross_bias);
  }
  ForEachParam(blk, [&](const at::Tensor& t) { in.push_back(t); });
  return BlockCheckpoint::apply(at::TensorList(in), this, &blk);
}

}  // namespace t5
}  // namespace ext5
