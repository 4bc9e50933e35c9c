"""Merges the JSON files that bench/gpu/run.sh leaves in OUT into one summary (printed).

Usage: python3 bench/gpu/summary.py OUT
MFU = achieved training FLOP/s / the matmul rate that hf_side.py measured on the same device, in
the run's compute dtype (bfloat16 on CUDA; float32 on a CPU without bf16 matmul units).
The FLOPs of a step are ext5's per-stack count (lib/model/flops.ts t5Flops: encoder weights on
encoder tokens, decoder weights and the LM head on decoder tokens, cross-attention K/V on encoder
tokens, attention products; 3 × forward), the same number on both sides. mfu6N is the same time
under the 6 · parameters · (input + target tokens) rule, about twice as high for T5, shown only to
compare with figures that use it. A step whose rc is "n/a" does not apply to the device (NCCL on a
CPU).
"""

import json
import os
import sys


def _read(out, name):
    path = os.path.join(out, name)
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except ValueError as e:
        return {"error": f"{name}: {e}"}


def _jest(out):
    for name in sorted(os.listdir(out)):
        if name.startswith("jest-") and name.endswith(".json"):
            r = _read(out, name) or {}
            failed = [
                t.get("fullName")
                for f in r.get("testResults", [])
                for t in f.get("assertionResults", [])
                if t.get("status") == "failed"
            ]
            return {
                "file": name,
                "passed": r.get("numPassedTests"),
                "failed": r.get("numFailedTests"),
                "skipped": (r.get("numPendingTests") or 0) + (r.get("numTodoTests") or 0),
                "failedTests": failed[:20],
            }
    return None


def summarize(out):
    steps = []
    path = os.path.join(out, "steps.tsv")
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                name, rc, sec = (line.rstrip("\n").split("\t") + ["", "", ""])[:3]
                steps.append({"step": name, "rc": rc, "seconds": sec})
    doctor = _read(out, "doctor.json")
    s = {
        "steps": steps,
        "failedSteps": [r["step"] for r in steps if r["rc"] not in ("0", "n/a", "skipped")],
        "notApplicable": [r["step"] for r in steps if r["rc"] == "n/a"],
        "tests": _jest(out),
    }
    if isinstance(doctor, dict):
        s["doctor"] = {k: v for k, v in doctor.items() if k in ("torch", "cuda", "addons", "node", "platform")} or doctor
    for key, name in (
        ("parityExt5LoadsTransformers", "parity_ext5.json"),
        ("parityTransformersLoadsExt5", "parity_hf.json"),
        ("nccl", "nccl.json"),
        ("attentionAB", "attention_ab.json"),
    ):
        s[key] = _read(out, name)
    ours = _read(out, "speed_ext5.json")
    theirs = _read(out, "speed_hf.json")
    compiled = _read(out, "speed_hf_compiled.json")
    rate, rate_dtype = None, None
    for r in (theirs, compiled):
        if isinstance(r, dict) and r.get("matmulFlopsPerS"):
            rate, rate_dtype = r["matmulFlopsPerS"], r.get("matmulDtype")
            break
    speed = {"matmulTflops": rate / 1e12 if rate else None, "matmulDtype": rate_dtype}

    def row(r):
        if not isinstance(r, dict) or "tokensPerS" not in r:
            return r
        return {
            "stepMs": r["stepMs"],
            "tokensPerS": r["tokensPerS"],
            "tflopsPerS": r["flopsPerS"] / 1e12,
            "mfu": r["flopsPerS"] / rate if rate else None,
            "mfu6N": r["flopsPerS6N"] / rate if rate and r.get("flopsPerS6N") else None,
        }

    if isinstance(ours, dict):
        speed["config"] = {k: ours.get(k) for k in ("config", "dtype", "batch", "parameters", "trainingFlopsPerStep")}
        speed["ext5"] = row(ours)
        speed["ext5Generate"] = ours.get("generate")
    if isinstance(theirs, dict):
        speed["transformersEager"] = row(theirs.get("eager"))
        speed["transformersGenerate"] = theirs.get("generate")
        speed["versions"] = {"torch": theirs.get("torch"), "transformers": theirs.get("transformers")}
    if isinstance(compiled, dict):
        speed["transformersCompiled"] = row(compiled.get("compiled"))
    e, t = speed.get("ext5"), speed.get("transformersEager")
    if isinstance(e, dict) and isinstance(t, dict):
        speed["trainRatioVsEager"] = e["tokensPerS"] / t["tokensPerS"]
    c = speed.get("transformersCompiled")
    if isinstance(e, dict) and isinstance(c, dict) and "tokensPerS" in c:
        speed["trainRatioVsCompiled"] = e["tokensPerS"] / c["tokensPerS"]
    eg, tg = speed.get("ext5Generate"), speed.get("transformersGenerate")
    if isinstance(eg, dict) and isinstance(tg, dict):
        speed["generateRatio"] = eg["tokensPerS"] / tg["tokensPerS"]
    s["speed"] = speed
    return s


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print(json.dumps(summarize(sys.argv[1]), indent=2))
