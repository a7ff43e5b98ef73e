// DataLoader: iterate a dataset in (shuffled) batches, with a copy-once fast path for tensor datasets.
import { Tensor } from "../tensor.js";
import { allocStorage, type Storage } from "../dtype.js";
import { contiguousStrides, numelOf } from "../shape.js";
import type { Generator } from "../random.js";
import { Dataset, Subset, TensorDataset, normIndex } from "./dataset.js";
import { BatchSampler, RandomSampler, SequentialSampler, type Sampler } from "./sampler.js";
import { defaultCollate, type Collated } from "./collate.js";

export interface DataLoaderOptions<T, B> {
  /** Samples per batch (default 1). */
  batchSize?: number;
  /** Draw a new random order every epoch (default false). Not allowed together with `sampler`. */
  shuffle?: boolean;
  /** Drop the last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
  /** Generator for the shuffle order; the default generator when omitted. */
  generator?: Generator;
  /** Merges a list of samples into a batch (default: defaultCollate). */
  collateFn?: (batch: T[]) => B;
  /** Custom order of sample indices; replaces the sequential/random sampler that `shuffle` picks. */
  sampler?: Sampler;
}

/**
 * Iterates a dataset in batches, like `torch.utils.data.DataLoader` (single process). Each `for...of` pass is
 * one epoch; with `shuffle` every epoch draws a new permutation from `generator` (or the default generator),
 * so equal seeds give equal batch orders. `length` is the number of batches, as `len(loader)`.
 *
 * A TensorDataset (or a Subset of one, as randomSplit makes) with the default collate takes a fast path: each
 * batch gathers its rows straight from the tensors' storage into one fresh typed array per tensor, making the
 * same batches as stacking the samples would, without a tensor per sample.
 * @example
 * const loader = new DataLoader(new TensorDataset(x, y), { batchSize: 16, shuffle: true, generator: new Generator(0) });
 * for (const [inputs, labels] of loader) {
 *   const loss = lossFn(model.forward(inputs), labels);
 * }
 */
export class DataLoader<T, B = Collated<T>> implements Iterable<B> {
  readonly dataset: Dataset<T>;
  readonly batchSize: number;
  readonly dropLast: boolean;
  readonly sampler: Sampler;
  readonly batchSampler: BatchSampler;
  readonly collateFn: ((batch: T[]) => B) | undefined;

  constructor(dataset: Dataset<T>, opts: DataLoaderOptions<T, B> = {}) {
    const { batchSize = 1, shuffle = false, dropLast = false } = opts;
    if (!Number.isInteger(batchSize) || batchSize <= 0) {
      throw new Error(`[DataLoader] batchSize should be a positive integer, got ${batchSize}`);
    }
    if (opts.sampler && shuffle) throw new Error("[DataLoader] sampler option is mutually exclusive with shuffle");
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.dropLast = dropLast;
    this.sampler = opts.sampler ?? (shuffle ? new RandomSampler(dataset, { generator: opts.generator }) : new SequentialSampler(dataset));
    this.batchSampler = new BatchSampler(this.sampler, batchSize, dropLast);
    this.collateFn = opts.collateFn;
  }

  /** Number of batches in one epoch. */
  get length(): number {
    return this.batchSampler.length;
  }

  *[Symbol.iterator](): Iterator<B> {
    const fetch = (this.collateFn === undefined && tensorBatchFetcher(this.dataset)) || this.genericFetcher();
    for (const indices of this.batchSampler) yield fetch(indices) as B;
  }

  private genericFetcher(): (indices: readonly number[]) => unknown {
    const collate = this.collateFn ?? defaultCollate;
    return (indices) => collate(indices.map((i) => this.dataset.getItem(i)));
  }
}

/**
 * The fast-path fetcher for a TensorDataset, possibly wrapped in Subsets, or null when the dataset is anything
 * else. Datasets are matched by their getItem method, not by class, so a subclass that overrides getItem
 * (to add a transform, say) keeps the generic path. Sources that require grad also keep the generic path,
 * whose stack records autograd. Resolved once per epoch, so storage swapped between epochs is picked up.
 */
function tensorBatchFetcher(dataset: Dataset<unknown>): ((indices: readonly number[]) => Tensor[]) | null {
  const subsets: Subset<unknown>[] = [];
  let base: Dataset<unknown> = dataset;
  while (base.getItem === Subset.prototype.getItem) {
    subsets.push(base as Subset<unknown>);
    base = (base as Subset<unknown>).dataset;
  }
  if (base.getItem !== TensorDataset.prototype.getItem) return null;
  const tensors = (base as TensorDataset).tensors;
  if (tensors.some((t) => t.requiresGrad)) return null;

  // Compose the Subset chain into one map from the outer dataset's indices to source rows.
  let map: Int32Array | null = null;
  for (let k = subsets.length - 1; k >= 0; k--) {
    const idx = subsets[k].indices;
    const inner: Int32Array | null = map;
    map = Int32Array.from(idx, (i) => (inner ? inner[i] : i));
  }
  const outerLength = dataset.length;
  const op = subsets.length > 0 ? "Subset" : "TensorDataset";
  const sources = tensors.map((t) => {
    const c = t.contiguous();
    const rowShape = c.shape.slice(1);
    return { buf: c.buf, offset: c.offset, rowShape, rowSize: numelOf(rowShape), dtype: c.dtype };
  });
  let rows = new Int32Array(0);

  return (indices) => {
    const n = indices.length;
    if (rows.length < n) rows = new Int32Array(n);
    for (let j = 0; j < n; j++) {
      let r = indices[j];
      // the common in-range case without a call; normIndex handles negative indices and raises the errors
      if (!(r >= 0 && r < outerLength && (r | 0) === r)) r = normIndex(r, outerLength, op);
      rows[j] = map ? map[r] : r;
    }
    const batch: Tensor[] = []; // built with push: `new Array(n)` is holey (see src/shape.ts)
    for (let k = 0; k < sources.length; k++) {
      const s = sources[k];
      const out = allocStorage(s.dtype, n * s.rowSize);
      gatherRows(s.buf, s.offset, s.rowSize, rows, n, out);
      const shape = [n, ...s.rowShape];
      batch.push(new Tensor(out, shape, contiguousStrides(shape), 0, s.dtype));
    }
    return batch;
  };
}

/** Copy rows rows[0..n) of a contiguous [N, rowSize] block starting at `offset` into `out`, back to back. */
function gatherRows(src: Storage, offset: number, rowSize: number, rows: Int32Array, n: number, out: Storage): void {
  if (rowSize === 1) {
    for (let j = 0; j < n; j++) out[j] = src[offset + rows[j]];
    return;
  }
  // An element loop rather than out.set(src.subarray(...)): subarray would allocate a view per sample.
  for (let j = 0, o = 0; j < n; j++) {
    const start = offset + rows[j] * rowSize;
    for (let e = 0; e < rowSize; e++, o++) out[o] = src[start + e];
  }
}
