/**
 * The pre-training / fine-tuning data pipeline (docs/design.md, "Data flow of pre-training"):
 *
 *   source records → task preprocessor → tokenize (batched, off the JS thread)
 *     → span corruption (C4-style tasks) or EOS + trim (supervised tasks)
 *     → mixture sampler (weighted, seeded, resumable) → packer + EncDec feature converter
 *     → typed arrays for the native model.
 *
 * Mixing happens on *processed* examples, as in SeqIO: a C4 document yields several
 * span-corrupted examples, and `ext5_pretrain`'s rate R counts those, so R = 2 means two C4
 * training examples per ExMix example (ExT5 paper, arXiv 2111.10952, on how much C4 to mix).
 *
 * Every batch comes with the pipeline state *after* it, so a checkpoint taken after training on
 * batch k resumes with batch k + 1 exactly, even though the next batch is prepared while the
 * model computes. Resuming replays each task's stream up to its saved offset (deterministic:
 * every stream's span-corruption RNG is seeded from (seed, task, epoch)); the cost grows with
 * the offset, which is fine for the runs this machine can do and is noted in docs/training.md.
 */
import { Mixture, type ResolvedMember } from '../tasks/mixture';
import { getProvider } from '../tasks/registry';
import { MixtureSampler, type SamplerState } from '../tasks/sampler';
import { defaultDataDir, type Example, type Task } from '../tasks/task';
import { type EncDecBatch, EncDecPacker, type EncDecPackerState } from '../text/packing';
import { SPAN_CORRUPTION_DEFAULTS, SpanCorruption } from '../text/span_corruption';
import { type BatchEncoder, tokenizeStream } from '../text/tokenize_stream';
import { Ext5Error } from '../util/errors';

/** What the pipeline needs of a vocabulary. */
export interface PipelineVocabulary extends BatchEncoder {
  readonly vocabSize: number;
  readonly eosId: number;
}

export interface PipelineOptions {
  /** A registered mixture or task name, or a Mixture. */
  mixture: string | Mixture;
  vocab: PipelineVocabulary;
  /** Split to train on (default 'train'). */
  split?: string;
  inputsLength: number;
  targetsLength: number;
  /** Rows per batch. */
  batchSize: number;
  /** Pack several examples per row (default true). */
  pack?: boolean;
  noiseDensity?: number;
  meanNoiseSpanLength?: number;
  seed?: number;
  dataDir?: string;
  /** Data-parallel sharding: each rank reads its own records. */
  shard?: { rank: number; worldSize: number };
  /** Texts per native tokenization call (default 64). */
  tokenizeBatch?: number;
  /** Native tokenizer threads per call (default 1). */
  tokenizeThreads?: number;
}

export interface PipelineState {
  version: 1;
  sampler: SamplerState;
  packer: EncDecPackerState;
  batches: number;
}

/** A processed example, what the sampler mixes: token ids with EOS, within the lengths. */
export interface TokenExample {
  inputs: Int32Array;
  targets: Int32Array;
}

/** 32-bit FNV-1a, to derive per-stream seeds from names. */
export function hashSeed(...parts: (string | number)[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    const s = `${p}\u0000`;
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
  }
  return h >>> 0;
}

function withEos(ids: Int32Array, maxLen: number, eos: number): Int32Array {
  // SeqIO appends EOS after trimming to length - 1, so a trimmed sequence still ends in EOS.
  const n = Math.min(ids.length, maxLen - 1);
  const out = new Int32Array(n + 1);
  out.set(ids.subarray(0, n));
  out[n] = eos;
  return out;
}

/**
 * A mixture's members, with rates from the data in `dataDir` (rows present count, Mixture.resolve); a task
 * becomes a one-task mixture. Unknown names get a suggestion.
 */
export function resolveMembers(target: string | Mixture, dataDir = defaultDataDir()): ResolvedMember[] {
  const provider = typeof target === 'string' ? getProvider(target) : target;
  if (provider instanceof Mixture) return provider.resolve({ dataDir });
  return [{ task: provider, rate: 1, share: 1 }];
}

/** Streams batches of packed, model-ready features from a mixture. */
export class TrainingPipeline {
  readonly opts: Required<Omit<PipelineOptions, 'dataDir' | 'shard'>> &
    Pick<PipelineOptions, 'dataDir' | 'shard'>;
  private readonly sampler: MixtureSampler<TokenExample>;
  private readonly packer: EncDecPacker;
  private batches = 0;
  private readonly rankTag: string;

