#!/usr/bin/python3
"""Independent reference of the T5 / T5.1.1 forward pass, loss, gradients and greedy decoding.

Written from the public descriptions (T5 paper §2.1; T5.1.1 in the t5 repository's released_checkpoints.md;
seqio's packed features), not from Hugging Face code: RMS norm in float32 without mean subtraction, pre-norm residual, attention without biases
or 1/sqrt(d_kv) scaling, a relative position bias made in the first layer of each stack and shared
by its layers, ReLU FFN + tied embeddings scaled by d_model^-0.5 (v1.0) or gated-GELU (tanh) FFN
+ untied lm_head (v1.1), packed rows through segment ids and positions.

Run with Debian's interpreter (it has python3-torch on the same libtorch as the addon):

    /usr/bin/python3 test/reference/t5_reference.py forward DIR
        DIR/config.json   Hugging Face T5 config
        DIR/weights.json  [{"name", "shape", "file"}] with raw little-endian float32 files in DIR
        DIR/batch.json    {"inputIds": [[...]], "labels": [[...]], ...} (ext5 batch keys)
      writes DIR/out.json ({"loss", "weightSum"}), DIR/logits.bin and, with "grads": true in
      batch.json, DIR/grad.<index>.bin in weights.json order.

    /usr/bin/python3 test/reference/t5_reference.py greedy DIR
        DIR/batch.json    {"inputIds", "attentionMask"?, "maxNewTokens"}
      writes DIR/out.json ({"sequences": [[...]]}) using an incremental (KV-cached) decoder.
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

NEG = torch.finfo(torch.float32).min


class Cfg:
    def __init__(self, d):
        self.vocab = d["vocab_size"]
        self.d = d["d_model"]
        self.dkv = d["d_kv"]
        self.dff = d["d_ff"]
        self.enc_layers = d["num_layers"]
        self.dec_layers = d.get("num_decoder_layers") or d["num_layers"]
        self.heads = d["num_heads"]
        self.buckets = d.get("relative_attention_num_buckets", 32)
        self.max_dist = d.get("relative_attention_max_distance", 128)
        self.eps = d.get("layer_norm_epsilon", 1e-6)
        self.gated = d.get("feed_forward_proj", "relu") == "gated-gelu"
        self.tied = d.get("tie_word_embeddings", True)
        # Hugging Face's own key since transformers 5; 4.x configs leave it out and rescale when tied.
        self.scaled = d.get("scale_decoder_outputs", self.tied)
        self.start = d.get("decoder_start_token_id", 0)
        self.pad = d.get("pad_token_id", 0)
        self.eos = d.get("eos_token_id", 1)


def load_weights(folder):
    index = json.load(open(os.path.join(folder, "weights.json")))
    weights = {}
    for entry in index:
        raw = open(os.path.join(folder, entry["file"]), "rb").read()
        t = torch.frombuffer(bytearray(raw), dtype=torch.float32).reshape(entry["shape"]).clone()
        weights[entry["name"]] = t
    return index, weights


def bucket_of(offset, bidirectional, num_buckets, max_distance):
    """Bucket of integer offsets (key - query): exact for small offsets, log-spaced after."""
    n = num_buckets
    base = torch.zeros_like(offset)
    if bidirectional:
        n = n // 2
        base = torch.where(offset > 0, torch.full_like(offset, n), base)
        dist = offset.abs()
    else:
        dist = torch.where(offset < 0, -offset, torch.zeros_like(offset))
    exact = n // 2
    # log-spaced buckets for distances in [exact, max_distance), computed in float32
    far = dist.clamp(min=exact).to(torch.float32)
    scaled = torch.log(far / exact) / math.log(max_distance / exact) * (n - exact)
    far_bucket = torch.clamp(exact + scaled.to(torch.int64), max=n - 1)
    return base + torch.where(dist < exact, dist, far_bucket)


def rel_bias(table, q_pos, k_pos, bidirectional, cfg):
    # q_pos [B, Lq], k_pos [B, Lk] -> [B, H, Lq, Lk]
    offset = k_pos[:, None, :] - q_pos[:, :, None]
    b = bucket_of(offset, bidirectional, cfg.buckets, cfg.max_dist)
    return table[b].permute(0, 3, 1, 2)


def rms(x, w, eps):
    x32 = x.to(torch.float32)
    return w * (x32 * torch.rsqrt((x32 * x32).mean(-1, keepdim=True) + eps))


def attention(x, kv, W, prefix, bias, cfg):
    B, Lq, _ = x.shape
    Lk = kv.shape[1]
    H, dk = cfg.heads, cfg.dkv
    q = F.linear(x, W[prefix + ".q.weight"]).view(B, Lq, H, dk).transpose(1, 2)
    k = F.linear(kv, W[prefix + ".k.weight"]).view(B, Lk, H, dk).transpose(1, 2)
    v = F.linear(kv, W[prefix + ".v.weight"]).view(B, Lk, H, dk).transpose(1, 2)
    probs = torch.softmax(q @ k.transpose(-1, -2) + bias, dim=-1)
    ctx = (probs @ v).transpose(1, 2).reshape(B, Lq, H * dk)
    return F.linear(ctx, W[prefix + ".o.weight"])


def feed_forward(x, W, prefix, cfg):
    if cfg.gated:
        h = F.gelu(F.linear(x, W[prefix + ".wi_0.weight"]), approximate="tanh") * F.linear(x, W[prefix + ".wi_1.weight"])
    else:
        h = torch.relu(F.linear(x, W[prefix + ".wi.weight"]))
    return F.linear(h, W[prefix + ".wo.weight"])


def allowed_to_bias(allowed):
    return torch.where(allowed, torch.tensor(0.0), torch.tensor(NEG))


def encoder(W, ids, key_ok, segs, pos, cfg):
    B, S = ids.shape
    allowed = key_ok[:, None, None, :]
    if segs is not None:
        allowed = allowed & (segs[:, :, None] == segs[:, None, :])[:, None]
    if pos is None:
        pos = torch.arange(S)[None]
    bias = rel_bias(W["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"], pos, pos, True, cfg)
    bias = bias + allowed_to_bias(allowed)
    h = W["shared.weight"][ids]
    for i in range(cfg.enc_layers):
        p = f"encoder.block.{i}.layer."
        n = rms(h, W[p + "0.layer_norm.weight"], cfg.eps)
        h = h + attention(n, n, W, p + "0.SelfAttention", bias, cfg)
        h = h + feed_forward(rms(h, W[p + "1.layer_norm.weight"], cfg.eps), W, p + "1.DenseReluDense", cfg)
    return rms(h, W["encoder.final_layer_norm.weight"], cfg.eps)


def decoder(W, dec_ids, dec_ok, dec_segs, dec_pos, enc, enc_ok, enc_segs, cfg):
    B, T = dec_ids.shape
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    allowed = causal[None, None] & dec_ok[:, None, None, :]
    cross = enc_ok[:, None, None, :]
    if dec_segs is not None:
        allowed = allowed & (dec_segs[:, :, None] == dec_segs[:, None, :])[:, None]
        cross = cross & (dec_segs[:, :, None] == enc_segs[:, None, :])[:, None]
    if dec_pos is None:
        dec_pos = torch.arange(T)[None]
    bias = rel_bias(W["decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"], dec_pos, dec_pos, False, cfg)
    bias = bias + allowed_to_bias(allowed)
    cross_bias = allowed_to_bias(cross)
    h = W["shared.weight"][dec_ids]
    for i in range(cfg.dec_layers):
        p = f"decoder.block.{i}.layer."
        n = rms(h, W[p + "0.layer_norm.weight"], cfg.eps)
        h = h + attention(n, n, W, p + "0.SelfAttention", bias, cfg)
        n = rms(h, W[p + "1.layer_norm.weight"], cfg.eps)
        h = h + attention(n, enc, W, p + "1.EncDecAttention", cross_bias, cfg)
        h = h + feed_forward(rms(h, W[p + "2.layer_norm.weight"], cfg.eps), W, p + "2.DenseReluDense", cfg)
    return rms(h, W["decoder.final_layer_norm.weight"], cfg.eps)


def to_logits(W, h, cfg):
    if cfg.scaled:
        h = h * cfg.d ** -0.5
    return F.linear(h, W["shared.weight" if cfg.tied else "lm_head.weight"])


def teacher_inputs(labels, segs, cfg):
    """Targets shifted right; the start token opens every packed segment; -100 becomes pad."""
    B, T = labels.shape
    out = torch.full_like(labels, cfg.start)
    for b in range(B):
        for t in range(1, T):
            if segs is not None and segs[b, t] != segs[b, t - 1]:
                continue
            prev = int(labels[b, t - 1])
            out[b, t] = cfg.pad if prev == -100 else prev
    return out


def tensor_or_none(batch, key, dtype=torch.int64):
    v = batch.get(key)
    return None if v is None else torch.tensor(v, dtype=dtype)


def forward(W, batch, cfg):
    ids = tensor_or_none(batch, "inputIds")
    mask = tensor_or_none(batch, "attentionMask")
    enc_segs = tensor_or_none(batch, "encoderSegmentIds")
    dec_segs = tensor_or_none(batch, "decoderSegmentIds")
    if mask is not None:
        enc_ok = mask != 0
    elif enc_segs is not None:
        enc_ok = enc_segs != 0
    else:
        enc_ok = torch.ones_like(ids, dtype=torch.bool)
    enc = encoder(W, ids, enc_ok, enc_segs, tensor_or_none(batch, "encoderPositions"), cfg)
    labels = tensor_or_none(batch, "labels")
    dec_ids = tensor_or_none(batch, "decoderInputIds")
    if dec_ids is None:
        dec_ids = teacher_inputs(labels, dec_segs, cfg)
    dmask = tensor_or_none(batch, "decoderAttentionMask")
    dec_ok = dmask != 0 if dmask is not None else torch.ones_like(dec_ids, dtype=torch.bool)
    h = decoder(W, dec_ids, dec_ok, dec_segs, tensor_or_none(batch, "decoderPositions"), enc, enc_ok, enc_segs, cfg)
    logits = to_logits(W, h, cfg)
    loss, wsum = None, 0.0
    if labels is not None:
        logp = torch.log_softmax(logits, -1)
        keep = labels != -100
        tgt = torch.where(keep, labels, torch.zeros_like(labels))
        nll = -logp.gather(-1, tgt[..., None])[..., 0]
        eps = batch.get("labelSmoothing", 0.0)
        per_tok = (1 - eps) * nll + eps * (-logp.mean(-1)) if eps else nll
        z = batch.get("zLoss", 0.0)
        if z:
            per_tok = per_tok + z * torch.logsumexp(logits, -1) ** 2
        w = keep.to(torch.float32)
        lw = tensor_or_none(batch, "lossWeights", torch.float32)
        if lw is not None:
            w = w * lw
        wsum = float(w.sum())
        loss = (per_tok * w).sum() / (w.sum() if wsum > 0 else 1.0)
    return logits, loss, wsum


def greedy_cached(W, ids, mask, max_new, cfg):
    """Greedy decoding with an incremental decoder: per layer K/V caches grow by one step."""
    B = ids.shape[0]
    enc_ok = mask != 0 if mask is not None else torch.ones_like(ids, dtype=torch.bool)
    enc = encoder(W, ids, enc_ok, None, None, cfg)
    H, dk = cfg.heads, cfg.dkv
    cross_kv = []
    for i in range(cfg.dec_layers):
        p = f"decoder.block.{i}.layer.1.EncDecAttention"
        k = F.linear(enc, W[p + ".k.weight"]).view(B, -1, H, dk).transpose(1, 2)
        v = F.linear(enc, W[p + ".v.weight"]).view(B, -1, H, dk).transpose(1, 2)
        cross_kv.append((k, v))
    cross_bias = allowed_to_bias(enc_ok[:, None, None, :])
    pos = torch.arange(max_new)[None]
    table = rel_bias(W["decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"], pos, pos, False, cfg)
    self_k = [None] * cfg.dec_layers
    self_v = [None] * cfg.dec_layers
    cur = torch.full((B,), cfg.start, dtype=torch.int64)
    out = [cur]
    done = torch.zeros(B, dtype=torch.bool)
    for t in range(max_new):
        h = W["shared.weight"][cur][:, None, :]
        for i in range(cfg.dec_layers):
            p = f"decoder.block.{i}.layer."
            n = rms(h, W[p + "0.layer_norm.weight"], cfg.eps)
            a = p + "0.SelfAttention"
            q = F.linear(n, W[a + ".q.weight"]).view(B, 1, H, dk).transpose(1, 2)
            k = F.linear(n, W[a + ".k.weight"]).view(B, 1, H, dk).transpose(1, 2)
            v = F.linear(n, W[a + ".v.weight"]).view(B, 1, H, dk).transpose(1, 2)
            self_k[i] = k if self_k[i] is None else torch.cat([self_k[i], k], 2)
            self_v[i] = v if self_v[i] is None else torch.cat([self_v[i], v], 2)
            probs = torch.softmax(q @ self_k[i].transpose(-1, -2) + table[:, :, t : t + 1, : t + 1], -1)
            h = h + F.linear((probs @ self_v[i]).transpose(1, 2).reshape(B, 1, H * dk), W[a + ".o.weight"])
            n = rms(h, W[p + "1.layer_norm.weight"], cfg.eps)
            c = p + "1.EncDecAttention"
            q = F.linear(n, W[c + ".q.weight"]).view(B, 1, H, dk).transpose(1, 2)
            ck, cv = cross_kv[i]
            probs = torch.softmax(q @ ck.transpose(-1, -2) + cross_bias, -1)
            h = h + F.linear((probs @ cv).transpose(1, 2).reshape(B, 1, H * dk), W[c + ".o.weight"])
            h = h + feed_forward(rms(h, W[p + "2.layer_norm.weight"], cfg.eps), W, p + "2.DenseReluDense", cfg)
        logits = to_logits(W, rms(h, W["decoder.final_layer_norm.weight"], cfg.eps), cfg)[:, 0]
        nxt = logits.argmax(-1)
        nxt = torch.where(done, torch.full_like(nxt, cfg.pad), nxt)
        out.append(nxt)
        done = done | (nxt == cfg.eos)
        cur = nxt
        if bool(done.all()):
            break
    return torch.stack(out, 1)


def main():
    mode, folder = sys.argv[1], sys.argv[2]
    cfg = Cfg(json.load(open(os.path.join(folder, "config.json"))))
    index, W = load_weights(folder)
    batch = json.load(open(os.path.join(folder, "batch.json")))
    if mode == "forward":
        want_grads = batch.get("grads", False)
        for t in W.values():
            t.requires_grad_(want_grads)
        logits, loss, wsum = forward(W, batch, cfg)
        logits.detach().contiguous().numpy().tofile(os.path.join(folder, "logits.bin"))
        result = {"loss": None if loss is None else float(loss), "weightSum": wsum}
        if want_grads:
            loss.backward()
            for i, entry in enumerate(index):
                g = W[entry["name"]].grad
                g = torch.zeros_like(W[entry["name"]]) if g is None else g
                g.contiguous().numpy().tofile(os.path.join(folder, f"grad.{i}.bin"))
        json.dump(result, open(os.path.join(folder, "out.json"), "w"))
    elif mode == "greedy":
        with torch.no_grad():
            ids = torch.tensor(batch["inputIds"], dtype=torch.int64)
            mask = tensor_or_none(batch, "attentionMask")
            seqs = greedy_cached(W, ids, mask, batch["maxNewTokens"], cfg)
        json.dump({"sequences": seqs.tolist()}, open(os.path.join(folder, "out.json"), "w"))
    else:
        raise SystemExit(f"unknown mode {mode!r} (expected forward or greedy)")


if __name__ == "__main__":
    main()
