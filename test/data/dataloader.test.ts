// Tests for DataLoader and the samplers: batch counts, shuffling, determinism, and fast path ≡ generic path.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Generator, manualSeed, noGrad, randn, randperm, tensor, arange, randint, Tensor } from "../../src/index.js";
import {
  BatchSampler, DataLoader, Dataset, IndexSampler, RandomSampler, SequentialSampler, Subset, TensorDataset, defaultCollate, randomSplit, type Sampler,
} from "../../src/data/index.js";

/** A TensorDataset whose single float32 column holds each row's index, to read batch orders back. */
function indexDataset(n: number): TensorDataset<[Tensor, Tensor]> {
  return new TensorDataset(arange(0, n, 1, { dtype: "float32" }).reshape(n, 1), arange(0, n, 1));
}

/** Row indices of every batch of one epoch, from the index column. */
function epochOrder(loader: Iterable<Tensor[]>): number[][] {
  return [...loader].map((b) => Array.from(b[1].toTypedArray()));
}

/** Forces the generic path (any collateFn does), with the default collate's result. */
const viaGeneric = <T,>(batch: T[]) => defaultCollate(batch);

function assertSameBatches(a: Iterable<unknown[]>, b: Iterable<unknown[]>): void {
  const ea = [...a], eb = [...b];
  assert.equal(ea.length, eb.length);
  ea.forEach((batch, i) => {
    batch.forEach((t, k) => {
      const u = eb[i][k] as Tensor, v = t as Tensor;
      assert.equal(v.dtype, u.dtype, `batch ${i} tensor ${k} dtype`);
      assert.deepEqual(v.shape, u.shape, `batch ${i} tensor ${k} shape`);
      assert.deepEqual(v.tolist(), u.tolist(), `batch ${i} tensor ${k} values`);
    });
  });
}

describe("DataLoader batching", () => {
  test("length is the number of batches, with and without dropLast", () => {
    const ds = indexDataset(10);
    assert.equal(new DataLoader(ds, { batchSize: 3 }).length, 4);
    assert.equal(new DataLoader(ds, { batchSize: 3, dropLast: true }).length, 3);
    assert.equal(new DataLoader(ds, { batchSize: 5 }).length, 2);
    assert.equal(new DataLoader(ds, { batchSize: 5, dropLast: true }).length, 2);
    assert.equal(new DataLoader(ds, { batchSize: 20 }).length, 1);
    assert.equal(new DataLoader(ds, { batchSize: 20, dropLast: true }).length, 0);
    assert.equal(new DataLoader(ds).length, 10);
  });

  test("batches follow the dataset order without shuffle; the last may be short", () => {
    const loader = new DataLoader(indexDataset(10), { batchSize: 3 });
    assert.deepEqual(epochOrder(loader), [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]);
    const dropped = new DataLoader(indexDataset(10), { batchSize: 3, dropLast: true });
    assert.deepEqual(epochOrder(dropped), [[0, 1, 2], [3, 4, 5], [6, 7, 8]]);
    assert.equal([...loader].length, loader.length);
    assert.equal([...dropped].length, dropped.length);
  });

  test("batch tensors have a leading batch dim and keep the dtype", () => {
    const x = randn([7, 3, 2], { generator: new Generator(0) });
    const y = randint(0, 4, [7]);
    const [[xb, yb]] = new DataLoader(new TensorDataset(x, y), { batchSize: 4 });
    assert.deepEqual(xb.shape, [4, 3, 2]);
    assert.deepEqual(yb.shape, [4]);
    assert.equal(yb.dtype, "int32");
    assert.deepEqual(xb.tolist(), x.narrow(0, 0, 4).tolist());
  });

  test("options are checked", () => {
    const ds = indexDataset(4);
    assert.throws(() => new DataLoader(ds, { batchSize: 0 }), { message: "[DataLoader] batchSize should be a positive integer, got 0" });
    assert.throws(() => new DataLoader(ds, { batchSize: 1.5 }), { message: "[DataLoader] batchSize should be a positive integer, got 1.5" });
    assert.throws(() => new DataLoader(ds, { shuffle: true, sampler: new SequentialSampler(ds) }), {
      message: "[DataLoader] sampler option is mutually exclusive with shuffle",
    });
  });
});

