/**
 * Tokenizing a stream of items in batches off the JS thread, one batch ahead: while the caller
 * works on batch k (span corruption, packing, a training step), batch k + 1 is already being
 * encoded by the SentencePiece addon's worker threads. Order is preserved.
 */
import { Ext5Error } from '../util/errors';
import type { FlatEncoding } from './spm_addon';
import { splitFlat } from './vocabulary';

/** What {@link tokenizeStream} needs of a vocabulary (SentencePieceVocabulary has it). */
export interface BatchEncoder {
  encodeBatchFlatAsync(texts: string[], opts?: { threads?: number }): Promise<FlatEncoding>;
}

/** Options of {@link tokenizeStream}. */
export interface TokenizeStreamOptions {
  /** Items per native call (default 256). */
  batchSize?: number;
  /** Native threads per call (default 1). */
  threads?: number;
}

/**
 * Yields `{ item, ids }` for every item of `items`, where `ids[j]` are the token ids of the j-th
 * text that `textsOf(item)` returns. Encoding runs one batch ahead of the consumer.
 *
 * @example
 * for await (const { item, ids } of tokenizeStream(readC4(dir), (d) => [d.text], vocab, { threads: 4 })) {
 *   spanCorruption.addDocument(ids[0]!);
 * }
 */
export async function* tokenizeStream<T>(
  items: AsyncIterable<T> | Iterable<T>,
  textsOf: (item: T) => string[],
  vocab: BatchEncoder,
  opts: TokenizeStreamOptions = {},
): AsyncGenerator<{ item: T; ids: Int32Array[] }> {
  const batchSize = opts.batchSize ?? 256;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Ext5Error('E_ARG', `batchSize must be a positive integer, got ${batchSize}`);
  }
  const threads = opts.threads ?? 1;
  const iterator = (
    Symbol.asyncIterator in items
      ? (items as AsyncIterable<T>)[Symbol.asyncIterator]()
      : (items as Iterable<T>)[Symbol.iterator]()
  ) as AsyncIterator<T> | Iterator<T>;

  // Reads up to batchSize items and starts their encoding; undefined at the end.
  const startBatch = async (): Promise<
    { items: T[]; counts: number[]; encoded: Promise<FlatEncoding> } | undefined
  > => {
    const batch: T[] = [];
    const texts: string[] = [];
    const counts: number[] = [];
    while (batch.length < batchSize) {
      const r = await iterator.next();
      if (r.done) break;
      const t = textsOf(r.value);
      batch.push(r.value);
      counts.push(t.length);
      texts.push(...t);
    }
    if (batch.length === 0) return undefined;
    const encoded = vocab.encodeBatchFlatAsync(texts, { threads });
    encoded.catch(() => {}); // awaited below; avoid an unhandled rejection while the consumer works
    return { items: batch, counts, encoded };
  };

  try {
    let next = await startBatch();
    while (next) {
      const current = next;
      next = await startBatch(); // read and start encoding the following batch before yielding
      const ids = splitFlat(await current.encoded);
      let k = 0;
      for (let i = 0; i < current.items.length; i++) {
        const n = current.counts[i]!;
        yield { item: current.items[i]!, ids: ids.slice(k, k + n) };
        k += n;
      }
    }
  } finally {
    await (iterator as AsyncIterator<T>).return?.();
  }
}
