# Baseline for bench/adafactor.ts: one Adafactor step over the same parameter shapes in Python
# torch (Debian python3-torch: the same libtorch shared library as the addon), written the way
# Hugging Face's transformers Adafactor runs it: a Python loop over parameters with in-place
# torch ops, here with the same options as ext5's defaults (relative step, parameter scaling,
# RMS clipping d = 1, decay 1 - t^-0.8, factored over the two largest dims when both >= 128).
# argv: <threads> <shapes JSON file> <reps>. Prints one JSON object.
import json
import math
import statistics
import sys
import time

import torch

threads, shapes_file, reps = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
torch.set_num_threads(threads)
torch.manual_seed(0)
shapes = json.load(open(shapes_file))
params = [torch.randn(s) * 0.05 for s in shapes]
grads = [torch.randn(s) * 1e-3 for s in shapes]
state = [{} for _ in params]


def factored_dims(shape):
    if len(shape) < 2:
        return None
    order = sorted(range(len(shape)), key=lambda i: (shape[i], i))
    d0, d1 = order[-1], order[-2]
    return (d0, d1) if shape[d1] >= 128 else None


@torch.no_grad()
def step():
    for p, g, st in zip(params, grads, state):
        if not st:
            st["t"] = 0
            st["dims"] = factored_dims(list(p.shape))
            if st["dims"]:
                d0, d1 = st["dims"]
                st["row"] = torch.zeros([n for i, n in enumerate(p.shape) if i != d0])
                st["col"] = torch.zeros([n for i, n in enumerate(p.shape) if i != d1])
            else:
                st["v"] = torch.zeros_like(p)
        st["t"] += 1
        t = st["t"]
        beta2 = 1.0 - t ** -0.8
        g2 = g * g + 1e-30
        if st["dims"]:
            d0, d1 = st["dims"]
            st["row"].mul_(beta2).add_(g2.mean(d0), alpha=1 - beta2)
            st["col"].mul_(beta2).add_(g2.mean(d1), alpha=1 - beta2)
            rd1 = d1 - 1 if d1 > d0 else d1
            r = (st["row"] / st["row"].mean(rd1, keepdim=True)).rsqrt_().unsqueeze(d0)
            c = st["col"].rsqrt().unsqueeze(d1)
            u = g * r * c
        else:
            st["v"].mul_(beta2).add_(g2, alpha=1 - beta2)
            u = st["v"].rsqrt() * g
        u.div_((u.norm() / math.sqrt(u.numel())).clamp_(min=1.0))
        lr = min(1e-2, 1 / math.sqrt(t)) * max(1e-3, (p.norm() / math.sqrt(p.numel())).item())
        p.add_(u, alpha=-lr)


for _ in range(2):
    step()
times = []
for _ in range(reps):
    t0 = time.perf_counter()
    step()
    times.append(time.perf_counter() - t0)
print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "stepMs": statistics.median(times) * 1e3,
                  "allMs": [x * 1e3 for x in times]}))
