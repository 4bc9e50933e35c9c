#!/usr/bin/python3
"""Baseline for bench/generate.ts: greedy decoding with a KV cache in Python torch on the same
libtorch, with the independent reference decoder of test/reference/t5_reference.py
(`greedy_cached`: per-layer self-attention K/V grown each step, cross-attention K/V computed once).

    /usr/bin/python3 bench/baselines/t5_generate.py CONFIG_JSON BATCH INPUT_LEN NEW_TOKENS THREADS [DTYPE]
DTYPE bfloat16 runs under torch.autocast("cpu", bfloat16).
After one warm-up run it prints "ready", then runs one generation per line read from stdin and
prints "<seconds> <tokens generated>" (interleaved with the caller's own runs). EOF ends it.
"""
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "test", "reference"))
import t5_reference as ref  # noqa: E402
from t5_train_step import init_weights  # noqa: E402


def main():
    cfg_json, B, S, N, threads = sys.argv[1], *map(int, sys.argv[2:6])
    bf16 = len(sys.argv) > 6 and sys.argv[6] == "bfloat16"
    torch.set_num_threads(threads)
    c = ref.Cfg(json.loads(cfg_json))
    c.eos = -1  # never stop early: both sides generate exactly N tokens
    W = init_weights(c, 0)
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(2, c.vocab, (B, S), generator=g)

    def run():
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            t0 = time.perf_counter()
            out = ref.greedy_cached(W, ids, None, N, c)
            return time.perf_counter() - t0, B * (out.shape[1] - 1)

    run()
    print("ready", flush=True)
    for _ in sys.stdin:
        print("%r %d" % run(), flush=True)


if __name__ == "__main__":
    main()