describe("DataLoader shuffling", () => {
  test("every epoch covers every index exactly once, in a new order", () => {
    const n = 103;
    const loader = new DataLoader(indexDataset(n), { batchSize: 10, shuffle: true, generator: new Generator(5) });
    const e1 = epochOrder(loader).flat(), e2 = epochOrder(loader).flat();
    const all = Array.from({ length: n }, (_, i) => i);
    assert.deepEqual([...e1].sort((a, b) => a - b), all);
    assert.deepEqual([...e2].sort((a, b) => a - b), all);
    assert.notDeepEqual(e1, e2);
  });

  test("each epoch's order is the next randperm of the generator", () => {
    const loader = new DataLoader(indexDataset(30), { batchSize: 8, shuffle: true, generator: new Generator(11) });
    const g = new Generator(11);
    for (let epoch = 0; epoch < 3; epoch++) {
      assert.deepEqual(epochOrder(loader).flat(), Array.from(randperm(30, { generator: g }).buf));
    }
  });

  test("identical seeds give identical batch orders, epoch after epoch", () => {
    const a = new DataLoader(indexDataset(50), { batchSize: 16, shuffle: true, generator: new Generator(42) });
    const b = new DataLoader(indexDataset(50), { batchSize: 16, shuffle: true, generator: new Generator(42) });
    for (let epoch = 0; epoch < 3; epoch++) assert.deepEqual(epochOrder(a), epochOrder(b));
  });

  test("without a generator, manualSeed fixes the order", () => {
    const loader = new DataLoader(indexDataset(40), { batchSize: 16, shuffle: true });
    manualSeed(3);
    const first = epochOrder(loader);
    manualSeed(3);
    assert.deepEqual(epochOrder(loader), first);
  });

  test("dropLast drops the short batch of the shuffled order", () => {
    const loader = new DataLoader(indexDataset(10), { batchSize: 4, shuffle: true, dropLast: true, generator: new Generator(2) });
    const perm = Array.from(randperm(10, { generator: new Generator(2) }).buf);
    assert.deepEqual(epochOrder(loader), [perm.slice(0, 4), perm.slice(4, 8)]);
  });
});

