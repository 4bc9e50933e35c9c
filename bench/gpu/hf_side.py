"""The Hugging Face transformers half of bench/gpu/run.sh (the ext5 half is bench/gpu/ext5_side.ts).

Subcommands, each writing one JSON file:
  make-parity DIR DEVICE          random models made by transformers and saved with
                                  save_pretrained (safetensors) to DIR/<name>/: T5.1.1 with a
                                  separate lm_head, T5.1.1 with one shared table and no output
                                  scaling (transformers 5's tie_word_embeddings true +
                                  scale_decoder_outputs false), T5 v1.0 (ReLU, tied, scaled); each
                                  with a padded batch and transformers' logits and loss in float32
                                  and under bfloat16 autocast (expected.json)
  check-saved DIR DEVICE OUT      loads DIR/<name>/ext5_saved (written by ext5) in transformers:
                                  the config through T5Config's validation, the weights with none
                                  missing or unexpected, the same layout, and ext5's float32
                                  logits (ext5_logits.json)
  speed DIR DEVICE OUT            transformers' eager T5 on the weights and batch of ext5_side.ts
                                  speed: training step (forward, backward, transformers' Adafactor)
                                  under bfloat16 autocast (or float32, as ext5's run), greedy
                                  model.generate, and the matmul rate in that dtype that MFU is
                                  relative to; with --compiled, only
                                  the training step of torch.compile(model) (or why it failed)

Attention is transformers' "eager" T5Attention: the reference implementation of
src/transformers/models/t5/modeling_t5.py.
"""

import json
import math
import os
import sys
import time

import torch


