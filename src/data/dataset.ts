// Map-style datasets as torch.utils.data: the Dataset base, TensorDataset, Subset and randomSplit.
import { Tensor } from "../tensor.js";
import { fmtShape } from "../shape.js";
import { randperm } from "../ops/creation.js";
import type { Generator } from "../random.js";

/**
 * A map-style dataset: `length` samples, fetched by index with `getItem(i)`, like `torch.utils.data.Dataset`.
 * @example
 * class Squares extends Dataset<[number, number]> {
 *   readonly length = 10;
 *   getItem(i: number): [number, number] { return [i, i * i]; }
 * }
 */
export abstract class Dataset<T> {
  /** Number of samples, as `len(dataset)`. */
  abstract readonly length: number;
  /** The sample at index i (0 <= i < length; negative indices count from the end, as in Python). */
  abstract getItem(i: number): T;
}

/**
 * The non-negative form of index `i` into a sequence of `length` items, accepting Python's negative indices.
 * Shared by the datasets and the DataLoader's fast path so both reject the same indices with the same message.
 */
export function normIndex(i: number, length: number, op: string): number {
  if (!Number.isInteger(i) || i < -length || i >= length) {
    throw new Error(`[${op}] index ${i} is out of range for a dataset of length ${length}`);
  }
  return i < 0 ? i + length : i;
}

/**
 * Samples are the rows (index along dim 0) of the given tensors, like `torch.utils.data.TensorDataset`.
 * @example
 * const ds = new TensorDataset(x, y); // x: [100, 2], y: [100]
 * const [xi, yi] = ds.getItem(0);     // xi: [2], yi: []
 */
export class TensorDataset<T extends Tensor[] = Tensor[]> extends Dataset<T> {
  readonly tensors: T;

  constructor(...tensors: T) {
    super();
    if (tensors.length === 0) throw new Error("[TensorDataset] expected at least one tensor");
    for (const t of tensors) {
      if (!(t instanceof Tensor)) throw new Error(`[TensorDataset] expected tensors, got ${typeof t}`);
      if (t.ndim === 0) throw new Error("[TensorDataset] tensors must have at least one dimension, got a 0-d tensor");
      if (t.shape[0] !== tensors[0].shape[0]) {
        throw new Error(`[TensorDataset] size mismatch between tensors: ${fmtShape(tensors[0].shape)} and ${fmtShape(t.shape)}`);
      }
    }
    this.tensors = tensors;
  }

  get length(): number {
    return this.tensors[0].shape[0];
  }

  getItem(i: number): T {
    const r = normIndex(i, this.length, "TensorDataset");
    return this.tensors.map((t) => t.select(0, r)) as T;
  }
}

/**
 * The samples of `dataset` at `indices`, in that order, like `torch.utils.data.Subset`.
 * @example
 * const firstTen = new Subset(ds, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
 */
export class Subset<T> extends Dataset<T> {
  /** Non-negative indices into `dataset` (negative ones given to the constructor are normalised). */
  readonly indices: readonly number[];

  constructor(readonly dataset: Dataset<T>, indices: ArrayLike<number>) {
    super();
    const n = dataset.length;
    // Checked here rather than on access so a bad index fails when the subset is made, not mid-epoch.
    this.indices = Array.from(indices, (i) => normIndex(i, n, "Subset"));
  }

  get length(): number {
    return this.indices.length;
  }

  getItem(i: number): T {
    return this.dataset.getItem(this.indices[normIndex(i, this.indices.length, "Subset")]);
  }
}

/** math.isclose(a, b) with Python's default tolerances (rel_tol 1e-9, abs_tol 0). */
function isClose(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}

/**
 * Split a dataset into non-overlapping random subsets, like `torch.utils.data.random_split`. `lengths` are
 * counts summing to the dataset's length, or fractions summing to 1: each fraction is floored and the
 * leftover samples are then given one at a time to the splits in order (round-robin), as PyTorch does.
 * @example
 * const [train, test] = randomSplit(ds, [0.8, 0.2], { generator: new Generator(42) });
 */
export function randomSplit<T>(dataset: Dataset<T>, lengths: readonly number[], opts?: { generator?: Generator }): Subset<T>[] {
  const n = dataset.length;
  let counts = lengths.slice();
  const total = lengths.reduce((a, b) => a + b, 0);
  if (isClose(total, 1) && total <= 1) {
    counts = lengths.map((frac, i) => {
      if (!(frac >= 0 && frac <= 1)) throw new Error(`[randomSplit] fraction at index ${i} is not between 0 and 1: ${frac}`);
      return Math.floor(n * frac);
    });
    const remainder = n - counts.reduce((a, b) => a + b, 0);
    for (let i = 0; i < remainder; i++) counts[i % counts.length] += 1;
  } else {
    counts.forEach((c, i) => {
      if (!Number.isInteger(c) || c < 0) throw new Error(`[randomSplit] length at index ${i} must be a non-negative integer (or all lengths fractions summing to 1), got ${c}`);
    });
  }
  const sum = counts.reduce((a, b) => a + b, 0);
  if (sum !== n) throw new Error(`[randomSplit] sum of input lengths (${sum}) does not equal the length of the input dataset (${n})`);
  const perm = randperm(n, { generator: opts?.generator }).buf;
  let at = 0;
  return counts.map((c) => {
    const s = new Subset(dataset, perm.subarray(at, at + c));
    at += c;
    return s;
  });
}
