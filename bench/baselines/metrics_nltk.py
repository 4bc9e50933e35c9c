# Baseline for bench/metrics.ts: Debian's python3-nltk corpus_bleu on the same text (whitespace tokens,
# no smoothing: the settings where it equals sacreBLEU's tokenize="none", smooth_method="none"), and a
# pure-Python ROUGE-L with rouge_score's algorithm (its tokenizer regexes and the full DP table of
# rouge_scorer._lcs_table), since rouge_score itself is not packaged in Debian.
# Run with /usr/bin/python3: metrics_nltk.py HYP_FILE REF_FILE [REPS]. Prints one JSON object; times are
# the fastest of REPS runs (default 1).
import json
import re
import resource
import sys
import time

from nltk.translate.bleu_score import corpus_bleu

hyp_file, ref_file = sys.argv[1], sys.argv[2]
reps = int(sys.argv[3]) if len(sys.argv) > 3 else 1
with open(hyp_file, encoding="utf-8", newline="\n") as f:
    hyps = [line.rstrip("\n") for line in f]
with open(ref_file, encoding="utf-8", newline="\n") as f:
    refs = [line.rstrip("\n") for line in f]

out = {"pairs": len(hyps)}

best = float("inf")
for _ in range(reps):
    t0 = time.perf_counter()
    bleu = corpus_bleu([[r.split()] for r in refs], [h.split() for h in hyps])
    best = min(best, time.perf_counter() - t0)
out["bleu_seconds"] = best
out["bleu"] = 100 * bleu

NON_ALNUM = re.compile(r"[^a-z0-9]+")
VALID = re.compile(r"^[a-z0-9]+$")


def tokenize(text):
    return [t for t in re.split(r"\s+", NON_ALNUM.sub(" ", text.lower())) if VALID.match(t)]


def lcs_len(a, b):
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            if a[i - 1] == b[j - 1]:
                table[i][j] = table[i - 1][j - 1] + 1
            else:
                table[i][j] = max(table[i - 1][j], table[i][j - 1])
    return table[-1][-1]


best = float("inf")
for _ in range(reps):
    t0 = time.perf_counter()
    total_f = 0.0
    for h, r in zip(hyps, refs):
        ht, rt = tokenize(h), tokenize(r)
        if not ht or not rt:
            continue
        lcs = lcs_len(rt, ht)
        p, rc = lcs / len(ht), lcs / len(rt)
        total_f += 2 * p * rc / (p + rc) if p + rc > 0 else 0.0
    best = min(best, time.perf_counter() - t0)
out["rouge_l_seconds"] = best
out["rouge_l"] = 100 * total_f / len(hyps)
out["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
