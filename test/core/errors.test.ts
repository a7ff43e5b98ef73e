// Bad inputs throw an Error whose message starts with [opName] and names the shapes / dtypes involved.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  tensor, zeros, ones, cat, stack, where, pad, arange, linspace, randint, oneHot, autograd,
} from "../../src/index.js";

const i32 = { dtype: "int32" as const };

/** fn throws an Error whose message starts with `[op]` and contains every string in `mentions`. */
function throwsNamed(fn: () => unknown, op: string, mentions: string[] = []): void {
  let err: unknown = null;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof Error, `expected [${op}] to throw an Error`);
  const msg = (err as Error).message;
  assert.ok(msg.startsWith(`[${op}] `), `message should start with [${op}]: ${msg}`);
  for (const m of mentions) assert.ok(msg.includes(m), `message should mention "${m}": ${msg}`);
}

test("shape mismatches name both shapes", () => {
  throwsNamed(() => zeros(2, 3).add(zeros(4)), "add", ["[2, 3]", "[4]"]);
  throwsNamed(() => zeros(2, 3).mul(zeros(3, 3)), "mul", ["[2, 3]", "[3, 3]"]);
  throwsNamed(() => zeros(2).sub(zeros(3)), "sub", ["[2]", "[3]"]);
  throwsNamed(() => zeros(2, 3).matmul(zeros(4, 5)), "matmul", ["[2, 3]", "[4, 5]"]);
  throwsNamed(() => zeros(3).matmul(zeros(4)), "matmul", ["[3]", "[4]"]);
  // regression: the batch-broadcast failure named only the batch dims, not the operands
  throwsNamed(() => zeros(2, 2, 3).matmul(zeros(3, 3, 2)), "matmul", ["[2, 2, 3]", "[3, 3, 2]"]);
  throwsNamed(() => zeros([]).matmul(zeros(3)), "matmul", ["[]", "[3]"]);
  throwsNamed(() => zeros(3).mm(zeros(3, 3)), "mm", ["[3]", "[3, 3]"]);
  throwsNamed(() => zeros(2, 2, 3).bmm(zeros(3, 3, 2)), "bmm", ["[2, 2, 3]", "[3, 3, 2]"]);
  throwsNamed(() => zeros(3).dot(zeros(4)), "dot", ["[3]", "[4]"]);
  throwsNamed(() => zeros(2, 2).outer(zeros(2)), "outer", ["[2, 2]"]);
  throwsNamed(() => cat([zeros(2, 3), zeros(2, 4)]), "cat", ["[2, 3]", "[2, 4]"]);
  throwsNamed(() => cat([zeros(2, 3), zeros(3)], 0), "cat", ["[2, 3]", "[3]"]);
  throwsNamed(() => cat([]), "cat");
  throwsNamed(() => stack([zeros(2, 3), zeros(3, 2)]), "stack", ["[2, 3]", "[3, 2]"]);
  throwsNamed(() => zeros(2, 3).expand(4, 3), "expand", ["[2, 3]", "[4, 3]"]);
  throwsNamed(() => zeros(2, 3).expand(3), "expand", ["(1)", "(2)"]);
  throwsNamed(() => zeros(2, 3).reshape(4, 2), "reshape", ["[4, 2]", "[2, 3]"]);
  throwsNamed(() => zeros(2, 3).reshape(-1, -1), "reshape", ["[-1, -1]"]);
  throwsNamed(() => zeros(2, 3).reshape(-1, 4), "reshape", ["[-1, 4]", "[2, 3]"]);
  throwsNamed(() => zeros(2, 3).t().view(6), "view", ["[6]", "[3, 2]"]);
  throwsNamed(() => zeros(2, 6).unflatten(1, [4, 2]), "unflatten", ["[4, 2]", "[2, 6]"]);
  throwsNamed(() => where(tensor([true, false]), ones(3), ones(2)), "where", ["[2]", "[3]"]);
  throwsNamed(() => zeros(5).split([2, 2]), "split", ["[2, 2]", "size 5"]);
  throwsNamed(() => pad(zeros(2), [1]), "pad", ["[2]"]);
  // regression: over-cropping reported the internal [narrow]
  throwsNamed(() => pad(zeros(2), [-2, -1]), "pad", ["[-2, -1]", "size 2"]);
  throwsNamed(() => zeros(2, 3).repeat(2), "repeat");
  throwsNamed(() => zeros(3).tril(), "tril", ["[3]"]);
  throwsNamed(() => zeros(2, 2, 2).t(), "t", ["[2, 2, 2]"]);
  throwsNamed(() => zeros(2, 3).permute(0), "permute", ["[2, 3]"]);
  throwsNamed(() => zeros(2, 3).permute(0, 0), "permute", ["[0, 0]"]);
});

