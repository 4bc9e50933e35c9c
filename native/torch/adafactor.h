// Adafactor (Shazeer & Stern 2018, "Adafactor: Adaptive Learning Rates with Sublinear Memory
// Cost", arXiv:1804.04235) over libtorch tensors: the algorithm core, without any Node-API.
//
// The update rule follows the logic of (ported, not copied):
//  - huggingface/transformers  src/transformers/optimization.py  `Adafactor` (relative step,
//    parameter scaling, RMS update clipping, lr-scaled decoupled weight decay, state layout);
//  - google-deepmind/optax  optax/_src/factorized.py  `scale_by_factored_rms` and
//    optax/_src/alias.py `adafactor` (factoring over the two largest dims only when the second
//    largest is >= min_dim_size_to_factor; decay 1 - t^-0.8 with t counted from 1);
//  - google-research/t5x  t5x/adafactor.py (the same defaults as T5 pre-training used).
// See docs/optimizer.md for the equations and where the three sources differ.
#pragma once

#include <ATen/ATen.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ext5 {

struct AdafactorOptions {
  // Explicit learning rate; only when relative_step is false. A per-step value passed to
  // Step() overrides it (the TS schedules do that).
  std::optional<double> lr;
  bool relative_step = true;   // rho_t = min(1e-2, 1/sqrt(t)) (warmup_init: min(1e-6 t, 1/sqrt(t)))
  bool warmup_init = false;
  bool scale_parameter = true;  // lr_t = rho_t * max(eps2, RMS(param))
  double eps1 = 1e-30;          // added to g^2
  double eps2 = 1e-3;           // floor of the parameter scale
  double clip_threshold = 1.0;  // d: update /= max(1, RMS(update) / d); <= 0 disables
  double decay_rate = 0.8;      // beta2_t = 1 - t^-decay_rate
  std::optional<double> beta1;  // momentum (none by default, as in T5)
  at::ScalarType momentum_dtype = at::kFloat;
  double weight_decay = 0.0;    // p -= weight_decay * lr_t * p (decoupled, as HF)
  bool factored = true;
  int64_t min_dim_size_to_factor = 128;
};

// One parameter's running statistics. For a factored parameter, d0 is its largest dim and d1
// the second largest; v_row averages g^2 over d0 (shape without d0), v_col over d1.
struct AdafactorParamState {
  int64_t step = 0;
  int64_t d0 = -1;
  int64_t d1 = -1;
  at::Tensor v_row, v_col, v, m;
  bool factored() const { return d0 >= 0; }
};

class AdafactorCore {
 public:
  // Validates everything (throws ArgError): params non-empty, floating point, distinct, names
  // unique and non-empty, options in range.
  AdafactorCore(std::vector<at::Tensor> params, std::vector<std::string> names, AdafactorOptions options);

  // One update of every parameter that has a gradient; parameters without one are skipped
  // (their statistics and step count stay as they were). Returns how many were updated.
  int64_t Step(std::optional<double> lr_override);
  // Drops (set_to_none) or zeroes every parameter's gradient.
  void ZeroGrad(bool set_to_none);

  // Flat key -> tensor map: "state.<name>.step" (int64 scalar) for every parameter, plus
  // "state.<name>.v_row"/".v_col" (factored) or ".v", and ".m" with momentum, once stepped.
  // The tensors are copies: the caller may dispose them.
  std::vector<std::pair<std::string, at::Tensor>> StateDict() const;
  // Bytes the state holds now (second moments, factored or not, and momentum), without copying it.
  int64_t StateBytes() const;
  // Replaces the state from such a map; every key is checked before anything changes.
  void LoadStateDict(const std::vector<std::pair<std::string, at::Tensor>>& entries, int64_t step_count);

  // The state a parameter of this shape gets: its factored dims, or (-1, -1).
  static std::pair<int64_t, int64_t> FactoredDims(at::IntArrayRef shape, const AdafactorOptions& o);

  const AdafactorOptions& options() const { return options_; }
  const std::vector<std::string>& names() const { return names_; }
  const std::vector<at::Tensor>& params() const { return params_; }
  int64_t step_count() const { return step_count_.load(); }
  std::atomic<bool> busy{false};

 private:
  void InitState(size_t i, const at::Tensor& grad);
  at::ScalarType StateDtype(const at::Tensor& p) const;

  std::vector<at::Tensor> params_;
  std::vector<std::string> names_;
  std::vector<AdafactorParamState> state_;
  AdafactorOptions options_;
  std::atomic<int64_t> step_count_{0};
};

}  // namespace ext5
