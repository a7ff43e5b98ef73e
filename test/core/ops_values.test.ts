// Hand-derived values for every op family, dtype promotion, broadcasting, views, creation and printing.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Tensor, tensor, zeros, ones, full, empty, arange, linspace, eye, randperm, randint, zerosLike, onesLike, fullLike,
  noGrad, cat, stack, pad, where, oneHot, matmul, Generator, type DType, type NestedArray,
} from "../../src/index.js";

const f64 = { dtype: "float64" as const };

/** Nested values of `t` equal `expected` within `tol` (shape taken from the nesting). */
function close(t: Tensor, expected: NestedArray, tol = 1e-6): void {
  const shape: number[] = [];
  for (let p: NestedArray = expected; Array.isArray(p); p = p[0]) shape.push(p.length);
  assert.deepEqual(t.shape, shape, `shape ${JSON.stringify(t.shape)} vs expected ${JSON.stringify(shape)}`);
  const flat = (Array.isArray(expected) ? (expected as unknown[]).flat(Infinity) : [expected]) as number[];
  const got = Array.from(t.toTypedArray() as ArrayLike<number>);
  got.forEach((v, i) => {
    const e = Number(flat[i]);
    const ok = Number.isNaN(e) ? Number.isNaN(v) : v === e || Math.abs(v - e) <= tol * Math.max(1, Math.abs(e));
    assert.ok(ok, `element ${i}: got ${v}, expected ${e} (all: ${got})`);
  });
}

// ---- elementwise ------------------------------------------------------------------------------------

test("unary math values", () => {
  close(tensor([0, 1], f64).exp(), [1, Math.E]);
  close(tensor([1, Math.E], f64).log(), [0, 1]);
  close(tensor([0, 1e-10], f64).log1p(), [0, 1e-10], 1e-15);
  close(tensor([4, 9], f64).sqrt(), [2, 3]);
  close(tensor([4, 0.25], f64).rsqrt(), [0.5, 2]);
  close(tensor([8, 0.5], f64).log2(), [3, -1]);
  close(tensor([0, Math.PI / 2], f64).sin(), [0, 1]);
  close(tensor([0, Math.PI], f64).cos(), [1, -1]);
  close(tensor([0, 100, -100], f64).tanh(), [0, 1, -1]);
  close(tensor([0, 800, -800], f64).sigmoid(), [0.5, 1, 0]);
  close(tensor([0, 1, -2, 3.5, 7], f64).erf(), [0, 0.8427007929497149, -0.9953222650189527, 0.9999992569016276, 1], 1e-13);
  close(tensor([-2, 0, 3]).neg(), [2, -0, -3]);
  close(tensor([-2, 0, 3]).abs(), [2, 0, 3]);
  close(tensor([-2, 0, 3, NaN]).sign(), [-1, 0, 1, NaN]);
  close(tensor([-2, 0, 3, NaN]).relu(), [0, 0, 3, NaN]);
  close(tensor([-1.5, 1.5, 2]).floor(), [-2, 1, 2]);
  // round half to even, as torch.round
  close(tensor([0.5, 1.5, 2.5, -0.5, -1.5, 2.4, -2.6]).round(), [0, 2, 2, -0, -2, 2, -3]);
  close(tensor([3, -0.5]).square(), [9, 0.25]);
  close(tensor([4, -0.5]).reciprocal(), [0.25, -2]);
});

test("activation values", () => {
  close(tensor([-2, 0, 3]).leakyRelu(), [-0.02, 0, 3]);
  close(tensor([-2, 3]).leakyRelu(0.5), [-1, 3]);
  close(tensor([1, -0.5], f64).gelu(), [0.841344746068543, -0.15426876936299344], 1e-13);
  close(tensor([1, -0.5], f64).gelu({ approximate: "tanh" }), [0.8411919906082768, -0.15428599017485606], 1e-13);
  close(tensor([1, 0], f64).silu(), [1 / (1 + Math.exp(-1)), 0], 1e-14);
  close(tensor([0, 30, -30], f64).softplus(), [Math.LN2, 30, Math.log1p(Math.exp(-30))], 1e-14);
  // beta scales inside, threshold compares beta * x
  close(tensor([0.6, 0.4], f64).softplus({ beta: 2, threshold: 1 }), [0.6, Math.log1p(Math.exp(0.8)) / 2], 1e-14);
  close(tensor([-1, 0.2, 3]).clamp(0, 1), [0, 0.2, 1]);
  close(tensor([-1, 0.2, 3]).clamp(null, 0.5), [-1, 0.2, 0.5]);
  close(tensor([-1, 0.2, 3]).clip(tensor([0, 0.5, 0])), [0, 0.5, 3]);
  assert.throws(() => tensor([1]).clamp(), /^Error: \[clamp\]/);
  // regression: with min > max every element is max, as torch.clamp (the max test compared x, not the result)
  close(tensor([0, 2, 5]).clamp(3, 1), [1, 1, 1]);
});

