// Decoding (greedy, sampling, beam search) with a KV cache, and teacher-forced scoring.
//
// The search semantics follow Hugging Face transformers `src/transformers/generation/utils.py`
// and `generation/beam_search.py` (BeamSearchScorer, BeamHypotheses) and the logits warpers of
// `generation/logits_process.py` (temperature, top-k, top-p), re-written here on ATen:
//  - sequences start with decoder_start_token_id; a row that emitted EOS is padded with pad;
//  - beam hypotheses are scored sum(log p) / length^length_penalty, length = generated tokens
//    including EOS; a batch item is done once num_beams hypotheses are kept and then, by
//    early_stopping (transformers 5's vectorised `_beam_search`, `_check_early_stop_heuristic`):
//    true: at once; false: when the best running beam's sum(log p) / cur_len^length_penalty
//    cannot beat the worst kept hypothesis ("running" = the best continuation that is not EOS;
//    cur_len = tokens generated so far); "never": the same with max_new_tokens in place of cur_len
//    when length_penalty > 0 (a longer hypothesis could still score higher), cur_len otherwise;
//  - sampling applies temperature, then top-k, then top-p (keeping at least one token), and
//    draws from a CPU generator seeded by the caller, so a seed reproduces the same tokens on
//    every device.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "t5_model.h"