def _sync(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _no_tf32():
    # float32 parity must compare float32 matmuls, not TF32 ones.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def _load(path, device):
    from transformers import T5ForConditionalGeneration

    try:
        model = T5ForConditionalGeneration.from_pretrained(path, attn_implementation="eager")
    except (TypeError, ValueError):
        model = T5ForConditionalGeneration.from_pretrained(path)
    return model.to(device).eval()


# What each parity model is meant to be. transformers 5 writes T5.1.1 as `tie_word_embeddings: true,
# scale_decoder_outputs: false` (output scaling is its own key) and keeps a separate lm_head.weight
# only when it differs from the shared table; transformers 4 ties only with scaling. make-parity
# builds each layout, checks that the saved files have it, and records it in expected.json.
_T5_1_1 = dict(
    vocab_size=384, d_model=64, d_kv=16, d_ff=96, num_layers=2, num_decoder_layers=3, num_heads=4,
    relative_attention_num_buckets=32, relative_attention_max_distance=128, dropout_rate=0.0,
    feed_forward_proj="gated-gelu", tie_word_embeddings=False,
)
CONFIGS = {
    # T5.1.1 with its own lm_head.weight, no output scaling (google/t5-v1_1-* checkpoints).
    "t5_v1_1": dict(_T5_1_1, layout=dict(separate_head=True, scaled=False)),
    # T5.1.1 as transformers 5 makes it: one shared table for input and output, no output scaling.
    "t5_v1_1_tied": dict(_T5_1_1, vocab_size=352, layout=dict(separate_head=False, scaled=False)),
    # T5 v1.0: ReLU, tied, decoder output scaled by d_model**-0.5.
    "t5_v1_0": dict(
        vocab_size=320, d_model=48, d_kv=12, d_ff=80, num_layers=3, num_decoder_layers=2, num_heads=4,
        relative_attention_num_buckets=16, relative_attention_max_distance=32, dropout_rate=0.0,
        feed_forward_proj="relu", tie_word_embeddings=True, layout=dict(separate_head=False, scaled=True),
    ),
}


def _batch(vocab, gen):
    B, S, T = 3, 40, 9
    ids = torch.randint(2, vocab, (B, S), generator=gen)
    mask = torch.ones(B, S, dtype=torch.long)
    for row, length in ((1, 23), (2, 7)):
        mask[row, length:] = 0
        ids[row, length:] = 0
    labels = torch.randint(2, vocab, (B, T), generator=gen)
    labels[1, 6:] = -100
    labels[2, 3:] = -100
    return ids, mask, labels


def _forward(model, ids, mask, labels, device, bf16):
    with torch.no_grad(), torch.autocast("cuda" if device.startswith("cuda") else "cpu", dtype=torch.bfloat16, enabled=bf16):
        out = model(input_ids=ids.to(device), attention_mask=mask.to(device), labels=labels.to(device))
    return out.logits.float().cpu(), float(out.loss)


def _layout(model):
    """What a loaded model computes: a separate output table or the shared one, and output scaling."""
    separate = model.lm_head.weight.data_ptr() != model.shared.weight.data_ptr() and not torch.equal(
        model.lm_head.weight, model.shared.weight
    )
    cfg = model.config
    scaled = getattr(cfg, "scale_decoder_outputs", None)
    if scaled is None:  # transformers 4: scaling follows tie_word_embeddings
        scaled = bool(cfg.tie_word_embeddings)
    return dict(separate_head=bool(separate), scaled=bool(scaled))


def make_parity(root, device):
    from transformers import T5Config, T5ForConditionalGeneration

    _no_tf32()
    os.makedirs(root, exist_ok=True)
    for i, (name, kw) in enumerate(sorted(CONFIGS.items())):
        kw = dict(kw)
        want = kw.pop("layout")
        torch.manual_seed(100 + i)
        model = T5ForConditionalGeneration(T5Config(decoder_start_token_id=0, pad_token_id=0, eos_token_id=1, **kw))
        if want["separate_head"] and model.lm_head.weight.data_ptr() == model.shared.weight.data_ptr():
            # transformers 5 ties every T5 at construction; a separate head is a parameter of its own.
            model.lm_head.weight = torch.nn.Parameter(torch.empty_like(model.shared.weight))
        # transformers' init leaves some tables tiny; a wider spread makes the comparison bite.
        with torch.no_grad():
            for p in model.parameters():
                p.normal_(0.0, 0.5 if p.dim() == 2 and p.shape[0] == kw["vocab_size"] else 0.2)
        out_dir = os.path.join(root, name)
        model.save_pretrained(out_dir, safe_serialization=True)
        model = _load(out_dir, device)
        got = _layout(model)
        if got != want:
            # This transformers cannot make this layout (transformers 4 has no tied, unscaled T5).
            print(f"[hf_side] {name}: transformers {_version()} made {got}, not {want}; left out")
            import shutil

            shutil.rmtree(out_dir)
            continue
        with open(os.path.join(out_dir, "config.json")) as f:
            saved = json.load(f)
        gen = torch.Generator().manual_seed(7 + i)
        ids, mask, labels = _batch(kw["vocab_size"], gen)
        expected = dict(
            input_ids=ids.tolist(), attention_mask=mask.tolist(), labels=labels.tolist(), layout=got,
            savedConfig={k: saved.get(k) for k in ("tie_word_embeddings", "scale_decoder_outputs", "feed_forward_proj")},
            transformers=_version(),
        )
        for key, bf16 in (("float32", False), ("bfloat16", True)):
            logits, loss = _forward(model, ids, mask, labels, device, bf16)
            expected[key] = dict(logits=logits.flatten().tolist(), loss=loss)
        with open(os.path.join(out_dir, "expected.json"), "w") as f:
            json.dump(expected, f)
        print(f"[hf_side] saved {name} ({got}, config {expected['savedConfig']}) to {out_dir}")


def _version():
    import transformers

    return transformers.__version__


def check_saved(root, device, out):
    """transformers loads what ext5 saved: the config through T5Config's own validation (strict
    field types in transformers 5), every tensor used with none missing or left over, the same
    layout as the model ext5 loaded, and ext5's float32 logits."""
    from transformers import T5Config, T5ForConditionalGeneration

    _no_tf32()
    models, ok = [], True
    for name in sorted(CONFIGS):
        d = os.path.join(root, name)
        if not os.path.exists(os.path.join(d, "expected.json")):
            continue
        with open(os.path.join(d, "expected.json")) as f:
            e = json.load(f)
        row = {"name": name, "pass": False}
        models.append(row)
        saved = os.path.join(d, "ext5_saved")
        if not os.path.exists(os.path.join(d, "ext5_logits.json")):
            row["error"] = "ext5 did not save this model (see parity-ext5)"
            ok = False
            continue
        with open(os.path.join(d, "ext5_logits.json")) as f:
            ours = json.load(f)
        try:
            T5Config.from_pretrained(saved)
            row["configLoads"] = True
        except Exception as err:  # the finding is the message: which field transformers refused
            row.update(configLoads=False, error=f"config.json: {type(err).__name__}: {str(err)[:400]}")
            ok = False
            continue
        try:
            model, info = T5ForConditionalGeneration.from_pretrained(saved, output_loading_info=True)
        except Exception as err:
            row["error"] = f"weights: {type(err).__name__}: {str(err)[:400]}"
            ok = False
            continue
        model = model.to(device).eval()
        stray = {k: sorted(v) for k, v in info.items() if k in ("missing_keys", "unexpected_keys", "mismatched_keys") and v}
        row["loadingInfo"] = stray
        row["layout"] = _layout(model)
        ids, mask, labels = (torch.tensor(e[k]) for k in ("input_ids", "attention_mask", "labels"))
        logits, loss = _forward(model, ids, mask, labels, device, False)
        theirs = torch.tensor(ours["logits"])
        diff = float((logits.flatten() - theirs).abs().max())
        scale = max(1.0, float(theirs.abs().max()))
        loss_diff = abs(loss - ours["loss"])
        passed = (
            not stray and row["layout"] == e["layout"]
            and diff <= 1e-5 * scale and loss_diff <= 1e-5 * max(1.0, abs(loss))
        )
        ok = ok and passed
        row.update(logitsMaxDiff=diff, logitsScale=scale, lossDiff=loss_diff, expectedLayout=e["layout"], **{"pass": passed})
    if not models:
        sys.exit(f"no <name>/expected.json under {root}: run make-parity first")
    _write(out, dict(part="hf_parity_transformers_loads_ext5", device=device, transformers=_version(), ok=ok, models=models))
    if not ok:
        sys.exit(1)  # run.sh's steps.tsv and summary.json record the part as failed


def matmul_rate(device, n=8192, reps=20, dtype=torch.bfloat16):
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    _sync(device)
    return 2 * n**3 * reps / (time.perf_counter() - t0)


def speed(root, device, out, steps, new_tokens, compiled):
    from transformers.optimization import Adafactor

    result = dict(part="speed_transformers", device=device, torch=torch.__version__)
    try:
        import transformers

        result["transformers"] = transformers.__version__
    except ImportError:
        pass
    with open(os.path.join(root, "speed_batch.json")) as f:
        b = json.load(f)
    ids = torch.tensor(b["input_ids"], device=device)
    labels = torch.tensor(b["labels"], device=device)
    tokens = ids.numel() + labels.numel()
    # FLOPs per training step come from ext5's count (lib/model/flops.ts t5Flops, written by
    # ext5_side.ts speed): one derivation for both sides' MFU.
    flops = b.get("trainingFlopsPerStep")
    if not isinstance(flops, (int, float)) or flops <= 0:
        sys.exit(f"{root}/speed_batch.json has no trainingFlopsPerStep: run ext5_side.js speed first")
    # The compute dtype is ext5's (the batch file says it): bfloat16 runs under autocast, float32
    # as is, and the matmul rate that MFU divides by is measured in the same dtype.
    dtype = b.get("computeDtype", "bfloat16")
    if dtype not in ("bfloat16", "float32"):
        sys.exit(f"{root}/speed_batch.json: computeDtype must be bfloat16 or float32, got {dtype!r}")
    bf16 = dtype == "bfloat16"
    # 8192² on a GPU; a CPU reaches its rate at 1024² and would take minutes at 8192².
    shape = (8192, 20) if device.startswith("cuda") else (1024, 5)
    result.update(computeDtype=dtype, matmulDtype=dtype)
    result["matmulFlopsPerS"] = matmul_rate(device, *shape, dtype=getattr(torch, dtype))
    model = _load(os.path.join(root, "speed_model"), device)
    n = sum(p.numel() for p in model.parameters())
    result.update(
        parameters=n, trainingFlopsPerStep=flops, batch=dict(B=ids.shape[0], input=ids.shape[1], target=labels.shape[1])
    )

    def timed_steps(fwd, opt, count):
        losses = []
        for _ in range(2):
            fwd_step(fwd, opt, losses)
        _sync(device)
        t0 = time.perf_counter()
        for _ in range(count):
            fwd_step(fwd, opt, losses)
        _sync(device)
        return (time.perf_counter() - t0) / count, losses

    def fwd_step(fwd, opt, losses):
        with torch.autocast("cuda" if device.startswith("cuda") else "cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = fwd(input_ids=ids, labels=labels).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()))

    model.train()
    # T5's usual Adafactor settings (constant lr, no parameter scaling), as in the ext5 defaults.
    opt = Adafactor(model.parameters(), lr=1e-3, scale_parameter=False, relative_step=False, warmup_init=False)
    if compiled:
        # A separate run (its own time limit in run.sh): compilation may take minutes or fail.
        t0 = time.perf_counter()
        try:
            sec, losses = timed_steps(torch.compile(model), opt, steps)
            result["compiled"] = dict(
                stepMs=sec * 1e3, tokensPerS=tokens / sec, flopsPerS=flops / sec, flopsPerS6N=6 * n * tokens / sec,
                compileAndRunS=time.perf_counter() - t0, losses=losses,
            )
        except Exception as e:  # recorded, and the step fails: a figure that did not run is no figure
            result["compiled"] = dict(error=f"{type(e).__name__}: {str(e)[:500]}")
            _write(out, result)
            sys.exit(f"torch.compile run failed: {result['compiled']['error']}")
        _write(out, result)
        return
    sec, losses = timed_steps(model, opt, steps)
    result["eager"] = dict(
        stepMs=sec * 1e3, tokensPerS=tokens / sec, flopsPerS=flops / sec, flopsPerS6N=6 * n * tokens / sec, losses=losses
    )

    model.eval()
    with torch.no_grad(), torch.autocast("cuda" if device.startswith("cuda") else "cpu", dtype=torch.bfloat16, enabled=bf16):
        kw = dict(max_new_tokens=new_tokens, do_sample=False, num_beams=1)
        model.generate(input_ids=ids, **kw)
        _sync(device)
        t0 = time.perf_counter()
        seq = model.generate(input_ids=ids, **kw)
        _sync(device)
        sec = time.perf_counter() - t0
    new = seq.shape[1] - 1
    result["generate"] = dict(maxNewTokens=new_tokens, newTokens=new, sec=sec, tokensPerS=ids.shape[0] * new / sec)
    _write(out, result)


def _write(out, obj):
    with open(out, "w") as f:
        json.dump(obj, f, indent=2, default=lambda x: None if isinstance(x, float) and math.isnan(x) else str(x))
    print(json.dumps(obj)[:2000])


def _flag(args, name, default):
    return type(default)(args[args.index(name) + 1]) if name in args else default


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    cmd, root, device = argv[0], argv[1], argv[2]
    if cmd == "make-parity":
        make_parity(root, device)
    elif cmd == "check-saved":
        check_saved(root, device, argv[3])
    elif cmd == "speed":
        speed(
            root, device, argv[3], _flag(argv, "--steps", 10), _flag(argv, "--new", 64),
            "--compiled" in argv,
        )
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
