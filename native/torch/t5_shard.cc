// Sharded data parallelism for the T5 model (training.sharding `gradients` and `full`): ZeRO
// stages 2 and 3 (Rajbhandari et al. 2020, "ZeRO: Memory Optimizations Toward Training Trillion
// Parameter Models"), by whole tensors. Each parameter has one owning rank (chosen in
// lib/train/sharding.ts). Gradients are reduced to their owner only — a reduce-scatter by whole
// tensors, built from c10d's reduce, which Gloo has on every libtorch version — and the owner sums
// them over the step's micro-batches. Under `full`, the block parameters a rank does not own are
// freed between uses: their data is swapped for an empty tensor (Tensor::set_data, what PyTorch's
// FSDP does with `param.data`), so reading one gives an empty tensor, never freed memory, and
// gathered (broadcast from the owner) into fresh storage while the block runs. The checkpointed
// block that does this per block is ShardedBlock in t5_checkpoint.cc.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <string>
#include <unordered_set>

#include "common.h"
#include "t5_model.h"

namespace ext5 {
namespace t5 {

namespace {

const void* Key(const at::Tensor& t) { return t.unsafeGetTensorImpl(); }

bool IsFreed(const at::Tensor& p, const std::vector<int64_t>& shape) {
  return p.numel() == 0 && !shape.empty() && p.sizes().vec() != shape;
}

}  // namespace

void Model::set_sharding(std::shared_ptr<ShardComm> comm, const std::vector<int>& owners,
                         const std::vector<bool>& freed, bool reduce_in_backward) {
  at::NoGradGuard no_grad;
  if (shard_) {
    for (const auto& [_, p] : params_) {
      auto it = shard_->shape.find(Key(p));
      if (it != shard_->shape.end() && IsFreed(p, it->second)) {
        ThrowCode("EXT5_SHARDING", "the model's sharding cannot change while parameters are freed on this rank; "
                                   "gather them first (gatherShardedParameters on every rank)");
      }
    }
    shard_.reset();
  }
  if (!comm) return;
  if (owners.size() != params_.size() || freed.size() != params_.size()) {
    ThrowArg("sharding needs one owner and one freed flag per parameter (" + std::to_string(params_.size()) +
             "), got " + std::to_string(owners.size()) + " and " + std::to_string(freed.size()));
  }
  auto st = std::make_shared<ShardState>();
  st->comm = std::move(comm);
  st->reduce_in_backward = reduce_in_backward;
  std::unordered_set<const void*> in_block;
  for (const auto* stack : {&enc_, &dec_}) {
    for (const auto& blk : *stack) ForEachParam(blk, [&](const at::Tensor& t) { in_block.insert(Key(t)); });
  }
  for (size_t i = 0; i < params_.size(); i++) {
    const at::Tensor& p = params_[i].second;
    if (owners[i] < 0 || owners[i] >= st->comm->size()) {
      ThrowArg("owner of " + params_[i].first + " must be a rank in 0.." + std::to_string(st->comm->size() - 1) +
               ", got " + std::to_string(owners[i]));
    }
    if (freed[i] && !in_block.count(Key(p))) {
      ThrowArg(params_[i].first + " is used outside the blocks and cannot be freed between uses");
    }
    st->owner[Key(p)] = owners[i];
    st->freed[Key(p)] = freed[i];
    st->shape[Key(p)] = p.sizes().vec();
  }
  shard_ = std::move(st);
  release_all();
}

bool Model::gather_block(const Block& blk) const {
  if (!shard_) return false;
  ShardState& st = *shard_;
  if (st.gathered.count(&blk)) return false;
  const int world = st.comm->size();
  std::vector<std::vector<at::Tensor>> by_owner(world);
  ForEachParam(blk, [&](const at::Tensor& p) {
    if (st.freed.at(Key(p))) by_owner[st.owner.at(Key(p))].push_back(p);
  });
  at::NoGradGuard no_grad;
  for (int r = 0; r < world; r++) {
    if (by_owner[r].empty()) continue;
    if (r != st.comm->rank()) {
      for (auto& p : by_owner[r]) p.set_data(at::empty(st.shape.at(Key(p)), p.options()));
    }
    st.comm->broadcast(by_owner[r], r);
  }
  st.gathered.insert(&blk);
  return true;
}

void Model::release_block(const Block& blk) const {
  if (!shard_) return;
  ShardState& st = *shard_;
  at::NoGradGuard no_grad;
  ForEachParam(blk, [&](const at::Tensor& p) {
    if (st.freed.at(Key(p)) && st.owner.at(Key(p)) != st.comm->rank()) p.set_data(at::empty({0}, p.options()));
  });
  st.gathered.erase(&blk);
}

void Model::reduce_to_owners(const std::vector<at::Tensor>& params, const std::vector<at::Tensor>& grads) const {
  ShardState& st = *shard_;
  const int world = st.comm->size();
  const int rank = st.comm->rank();
  at::NoGradGuard no_grad;
  std::vector<std::vector<at::Tensor>> ps(world), gs(world);
  for (size_t i = 0; i < params.size(); i++) {
    int r = st.owner.at(Key(params[i]));
    ps[r].push_back(params[i]);
    gs[r].push_back(grads[i].contiguous());
  }
  for (int r = 0; r < world; r++) {
    if (gs[r].empty()) continue;
    st.comm->reduce(gs[r], r);
    if (r != rank) continue;
    for (size_t i = 0; i < ps[r].size(); i++) {
      at::Tensor& sum = st.grad_sum[Key(ps[r][i])];
      if (sum.defined()) {
        sum.add_(gs[r][i]);
      } else {
        sum = gs[r][i].clone();
      }
    }
  }
}

void Model::reduce_grads_to_owners() {
  if (!shard_) ThrowCode("EXT5_SHARDING", "reduceShardedGrads: the model is not sharded (setSharding first)");
  std::unordered_set<const void*> skip;
  if (shard_->reduce_in_backward) {
    for (const auto* stack : {&enc_, &dec_}) {
      for (const auto& blk : *stack) ForEachParam(blk, [&](const at::Tensor& t) { skip.insert(Key(t)); });
    }
  }
  std::vector<at::Tensor> params, grads;
  {
    at::NoGradGuard no_grad;
    for (auto& [_, p] : params_) {
      if (!p.requires_grad() || skip.count(Key(p))) continue;
      params.push_back(p);
      // A parameter this micro-batch did not use still takes part (as zeros): the ranks' lists must match.
      grads.push_back(p.grad().defined() ? p.grad() : at::zeros(shard_->shape.at(Key(p)), p.options()));
    }
  }
  reduce_to_owners(params, grads);
  for (auto& p : params) p.mutable_grad() = at::Tensor();
}

void Model::finish_sharded_grads() {
  if (!shard_) ThrowCode("EXT5_SHARDING", "finishShardedGrads: the model is not sharded (setSharding first)");
  at::NoGradGuard no_grad;
  const double world = shard_->comm->size();
  for (auto& [_, p] : params_) {
    auto it = shard_->grad_sum.find(Key(p));
    if (it == shard_->grad_sum.end()) {
      p.mutable_grad() = at::Tensor();
      continue;
    }
    p.mutable_grad() = it->second.div_(world);
  }
  shard_->grad_sum.clear();
}

void Model::gather_all() {
  if (!shard_) return;
  for (const auto* stack : {&enc_, &dec_}) {
    for (const auto& blk : *stack) gather_block(blk);
  }
}

void Model::release_all() {
  if (!shard_) return;
  for (const auto* stack : {&enc_, &dec_}) {
    for (const auto& blk : *stack) release_block(blk);
  }
}

std::pair<int64_t, int64_t> Model::shard_bytes() const {
  int64_t params = 0, grads = 0;
  for (const auto& [_, p] : params_) {
    params += p.numel() * static_cast<int64_t>(p.element_size());
    if (p.grad().defined()) grads += p.grad().numel() * static_cast<int64_t>(p.grad().element_size());
  }
  if (shard_) {
    for (const auto& [_, g] : shard_->grad_sum) grads += g.numel() * static_cast<int64_t>(g.element_size());
  }
  return {params, grads};
}

}  // namespace t5
}  // namespace ext5