test("binary ops with broadcasting and scalars", () => {
  close(tensor([[1], [2]]).add(tensor([10, 20, 30])), [[11, 21, 31], [12, 22, 32]]);
  close(tensor([1, 2]).add(tensor([1, 1]), { alpha: 3 }), [4, 5]);
  close(tensor([1, 2]).sub(tensor([1, 1]), { alpha: 2 }), [-1, 0]);
  close(tensor([1, 2]).rsub(10), [9, 8]);
  close(tensor([[1, 2], [3, 4]]).mul(tensor([[10], [100]])), [[10, 20], [300, 400]]);
  close(tensor([1, 3]).div(2), [0.5, 1.5]);
  close(tensor([-7, 7]).div(2, { roundingMode: "floor" }), [-4, 3]);
  close(tensor([-7, 7]).div(2, { roundingMode: "trunc" }), [-3, 3]);
  const q = tensor([-7, 7], { dtype: "int32" }).div(tensor([2, 2], { dtype: "int32" }), { roundingMode: "floor" });
  assert.equal(q.dtype, "int32");
  assert.deepEqual(q.tolist(), [-4, 3]);
  close(tensor([2, 4, 9]).pow(tensor([3, 0.5, 0])), [8, 2, 1]);
  close(tensor([2, -3]).pow(2), [4, 9]);
  close(tensor([1, 5, NaN]).maximum(tensor([3, 2, 0])), [3, 5, NaN]);
  close(tensor([1, 5, NaN]).minimum(tensor([3, 2, 0])), [1, 2, NaN]);
  close(tensor([1, 5]).max(tensor([3, 2])), [3, 5]);
  close(tensor([1, 5]).min(tensor([3, 2])), [1, 2]);
  // int32 arithmetic wraps like the hardware type rather than going through float
  const big = tensor([65536], { dtype: "int32" });
  assert.deepEqual(big.mul(65537).tolist(), [65536]);
});

test("comparisons and logical ops give bool", () => {
  const a = tensor([1, 2, 3]), b = tensor([3, 2, 1]);
  assert.deepEqual(a.eq(b).tolist(), [false, true, false]);
  assert.deepEqual(a.ne(b).tolist(), [true, false, true]);
  assert.deepEqual(a.lt(b).tolist(), [true, false, false]);
  assert.deepEqual(a.le(b).tolist(), [true, true, false]);
  assert.deepEqual(a.gt(2).tolist(), [false, false, true]);
  assert.deepEqual(a.ge(2).tolist(), [false, true, true]);
  assert.deepEqual(tensor([NaN]).eq(tensor([NaN])).tolist(), [false]);
  for (const t of [a.eq(b), a.gt(2), a.logicalNot()]) assert.equal(t.dtype, "bool");
  const p = tensor([true, true, false, false]), r = tensor([true, false, true, false]);
  assert.deepEqual(p.logicalAnd(r).tolist(), [true, false, false, false]);
  assert.deepEqual(p.logicalOr(r).tolist(), [true, true, true, false]);
  assert.deepEqual(tensor([0, 2, -1]).logicalNot().tolist(), [true, false, false]);
});

test("bool arithmetic stays 0/1: add is logical or; sub and neg are errors (regression)", () => {
  // regression: 1 + 1 = 2 was stored in the bool tensor, so eq(1) and sums disagreed with tolist()
  const s = tensor([true, false, true]).add(tensor([true, false, false]));
  assert.equal(s.dtype, "bool");
  assert.deepEqual(Array.from(s.toTypedArray()), [1, 0, 1]);
  assert.equal(s.sum().item(), 2);
  assert.equal(tensor([true]).mul(tensor([true])).item(), 1);
  assert.throws(() => tensor([true]).sub(tensor([false])), /^Error: \[sub\] subtraction of two bool tensors/);
  assert.throws(() => tensor([true]).neg(), /^Error: \[neg\] negation of a bool tensor/);
});

test("where and maskedFill", () => {
  const c = tensor([true, false, true]);
  close(where(c, tensor([1, 2, 3]), tensor([10, 20, 30])), [1, 20, 3]);
  close(where(c, tensor([[1], [2]]), 0), [[1, 0, 1], [2, 0, 2]]);
  close(tensor([1, 2, 3]).where(c, -1), [1, -1, 3]);
  close(tensor([[1, 2], [3, 4]]).maskedFill(tensor([false, true]), 9), [[1, 9], [3, 9]]);
  // regression: the result took the value's dtype; torch.masked_fill keeps x's (the value is cast)
  const mi = tensor([1, 5], { dtype: "int32" }).maskedFill(tensor([true, false]), 1.5);
  assert.equal(mi.dtype, "int32");
  assert.deepEqual(mi.tolist(), [1, 5]);
  assert.equal(tensor([1, 2]).maskedFill(tensor([true, false]), tensor(3, { dtype: "float64" })).dtype, "float32");
});

// ---- reductions --------------------------------------------------------------------------------------

