#!/usr/bin/python3
"""Independent safetensors / Hugging Face T5 checkpoint tools for test/native/checkpoint_hf.test.ts.

Written from the safetensors format description (huggingface/safetensors README: u64 LE header
length, JSON header, contiguous byte buffer) and the parameter names of huggingface/transformers'
src/transformers/models/t5/modeling_t5.py, with nothing shared with ext5's TypeScript:

  write <dir> <variant: t5|t5.1.1> <dtype: F32|BF16>
      writes config.json (with the keys transformers itself writes) and model.safetensors the
      way Hugging Face exports of T5 v1.0 look: shared.weight plus its copies
      encoder/decoder.embed_tokens.weight (and lm_head.weight when tied), and the unused
      decoder.block.0.layer.1.EncDecAttention.relative_attention_bias.weight of old exports;
      prints {name: [sum, first value]} of the float32 values ext5 should load.
  read <file>
      parses and checks a safetensors file strictly (alignment, contiguity, sizes) and prints
      {"metadata": {...}, "tensors": {name: {"dtype", "shape", "sum"}}}.
"""
import json
import os
import struct
import sys

import numpy as np
import torch

SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}

CONFIG = dict(vocab_size=128, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_decoder_layers=2, num_heads=4,
              relative_attention_num_buckets=32, relative_attention_max_distance=128)


def t5_names(cfg, gated, tied):
    d, h, dkv, dff, v = cfg["d_model"], cfg["num_heads"], cfg["d_kv"], cfg["d_ff"], cfg["vocab_size"]
    inner = h * dkv
    out = [("shared.weight", [v, d])]

    def attn(prefix, bias):
        r = [(f"{prefix}.{x}.weight", [inner, d]) for x in "qkv"] + [(f"{prefix}.o.weight", [d, inner])]
        if bias:
            r.append((f"{prefix}.relative_attention_bias.weight", [cfg["relative_attention_num_buckets"], h]))
        return r

    def ffn(prefix):
        if gated:
            return [(f"{prefix}.wi_0.weight", [dff, d]), (f"{prefix}.wi_1.weight", [dff, d]), (f"{prefix}.wo.weight", [d, dff])]
        return [(f"{prefix}.wi.weight", [dff, d]), (f"{prefix}.wo.weight", [d, dff])]

    for i in range(cfg["num_layers"]):
        b = f"encoder.block.{i}.layer"
        out += attn(f"{b}.0.SelfAttention", i == 0) + [(f"{b}.0.layer_norm.weight", [d])]
        out += ffn(f"{b}.1.DenseReluDense") + [(f"{b}.1.layer_norm.weight", [d])]
    out.append(("encoder.final_layer_norm.weight", [d]))
    for i in range(cfg["num_decoder_layers"]):
        b = f"decoder.block.{i}.layer"
        out += attn(f"{b}.0.SelfAttention", i == 0) + [(f"{b}.0.layer_norm.weight", [d])]
        out += attn(f"{b}.1.EncDecAttention", False) + [(f"{b}.1.layer_norm.weight", [d])]
        out += ffn(f"{b}.2.DenseReluDense") + [(f"{b}.2.layer_norm.weight", [d])]
    out.append(("decoder.final_layer_norm.weight", [d]))
    if not tied:
        out.append(("lm_head.weight", [v, d]))
    return out


def to_bytes(t, dtype):
    if dtype == "BF16":
        return t.to(torch.bfloat16).view(torch.int16).numpy().tobytes()
    return t.to(torch.float32).numpy().tobytes()


def write_safetensors(path, tensors, metadata):
    """tensors: list of (name, dtype, shape, bytes), written in the given order."""
    header, offset = {"__metadata__": metadata}, 0
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _, _, _, data in tensors:
            f.write(data)