namespace ext5 {
namespace t5 {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

at::Tensor EncoderMask(const at::Tensor& ids, const at::Tensor& mask) {
  if (mask.defined()) return mask.ne(0);
  return at::ones(ids.sizes(), ids.options().dtype(at::kBool));
}

// logits [N, V] float32 -> filtered logits (HF TopKLogitsWarper / TopPLogitsWarper).
at::Tensor Warp(at::Tensor scores, const GenerateOptions& o) {
  if (o.temperature != 1.0) scores = scores / o.temperature;
  const int64_t V = scores.size(-1);
  if (o.top_k > 0 && o.top_k < V) {
    at::Tensor kth = std::get<0>(at::topk(scores, o.top_k, -1)).narrow(-1, o.top_k - 1, 1);
    scores = scores.masked_fill(scores.lt(kth), kNegInf);
  }
  if (o.top_p < 1.0) {
    auto sorted = at::sort(scores, -1, /*descending=*/false);
    at::Tensor sorted_scores = std::get<0>(sorted), sorted_idx = std::get<1>(sorted);
    at::Tensor cum = at::softmax(sorted_scores, -1).cumsum(-1);
    at::Tensor remove = cum.le(1.0 - o.top_p);
    remove.narrow(-1, V - 1, 1).fill_(false);  // always keep the most likely token
    at::Tensor remove_orig = at::zeros_like(remove).scatter(-1, sorted_idx, remove);
    scores = scores.masked_fill(remove_orig, kNegInf);
  }
  return scores;
}

at::Tensor GreedyOrSample(const Model& m, const at::Tensor& enc_out, const at::Tensor& enc_mask,
                          const GenerateOptions& o) {
  const Config& c = m.config();
  const int64_t B = enc_out.size(0), L = o.max_new_tokens;
  const auto long_opts = at::TensorOptions().dtype(at::kLong).device(enc_out.device());
  at::Tensor out = at::full({B, L + 1}, c.pad_token_id, long_opts);
  out.select(1, 0).fill_(c.decoder_start_token_id);
  at::Tensor finished = at::zeros({B}, long_opts.dtype(at::kBool));
  at::Tensor cur = out.select(1, 0).clone();
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(o.seed);
  DecodeCache cache;
  if (o.use_cache) cache = m.start_cache(enc_out, enc_mask, L);
  at::Tensor dec_mask_all = at::ones({B, L + 1}, long_opts.dtype(at::kBool));
  int64_t produced = 0;
  for (int64_t step = 0; step < L; step++) {
    at::Tensor logits;
    if (o.use_cache) {
      logits = m.decode_step(cache, cur);
    } else {
      at::Tensor prefix = out.narrow(1, 0, step + 1);
      at::Tensor h = m.decode_full(prefix, dec_mask_all.narrow(1, 0, step + 1), at::Tensor(), at::Tensor(), enc_out,
                                   enc_mask, at::Tensor());
      logits = m.logits(h.narrow(1, step, 1)).view({B, -1});
    }
    at::Tensor next;
    if (o.do_sample) {
      at::Tensor probs = at::softmax(Warp(logits, o), -1).to(at::kCPU);
      next = at::multinomial(probs, 1, /*replacement=*/false, gen).view({B}).to(enc_out.device());
    } else {
      next = logits.argmax(-1);
    }
    next = at::where(finished, at::full({}, c.pad_token_id, long_opts), next);
    out.select(1, step + 1).copy_(next);
    finished = finished | next.eq(c.eos_token_id);
    cur = next;
    produced = step + 1;
    if (finished.all().item<bool>()) break;
  }
  return out.narrow(1, 0, produced + 1).contiguous();
}

struct Hyp {
  double score;
  std::vector<int64_t> tokens;  // generated tokens (EOS included when the hypothesis ended)
};

at::Tensor Beam(const Model& m, const at::Tensor& enc_out_b, const at::Tensor& enc_mask_b, const GenerateOptions& o) {
  const Config& c = m.config();
  const int64_t B = enc_out_b.size(0), K = o.num_beams, L = o.max_new_tokens, N = B * K;
  const auto dev = enc_out_b.device();
  const auto long_opts = at::TensorOptions().dtype(at::kLong).device(dev);
  at::Tensor enc_out = enc_out_b.repeat_interleave(K, 0);
  at::Tensor enc_mask = enc_mask_b.repeat_interleave(K, 0);
  DecodeCache cache = m.start_cache(enc_out, enc_mask, L);
  // Only beam 0 is live at the start so the first step does not pick K copies of one token.
  std::vector<double> beam_scores(N, -1e9);
  for (int64_t b = 0; b < B; b++) beam_scores[b * K] = 0.0;
  std::vector<std::vector<int64_t>> seqs(N);  // generated tokens per running beam
  std::vector<std::vector<Hyp>> hyps(B);
  std::vector<bool> done(B, false);
  at::Tensor cur = at::full({N}, c.decoder_start_token_id, long_opts);
  auto length_score = [&](double sum_logprobs, int64_t len) {
    return sum_logprobs / std::pow(static_cast<double>(len), o.length_penalty);
  };
  auto add_hyp = [&](int64_t b, double sum_logprobs, std::vector<int64_t> tokens) {
    auto& h = hyps[b];
    double s = length_score(sum_logprobs, static_cast<int64_t>(tokens.size()));
    if (static_cast<int64_t>(h.size()) < K) {
      h.push_back({s, std::move(tokens)});
    } else {
      auto worst = std::min_element(h.begin(), h.end(), [](const Hyp& a, const Hyp& z) { return a.score < z.score; });
      if (s > worst->score) *worst = {s, std::move(tokens)};
    }
  };
  auto worst_score = [&](int64_t b) {
    double w = std::numeric_limits<double>::infinity();
    for (auto& h : hyps[b]) w = std::min(w, h.score);
    return w;
  };
  int64_t steps = 0;
  for (int64_t step = 0; step < L; step++) {
    steps = step + 1;
    at::Tensor logp = at::log_softmax(m.decode_step(cache, cur), -1);  // [N, V]
    const int64_t V = logp.size(1);
    at::Tensor prev = at::tensor(beam_scores, at::TensorOptions().dtype(at::kDouble)).to(dev, at::kFloat);
    at::Tensor next = (logp + prev.unsqueeze(1)).view({B, K * V});
    auto top = at::topk(next, 2 * K, -1);
    at::Tensor top_scores = std::get<0>(top).to(at::kCPU, at::kDouble).contiguous();
    at::Tensor top_idx = std::get<1>(top).to(at::kCPU).contiguous();
    const double* ts = top_scores.data_ptr<double>();
    const int64_t* ti = top_idx.data_ptr<int64_t>();
    std::vector<int64_t> src(N), tok(N);
    std::vector<double> new_scores(N);
    for (int64_t b = 0; b < B; b++) {
      if (done[b]) {
        for (int64_t k = 0; k < K; k++) {
          src[b * K + k] = b * K;
          tok[b * K + k] = c.pad_token_id;
          new_scores[b * K + k] = 0.0;
        }
        continue;
      }
      int64_t filled = 0;
      for (int64_t r = 0; r < 2 * K && filled < K; r++) {
        const double s = ts[b * 2 * K + r];
        const int64_t flat = ti[b * 2 * K + r];
        const int64_t from = b * K + flat / V, token = flat % V;
        if (token == c.eos_token_id) {
          if (r >= K) continue;  // an EOS outside the top K does not make a hypothesis
          std::vector<int64_t> t = seqs[from];
          t.push_back(token);
          add_hyp(b, s, std::move(t));
        } else {
          src[b * K + filled] = from;
          tok[b * K + filled] = token;
          new_scores[b * K + filled] = s;
          filled++;
        }
      }
      if (static_cast<int64_t>(hyps[b].size()) >= K) {
        if (o.early_stopping == EarlyStopping::kTrue) {
          done[b] = true;
        } else {
          // filled == K here (at most K of the 2K candidates are EOS), so slot 0 is the best
          // running beam; the best candidate overall may be an EOS, which does not run on.
          const double best_running = new_scores[b * K];
          const bool never = o.early_stopping == EarlyStopping::kNever && o.length_penalty > 0;
          done[b] = worst_score(b) >= length_score(best_running, never ? L : step + 1);
        }
      }
    }
    std::vector<std::vector<int64_t>> new_seqs(N);
    for (int64_t n = 0; n < N; n++) {
      new_seqs[n] = seqs[src[n]];
      new_seqs[n].push_back(tok[n]);
    }
    seqs = std::move(new_seqs);
    beam_scores = new_scores;
    at::Tensor src_t = at::tensor(src, at::TensorOptions().dtype(at::kLong)).to(dev);
    cache.Reorder(src_t);
    cur = at::tensor(tok, at::TensorOptions().dtype(at::kLong)).to(dev);
    if (std::all_of(done.begin(), done.end(), [](bool d) { return d; })) break;
  }
  // Beams still running at the length limit become hypotheses too (HF BeamSearchScorer.finalize).
  for (int64_t b = 0; b < B; b++) {
    if (done[b]) continue;
    for (int64_t k = 0; k < K; k++) add_hyp(b, beam_scores[b * K + k], seqs[b * K + k]);
  }
  std::vector<std::vector<int64_t>> best(B);
  int64_t width = 0;
  for (int64_t b = 0; b < B; b++) {
    auto it = std::max_element(hyps[b].begin(), hyps[b].end(),
                               [](const Hyp& a, const Hyp& z) { return a.score < z.score; });
    best[b] = it->tokens;
    width = std::max<int64_t>(width, static_cast<int64_t>(best[b].size()));
  }
  (void)steps;
  at::Tensor out = at::full({B, width + 1}, c.pad_token_id, at::TensorOptions().dtype(at::kLong));
  auto acc = out.accessor<int64_t, 2>();
  for (int64_t b = 0; b < B; b++) {
    acc[b][0] = c.decoder_start_token_id;
    for (size_t i = 0; i < best[b].size(); i++) acc[b][i + 1] = best[b][i];
  }
  return out.to(dev);
}

}  // namespace

at::Tensor Generate(const Model& m, const at::Tensor& input_ids, const at::Tensor& attention_mask,
                    const GenerateOptions& o) {
  at::NoGradGuard no_grad;
  Model::CastCacheScope casts(m);
  at::Tensor enc_mask = EncoderMask(input_ids, attention_mask);
  at::Tensor enc_out = m.encode(input_ids, enc_mask, at::Tensor(), at::Tensor());
  if (o.num_beams > 1) return Beam(m, enc_out, enc_mask, o);
  return GreedyOrSample(m, enc_out, enc_mask, o);
}

ScoreResult Score(const Model& m, const at::Tensor& input_ids, const at::Tensor& attention_mask,
                  const at::Tensor& targets, const at::Tensor& target_mask) {
  at::NoGradGuard no_grad;
  const Config& c = m.config();
  at::Tensor enc_mask = EncoderMask(input_ids, attention_mask);
  at::Tensor enc_out = m.encode(input_ids, enc_mask, at::Tensor(), at::Tensor());
  at::Tensor keep = target_mask.defined() ? target_mask.ne(0) : at::ones(targets.sizes(), targets.options().dtype(at::kBool));
  at::Tensor dec_ids = ShiftRight(targets, at::Tensor(), c.decoder_start_token_id, c.pad_token_id);
  // Causal attention means masked (padding) targets never influence the kept positions before them.
  at::Tensor dec_mask = at::ones(targets.sizes(), targets.options().dtype(at::kBool));
  at::Tensor h = m.decode_full(dec_ids, dec_mask, at::Tensor(), at::Tensor(), enc_out, enc_mask, at::Tensor());
  at::Tensor logp = at::log_softmax(m.logits(h), -1);
  at::Tensor tok = at::where(keep, logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1), at::zeros({}, logp.options()));
  return {tok.sum(1), tok};
}

}  // namespace t5
}  // namespace ext5