test("sum / mean / prod over one, several and all dims", () => {
  const x = arange(24).reshape(2, 3, 4).double();
  close(x.sum(), 276);
  close(x.sum(0), [[12, 14, 16, 18], [20, 22, 24, 26], [28, 30, 32, 34]]);
  close(x.sum([0, 2]), [60, 92, 124]);
  close(x.sum([0, 2], { keepdim: true }), [[[60], [92], [124]]]);
  close(x.sum(-1), [[6, 22, 38], [54, 70, 86]]);
  close(x.mean(), 11.5);
  close(x.mean(1), [[4, 5, 6, 7], [16, 17, 18, 19]]);
  close(x.mean([1, 2], { keepdim: true }), [[[5.5]], [[17.5]]]);
  close(tensor([[1, 2], [3, 4]]).prod(), 24);
  close(tensor([[1, 2], [3, 4]]).prod(1), [2, 12]);
  close(tensor([[1, 0], [3, 4]]).prod(0, { keepdim: true }), [[3, 0]]);
  // an empty reduction is the identity
  close(zeros([0, 3]).sum(0), [0, 0, 0]);
  close(zeros([0, 3]).prod(0), [1, 1, 1]);
});

test("reduction dtypes: int and bool sums are int32, mean of ints throws", () => {
  assert.equal(tensor([1, 2], { dtype: "int32" }).sum().dtype, "int32");
  const b = tensor([true, true, false]).sum();
  assert.equal(b.dtype, "int32");
  assert.equal(b.item(), 2);
  assert.equal(tensor([1, 2], { dtype: "int32" }).sum(0, { dtype: "float64" }).dtype, "float64");
  assert.throws(() => tensor([1, 2], { dtype: "int32" }).mean(), /^Error: \[mean\] .*int32/);
  close(tensor([1, 2], { dtype: "int32" }).mean(null, { dtype: "float32" }), 1.5);
});

test("amax / amin / max / min / argmax / argmin", () => {
  const x = tensor([[1, 5, 2], [7, 0, 7]]);
  close(x.amax(), 7);
  close(x.amax(1), [5, 7]);
  close(x.amin(0, { keepdim: true }), [[1, 0, 2]]);
  close(x.max(), 7);
  close(x.min(), 0);
  const m = x.max(1);
  assert.ok(m.values instanceof Tensor && m.indices instanceof Tensor);
  close(m.values, [5, 7]);
  // ties: the first index, as PyTorch on CPU
  assert.deepEqual(m.indices.tolist(), [1, 0]);
  assert.equal(m.indices.dtype, "int32");
  const k = x.min(0, { keepdim: true });
  close(k.values, [[1, 0, 2]]);
  assert.deepEqual(k.indices.tolist(), [[0, 1, 0]]);
  assert.deepEqual(x.argmax(1).tolist(), [1, 0]);
  assert.equal(x.argmax().item(), 3);
  assert.equal(x.argmin().item(), 4);
  // regression: keepdim with dim=null keeps every dim as size 1, as torch.argmax(dim=None, keepdim=True)
  assert.deepEqual(x.argmax(null, { keepdim: true }).shape, [1, 1]);
  assert.deepEqual(x.argmax(null, { keepdim: true }).tolist(), [[3]]);
  assert.deepEqual(x.argmin(0, { keepdim: true }).tolist(), [[0, 1, 0]]);
  assert.deepEqual(tensor([1, NaN, 3]).argmax().item(), 1);
  close(tensor([1, NaN, 3]).amax(), NaN);
});

test("var / std / logsumexp / norm / softmax / logSoftmax", () => {
  const x = tensor([1, 2, 3, 4], f64);
  close(x.var(), 5 / 3, 1e-14);
  close(x.var(0, { correction: 0 }), 1.25, 1e-14);
  close(x.var(0, { unbiased: false }), 1.25, 1e-14);
  close(x.std(), Math.sqrt(5 / 3), 1e-14);
  close(tensor([[1, 3], [2, 2]], f64).var(1, { keepdim: true }), [[2], [0]]);
  close(tensor([0, Math.log(3)], f64).logsumexp(0), Math.log(4), 1e-14);
  close(tensor([1000, 1000], f64).logsumexp(0), 1000 + Math.LN2, 1e-14);
  close(tensor([-Infinity, -Infinity]).logsumexp(0), -Infinity);
  close(tensor([Infinity, 1]).logsumexp(0), Infinity);
  close(tensor([[0, 0], [1, 1]], f64).logsumexp(1, { keepdim: true }), [[Math.LN2], [1 + Math.LN2]], 1e-14);
  close(tensor([3, -4]).norm(), 5);
  close(tensor([3, -4]).norm(1), 7);
  close(tensor([3, -4]).norm(Infinity), 4);
  close(tensor([3, -4]).norm(-Infinity), 3);
  close(tensor([[3, 4], [0, 0]]).norm("fro", 1), [5, 0]);
  close(tensor([1, 2], f64).norm(3), Math.cbrt(9), 1e-14);
  close(tensor([0, Math.log(3)], f64).softmax(0), [0.25, 0.75], 1e-14);
  close(tensor([[1000, 1000], [0, 0]], f64).softmax(-1), [[0.5, 0.5], [0.5, 0.5]]);
  close(tensor([0, Math.log(3)], f64).logSoftmax(0), [Math.log(0.25), Math.log(0.75)], 1e-14);
});