test("out-of-range dims and indices", () => {
  throwsNamed(() => zeros(2, 3).select(2, 0), "select", ["dim 2", "2 dimensions"]);
  throwsNamed(() => zeros(2, 3).select(0, 2), "select", ["index 2", "size 2", "[2, 3]"]);
  throwsNamed(() => zeros(2, 3).select(1, -4), "select", ["index -4"]);
  throwsNamed(() => zeros(4).narrow(0, 2, 3), "narrow", ["start 2", "length 3", "[4]"]);
  throwsNamed(() => zeros(4).narrow(1, 0, 1), "narrow", ["dim 1"]);
  throwsNamed(() => zeros(2, 3).transpose(0, 2), "transpose", ["dim 2", "2 dimensions"]);
  throwsNamed(() => zeros(2, 3).transpose(-3, 0), "transpose", ["dim -3"]);
  throwsNamed(() => zeros(2, 3).sum(2), "sum", ["dim 2"]);
  throwsNamed(() => zeros(2, 3).sum([0, 0]), "sum", ["multiple times"]);
  throwsNamed(() => zeros(2, 3).softmax(5), "softmax", ["dim 5"]);
  throwsNamed(() => zeros(2, 3).max(3), "max", ["dim 3"]);
  throwsNamed(() => zeros(2, 3).squeeze(3), "squeeze", ["dim 3"]);
  throwsNamed(() => zeros(2, 3).unsqueeze(4), "unsqueeze", ["dim 4"]);
  throwsNamed(() => zeros(2).flip(1), "flip", ["dim 1"]);
  throwsNamed(() => zeros(2, 3).flatten(1, 0), "flatten");
  throwsNamed(() => zeros(0, 3).amax(0), "max", ["size 0", "[0, 3]"]);
  throwsNamed(() => zeros(0).argmax(), "argmax", ["[0]"]);
  throwsNamed(() => zeros(2, 4).gather(1, tensor([[5]], i32)), "gather", ["index 5", "size 4"]);
  throwsNamed(() => zeros(2, 4).gather(1, tensor([[-1]], i32)), "gather", ["index -1"]);
  throwsNamed(() => zeros(2, 4).gather(2, tensor([[1]], i32)), "gather", ["dim 2"]);
  throwsNamed(() => zeros(2, 4).gather(1, tensor([1], i32)), "gather", ["[1]", "[2, 4]"]);
  throwsNamed(() => zeros(2, 4).gather(1, tensor([[1], [1], [1]], i32)), "gather", ["[3, 1]", "[2, 4]"]);
  throwsNamed(() => zeros(3).scatterAdd(0, tensor([3], i32), ones(1)), "scatterAdd", ["index 3", "size 3"]);
  // regression: reported as [gather], the op indexSelect is built on
  throwsNamed(() => zeros(3).indexSelect(0, tensor([3], i32)), "indexSelect", ["index 3", "size 3", "[3]"]);
  throwsNamed(() => zeros(3).indexSelect(0, tensor([[1]], i32)), "indexSelect", ["[1, 1]"]);
  throwsNamed(() => oneHot(tensor([3], i32), 2), "oneHot", ["3", "2"]);
  throwsNamed(() => oneHot(tensor([-1], i32), 2), "oneHot", ["-1"]);
  throwsNamed(() => zeros(3).slice(0, 0, 2, 0), "slice", ["step"]);
  // regressions: these returned undefined, flipped twice, or failed deep inside with a RangeError / [narrow]
  throwsNamed(() => zeros(2, 3).size(5), "size", ["dim 5"]);
  throwsNamed(() => zeros(3).flip(0, -1), "flip", ["dim 0", "multiple"]);
  throwsNamed(() => zeros(3).expand(-2, 3), "expand", ["-2", "[3]"]);
  throwsNamed(() => zeros(3).split([4, -1]), "split", ["[4, -1]"]);
  throwsNamed(() => zeros(3).repeat(-1), "repeat", ["[-1]", "[3]"]);
  throwsNamed(() => zeros(4).narrow(0, 0.5, 2), "narrow", ["0.5"]);
  throwsNamed(() => zeros(4).slice(0, 1.5), "slice", ["1.5"]);
});

