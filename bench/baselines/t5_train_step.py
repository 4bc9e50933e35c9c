#!/usr/bin/python3
"""Baseline for bench/train_step.ts: one T5 training step (forward + cross-entropy + backward)
in Python torch on the same libtorch, using the independent reference model of
test/reference/t5_reference.py (plain torch.nn.functional ops, float32, CPU).

    /usr/bin/python3 bench/baselines/t5_train_step.py CONFIG_JSON BATCH INPUT_LEN TARGET_LEN THREADS [DTYPE]
DTYPE bfloat16 runs the forward under torch.autocast("cpu", bfloat16) (float32 master weights).
After two warm-up steps it prints "ready", then runs one step per line read from stdin and
prints its duration in seconds, so the caller can interleave its own steps with these (both
sides then see the same load on a shared machine). EOF ends it.
"""
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "test", "reference"))
import t5_reference as ref  # noqa: E402


def init_weights(c, seed):
    g = torch.Generator().manual_seed(seed)
    W = {}

    def add(name, shape, std=None):
        W[name] = (torch.randn(shape, generator=g) * std) if std else torch.ones(shape)

    d, inner = c.d, c.heads * c.dkv
    add("shared.weight", (c.vocab, d), 1.0)
    for prefix, layers, dec in (("encoder", c.enc_layers, False), ("decoder", c.dec_layers, True)):
        for i in range(layers):
            b = f"{prefix}.block.{i}.layer."
            atts = ["0.SelfAttention"] + (["1.EncDecAttention"] if dec else [])
            for a in atts:
                for m in "qkv":
                    add(b + a + f".{m}.weight", (inner, d), d ** -0.5)
                add(b + a + ".o.weight", (d, inner), inner ** -0.5)
            if i == 0:
                add(b + "0.SelfAttention.relative_attention_bias.weight", (c.buckets, c.heads), d ** -0.5)
            for j in range(len(atts) + 1):
                add(b + f"{j}.layer_norm.weight", (d,))
            f = b + f"{len(atts)}.DenseReluDense."
            for n in (["wi_0", "wi_1"] if c.gated else ["wi"]):
                add(f + n + ".weight", (c.dff, d), d ** -0.5)
            add(f + "wo.weight", (d, c.dff), c.dff ** -0.5)
        add(prefix + ".final_layer_norm.weight", (d,))
    if not c.tied:
        add("lm_head.weight", (c.vocab, d), 1.0)
    return W


def main():
    cfg_json, B, S, T, threads = sys.argv[1], *map(int, sys.argv[2:6])
    bf16 = len(sys.argv) > 6 and sys.argv[6] == "bfloat16"
    torch.set_num_threads(threads)
    c = ref.Cfg(json.loads(cfg_json))
    W = init_weights(c, 0)
    for t in W.values():
        t.requires_grad_(True)
    g = torch.Generator().manual_seed(1)
    batch = {
        "inputIds": torch.randint(2, c.vocab, (B, S), generator=g).tolist(),
        "labels": torch.randint(2, c.vocab, (B, T), generator=g).tolist(),
    }

    def step():
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            _, loss, _ = ref.forward(W, batch, c)
        loss.backward()
        for t in W.values():
            t.grad = None
        return time.perf_counter() - t0

    step()
    step()
    print("ready", flush=True)
    for _ in sys.stdin:
        print(step(), flush=True)


if __name__ == "__main__":
    main()