test("all / any", () => {
  const m = tensor([[true, false], [true, true]]);
  assert.equal(m.all().item(), 0);
  assert.equal(m.any().item(), 1);
  assert.deepEqual(m.all(1).tolist(), [false, true]);
  assert.deepEqual(tensor([0, 2]).any(0).tolist(), true);
  assert.equal(m.all(1).dtype, "bool");
});

// ---- movement ---------------------------------------------------------------------------------------

test("movement op values", () => {
  const x = arange(6).reshape(2, 3);
  assert.deepEqual(x.t().tolist(), [[0, 3], [1, 4], [2, 5]]);
  assert.deepEqual(x.transpose(0, 1).contiguous().reshape(-1).tolist(), [0, 3, 1, 4, 2, 5]);
  assert.deepEqual(arange(24).reshape(2, 3, 4).permute(2, 0, 1).shape, [4, 2, 3]);
  assert.deepEqual(arange(24).reshape(2, 3, 4).permute(2, 0, 1).select(0, 1).tolist(), [[1, 5, 9], [13, 17, 21]]);
  assert.deepEqual(x.narrow(1, 1, 2).tolist(), [[1, 2], [4, 5]]);
  assert.deepEqual(x.select(1, -1).tolist(), [2, 5]);
  assert.deepEqual(arange(10).slice(0, 1, 8, 3).tolist(), [1, 4, 7]);
  assert.deepEqual(arange(10).slice(0, -3).tolist(), [7, 8, 9]);
  assert.deepEqual(arange(10).slice(0, 8, 100).tolist(), [8, 9]);
  assert.deepEqual(arange(10).slice(0, 5, 2).tolist(), []);
  assert.deepEqual(x.flip(1).tolist(), [[2, 1, 0], [5, 4, 3]]);
  assert.deepEqual(x.flip(0, 1).tolist(), [[5, 4, 3], [2, 1, 0]]);
  assert.deepEqual(tensor([1, 2]).repeat(2, 2).tolist(), [[1, 2, 1, 2], [1, 2, 1, 2]]);
  assert.deepEqual(x.repeat(1, 2).tolist(), [[0, 1, 2, 0, 1, 2], [3, 4, 5, 3, 4, 5]]);
  assert.deepEqual(ones(3, 3).tril().tolist(), [[1, 0, 0], [1, 1, 0], [1, 1, 1]]);
  assert.deepEqual(ones(2, 3).triu(1).tolist(), [[0, 1, 1], [0, 0, 1]]);
  assert.deepEqual(ones(3, 2).tril(-1).tolist(), [[0, 0], [1, 0], [1, 1]]);
  assert.deepEqual(tensor([1, 2, 3]).expand(2, -1).tolist(), [[1, 2, 3], [1, 2, 3]]);
  assert.deepEqual(zeros(1, 3, 1).squeeze().shape, [3]);
  assert.deepEqual(zeros(1, 3, 1).squeeze(0).shape, [3, 1]);
  assert.deepEqual(zeros(1, 3, 1).squeeze(1).shape, [1, 3, 1]);
  assert.deepEqual(zeros(2, 3).unsqueeze(1).shape, [2, 1, 3]);
  assert.deepEqual(zeros(2, 3).unsqueeze(-1).shape, [2, 3, 1]);
  assert.deepEqual(zeros(2, 3, 4).flatten(1).shape, [2, 12]);
  assert.deepEqual(zeros(2, 3, 4).flatten(0, 1).shape, [6, 4]);
  assert.deepEqual(zeros([]).flatten().shape, [1]);
  assert.deepEqual(zeros(2, 12).unflatten(1, [3, -1]).shape, [2, 3, 4]);
});

test("cat / stack / split / chunk", () => {
  const a = tensor([[1, 2]]), b = tensor([[3, 4], [5, 6]]);
  assert.deepEqual(cat([a, b]).tolist(), [[1, 2], [3, 4], [5, 6]]);
  assert.deepEqual(cat([b, b], 1).tolist(), [[3, 4, 3, 4], [5, 6, 5, 6]]);
  // legacy empty 1-D tensors are skipped, as torch.cat
  assert.deepEqual(cat([tensor([]), tensor([1, 2])]).tolist(), [1, 2]);
  assert.equal(cat([tensor([1], { dtype: "int32" }), tensor([0.5])]).dtype, "float32");
  assert.deepEqual(stack([tensor([1, 2]), tensor([3, 4])]).tolist(), [[1, 2], [3, 4]]);
  assert.deepEqual(stack([tensor([1, 2]), tensor([3, 4])], 1).tolist(), [[1, 3], [2, 4]]);
  assert.deepEqual(arange(7).split(3).map((t) => t.tolist()), [[0, 1, 2], [3, 4, 5], [6]]);
  assert.deepEqual(arange(5).split([1, 4]).map((t) => t.tolist()), [[0], [1, 2, 3, 4]]);
  assert.deepEqual(arange(13).chunk(4).map((t) => t.numel()), [4, 4, 4, 1]);
  assert.deepEqual(arange(6).chunk(4).map((t) => t.numel()), [2, 2, 2]);
});