  constructor(options: PipelineOptions) {
    this.opts = {
      split: 'train',
      pack: true,
      ...SPAN_CORRUPTION_DEFAULTS,
      seed: 0,
      tokenizeBatch: 64,
      tokenizeThreads: 1,
      ...options,
    };
    // Each data-parallel rank draws its own mixture stream (and reads its own shard of every
    // source); a single process is rank 0 of 1, so its seeds do not depend on sharding.
    const rank = this.opts.shard && this.opts.shard.worldSize > 1 ? this.opts.shard.rank : -1;
    this.rankTag = rank < 0 ? '' : `rank${rank}`;
    this.sampler = new MixtureSampler<TokenExample>(resolveMembers(this.opts.mixture, this.opts.dataDir), {
      seed: hashSeed(this.opts.seed, 'sampler', this.rankTag),
      split: this.opts.split,
      open: (task, epoch) => this.openTask(task, epoch),
    });
    this.packer = new EncDecPacker({
      inputsLength: this.opts.inputsLength,
      targetsLength: this.opts.targetsLength,
      batchSize: this.opts.batchSize,
      pack: this.opts.pack,
    });
  }

  /** One pass over a task's processed examples (the sampler re-opens it for the next epoch). */
  private async *openTask(task: Task, epoch: number): AsyncIterable<TokenExample> {
    const { vocab, inputsLength, targetsLength } = this.opts;
    const read = { dataDir: this.opts.dataDir, shard: this.opts.shard };
    const tok = { batchSize: this.opts.tokenizeBatch, threads: this.opts.tokenizeThreads };
    const examples = task.examples(this.opts.split, read);
    if (task.spanCorruption) {
      const sc = new SpanCorruption({
        inputsLength,
        targetsLength,
        noiseDensity: this.opts.noiseDensity,
        meanNoiseSpanLength: this.opts.meanNoiseSpanLength,
        vocabSize: vocab.vocabSize,
        eosId: vocab.eosId,
        seed: hashSeed(this.opts.seed, task.name, epoch, this.rankTag),
      });
      const text = (ex: Example) => [typeof ex.text === 'string' ? ex.text : ex.targets];
      for await (const { ids } of tokenizeStream(examples, text, vocab, tok)) {
        sc.addDocument(ids[0]!);
        for (let ex = sc.next(); ex; ex = sc.next()) yield ex;
      }
      sc.flush();
      for (let ex = sc.next(); ex; ex = sc.next()) yield ex;
      return;
    }
    for await (const { ids } of tokenizeStream(examples, (ex) => [ex.inputs, ex.targets], vocab, tok)) {
      yield {
        inputs: withEos(ids[0]!, inputsLength, vocab.eosId),
        targets: withEos(ids[1]!, targetsLength, vocab.eosId),
      };
    }
  }

  /**
   * The next batch and the pipeline state right after it. Safe to call while the model computes
   * on the previous batch (tokenization runs on the SentencePiece addon's threads).
   */
  async next(): Promise<{ batch: EncDecBatch; state: PipelineState }> {
    for (;;) {
      const batch = this.packer.pull();
      if (batch) {
        this.batches += 1;
        return { batch, state: this.getState() };
      }
      const { example } = await this.sampler.next();
      this.packer.push(example);
    }
  }

  /** Examples drawn from each task so far. */
  taskCounts(): Record<string, number> {
    return this.sampler.taskCounts();
  }

  getState(): PipelineState {
    return {
      version: 1,
      sampler: this.sampler.getState(),
      packer: this.packer.getState(),
      batches: this.batches,
    };
  }

  setState(state: PipelineState): void {
    if (state?.version !== 1) {
      throw new Ext5Error(
        'EXT5_BAD_STATE',
        'not a training pipeline state (version 1)',
        'the checkpoint may be from another ext5 version',
      );
    }
    this.sampler.setState(state.sampler);
    this.packer.setState(state.packer);
    this.batches = state.batches;
  }
}

/** The native model's batch arguments for a packed (or padded) batch of features. */
export function batchToModelInputs(b: EncDecBatch) {
  const enc = [b.batchSize, b.inputsLength];
  const dec = [b.batchSize, b.targetsLength];
  return {
    inputIds: { data: b.encoder_input_tokens, shape: enc },
    encoderSegmentIds: { data: b.encoder_segment_ids, shape: enc },
    encoderPositions: { data: b.encoder_positions, shape: enc },
    decoderInputIds: { data: b.decoder_input_tokens, shape: dec },
    decoderSegmentIds: { data: b.decoder_segment_ids, shape: dec },
    decoderPositions: { data: b.decoder_positions, shape: dec },
    labels: { data: b.decoder_target_tokens, shape: dec },
    lossWeights: { data: Float32Array.from(b.decoder_loss_weights), shape: dec },
  };
}

/** Target tokens in a batch (non-padding), for tokens/s. */
export function targetTokens(b: EncDecBatch): number {
  let n = 0;
  for (let i = 0; i < b.decoder_loss_weights.length; i++) n += b.decoder_loss_weights[i]! > 0 ? 1 : 0;
  return n;
}

/** Input tokens in a batch (non-padding). */
export function inputTokens(b: EncDecBatch): number {
  let n = 0;
  for (let i = 0; i < b.encoder_input_tokens.length; i++) n += b.encoder_input_tokens[i]! !== 0 ? 1 : 0;
  return n;
}
