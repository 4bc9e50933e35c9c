"""Baseline for bench/dist.ts: the same measurements with Python torch.distributed (Gloo) on the
same libtorch (Debian python3-torch 1.13). Run by bench/dist.ts as 2 processes with RANK,
WORLD_SIZE, MASTER_ADDR, MASTER_PORT set; rank 0 prints one JSON object.

- all-reduce (sum) of one float32 tensor of 1, 10 and 100 MB;
- a step's gradient all-reduce for T5.1.1-small's parameter shapes the way DDP's reducer does it
  without hooks: pack into 25 MB flat buckets, all-reduce, divide by the world size, copy back
  (torch._utils._flatten_dense_tensors / _unflatten_dense_tensors).
"""
import json
import os
import sys
import time

import torch
import torch.distributed as dist
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors


def t5_small_shapes():
    d, layers, dff, inner = 512, 8, 1024, 6 * 64
    attn = [[inner, d]] * 3 + [[d, inner]]
    ffn = [[dff, d], [dff, d], [d, dff]]
    shapes = [[32128, d]]
    for i in range(layers):
        shapes += attn + [[d]] + ffn + [[d]] + ([[32, 6]] if i == 0 else [])
    shapes.append([d])
    for i in range(layers):
        shapes += attn + [[d]] + attn + [[d]] + ffn + [[d]] + ([[32, 6]] if i == 0 else [])
    shapes += [[d], [32128, d]]
    return shapes


def timed(fn, reps):
    fn()
    fn()
    out = []
    for _ in range(reps):
        dist.barrier()
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    out.sort()
    return out[len(out) // 2]


def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    bucket = 25 * 1024 * 1024
    torch.set_num_threads(int(os.environ.get("EXT5_NUM_THREADS", "1")))
    dist.init_process_group("gloo")
    n = dist.get_world_size()
    res = {"allreduce": [], "step": None}
    for mb in (1, 10, 100):
        t = torch.ones(mb * 1024 * 1024 // 4)
        ms = timed(lambda: dist.all_reduce(t), reps)
        res["allreduce"].append({"mb": mb, "ms": ms})

    grads = [torch.randn(s) for s in t5_small_shapes()]

    def step():
        buckets, cur, size = [], [], 0
        for g in grads:
            b = g.numel() * 4
            if cur and size + b > bucket:
                buckets.append(cur)
                cur, size = [], 0
            cur.append(g)
            size += b
        if cur:
            buckets.append(cur)
        for members in buckets:
            flat = _flatten_dense_tensors(members)
            dist.all_reduce(flat)
            flat.div_(n)
            for g, r in zip(members, _unflatten_dense_tensors(flat, members)):
                g.copy_(r)

    res["step"] = {"params": sum(g.numel() for g in grads), "ms": timed(step, max(3, reps // 2))}
    if dist.get_rank() == 0:
        print(json.dumps(res))
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