def write(out_dir, variant, dtype):
    gated = variant == "t5.1.1"
    tied = not gated
    os.makedirs(out_dir, exist_ok=True)
    config = {
        "_name_or_path": "tiny-" + variant, "architectures": ["T5ForConditionalGeneration"],
        "d_ff": CONFIG["d_ff"], "d_kv": CONFIG["d_kv"], "d_model": CONFIG["d_model"],
        "decoder_start_token_id": 0, "dense_act_fn": "gelu_new" if gated else "relu", "dropout_rate": 0.1,
        "eos_token_id": 1, "feed_forward_proj": "gated-gelu" if gated else "relu", "initializer_factor": 1.0,
        "is_encoder_decoder": True, "is_gated_act": gated, "layer_norm_epsilon": 1e-06, "model_type": "t5",
        "n_positions": 512, "num_decoder_layers": CONFIG["num_decoder_layers"], "num_heads": CONFIG["num_heads"],
        "num_layers": CONFIG["num_layers"], "output_past": True, "pad_token_id": 0,
        "relative_attention_max_distance": 128, "relative_attention_num_buckets": 32,
        "tie_word_embeddings": tied, "torch_dtype": "float32" if dtype == "F32" else "bfloat16",
        "transformers_version": "4.40.0", "use_cache": True, "vocab_size": CONFIG["vocab_size"],
        "task_specific_params": {"summarization": {"prefix": "summarize: "}},
    }
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    gen = torch.Generator().manual_seed(1234)
    tensors, expect = [], {}
    names = t5_names(CONFIG, gated, tied)
    for name, shape in names:
        t = torch.randn(shape, generator=gen) * 0.5
        stored = t.to(torch.bfloat16).to(torch.float32) if dtype == "BF16" else t
        expect[name] = [float(stored.double().sum()), float(stored.reshape(-1)[0])]
        tensors.append((name, dtype, list(shape), to_bytes(t, dtype)))
    shared = tensors[0]
    aliases = ["encoder.embed_tokens.weight", "decoder.embed_tokens.weight"] + (["lm_head.weight"] if tied else [])
    tensors += [(a, dtype, shared[2], shared[3]) for a in aliases]
    tensors.append(("decoder.block.0.layer.1.EncDecAttention.relative_attention_bias.weight", dtype, [32, CONFIG["num_heads"]],
                    to_bytes(torch.zeros(32, CONFIG["num_heads"]), dtype)))
    # Hugging Face's writer sorts by name within a dtype; do so to look like its files.
    tensors.sort(key=lambda x: x[0])
    write_safetensors(os.path.join(out_dir, "model.safetensors"), tensors, {"format": "pt"})
    json.dump(expect, sys.stdout)


def read(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    assert n % 8 == 0, "header length is not a multiple of 8"
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    assert raw[8:8 + n].decode("utf-8").rstrip(" ") == raw[8:8 + n].decode("utf-8").strip(), "padding must be trailing spaces"
    data = raw[8 + n:]
    metadata = header.pop("__metadata__", {})
    spans = sorted((info["data_offsets"][0], info["data_offsets"][1], name) for name, info in header.items())
    cursor = 0
    for begin, end, name in spans:
        assert begin == cursor, f"{name}: not contiguous"
        cursor = end
    assert cursor == len(data), "buffer not fully covered"
    out = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        count = int(np.prod(info["shape"])) if info["shape"] else 1
        assert end - begin == count * SIZES[info["dtype"]], f"{name}: size mismatch"
        assert begin % SIZES[info["dtype"]] == 0, f"{name}: misaligned"
        buf = data[begin:end]
        if info["dtype"] == "BF16":
            vals = torch.frombuffer(bytearray(buf), dtype=torch.int16).view(torch.bfloat16).double()
        elif info["dtype"] == "F32":
            vals = torch.frombuffer(bytearray(buf), dtype=torch.float32).double()
        else:
            vals = torch.zeros(1, dtype=torch.float64)
        out[name] = {"dtype": info["dtype"], "shape": info["shape"], "sum": float(vals.sum())}
    json.dump({"metadata": metadata, "tensors": out}, sys.stdout)


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        read(sys.argv[2])
