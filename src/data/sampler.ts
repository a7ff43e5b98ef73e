// Index samplers as torch.utils.data: sequential, random (a fresh permutation per pass) and batching.
import { permuteInto } from "../ops/creation.js";
import type { Generator } from "../random.js";

/** An iterable of dataset indices (or, for a batch sampler, of index lists) with a known count. */
export interface Sampler<T = number> extends Iterable<T> {
  /** Number of items one pass yields, as `len(sampler)`. */
  readonly length: number;
}

/**
 * A sampler over the indices of a data source that makes each pass's whole order at once, so BatchSampler can
 * cut batches from one array instead of resuming a generator per index.
 * @example
 * class Reversed extends IndexSampler {
 *   order(): Int32Array { return Int32Array.from({ length: this.length }, (_, i) => this.length - 1 - i); }
 * }
 * new DataLoader(ds, { batchSize: 8, sampler: new Reversed(ds) });
 */
export abstract class IndexSampler implements Sampler {
  constructor(readonly dataSource: { readonly length: number }) {}

  get length(): number {
    return this.dataSource.length;
  }

  /** The indices of one new pass, in order. */
  abstract order(): Int32Array;

  /** Called when a pass that got `order` from order() ends, so the array may be reused. */
  release(_order: Int32Array): void {}

  *[Symbol.iterator](): Iterator<number> {
    const order = this.order();
    try {
      for (let i = 0; i < order.length; i++) yield order[i];
    } finally {
      this.release(order);
    }
  }
}

/**
 * Yields 0, 1, ..., length - 1, like `torch.utils.data.SequentialSampler`.
 * @example
 * [...new SequentialSampler(ds)]; // [0, 1, 2, ...]
 */
export class SequentialSampler extends IndexSampler {
  order(): Int32Array {
    const order = new Int32Array(this.dataSource.length);
    for (let i = 0; i < order.length; i++) order[i] = i;
    return order;
  }
}

/**
 * Yields every index exactly once in a random order, drawing a new permutation (with `randperm`) each time a
 * pass starts, like `torch.utils.data.RandomSampler` without replacement. Without a generator the default
 * generator is read at the start of each pass, so `manualSeed` before a pass fixes its order.
 * @example
 * const s = new RandomSampler(ds, { generator: new Generator(0) });
 * for (const i of s) console.log(i);
 */
export class RandomSampler extends IndexSampler {
  readonly generator: Generator | undefined;

  constructor(dataSource: { readonly length: number }, opts?: { generator?: Generator }) {
    super(dataSource);
    this.generator = opts?.generator;
  }

  /** The last pass's order, refilled by the next pass. */
  private reuse: Int32Array | null = null;

  /**
   * NOTE: one permutation buffer serves every pass. A fresh 40 KB array per epoch outlives many scavenges,
   * is promoted, and waits for a rare full GC: over 1,000 epochs of the seed program that alone grew RSS by
   * ~35 MB. The array is lent to one pass at a time: see release().
   */
  private lent = false;

  order(): Int32Array {
    const n = this.dataSource.length;
    // a pass still running (two iterators at once) keeps its order; the new pass gets its own array
    if (this.lent) return permuteInto(new Int32Array(n), this.generator);
    if (this.reuse === null || this.reuse.length !== n) this.reuse = new Int32Array(n);
    this.lent = true;
    return permuteInto(this.reuse, this.generator);
  }

  override release(order: Int32Array): void {
    if (order === this.reuse) this.lent = false;
  }
}

/**
 * Groups another sampler's indices into lists of `batchSize`, like `torch.utils.data.BatchSampler`; the
 * last, shorter list is kept unless `dropLast`.
 * @example
 * [...new BatchSampler(new SequentialSampler({ length: 5 }), 2, false)]; // [[0, 1], [2, 3], [4]]
 */
export class BatchSampler implements Sampler<number[]> {
  constructor(readonly sampler: Sampler, readonly batchSize: number, readonly dropLast: boolean) {
    if (!Number.isInteger(batchSize) || batchSize <= 0) {
      throw new Error(`[BatchSampler] batchSize should be a positive integer, got ${batchSize}`);
    }
  }

  get length(): number {
    const n = this.sampler.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  *[Symbol.iterator](): Iterator<number[]> {
    if (this.sampler instanceof IndexSampler) {
      const order = this.sampler.order();
      try {
        const end = this.dropLast ? order.length - (order.length % this.batchSize) : order.length;
        for (let at = 0; at < end; at += this.batchSize) {
          const batch: number[] = []; // packed, unlike `new Array(n)` (see src/shape.ts)
          for (let k = at, stop = Math.min(at + this.batchSize, end); k < stop; k++) batch.push(order[k]);
          yield batch;
        }
      } finally {
        this.sampler.release(order);
      }
      return;
    }
    let batch: number[] = [];
    for (const i of this.sampler) {
      batch.push(i);
      if (batch.length === this.batchSize) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0 && !this.dropLast) yield batch;
  }
}
