# Baseline for bench/tensor.ts: the same measurements in Python torch (Debian python3-torch, the
# same libtorch shared library as the addon). Run with /usr/bin/python3. Prints one JSON object.
import json
import statistics
import sys
import time

import torch

threads = int(sys.argv[1])
sizes = [int(s) for s in sys.argv[2].split(",")]
reps = int(sys.argv[3])
small_iters = int(sys.argv[4])
torch.set_num_threads(threads)
torch.manual_seed(0)

out = {"threads": torch.get_num_threads(), "matmul": {}, "torch": torch.__version__}
for n in sizes:
    a = torch.randn(n, n)
    b = torch.randn(n, n)
    for _ in range(2):
        torch.matmul(a, b)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        torch.matmul(a, b)
        times.append(time.perf_counter() - t0)
    out["matmul"][str(n)] = 2 * n**3 / statistics.median(times) / 1e9

x = torch.randn(16)
y = torch.randn(16)
for _ in range(1000):
    x + y
best = float("inf")
for _ in range(5):
    t0 = time.perf_counter()
    for _ in range(small_iters):
        x + y
    best = min(best, (time.perf_counter() - t0) / small_iters)
out["smallAddNs"] = best * 1e9
print(json.dumps(out))