describe("DataLoader fast path", () => {
  const g = new Generator(7);
  const x = randn([37, 3], { generator: g });
  const y = randint(0, 5, [37], { generator: g });
  const mask = randn([37, 2, 2], { generator: g }).gt(0);
  const w = randn([37, 1], { generator: g, dtype: "float64" });

  for (const [name, opts] of [
    ["sequential", { batchSize: 5 }],
    ["sequential, dropLast", { batchSize: 5, dropLast: true }],
    ["shuffled", { batchSize: 8, shuffle: true }],
    ["shuffled, dropLast", { batchSize: 8, shuffle: true, dropLast: true }],
    ["batch of 1", { batchSize: 1, shuffle: true }],
  ] as const) {
    test(`same batches as stacking samples: ${name}`, () => {
      const ds = new TensorDataset(x, y, mask, w);
      const fast = new DataLoader(ds, { ...opts, generator: new Generator(1) });
      const slow = new DataLoader(ds, { ...opts, generator: new Generator(1), collateFn: viaGeneric });
      for (let epoch = 0; epoch < 2; epoch++) assertSameBatches(fast, slow);
    });
  }

  test("same batches for Subsets (as randomSplit makes) and nested Subsets", () => {
    const ds = new TensorDataset(x, y);
    const [train] = randomSplit(ds, [0.7, 0.3], { generator: new Generator(4) });
    const nested = new Subset(train, [5, 0, 3, 3, 9, 1]);
    for (const d of [train, nested]) {
      const fast = new DataLoader(d, { batchSize: 4, shuffle: true, generator: new Generator(8) });
      const slow = new DataLoader(d, { batchSize: 4, shuffle: true, generator: new Generator(8), collateFn: viaGeneric });
      assertSameBatches(fast, slow);
    }
  });

  test("same batches for non-contiguous sources", () => {
    const ds = new TensorDataset(randn([4, 9], { generator: g }).t(), x.narrow(0, 0, 9).narrow(1, 1, 2));
    assertSameBatches(new DataLoader(ds, { batchSize: 4 }), new DataLoader(ds, { batchSize: 4, collateFn: viaGeneric }));
  });

  test("is taken for TensorDataset with the default collate: no per-sample getItem", () => {
    const original = TensorDataset.prototype.getItem;
    let calls = 0;
    TensorDataset.prototype.getItem = function (this: TensorDataset, i: number) {
      calls++;
      return original.call(this, i);
    };
    try {
      const ds = new TensorDataset(x, y);
      for (const _ of new DataLoader(ds, { batchSize: 8, shuffle: true })) { /* drain */ }
      assert.equal(calls, 0);
      for (const _ of new DataLoader(ds, { batchSize: 8, collateFn: viaGeneric })) { /* drain */ }
      assert.equal(calls, 37);
    } finally {
      TensorDataset.prototype.getItem = original;
    }
  });

  test("batches are fresh copies: changing a batch leaves the dataset alone", () => {
    const src = tensor([[1], [2], [3]]);
    const [[b]] = new DataLoader(new TensorDataset(src), { batchSize: 3 });
    noGrad(() => b.fill_(0));
    assert.deepEqual(src.tolist(), [[1], [2], [3]]);
  });

  test("sees in-place updates to the source between epochs", () => {
    const src = tensor([[1], [2]]);
    const loader = new DataLoader(new TensorDataset(src), { batchSize: 2 });
    assert.deepEqual([...loader][0][0].tolist(), [[1], [2]]);
    noGrad(() => src.mul_(10));
    assert.deepEqual([...loader][0][0].tolist(), [[10], [20]]);
  });

  test("a subclass that overrides getItem keeps the generic path", () => {
    class Doubled extends TensorDataset<[Tensor]> {
      override getItem(i: number): [Tensor] {
        return [super.getItem(i)[0].mul(2)];
      }
    }
    const [[b]] = new DataLoader(new Doubled(tensor([1, 2, 3])), { batchSize: 3 });
    assert.deepEqual(b.tolist(), [2, 4, 6]);
  });

  test("sources that require grad keep the generic path, whose stack records autograd", () => {
    const p = tensor([[1, 2], [3, 4]], { requiresGrad: true });
    const [[b]] = new DataLoader(new TensorDataset(p), { batchSize: 2 });
    assert.equal(b.requiresGrad, true);
  });

  test("rejects bad sampler indices with the dataset's own message; negative ones count from the end", () => {
    const ds = indexDataset(10);
    const sampler = (order: number[]): Sampler => ({ length: order.length, [Symbol.iterator]: () => order[Symbol.iterator]() });
    assert.deepEqual(epochOrder(new DataLoader(ds, { batchSize: 2, sampler: sampler([-1, 0]) })), [[9, 0]]);
    for (const collateFn of [undefined, (batch: [Tensor, Tensor][]) => defaultCollate(batch)]) {
      const loader = new DataLoader(ds, { batchSize: 2, sampler: sampler([1, 10]), collateFn });
      assert.throws(() => [...loader], { message: "[TensorDataset] index 10 is out of range for a dataset of length 10" });
      const sub = new DataLoader(new Subset(ds, [1, 2, 3]), { batchSize: 2, sampler: sampler([3]), collateFn });
      assert.throws(() => [...sub], { message: "[Subset] index 3 is out of range for a dataset of length 3" });
    }
  });
});

describe("DataLoader with other datasets", () => {
  class Squares extends Dataset<{ x: number; pair: [number, boolean]; name: string }> {
    readonly length = 5;
    getItem(i: number) {
      return { x: i * i, pair: [i, i % 2 === 0] as [number, boolean], name: `s${i}` };
    }
  }

  test("the default collate batches nested samples", () => {
    const batches = [...new DataLoader(new Squares(), { batchSize: 2 })];
    assert.equal(batches.length, 3);
    const b = batches[0];
    assert.deepEqual(b.x.tolist(), [0, 1]);
    assert.equal(b.x.dtype, "float32");
    assert.deepEqual(b.pair[0].tolist(), [0, 1]);
    assert.deepEqual(b.pair[1].tolist(), [true, false]);
    assert.deepEqual(b.name, ["s0", "s1"]);
    assert.deepEqual(batches[2].name, ["s4"]);
  });

  test("a custom collateFn receives the samples of each batch", () => {
    const loader = new DataLoader(new Squares(), { batchSize: 3, collateFn: (batch) => batch.map((s) => s.name).join("+") });
    assert.deepEqual([...loader], ["s0+s1+s2", "s3+s4"]);
  });

  test("a custom sampler sets the order", () => {
    const loader = new DataLoader(new Squares(), { batchSize: 2, sampler: { length: 3, *[Symbol.iterator]() { yield* [4, 2, 0]; } } });
    assert.deepEqual([...loader].map((b) => b.name), [["s4", "s2"], ["s0"]]);
    assert.equal(loader.length, 2);
  });
});

