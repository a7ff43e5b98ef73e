// Tests for TensorDataset, Subset and randomSplit against PyTorch's semantics (expected values derived by hand).
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Generator, manualSeed, randperm, tensor, zeros, arange } from "../../src/index.js";
import { Dataset, TensorDataset, Subset, randomSplit } from "../../src/data/index.js";

class Range extends Dataset<number> {
  constructor(readonly length: number) { super(); }
  getItem(i: number): number { return i; }
}

describe("TensorDataset", () => {
  const x = tensor([[1, 2], [3, 4], [5, 6]]);
  const y = tensor([10, 11, 12], { dtype: "int32" });
  const ds = new TensorDataset(x, y);

  test("samples are rows of every tensor; length is the first dim", () => {
    assert.equal(ds.length, 3);
    const [xi, yi] = ds.getItem(1);
    assert.deepEqual(xi.shape, [2]);
    assert.deepEqual(xi.tolist(), [3, 4]);
    assert.deepEqual(yi.shape, []);
    assert.equal(yi.item(), 11);
    assert.equal(yi.dtype, "int32");
  });

  test("negative indices count from the end, as tensor indexing in Python", () => {
    assert.deepEqual(ds.getItem(-1)[0].tolist(), [5, 6]);
    assert.deepEqual(ds.getItem(-3)[0].tolist(), [1, 2]);
  });

  test("out-of-range and non-integer indices throw", () => {
    assert.throws(() => ds.getItem(3), { message: "[TensorDataset] index 3 is out of range for a dataset of length 3" });
    assert.throws(() => ds.getItem(-4), { message: "[TensorDataset] index -4 is out of range for a dataset of length 3" });
    assert.throws(() => ds.getItem(0.5), { message: "[TensorDataset] index 0.5 is out of range for a dataset of length 3" });
  });

  test("first dims must agree", () => {
    assert.throws(() => new TensorDataset(zeros(100, 2), zeros(99)), {
      message: "[TensorDataset] size mismatch between tensors: [100, 2] and [99]",
    });
  });

  test("needs at least one tensor of at least one dim", () => {
    assert.throws(() => new TensorDataset(), { message: "[TensorDataset] expected at least one tensor" });
    assert.throws(() => new TensorDataset(tensor(1)), { message: "[TensorDataset] tensors must have at least one dimension, got a 0-d tensor" });
  });
});

describe("Subset", () => {
  test("maps its indices onto the dataset, in the given order", () => {
    const s = new Subset(new Range(10), [7, 2, 5]);
    assert.equal(s.length, 3);
    assert.deepEqual([0, 1, 2].map((i) => s.getItem(i)), [7, 2, 5]);
    assert.equal(s.getItem(-1), 5);
  });

  test("negative indices into the dataset are normalised; bad ones fail at construction", () => {
    assert.deepEqual(new Subset(new Range(10), [-1, 0]).indices, [9, 0]);
    assert.throws(() => new Subset(new Range(10), [3, 10]), { message: "[Subset] index 10 is out of range for a dataset of length 10" });
  });

  test("accepts typed arrays and nests", () => {
    const inner = new Subset(new Range(10), Int32Array.from([9, 8, 7, 6]));
    const outer = new Subset(inner, [3, 0]);
    assert.deepEqual([outer.getItem(0), outer.getItem(1)], [6, 9]);
    assert.throws(() => outer.getItem(2), { message: "[Subset] index 2 is out of range for a dataset of length 2" });
  });
});

describe("randomSplit", () => {
  const lengthsOf = (n: number, lengths: number[]) => randomSplit(new Range(n), lengths, { generator: new Generator(0) }).map((s) => s.length);

  test("fractions are floored, then the remainder goes round-robin from the first split", () => {
    assert.deepEqual(lengthsOf(10, [0.8, 0.2]), [8, 2]);
    assert.deepEqual(lengthsOf(10, [0.3, 0.3, 0.4]), [3, 3, 4]);
    // floor(2.5) = 2, 2, floor(5) = 5: 1 left over -> split 0
    assert.deepEqual(lengthsOf(10, [0.25, 0.25, 0.5]), [3, 2, 5]);
    // floor(11 / 3) = 3 each: 2 left over -> splits 0 and 1
    assert.deepEqual(lengthsOf(11, [1 / 3, 1 / 3, 1 / 3]), [4, 4, 3]);
    assert.deepEqual(lengthsOf(7, [0.5, 0.5]), [4, 3]);
    assert.deepEqual(lengthsOf(3, [0.1, 0.9]), [1, 2]); // floors 0 and 2, the 1 left over goes to split 0
  });

  test("counts are used as given", () => {
    assert.deepEqual(lengthsOf(10, [3, 7]), [3, 7]);
    assert.deepEqual(lengthsOf(10, [0, 10]), [0, 10]);
  });

  test("the splits partition a randperm of the dataset, cut in order", () => {
    const splits = randomSplit(new Range(20), [5, 15], { generator: new Generator(123) });
    const perm = Array.from(randperm(20, { generator: new Generator(123) }).buf);
    assert.deepEqual(splits[0].indices, perm.slice(0, 5));
    assert.deepEqual(splits[1].indices, perm.slice(5));
    const all = [...splits[0].indices, ...splits[1].indices].sort((a, b) => a - b);
    assert.deepEqual(all, Array.from({ length: 20 }, (_, i) => i));
  });

  test("same seed, same split; the default generator is used without one", () => {
    const a = randomSplit(new Range(50), [0.5, 0.5], { generator: new Generator(9) });
    const b = randomSplit(new Range(50), [0.5, 0.5], { generator: new Generator(9) });
    assert.deepEqual(a[0].indices, b[0].indices);
    manualSeed(9);
    const c = randomSplit(new Range(50), [0.5, 0.5]);
    assert.deepEqual(c[0].indices, a[0].indices);
  });

  test("subsets read through to the dataset", () => {
    const ds = new TensorDataset(arange(0, 6, 1, { dtype: "float32" }).reshape(6, 1));
    const [s] = randomSplit(ds, [6], { generator: new Generator(1) });
    const perm = Array.from(randperm(6, { generator: new Generator(1) }).buf);
    assert.deepEqual(s.getItem(0)[0].tolist(), [perm[0]]);
  });

  test("errors: sums, negative or fractional counts, fractions out of range", () => {
    assert.throws(() => lengthsOf(10, [3, 6]), { message: "[randomSplit] sum of input lengths (9) does not equal the length of the input dataset (10)" });
    assert.throws(() => lengthsOf(10, [0.6, 0.6]), {
      message: "[randomSplit] length at index 0 must be a non-negative integer (or all lengths fractions summing to 1), got 0.6",
    });
    assert.throws(() => lengthsOf(10, [12, -2]), {
      message: "[randomSplit] length at index 1 must be a non-negative integer (or all lengths fractions summing to 1), got -2",
    });
    assert.throws(() => lengthsOf(10, [1.5, -0.5]), { message: "[randomSplit] fraction at index 0 is not between 0 and 1: 1.5" });
  });
});
