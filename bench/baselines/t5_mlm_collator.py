# Baseline for bench/span_corruption.ts: the numpy span-corruption logic of Hugging Face's
# FlaxDataCollatorForT5MLM (transformers examples/flax/language-modeling/run_t5_mlm_flax.py:
# random_spans_noise_mask, create_sentinel_ids, filter_input_ids, shift_tokens_right), re-implemented
# here with numpy only (jax's segment_sum becomes np.bincount; transformers is not in Debian).
# group_texts is done with numpy concatenation instead of the script's list sum, which only makes
# the baseline faster. Run with /usr/bin/python3:
#   t5_mlm_collator.py TOKENS.i32 OFFSETS.i64 BATCH_SIZE INPUTS_LENGTH VOCAB_SIZE
# Prints one JSON object with timings and token counts.
import json
import sys
import time

import numpy as np

tokens_file, offsets_file = sys.argv[1], sys.argv[2]
batch_size, inputs_length, vocab_size = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
noise_density, mean_span = 0.15, 3.0
eos_id, pad_id, decoder_start = 1, 0, 0


def compute_lengths(inputs_length):
    # compute_input_and_target_lengths: the same search as T5's random_spans_helper
    def lens(t):
        noise = int(round(t * noise_density))
        spans = int(round(noise / mean_span))
        return t - noise + spans + 1, noise + spans + 1

    t = inputs_length
    while lens(t + 1)[0] <= inputs_length:
        t += 1
    return t, lens(t)[1]


def random_segmentation(num_items, num_segments):
    first = np.arange(num_items - 1) < (num_segments - 1)
    np.random.shuffle(first)
    segment_id = np.cumsum(np.pad(first, [[1, 0]]))
    return np.bincount(segment_id)


def random_spans_noise_mask(length):
    noise = int(np.round(length * noise_density))
    noise = min(max(noise, 1), length - 1)
    spans = max(int(np.round(noise / mean_span)), 1)
    keep = length - noise
    noise_lens = random_segmentation(noise, spans)
    keep_lens = random_segmentation(keep, spans)
    interleaved = np.reshape(np.stack([keep_lens, noise_lens], axis=1), [spans * 2])
    starts = np.cumsum(interleaved)[:-1]
    indicator = np.zeros((length,), dtype=np.int8)
    indicator[starts] = True
    return np.equal(np.cumsum(indicator) % 2, 1)


def create_sentinel_ids(mask):
    start = mask - np.roll(mask, 1, axis=-1) * mask
    start[:, 0] = mask[:, 0]
    sentinel = np.where(start != 0, np.cumsum(start, axis=-1), start)
    sentinel = np.where(sentinel != 0, vocab_size - sentinel, 0)
    sentinel -= mask - start
    return sentinel


def filter_input_ids(input_ids, sentinel_ids):
    b = input_ids.shape[0]
    full = np.where(sentinel_ids != 0, sentinel_ids, input_ids)
    out = full[full > 0].reshape((b, -1))
    return np.concatenate([out, np.full((b, 1), eos_id, dtype=np.int32)], axis=-1)


def shift_tokens_right(labels):
    shifted = np.zeros_like(labels)
    shifted[:, 1:] = labels[:, :-1]
    shifted[:, 0] = decoder_start
    return np.where(shifted == -100, pad_id, shifted)


def collate(input_ids):
    b, length = input_ids.shape
    mask = np.asarray([random_spans_noise_mask(length) for _ in range(b)])
    labels_mask = ~mask
    inputs = filter_input_ids(input_ids, create_sentinel_ids(mask.astype(np.int8)))
    labels = filter_input_ids(input_ids, create_sentinel_ids(labels_mask.astype(np.int8)))
    return {"input_ids": inputs, "labels": labels, "decoder_input_ids": shift_tokens_right(labels)}


tokens = np.fromfile(tokens_file, dtype="<i4")
offsets = np.fromfile(offsets_file, dtype="<i8")
raw_length, targets_length = compute_lengths(inputs_length)
np.random.seed(0)

t0 = time.perf_counter()
# group_texts: concatenate every document, cut into raw_length chunks, drop the remainder
docs = [tokens[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]
concatenated = np.concatenate(docs)
n_chunks = len(concatenated) // raw_length
chunks = concatenated[: n_chunks * raw_length].reshape(n_chunks, raw_length)
t1 = time.perf_counter()
out_tokens = 0
for s in range(0, n_chunks - batch_size + 1, batch_size):
    batch = collate(chunks[s : s + batch_size])
    assert batch["input_ids"].shape == (batch_size, inputs_length)
    assert batch["labels"].shape == (batch_size, targets_length)
    out_tokens += batch["input_ids"].size
t2 = time.perf_counter()
used = (n_chunks // batch_size) * batch_size * raw_length
print(
    json.dumps(
        {
            "raw_length": raw_length,
            "targets_length": targets_length,
            "examples": (n_chunks // batch_size) * batch_size,
            "raw_tokens": int(used),
            "group_seconds": t1 - t0,
            "collate_seconds": t2 - t1,
            "seconds": t2 - t0,
            "tokens_per_second": used / (t2 - t0),
        }
    )
)