test("item() on a multi-element tensor names the shape", () => {
  throwsNamed(() => zeros(2, 3).item(), "item", ["6 elements", "[2, 3]"]);
  throwsNamed(() => zeros(0).item(), "item", ["0 elements"]);
});

test("wrong dtypes name the dtype", () => {
  throwsNamed(() => where(zeros(2), ones(2), ones(2)), "where", ["float32"]);
  throwsNamed(() => where(tensor([1, 0], i32), ones(2), ones(2)), "where", ["int32"]);
  throwsNamed(() => ones(2).maskedFill(ones(2), 0), "maskedFill", ["float32"]);
  throwsNamed(() => zeros(2, 4).gather(1, tensor([[true]])), "gather", ["bool"]);
  // regression: a float index of 1.5 was silently truncated to 1
  throwsNamed(() => zeros(2, 4).gather(1, tensor([[1.5]])), "gather", ["1.5", "float32"]);
  throwsNamed(() => zeros(3).indexSelect(0, tensor([true])), "indexSelect", ["bool"]);
  throwsNamed(() => zeros(2, { dtype: "int32" }).mean(), "mean", ["int32"]);
  throwsNamed(() => zeros(2).to("int64" as never), "to", ["int64"]);
  throwsNamed(() => zeros(2, { dtype: "int32" }).requiresGrad_(), "requiresGrad_", ["int32"]);
  throwsNamed(() => tensor([true]).sub(tensor([true])), "sub", ["bool"]);
  throwsNamed(() => tensor([true]).neg(), "neg", ["bool"]);
  // regression: 2 ** -1 on int32 silently gave 0
  throwsNamed(() => tensor([2], i32).pow(-1), "pow", ["int32"]);
  throwsNamed(() => tensor([2], i32).pow(tensor([1, -2], i32)), "pow", ["[2]"]);
  // regression: integer floor division by zero returned 0 (Infinity cast to int32)
  throwsNamed(() => tensor([1], i32).div(tensor([0], i32), { roundingMode: "floor" }), "div", ["int32"]);
  // while float division by zero follows IEEE, as PyTorch
  assert.deepEqual(tensor([1, -1, 0]).div(0).tolist(), [Infinity, -Infinity, NaN]);
});

test("integer floor division is exact beyond float32's 2^24 (regression)", () => {
  const big = tensor([16777217, -16777217], i32);
  assert.deepEqual(big.div(1, { roundingMode: "floor" }).tolist(), [16777217, -16777217]);
  assert.deepEqual(big.div(2, { roundingMode: "trunc" }).tolist(), [8388608, -8388608]);
  assert.deepEqual(big.div(2, { roundingMode: "floor" }).tolist(), [8388608, -8388609]);
});

test("tensor() rejects ragged and non-numeric nested arrays", () => {
  throwsNamed(() => tensor([[1, 2], [3]] as never), "tensor", ["ragged", "data[1]"]);
  throwsNamed(() => tensor([[1, 2], 3] as never), "tensor", ["ragged", "data[1]"]);
  throwsNamed(() => tensor([1, [2]] as never), "tensor", ["ragged", "data[1]"]);
  throwsNamed(() => tensor(["a"] as never), "tensor", ["string"]);
  throwsNamed(() => tensor(new Float32Array(3), { shape: [2, 2] }), "tensor", ["[2, 2]", "3"]);
});

test("creation argument errors", () => {
  throwsNamed(() => zeros(-1), "zeros", ["-1"]);
  throwsNamed(() => ones(2.5), "ones", ["2.5"]);
  throwsNamed(() => arange(0, 1, 0), "arange", ["step"]);
  throwsNamed(() => linspace(0, 1, -1), "linspace", ["-1"]);
  throwsNamed(() => randint(3, 3, [2]), "randint", ["3"]);
  throwsNamed(() => zeros(5).chunk(0), "chunk", ["0"]);
  throwsNamed(() => zeros(2).clamp(), "clamp");
});

test("autograd misuse errors", () => {
  const x = ones(2).requiresGrad_();
  throwsNamed(() => x.mul(2).backward(), "backward", ["[2]"]);
  throwsNamed(() => x.mul(2).backward(ones(3)), "backward", ["[3]", "[2]"]);
  throwsNamed(() => autograd.grad(x.mul(2).sum(), [x], { gradOutputs: ones(2) }), "grad", ["[2]", "[]"]);
  throwsNamed(() => x.add_(1), "add_");
  throwsNamed(() => x.mul(2).requiresGrad_(), "requiresGrad_");
});
