# Baseline for bench/tokenize.ts: Debian's python3-sentencepiece (0.1.97) encoding the same texts
# with the same model, one call per text (EncodeAsIds) and one batched call per thread count
# (Encode(list, num_threads=N)). Run with /usr/bin/python3:
#   spm_tokenize.py MODEL TEXTS_FILE REPS THREADS_CSV   (TEXTS_FILE: one text per line)
# Prints one JSON object: best seconds (wall, and CPU for the one-call-per-text loop) of REPS runs
# and the token count.
import json
import sys
import time

import sentencepiece as spm

model, texts_file, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])
threads = [int(t) for t in sys.argv[4].split(",")]
with open(texts_file, encoding="utf-8", newline="\n") as f:
    texts = [line.rstrip("\n") for line in f]
sp = spm.SentencePieceProcessor(model_file=model)

tokens = sum(len(sp.EncodeAsIds(t)) for t in texts)  # warm-up and count
best = float("inf")
best_cpu = float("inf")
for _ in range(reps):
    t0 = time.perf_counter()
    c0 = time.process_time()
    for t in texts:
        sp.EncodeAsIds(t)
    best_cpu = min(best_cpu, time.process_time() - c0)
    best = min(best, time.perf_counter() - t0)
out = {"texts": len(texts), "tokens": tokens, "single_seconds": best, "single_cpu_seconds": best_cpu, "batch_seconds": {}}
for n in threads:
    b = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        ids = sp.Encode(texts, out_type=int, num_threads=n)
        b = min(b, time.perf_counter() - t0)
    assert sum(len(x) for x in ids) == tokens
    out["batch_seconds"][str(n)] = b
print(json.dumps(out))