test("cat of a single tensor returns a new tensor, not an alias (regression)", () => {
  const x = tensor([1, 2]);
  const y = cat([x]);
  assert.notEqual(y.buf, x.buf);
  noGrad(() => y.fill_(0));
  assert.deepEqual(x.tolist(), [1, 2]);
});

test("pad: constant, value, several dims, negative (crop)", () => {
  assert.deepEqual(pad(tensor([1, 2]), [1, 2]).tolist(), [0, 1, 2, 0, 0]);
  assert.deepEqual(pad(tensor([[1]]), [1, 0, 0, 1], { value: 7 }).tolist(), [[7, 1], [7, 7]]);
  assert.deepEqual(pad(tensor([1, 2, 3, 4]), [-1, -2]).tolist(), [2]);
  assert.deepEqual(pad(tensor([1, 2, 3]), [-1, 1]).tolist(), [2, 3, 0]);
});

test("gather / scatterAdd / indexSelect / oneHot", () => {
  const i32 = { dtype: "int32" as const };
  const x = tensor([[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(x.gather(1, tensor([[2, 0], [1, 1]], i32)).tolist(), [[3, 1], [5, 5]]);
  assert.deepEqual(x.gather(0, tensor([[1, 0, 1]], i32)).tolist(), [[4, 2, 6]]);
  assert.deepEqual(zeros(3).scatterAdd(0, tensor([0, 2, 0], i32), tensor([1, 2, 3])).tolist(), [4, 0, 2]);
  assert.deepEqual(zeros(2, 2).scatterAdd(1, tensor([[1], [0]], i32), ones(2, 3)).tolist(), [[0, 1], [1, 0]]);
  assert.deepEqual(x.indexSelect(1, tensor([2, 2, 0], i32)).tolist(), [[3, 3, 1], [6, 6, 4]]);
  assert.deepEqual(x.indexSelect(0, tensor(1, i32)).tolist(), [[4, 5, 6]]);
  const oh = oneHot(tensor([0, 2], i32), 3);
  assert.equal(oh.dtype, "int32");
  assert.deepEqual(oh.tolist(), [[1, 0, 0], [0, 0, 1]]);
  assert.deepEqual(oneHot(tensor([1, 3], i32)).shape, [2, 4]);
});

// ---- linear algebra ---------------------------------------------------------------------------------

test("matmul in every shape mode, mm, bmm, outer, dot", () => {
  const A = tensor([[1, 2], [3, 4]]), v = tensor([1, -1]);
  assert.deepEqual(A.matmul(A).tolist(), [[7, 10], [15, 22]]);
  assert.deepEqual(A.matmul(v).tolist(), [-1, -1]);
  assert.deepEqual(v.matmul(A).tolist(), [-2, -2]);
  const d = v.matmul(v);
  assert.deepEqual(d.shape, []);
  assert.equal(d.item(), 2);
  const B = stack([A, A.mul(2)]); // (2, 2, 2)
  assert.deepEqual(B.matmul(v).tolist(), [[-1, -1], [-2, -2]]);
  assert.deepEqual(v.matmul(B).tolist(), [[-2, -2], [-4, -4]]);
  assert.deepEqual(B.matmul(A).tolist(), [[[7, 10], [15, 22]], [[14, 20], [30, 44]]]);
  // broadcast batch: (2, 1, 2, 2) @ (3, 2, 2) -> (2, 3, 2, 2)
  const C = matmul(ones(2, 1, 2, 2), eye(2).unsqueeze(0).expand(3, 2, 2).mul(tensor([1, 2, 3]).reshape(3, 1, 1)));
  assert.deepEqual(C.shape, [2, 3, 2, 2]);
  assert.deepEqual(C.select(0, 1).select(0, 2).tolist(), [[3, 3], [3, 3]]);
  assert.deepEqual(A.mm(eye(2)).tolist(), [[1, 2], [3, 4]]);
  assert.deepEqual(B.bmm(B).select(0, 1).tolist(), [[28, 40], [60, 88]]);
  assert.deepEqual(tensor([1, 2]).outer(tensor([3, 4, 5])).tolist(), [[3, 4, 5], [6, 8, 10]]);
  assert.equal(tensor([1, 2, 3]).dot(tensor([4, 5, 6])).item(), 32);
  // transposed (non-contiguous) operands
  assert.deepEqual(A.t().matmul(A.t()).tolist(), [[7, 15], [10, 22]]);
  assert.deepEqual(zeros(2, 0).matmul(zeros(0, 3)).tolist(), [[0, 0, 0], [0, 0, 0]]);
});

// ---- dtype promotion --------------------------------------------------------------------------------

test("dtype promotion table: tensor with tensor", () => {
  const D: DType[] = ["bool", "int32", "float32", "float64"];
  // row/column order as D; PyTorch's promote_types with int64 replaced by int32
  const table: DType[][] = [
    ["bool", "int32", "float32", "float64"],
    ["int32", "int32", "float32", "float64"],
    ["float32", "float32", "float32", "float64"],
    ["float64", "float64", "float64", "float64"],
  ];
  D.forEach((a, i) => D.forEach((b, j) => {
    const x = ones([2], { dtype: a }), y = ones([2], { dtype: b });
    assert.equal(x.add(y).dtype, table[i][j], `${a} + ${b}`);
    assert.equal(x.mul(y).dtype, table[i][j], `${a} * ${b}`);
    assert.equal(x.maximum(y).dtype, table[i][j], `maximum(${a}, ${b})`);
    assert.equal(where(tensor([true, false]), x, y).dtype, table[i][j], `where(${a}, ${b})`);
    // true division always gives a floating result
    const div = table[i][j] === "float64" ? "float64" : "float32";
    assert.equal(x.div(y).dtype, div, `${a} / ${b}`);
    for (const cmp of [x.eq(y), x.lt(y), x.ge(y)]) assert.equal(cmp.dtype, "bool");
  }));
});

test("dtype promotion table: tensor with JS scalars (weak, as Python scalars)", () => {
  const cases: [DType, number | boolean, DType][] = [
    ["bool", true, "bool"], ["bool", 2, "int32"], ["bool", 2.5, "float32"],
    ["int32", true, "int32"], ["int32", 2, "int32"], ["int32", 2.5, "float32"],
    ["float32", 2, "float32"], ["float32", 2.5, "float32"],
    ["float64", 2, "float64"], ["float64", 2.5, "float64"],
  ];
  for (const [dt, s, want] of cases) {
    const x = ones([2], { dtype: dt });
    assert.equal(x.add(s as number).dtype, want, `${dt} + ${s}`);
    assert.equal(x.mul(s as number).dtype, want, `${dt} * ${s}`);
  }
  assert.equal(ones([2], { dtype: "int32" }).div(2).dtype, "float32");
  assert.equal(ones([2], { dtype: "int32" }).div(tensor([2, 2], { dtype: "int32" })).dtype, "float32");
  close(tensor([1, 3], { dtype: "int32" }).div(tensor([2, 2], { dtype: "int32" })), [0.5, 1.5]);
  assert.equal(ones([2], { dtype: "int32" }).pow(2).dtype, "int32");
  assert.equal(ones([2], { dtype: "int32" }).pow(0.5).dtype, "float32");
  assert.equal(ones([2], { dtype: "int32" }).lt(1.5).dtype, "bool");
  assert.deepEqual(tensor([1, 2], { dtype: "int32" }).lt(1.5).tolist(), [true, false]);
  // unary float ops on ints give float32
  assert.equal(tensor([1], { dtype: "int32" }).exp().dtype, "float32");
  assert.equal(tensor([-1], { dtype: "int32" }).abs().dtype, "int32");
});

test("dtype promotion with 0-d tensors follows torch.result_type (regression)", () => {
  // a 0-d tensor does not widen a dimensioned tensor of the same category, but a higher category wins
  const cases: [DType, DType, DType][] = [
    ["float32", "float64", "float32"], ["int32", "float64", "float64"], ["int32", "float32", "float32"],
    ["bool", "int32", "int32"], ["int32", "bool", "int32"], ["bool", "float64", "float64"], ["float64", "float32", "float64"],
  ];
  for (const [dimmed, zeroD, want] of cases) {
    const a = ones([2], { dtype: dimmed }), b = ones([], { dtype: zeroD });
    assert.equal(a.add(b).dtype, want, `${dimmed}[2] + ${zeroD}[]`);
    assert.equal(b.mul(a).dtype, want, `${zeroD}[] * ${dimmed}[2]`);
    assert.equal(where(tensor([true, false]), a, b).dtype, want, `where(${dimmed}[2], ${zeroD}[])`);
  }
  // two 0-d tensors promote normally
  assert.equal(ones([], { dtype: "float64" }).add(ones([])).dtype, "float64");
  // gradients still reach the 0-d operand in its own dtype
  const s = tensor(2, { dtype: "float64", requiresGrad: true });
  tensor([1, 2]).mul(s).sum().backward();
  assert.equal(s.grad!.dtype, "float64");
  assert.equal(s.grad!.item(), 3);
});

test("broadcast result shapes", () => {
  const shapeOf = (a: number[], b: number[]) => zeros(a).add(zeros(b)).shape;
  assert.deepEqual(shapeOf([2, 1, 3], [4, 1]), [2, 4, 3]);
  assert.deepEqual(shapeOf([], [3]), [3]);
  assert.deepEqual(shapeOf([5, 1], [1, 6]), [5, 6]);
  assert.deepEqual(shapeOf([0, 3], [1]), [0, 3]);
  assert.deepEqual(shapeOf([1], []), [1]);
  assert.deepEqual(shapeOf([3, 1, 1], [1, 1, 1, 2]), [1, 3, 1, 2]);
});

// ---- views and storage ------------------------------------------------------------------------------

test("views share storage: writes through a view are visible in the base", () => {
  const base = arange(6).reshape(2, 3).float();
  const row = base.select(0, 1);
  noGrad(() => row.copy_(tensor([7, 8, 9])));
  assert.deepEqual(base.tolist(), [[0, 1, 2], [7, 8, 9]]);
  const col = base.t().select(0, 2); // a strided view (elements 2 and 9)
  noGrad(() => col.copy_(-1));
  assert.deepEqual(base.tolist(), [[0, 1, -1], [7, 8, -1]]);
  const stepped = base.reshape(-1).slice(0, 0, null, 2);
  noGrad(() => stepped.fill_(5));
  assert.deepEqual(base.tolist(), [[5, 1, 5], [7, 5, -1]]);
  const src = tensor([1, 2]);
  const e = src.expand(3, 2);
  assert.equal(e.buf, src.buf);
  assert.deepEqual(e.strides, [0, 1]);
  for (const v of [base.narrow(1, 0, 2), base.unsqueeze(0), base.t(), base.view(3, 2), base.flatten(), base.squeeze()]) {
    assert.equal(v.buf, base.buf, "expected a view");
  }
});

test("reshape copies a transposed tensor but views a contiguous one", () => {
  const x = arange(6).reshape(2, 3);
  const r = x.reshape(3, 2);
  assert.equal(r.buf, x.buf);
  const t = x.t();
  assert.equal(t.isContiguous(), false);
  const rt = t.reshape(6);
  assert.notEqual(rt.buf, x.buf);
  assert.deepEqual(rt.tolist(), [0, 3, 1, 4, 2, 5]);
  assert.throws(() => t.view(6), /^Error: \[view\]/);
  assert.equal(x.contiguous(), x);
  // a size-1 transpose is still contiguous and views
  const y = arange(3).reshape(1, 3).t();
  assert.equal(y.reshape(3).buf, y.buf);
});

// ---- creation ---------------------------------------------------------------------------------------

test("creation functions", () => {
  for (const z of [zeros(2, 3), zeros([2, 3]), empty(2, 3)]) {
    assert.deepEqual(z.shape, [2, 3]);
    assert.equal(z.dtype, "float32");
    assert.deepEqual(z.tolist(), [[0, 0, 0], [0, 0, 0]]);
  }
  assert.equal(zeros(2, { dtype: "int32" }).dtype, "int32");
  assert.deepEqual(ones([2], { dtype: "float64" }).tolist(), [1, 1]);
  assert.deepEqual(full([2, 2], 7).tolist(), [[7, 7], [7, 7]]);
  assert.equal(full([1], true).dtype, "bool");
  assert.deepEqual(zeros([]).shape, []);
  const a = arange(5);
  assert.equal(a.dtype, "int32");
  assert.deepEqual(a.tolist(), [0, 1, 2, 3, 4]);
  assert.deepEqual(arange(2, 5).tolist(), [2, 3, 4]);
  assert.deepEqual(arange(5, 0, -2).tolist(), [5, 3, 1]);
  const f = arange(0, 1, 0.25);
  assert.equal(f.dtype, "float32");
  assert.deepEqual(f.tolist(), [0, 0.25, 0.5, 0.75]);
  assert.equal(arange(0, 1, 0.1).numel(), 10);
  assert.deepEqual(arange(0, 3, 1, { dtype: "float64" }).tolist(), [0, 1, 2]);
  assert.deepEqual(arange(3, 3).tolist(), []);
  assert.deepEqual(linspace(0, 1, 5).tolist(), [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(linspace(-1, 1, 2).tolist(), [-1, 1]);
  // regression: the symmetric formula gave `end` for a single step; PyTorch gives `start`
  assert.deepEqual(linspace(-1, 1, 1).tolist(), [-1]);
  assert.deepEqual(linspace(0, 1, 0).tolist(), []);
  assert.deepEqual(eye(2, 3).tolist(), [[1, 0, 0], [0, 1, 0]]);
  assert.deepEqual(eye(2).tolist(), [[1, 0], [0, 1]]);
  const z = zerosLike(tensor([1, 2], f64));
  assert.equal(z.dtype, "float64");
  assert.deepEqual(onesLike(z).tolist(), [1, 1]);
  assert.deepEqual(fullLike(z, 3).tolist(), [3, 3]);
  assert.deepEqual(tensor(new Int32Array([1, 2, 3, 4]), { shape: [2, 2] }).tolist(), [[1, 2], [3, 4]]);
  assert.equal(tensor(new Int32Array([1])).dtype, "int32");
  assert.equal(tensor([true, false]).dtype, "bool");
  assert.equal(tensor([1, 2]).dtype, "float32");
  assert.deepEqual(tensor([[], []]).shape, [2, 0]);
  assert.deepEqual(tensor(5).shape, []);
});

test("tensor(nestedArray, { shape }) takes the shape, and rejects a count that does not fit (regression)", () => {
  assert.deepEqual(tensor([1, 2, 3, 4, 5, 6], { shape: [2, 3] }).tolist(), [[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(tensor([[1, 2], [3, 4]], { shape: [4] }).shape, [4]);
  assert.throws(() => tensor([1, 2, 3], { shape: [2, 2] }), /^Error: \[tensor\] shape \[2, 2\] does not match 3 elements/);
});

test("randperm is a permutation; randint stays in [low, high)", () => {
  const g = new Generator(7);
  const p = randperm(50, { generator: g });
  assert.equal(p.dtype, "int32");
  assert.deepEqual([...(p.toTypedArray() as Int32Array)].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
  assert.notDeepEqual(p.tolist(), Array.from({ length: 50 }, (_, i) => i));
  const r = randint(3, 7, [2000], { generator: g });
  assert.equal(r.dtype, "int32");
  const seen = new Set(r.toTypedArray() as Int32Array);
  assert.deepEqual([...seen].sort(), [3, 4, 5, 6]);
  assert.deepEqual(randint(-2, -1, [3]).tolist(), [-2, -2, -2]);
});

// ---- reading and printing ---------------------------------------------------------------------------

test("item and tolist", () => {
  assert.equal(tensor(2.5).item(), 2.5);
  assert.equal(tensor([[3]]).item(), 3);
  assert.equal(arange(6).reshape(2, 3).select(1, 2).select(0, 1).item(), 5);
  assert.deepEqual(tensor([[1, 2], [3, 4]]).tolist(), [[1, 2], [3, 4]]);
  assert.deepEqual(tensor([true, false]).tolist(), [true, false]);
  assert.equal(tensor(7).tolist(), 7);
  assert.deepEqual(zeros(2, 0).tolist(), [[], []]);
});

test("toString matches PyTorch's print format", () => {
  // Kiln's names differ only in spelling: dtype=int32 (torch.int32), requiresGrad=true (requires_grad=True)
  const cases: [Tensor, string][] = [
    [tensor([1, 2, 3]), "tensor([1., 2., 3.])"],
    [tensor([-1.5, 2]), "tensor([-1.5000,  2.0000])"],
    [tensor([100, 0.5]), "tensor([100.0000,   0.5000])"],
    [tensor(3.5), "tensor(3.5000)"],
    [tensor([[1, 2], [3, 4]]), "tensor([[1., 2.],\n        [3., 4.]])"],
    [zeros(2, 2, 2), "tensor([[[0., 0.],\n         [0., 0.]],\n\n        [[0., 0.],\n         [0., 0.]]])"],
    [tensor([[true, false]]), "tensor([[ True, False]])"],
    [tensor([1, -20, 3], { dtype: "int32" }), "tensor([  1, -20,   3], dtype=int32)"],
    [tensor([[1.5, -2], [3, 4]], f64), "tensor([[ 1.5000, -2.0000],\n        [ 3.0000,  4.0000]], dtype=float64)"],
    [tensor([1, 2], { requiresGrad: true }), "tensor([1., 2.], requiresGrad=true)"],
    [tensor([]), "tensor([])"],
    // scientific notation: tiny values, huge values, or a max/min ratio above 1000 (regression: the ratio rule was missing)
    [tensor([1e-5, 1]), "tensor([1.0000e-05, 1.0000e+00])"],
    [tensor([0, 1e-5]), "tensor([0.0000e+00, 1.0000e-05])"],
    [tensor([1e9, 1.5]), "tensor([1.0000e+09, 1.5000e+00])"],
    [tensor([0.001, 2.5]), "tensor([1.0000e-03, 2.5000e+00])"],
    [tensor([1, 10000]), "tensor([1.0000e+00, 1.0000e+04])"],
    [tensor([123456.5, 1.25]), "tensor([1.2346e+05, 1.2500e+00])"],
    // non-finite values do not widen the columns (PyTorch sizes them from the finite, non-zero values)
    [tensor([NaN, 1.5, Infinity]), "tensor([   nan, 1.5000,    inf])"],
    [tensor([NaN, 1, Infinity]), "tensor([nan, 1., inf])"],
    // rows wrap at 80 columns, and more than 1000 elements are summarized with 3 at each edge
    [arange(30).float(), "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n        14., 15., 16., 17., 18., 19., 20., 21., 22., 23., 24., 25., 26., 27.,\n        28., 29.])"],
    [arange(1100), "tensor([   0,    1,    2,  ..., 1097, 1098, 1099], dtype=int32)"],
    [arange(2000).float().reshape(40, 50), "tensor([[0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 4.7000e+01, 4.8000e+01,\n         4.9000e+01],\n        [5.0000e+01, 5.1000e+01, 5.2000e+01,  ..., 9.7000e+01, 9.8000e+01,\n         9.9000e+01],\n        [1.0000e+02, 1.0100e+02, 1.0200e+02,  ..., 1.4700e+02, 1.4800e+02,\n         1.4900e+02],\n        ...,\n        [1.8500e+03, 1.8510e+03, 1.8520e+03,  ..., 1.8970e+03, 1.8980e+03,\n         1.8990e+03],\n        [1.9000e+03, 1.9010e+03, 1.9020e+03,  ..., 1.9470e+03, 1.9480e+03,\n         1.9490e+03],\n        [1.9500e+03, 1.9510e+03, 1.9520e+03,  ..., 1.9970e+03, 1.9980e+03,\n         1.9990e+03]])"],
    [zeros(2, 0), "tensor([], size=[2, 0])"],
  ];
  for (const [t, want] of cases) assert.equal(t.toString(), want);
  assert.equal(tensor([2]).mul(tensor([3], { requiresGrad: true })).toString(), "tensor([6.], gradFn=<mul>)");
});