describe("samplers", () => {
  const source = { length: 7 };

  test("SequentialSampler yields 0..n-1", () => {
    const s = new SequentialSampler(source);
    assert.deepEqual([...s], [0, 1, 2, 3, 4, 5, 6]);
    assert.equal(s.length, 7);
  });

  test("RandomSampler yields a fresh randperm every pass", () => {
    const s = new RandomSampler(source, { generator: new Generator(3) });
    const g = new Generator(3);
    assert.deepEqual([...s], Array.from(randperm(7, { generator: g }).buf));
    assert.deepEqual([...s], Array.from(randperm(7, { generator: g }).buf));
    assert.equal(s.length, 7);
  });

  test("RandomSampler reuses one order buffer across passes, but two passes at once get their own orders", () => {
    const s = new RandomSampler({ length: 50 }, { generator: new Generator(3) });
    const a = s[Symbol.iterator]();
    const firstOfA = [a.next().value as number];
    const b = [...s]; // a second pass while the first is still running
    for (let r = a.next(); !r.done; r = a.next()) firstOfA.push(r.value);
    const sorted = (xs: number[]) => xs.slice().sort((x, y) => x - y);
    const all = Array.from({ length: 50 }, (_, i) => i);
    assert.deepEqual(sorted(firstOfA), all, "the interrupted pass still yields a permutation");
    assert.deepEqual(sorted(b), all);
    assert.notDeepEqual(firstOfA, b);
    // sequential passes keep following the generator's randperm stream
    const g = new Generator(3);
    const s2 = new RandomSampler({ length: 50 }, { generator: new Generator(3) });
    for (let e = 0; e < 3; e++) assert.deepEqual([...s2], Array.from(randperm(50, { generator: g }).toTypedArray()));
  });

  test("BatchSampler groups any sampler's indices, keeping or dropping the short tail", () => {
    const custom: Sampler = { length: 5, *[Symbol.iterator]() { yield* [4, 3, 2, 1, 0]; } };
    assert.deepEqual([...new BatchSampler(custom, 2, false)], [[4, 3], [2, 1], [0]]);
    assert.deepEqual([...new BatchSampler(custom, 2, true)], [[4, 3], [2, 1]]);
    assert.deepEqual([...new BatchSampler(new SequentialSampler(source), 3, false)], [[0, 1, 2], [3, 4, 5], [6]]);
    assert.deepEqual([...new BatchSampler(new SequentialSampler(source), 3, true)], [[0, 1, 2], [3, 4, 5]]);
    assert.equal(new BatchSampler(custom, 2, false).length, 3);
    assert.equal(new BatchSampler(custom, 2, true).length, 2);
    assert.throws(() => new BatchSampler(custom, 0, false), { message: "[BatchSampler] batchSize should be a positive integer, got 0" });
  });

  test("an IndexSampler subclass supplies a whole pass's order", () => {
    class Reversed extends IndexSampler {
      order(): Int32Array { return Int32Array.from({ length: this.length }, (_, i) => this.length - 1 - i); }
    }
    const ds = indexDataset(5);
    assert.deepEqual([...new Reversed(ds)], [4, 3, 2, 1, 0]);
    assert.deepEqual(epochOrder(new DataLoader(ds, { batchSize: 2, sampler: new Reversed(ds) })), [[4, 3], [2, 1], [0]]);
  });

  test("BatchSampler over a RandomSampler cuts the pass's permutation", () => {
    const batches = [...new BatchSampler(new RandomSampler(source, { generator: new Generator(6) }), 3, false)];
    const perm = Array.from(randperm(7, { generator: new Generator(6) }).buf);
    assert.deepEqual(batches, [perm.slice(0, 3), perm.slice(3, 6), perm.slice(6)]);
  });
});
