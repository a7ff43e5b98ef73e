// Tests for defaultCollate: how each kind of sample value batches (as torch's default_collate), and its errors.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { tensor, Tensor } from "../../src/index.js";
import { defaultCollate } from "../../src/data/index.js";

describe("defaultCollate", () => {
  test("tensors are stacked along a new dim 0, keeping their dtype", () => {
    const b = defaultCollate([tensor([[1, 2]]), tensor([[3, 4]]), tensor([[5, 6]])]);
    assert.deepEqual(b.shape, [3, 1, 2]);
    assert.deepEqual(b.tolist(), [[[1, 2]], [[3, 4]], [[5, 6]]]);
    const ints = defaultCollate([tensor(1, { dtype: "int32" }), tensor(2, { dtype: "int32" })]);
    assert.equal(ints.dtype, "int32");
    assert.deepEqual(ints.shape, [2]);
  });

  test("numbers become float32 (as tensor() makes numbers), booleans bool, strings stay a list", () => {
    const n = defaultCollate([1, 2.5, 3]);
    assert.equal(n.dtype, "float32");
    assert.deepEqual(n.tolist(), [1, 2.5, 3]);
    const b = defaultCollate([true, false]);
    assert.equal(b.dtype, "bool");
    assert.deepEqual(b.tolist(), [true, false]);
    assert.deepEqual(defaultCollate(["a", "b"]), ["a", "b"]);
  });

  test("Float32/Float64/Int32 arrays stack like 1-D tensors of their dtype", () => {
    const f = defaultCollate([Float64Array.of(1, 2), Float64Array.of(3, 4)]);
    assert.equal(f.dtype, "float64");
    assert.deepEqual(f.tolist(), [[1, 2], [3, 4]]);
    assert.equal(defaultCollate([Int32Array.of(1), Int32Array.of(2)]).dtype, "int32");
  });

  test("tuples are collated position by position, objects key by key, recursively", () => {
    const batch = [
      { image: tensor([1, 1]), meta: { label: 0, tags: ["a", "x"] }, pair: [tensor(1), true] as [Tensor, boolean] },
      { image: tensor([2, 2]), meta: { label: 1, tags: ["b", "y"] }, pair: [tensor(2), false] as [Tensor, boolean] },
    ];
    const out = defaultCollate(batch);
    assert.deepEqual(out.image.tolist(), [[1, 1], [2, 2]]);
    assert.deepEqual(out.meta.label.tolist(), [0, 1]);
    assert.deepEqual(out.meta.tags, [["a", "b"], ["x", "y"]]);
    assert.deepEqual(out.pair[0].tolist(), [1, 2]);
    assert.deepEqual(out.pair[1].tolist(), [true, false]);
  });

  test("a list of [input, label] samples gives [inputs, labels]", () => {
    const [xs, ys] = defaultCollate([[tensor([1, 2]), 0], [tensor([3, 4]), 1]] as [Tensor, number][]);
    assert.deepEqual(xs.shape, [2, 2]);
    assert.deepEqual(ys.tolist(), [0, 1]);
  });

  test("errors", () => {
    assert.throws(() => defaultCollate([]), { message: "[defaultCollate] cannot collate an empty batch" });
    assert.throws(() => defaultCollate<unknown>([1, tensor(1)]), { message: "[defaultCollate] batch elements have mixed types: number and tensor" });
    assert.throws(() => defaultCollate([[1, 2], [3]]), {
      message: "[defaultCollate] each element in list of batch should be of equal size, got lengths 2 and 1",
    });
    assert.throws(() => defaultCollate<Record<string, number>>([{ a: 1 }, { b: 2 }]), { message: "[defaultCollate] key 'a' is missing from batch element 1" });
    assert.throws(() => defaultCollate([null]), {
      message: "[defaultCollate] batch must contain tensors, numbers, booleans, strings, Float32/Float64/Int32 arrays, arrays or plain objects; found null",
    });
    assert.throws(() => defaultCollate([new Map()]), { message: /found Map$/ });
    assert.throws(() => defaultCollate([tensor([1, 2]), tensor([1, 2, 3])]), { message: /^\[stack\]/ });
  });
});
