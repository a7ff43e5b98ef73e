// Finite-difference gradient checks (float64) over every primitive and every differentiable composite op.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Tensor, Generator, autograd, gradcheck, tensor, randn, rand, cat, stack, pad, where, clamp, var as variance, matmul, nn,
} from "../../src/index.js";
import { rules } from "../../src/autograd/grad_rules.js";
import * as P from "../../src/ops/primitives.js";
import { nodeNames } from "../graph.js";
import type { FunctionCtx } from "../../src/autograd/function.js";

type Out = Tensor | Tensor[];
interface Case {
  /** "<method or op> <detail>": the first word names the Tensor method / free op the case covers. */
  name: string;
  fn: (...xs: Tensor[]) => Out;
  inputs: () => Tensor[];
  /** Primitives the case exercises that leave no autograd node (comparisons feed `where` masks). */
  covers?: string[];
  /** Extra methods covered besides the first word of the name. */
  methods?: string[];
  eps?: number;
  atol?: number;
  rtol?: number;
}

const gen = new Generator(20240601);
const F64 = { dtype: "float64" as const, generator: gen };
/** Standard-normal float64 leaf that requires grad. */
const R = (...shape: number[]) => randn(shape, F64).requiresGrad_();
/** Uniform [lo, hi) float64 leaf that requires grad. */
const U = (shape: number[], lo: number, hi: number) => rand(shape, F64).mul(hi - lo).add(lo).requiresGrad_();
/** Values with |v| in [0.3, 1.5) and random sign: away from the kinks at 0 (abs, relu, sign...). */
const away = (...shape: number[]) => {
  const mag = rand(shape, F64).mul(1.2).add(0.3);
  return mag.mul(rand(shape, F64).gt(0.5).double().mul(2).sub(1)).requiresGrad_();
};
/** A permutation of distinct, well separated values (no ties for max/min/sort-like ops). */
const distinct = (...shape: number[]) => {
  const n = shape.reduce((a, b) => a * b, 1);
  const vals = Array.from({ length: n }, (_, i) => (i - n / 2) * 0.37 + 0.05);
  for (let i = n - 1; i > 0; i--) { const j = gen.nextInt(i + 1); [vals[i], vals[j]] = [vals[j], vals[i]]; }
  return tensor(vals, { dtype: "float64" }).reshape(shape).contiguous().detach().requiresGrad_();
};
const idx = (data: number[] | number[][] | number[][][]) => tensor(data as number[], { dtype: "int32" });
const boolT = (data: boolean[] | boolean[][]) => tensor(data as boolean[]);
const nograd = (t: Tensor) => t.detach();
/** A Window2d from kernel, stride, dilation, leading padding and output sizes, each (rows, cols). */
const win = (kh: number, kw: number, sh: number, sw: number, dh: number, dw: number, ph: number, pw: number, ho: number, wo: number) =>
  ({ kh, kw, sh, sw, dh, dw, ph, pw, ho, wo });

class Cube extends autograd.Function {
  static override forward(ctx: FunctionCtx, x: Tensor, k: number): Tensor {
    ctx.saveForBackward(x);
    ctx.k = k;
    return x.pow(3).mul(k);
  }
  static override backward(ctx: FunctionCtx, g: Tensor): (Tensor | null)[] {
    const [x] = ctx.savedTensors;
    return [g.mul(x.square()).mul(3 * (ctx.k as number)), null];
  }
}

const cases: Case[] = [
  // ---- unary math (primitives and composites) ----
  { name: "exp", fn: (x) => x.exp(), inputs: () => [R(3, 4)] },
  { name: "log", fn: (x) => x.log(), inputs: () => [U([3, 4], 0.2, 3)] },
  { name: "log1p", fn: (x) => x.log1p(), inputs: () => [U([3, 4], -0.7, 3)] },
  { name: "log2", fn: (x) => x.log2(), inputs: () => [U([5], 0.2, 3)] },
  { name: "sqrt", fn: (x) => x.sqrt(), inputs: () => [U([3, 4], 0.2, 3)] },
  { name: "rsqrt", fn: (x) => x.rsqrt(), inputs: () => [U([5], 0.2, 3)] },
  { name: "sin", fn: (x) => x.sin(), inputs: () => [R(3, 4)] },
  { name: "cos", fn: (x) => x.cos(), inputs: () => [R(3, 4)] },
  { name: "tanh", fn: (x) => x.tanh(), inputs: () => [R(3, 4)] },
  { name: "sigmoid", fn: (x) => x.sigmoid(), inputs: () => [R(3, 4)] },
  { name: "erf", fn: (x) => x.erf(), inputs: () => [R(3, 4)] },
  { name: "neg", fn: (x) => x.neg(), inputs: () => [R(3, 4)] },
  { name: "abs", fn: (x) => x.abs(), inputs: () => [away(3, 4)] },
  // sign, floor and round are piecewise constant: their gradient is exactly zero away from the jumps
  { name: "sign", fn: (x) => x.sign().add(x), inputs: () => [away(2, 3)] },
  { name: "floor", fn: (x) => x.floor().add(x.mul(2)), inputs: () => [tensor([0.3, 1.6, -2.2, 4.45], { dtype: "float64" }).requiresGrad_()] },
  { name: "round", fn: (x) => x.round().mul(x), inputs: () => [tensor([0.3, 1.6, -2.2, 4.45, -0.6], { dtype: "float64" }).requiresGrad_()] },
  { name: "relu", fn: (x) => x.relu(), inputs: () => [away(3, 4)] },
  { name: "square", fn: (x) => x.square(), inputs: () => [R(3, 4)] },
  { name: "reciprocal", fn: (x) => x.reciprocal(), inputs: () => [away(3, 4)] },
  { name: "leakyRelu default", fn: (x) => x.leakyRelu(), inputs: () => [away(3, 4)] },
  { name: "leakyRelu 0.2", fn: (x) => x.leakyRelu(0.2), inputs: () => [away(3, 4)] },
  { name: "gelu exact", fn: (x) => x.gelu(), inputs: () => [R(3, 4)] },
  { name: "gelu tanh", fn: (x) => x.gelu({ approximate: "tanh" }), inputs: () => [R(3, 4)] },
  { name: "silu", fn: (x) => x.silu(), inputs: () => [R(3, 4)] },
  { name: "softplus default", fn: (x) => x.softplus(), inputs: () => [R(3, 4)] },
  // both branches: beta * x above and below the threshold
  { name: "softplus beta2 threshold1", fn: (x) => x.softplus({ beta: 2, threshold: 1 }), inputs: () => [tensor([-1.2, -0.1, 0.2, 0.8, 1.3, 2.5], { dtype: "float64" }).requiresGrad_()] },
  { name: "clamp min max", fn: (x) => x.clamp(-0.5, 0.5), inputs: () => [tensor([-1.2, -0.3, 0.1, 0.45, 0.8, 2], { dtype: "float64" }).requiresGrad_()] },
  { name: "clamp min only", fn: (x) => clamp(x, 0.2), inputs: () => [tensor([-1.2, 0.1, 0.45, 2], { dtype: "float64" }).requiresGrad_()] },
  { name: "clip max only tensor bound", fn: (x, m) => x.clip(null, m), inputs: () => [tensor([-1.2, 0.1, 0.45, 2], { dtype: "float64" }).requiresGrad_(), tensor([0, 0.3, 0.3, 1], { dtype: "float64" })] },

  // ---- binary with broadcasting and scalar operands ----
  { name: "add same shape", fn: (a, b) => a.add(b), inputs: () => [R(3, 4), R(3, 4)] },
  { name: "add broadcast", fn: (a, b) => a.add(b), inputs: () => [R(2, 1, 3), R(4, 1)] },
  { name: "add alpha", fn: (a, b) => a.add(b, { alpha: -2.5 }), inputs: () => [R(3, 4), R(4)] },
  { name: "add js scalar", fn: (a) => a.add(1.5), inputs: () => [R(3)] },
  { name: "add 0-d tensor", fn: (a, b) => a.add(b), inputs: () => [R(2, 3), R()] },
  { name: "sub broadcast", fn: (a, b) => a.sub(b), inputs: () => [R(3, 1), R(1, 4)] },
  { name: "sub alpha", fn: (a, b) => a.sub(b, { alpha: 3 }), inputs: () => [R(3, 4), R(3, 4)] },
  { name: "rsub", fn: (a) => a.rsub(2), inputs: () => [R(4)] },
  { name: "mul broadcast", fn: (a, b) => a.mul(b), inputs: () => [R(2, 3, 1), R(3, 4)] },
  { name: "mul js scalar", fn: (a) => a.mul(-0.75), inputs: () => [R(2, 3)] },
  { name: "mul self", fn: (a) => a.mul(a), inputs: () => [R(5)] },
  { name: "div broadcast", fn: (a, b) => a.div(b), inputs: () => [R(3, 4), away(4)] },
  { name: "div scalar numerator", fn: (b) => P.div(tensor(2, { dtype: "float64" }), b), inputs: () => [away(2, 3)] },
  { name: "div js scalar", fn: (a) => a.div(4), inputs: () => [R(2, 2)] },
  { name: "pow tensor exponent", fn: (a, b) => a.pow(b), inputs: () => [U([3, 4], 0.3, 2), R(3, 4)] },
  { name: "pow broadcast exponent", fn: (a, b) => a.pow(b), inputs: () => [U([2, 3], 0.3, 2), R(3)] },
  { name: "pow js scalar", fn: (a) => a.pow(3), inputs: () => [R(3, 4)] },
  { name: "pow fractional scalar", fn: (a) => a.pow(-1.5), inputs: () => [U([4], 0.3, 2)] },
  { name: "pow scalar base", fn: (b) => P.pow(tensor(1.7, { dtype: "float64" }), b), inputs: () => [R(4)] },
  { name: "maximum broadcast", fn: (a, b) => a.maximum(b), inputs: () => [distinct(3, 4), distinct(4).mul(1.01).detach().requiresGrad_()] },
  { name: "minimum broadcast", fn: (a, b) => a.minimum(b), inputs: () => [distinct(3, 4), distinct(3, 1).add(0.011).detach().requiresGrad_()] },
  { name: "max other", fn: (a, b) => a.max(b), inputs: () => [distinct(2, 3), distinct(2, 3).add(0.013).detach().requiresGrad_()] },
  { name: "min other", fn: (a, b) => a.min(b), inputs: () => [distinct(2, 3), distinct(2, 3).add(0.013).detach().requiresGrad_()] },
  { name: "where broadcast", fn: (a, b) => where(boolT([true, false, true, false]), a, b), inputs: () => [R(3, 4), R(3, 1)] },
  { name: "where method scalar other", fn: (a) => a.where(boolT([[true, false], [false, true]]), 0.5), inputs: () => [R(2, 2)] },
  { name: "maskedFill", fn: (a) => a.maskedFill(boolT([false, true, false]), -1), inputs: () => [R(2, 3)] },
  // equality masks are discontinuous at ties, so compare a constant tensor rather than an input
  { name: "eq mask", fn: (a, b) => where(idx([1, 0, 1, 2]).eq(1), a, b.mul(2)), covers: ["eq"], inputs: () => [R(4), R(4)] },
  { name: "ne mask", fn: (a, b) => where(a.ne(b), a.mul(b), b), covers: ["ne"], inputs: () => [R(4), R(4)] },
  { name: "lt mask", fn: (a, b) => where(a.lt(b), a, b.square()), covers: ["lt"], inputs: () => [distinct(5), distinct(5).add(0.01).detach().requiresGrad_()] },
  { name: "le mask", fn: (a, b) => where(a.le(0.1), a.exp(), b), covers: ["le"], inputs: () => [distinct(5), R(5)] },
  { name: "gt mask", fn: (a) => where(a.gt(0), a, a.mul(0.1)), covers: ["gt"], inputs: () => [away(6)] },
  { name: "ge mask", fn: (a, b) => where(a.ge(b), a.sin(), b.cos()), covers: ["ge"], inputs: () => [distinct(5), distinct(5).add(0.01).detach().requiresGrad_()] },

  // ---- reductions ----
  { name: "sum all", fn: (x) => x.sum(), inputs: () => [R(3, 4)] },
  { name: "sum one dim", fn: (x) => x.sum(1), inputs: () => [R(3, 4)] },
  { name: "sum several dims keepdim", fn: (x) => x.sum([0, 2], { keepdim: true }), inputs: () => [R(2, 3, 4)] },
  { name: "sum negative dim", fn: (x) => x.sum(-1), inputs: () => [R(2, 3, 4)] },
  { name: "mean all", fn: (x) => x.mean(), inputs: () => [R(3, 4)] },
  { name: "mean several dims", fn: (x) => x.mean([0, 2]), inputs: () => [R(2, 3, 4)] },
  { name: "mean keepdim", fn: (x) => x.mean(1, { keepdim: true }), inputs: () => [R(2, 3)] },
  { name: "prod all", fn: (x) => x.prod(), inputs: () => [U([2, 3], 0.5, 1.5)] },
  { name: "prod dim", fn: (x) => x.prod(1), inputs: () => [R(3, 4)] },
  { name: "prod one zero", fn: (x) => x.prod(1, { keepdim: true }), inputs: () => [tensor([[1.5, 0, -2, 0.7], [0.3, 1.1, 2, -1]], { dtype: "float64" }).requiresGrad_()] },
  { name: "prod two zeros", fn: (x) => x.prod(1), inputs: () => [tensor([[1.5, 0, -2, 0], [0.3, 1.1, 0, -1]], { dtype: "float64" }).requiresGrad_()] },
  { name: "prod all with zero", fn: (x) => x.prod(), inputs: () => [tensor([1.5, 0, -2, 0.7], { dtype: "float64" }).requiresGrad_()] },
  { name: "amax all", fn: (x) => x.amax(), inputs: () => [distinct(3, 4)] },
  { name: "amax several dims keepdim", fn: (x) => x.amax([0, 2], { keepdim: true }), inputs: () => [distinct(2, 3, 4)] },
  { name: "amin dim", fn: (x) => x.amin(1), inputs: () => [distinct(3, 4)] },
  { name: "max all", fn: (x) => x.max(), inputs: () => [distinct(3, 4)] },
  { name: "min all", fn: (x) => x.min(), inputs: () => [distinct(3, 4)] },
  { name: "max dim values", fn: (x) => x.max(1).values, inputs: () => [distinct(3, 4)] },
  { name: "max dim keepdim values", fn: (x) => x.max(0, { keepdim: true }).values, inputs: () => [distinct(3, 4)] },
  { name: "min dim values", fn: (x) => x.min(-1).values, inputs: () => [distinct(2, 3, 4)] },
  { name: "var all", fn: (x) => x.var(), inputs: () => [R(3, 4)] },
  { name: "var dim correction0 keepdim", fn: (x) => x.var(1, { correction: 0, keepdim: true }), inputs: () => [R(3, 4)] },
  { name: "var several dims", fn: (x) => variance(x, [0, 2]), methods: ["var"], inputs: () => [R(2, 3, 4)] },
  { name: "std all", fn: (x) => x.std(), inputs: () => [R(3, 4)] },
  { name: "std dim unbiased false", fn: (x) => x.std(0, { unbiased: false }), inputs: () => [R(3, 4)] },
  { name: "logsumexp all", fn: (x) => x.logsumexp(), inputs: () => [R(3, 4)] },
  { name: "logsumexp dim keepdim", fn: (x) => x.logsumexp(1, { keepdim: true }), inputs: () => [R(3, 4)] },
  { name: "logsumexp several dims", fn: (x) => x.logsumexp([0, 2]), inputs: () => [R(2, 3, 4)] },
  { name: "norm 2", fn: (x) => x.norm(), inputs: () => [R(3, 4)] },
  { name: "norm fro dim", fn: (x) => x.norm("fro", 1), inputs: () => [R(3, 4)] },
  { name: "norm 1 keepdim", fn: (x) => x.norm(1, 0, { keepdim: true }), inputs: () => [away(3, 4)] },
  { name: "norm 3", fn: (x) => x.norm(3, [0, 1]), inputs: () => [away(3, 4)] },
  { name: "norm inf", fn: (x) => x.norm(Infinity, 1), inputs: () => [distinct(3, 4)] },
  { name: "norm -inf", fn: (x) => x.norm(-Infinity), inputs: () => [distinct(3, 4)] },
  { name: "softmax last", fn: (x) => x.softmax(-1), inputs: () => [R(3, 4)] },
  { name: "softmax dim0", fn: (x) => x.softmax(0), inputs: () => [R(3, 4)] },
  { name: "logSoftmax", fn: (x) => x.logSoftmax(1), inputs: () => [R(2, 3, 4)] },

  // ---- movement ----
  { name: "reshape contiguous", fn: (x) => x.reshape(4, 3), inputs: () => [R(3, 4)] },
  { name: "reshape non-contiguous", fn: (x) => x.t().reshape(-1), methods: ["t"], inputs: () => [R(3, 4)] },
  { name: "reshape permuted 3d", fn: (x) => x.permute(2, 0, 1).reshape(4, 6), inputs: () => [R(2, 3, 4)] },
  { name: "view", fn: (x) => x.view([2, -1]), inputs: () => [R(3, 4)] },
  { name: "viewAs", fn: (x, y) => x.viewAs(y), inputs: () => [R(6), nograd(R(2, 3))] },
  { name: "reshapeAs", fn: (x, y) => x.mT.reshapeAs(y), methods: ["mT"], inputs: () => [R(2, 3), nograd(R(6))] },
  { name: "contiguous", fn: (x) => x.transpose(0, 1).contiguous().mul(1), inputs: () => [R(3, 4)] },
  { name: "clone", fn: (x) => x.clone(), inputs: () => [R(3)] },
  { name: "permute", fn: (x) => x.permute([2, 0, 1]), inputs: () => [R(2, 3, 4)] },
  { name: "transpose", fn: (x) => x.transpose(0, -1), inputs: () => [R(2, 3, 4)] },
  { name: "T", fn: (x) => x.T, inputs: () => [R(2, 3, 4)] },
  { name: "expand", fn: (x) => x.expand(2, 3, 4), inputs: () => [R(3, 1)] },
  { name: "expandAs", fn: (x, y) => x.expandAs(y), inputs: () => [R(4), nograd(R(3, 4))] },
  { name: "broadcastTo", fn: (x) => x.broadcastTo([2, -1, 3]), inputs: () => [R(1, 3, 1)] },
  { name: "narrow", fn: (x) => x.narrow(1, 1, 2), inputs: () => [R(3, 4)] },
  { name: "narrow negative start", fn: (x) => x.narrow(0, -2, 2), inputs: () => [R(5)] },
  { name: "select", fn: (x) => x.select(1, -1), inputs: () => [R(2, 3, 4)] },
  { name: "slice step", fn: (x) => x.slice(1, 1, null, 2), inputs: () => [R(3, 7)] },
  { name: "slice negative bounds", fn: (x) => x.slice(0, -4, -1), inputs: () => [R(6, 2)] },
  { name: "squeeze all", fn: (x) => x.squeeze(), inputs: () => [R(1, 3, 1, 2)] },
  { name: "squeeze dims", fn: (x) => x.squeeze([0, 2]), inputs: () => [R(1, 3, 1, 2)] },
  { name: "unsqueeze", fn: (x) => x.unsqueeze(-1).unsqueeze(0), inputs: () => [R(2, 3)] },
  { name: "flatten", fn: (x) => x.flatten(1), inputs: () => [R(2, 3, 4)] },
  { name: "flatten non-contiguous", fn: (x) => x.transpose(0, 2).flatten(), inputs: () => [R(2, 3, 4)] },
  { name: "unflatten", fn: (x) => x.unflatten(1, [2, 3]), inputs: () => [R(2, 6)] },
  { name: "cat dim1", fn: (a, b, c) => cat([a, b, c], 1), inputs: () => [R(2, 3), R(2, 1), R(2, 2)] },
  { name: "cat negative dim mixed views", fn: (a, b) => cat([a.t(), b], -1), inputs: () => [R(2, 3), R(3, 2)] },
  { name: "stack", fn: (a, b) => stack([a, b], 1), inputs: () => [R(2, 3), R(2, 3)] },
  { name: "split", fn: (x) => x.split(2, 1), inputs: () => [R(3, 5)] },
  { name: "split sizes", fn: (x) => x.split([1, 3], 0), inputs: () => [R(4, 2)] },
  { name: "chunk", fn: (x) => x.chunk(3, 0), inputs: () => [R(7, 2)] },
  { name: "tril", fn: (x) => x.tril(), inputs: () => [R(3, 4)] },
  { name: "tril batched diagonal -1", fn: (x) => x.tril(-1), inputs: () => [R(2, 3, 3)] },
  { name: "triu diagonal 1", fn: (x) => x.triu(1), inputs: () => [R(4, 3)] },
  { name: "pad last dim", fn: (x) => pad(x, [1, 2]), inputs: () => [R(2, 3)] },
  { name: "pad value two dims", fn: (x) => pad(x, [0, 1, 2, 1], { value: 0.5 }), inputs: () => [R(2, 3)] },
  { name: "pad negative crop", fn: (x) => pad(x, [-1, 2, 1, -1]), inputs: () => [R(3, 4)] },
  { name: "repeat", fn: (x) => x.repeat(2, 1, 3), inputs: () => [R(2, 2)] },
  { name: "flip", fn: (x) => x.flip(0, 2), inputs: () => [R(2, 3, 4)] },
  { name: "gather dim1 duplicates", fn: (x) => x.gather(1, idx([[0, 0, 2], [3, 1, 1]])), inputs: () => [R(2, 4)] },
  { name: "gather dim0 smaller index", fn: (x) => x.gather(0, idx([[2, 0], [1, 1]])), inputs: () => [R(3, 4)] },
  { name: "scatterAdd", fn: (x, s) => x.scatterAdd(1, idx([[0, 0, 2], [3, 1, 1]]), s), inputs: () => [R(2, 4), R(2, 3)] },
  { name: "scatterAdd src larger than index", fn: (x, s) => x.scatterAdd(0, idx([[0, 2], [2, 2]]), s), inputs: () => [R(3, 2), R(3, 3)] },
  { name: "indexSelect", fn: (x) => x.indexSelect(0, idx([2, 0, 2])), inputs: () => [R(3, 4)] },
  { name: "indexSelect dim1", fn: (x) => x.indexSelect(1, idx([3, 1])), inputs: () => [R(2, 4)] },

  // ---- linear algebra ----
  { name: "matmul 2d@2d", fn: (a, b) => a.matmul(b), inputs: () => [R(3, 4), R(4, 2)] },
  { name: "matmul 1d@1d", fn: (a, b) => a.matmul(b), inputs: () => [R(4), R(4)] },
  { name: "matmul 1d@2d", fn: (a, b) => a.matmul(b), inputs: () => [R(4), R(4, 3)] },
  { name: "matmul 2d@1d", fn: (a, b) => a.matmul(b), inputs: () => [R(3, 4), R(4)] },
  { name: "matmul 3d@3d", fn: (a, b) => a.matmul(b), inputs: () => [R(2, 3, 4), R(2, 4, 2)] },
  { name: "matmul broadcast batch", fn: (a, b) => a.matmul(b), inputs: () => [R(2, 1, 3, 4), R(3, 4, 2)] },
  { name: "matmul 3d@2d", fn: (a, b) => matmul(a, b), inputs: () => [R(2, 3, 4), R(4, 2)] },
  { name: "matmul 1d@3d", fn: (a, b) => a.matmul(b), inputs: () => [R(4), R(2, 4, 3)] },
  { name: "matmul 3d@1d", fn: (a, b) => a.matmul(b), inputs: () => [R(2, 3, 4), R(4)] },
  { name: "matmul transposed operands", fn: (a, b) => a.t().matmul(b.t()), inputs: () => [R(4, 3), R(2, 4)] },
  { name: "mm", fn: (a, b) => a.mm(b), inputs: () => [R(2, 3), R(3, 4)] },
  { name: "bmm", fn: (a, b) => a.bmm(b), inputs: () => [R(2, 2, 3), R(2, 3, 2)] },
  { name: "outer", fn: (a, b) => a.outer(b), inputs: () => [R(3), R(4)] },
  { name: "dot", fn: (a, b) => a.dot(b), inputs: () => [R(5), R(5)] },

  // ---- dtype casts: float32 rounding (~6e-8 relative) needs a larger step ----
  { name: "to float32 and back", fn: (x) => x.to("float32").mul(2).to("float64"), methods: ["float", "double"], inputs: () => [R(2, 3)], eps: 1e-3, atol: 1e-4, rtol: 1e-3 },
  { name: "float double", fn: (x) => x.float().exp().double(), inputs: () => [R(4)], eps: 1e-3, atol: 1e-3, rtol: 1e-3 },

  // ---- custom autograd.Function ----
  { name: "Function custom cube", fn: (x) => Cube.apply(x, 2).add(x), inputs: () => [R(3)] },
];

// Primitives added by fused fast paths: checked here so that a new primitive cannot skip the gradient check.
const fused: Case[] = [
  { name: "linear primitive with bias", fn: (x, w, b) => P.linear(x, w, b), inputs: () => [R(2, 3, 4), R(5, 4), R(5)] },
  { name: "linear primitive no bias 1d", fn: (x, w) => P.linear(x, w, null), inputs: () => [R(4), R(2, 4)] },
  { name: "linear primitive strided weight and bias", fn: (x, w, b) => P.linear(x.t(), w.t(), b.slice(0, 0, null, 2)), inputs: () => [R(4, 3), R(4, 5), R(10)] },
  // regression: leading dims that do not merge (transposed / expanded batch) threw instead of copying
  { name: "linear primitive transposed batch", fn: (x, w, b) => P.linear(x.transpose(0, 1), w, b), inputs: () => [R(3, 2, 4), R(5, 4), R(5)] },
  { name: "linear primitive expanded batch", fn: (x, w) => P.linear(x.expand(3, 2, 4), w, null), inputs: () => [R(2, 4), R(5, 4)] },
  // regression: backward used reshape(-1, 0), which is ambiguous for an empty feature dim
  { name: "linear primitive zero in-features", fn: (x, w, b) => P.linear(x, w, b), inputs: () => [R(2, 3, 0), R(5, 0), R(5)] },
  { name: "bceWithLogits primitive", fn: (x, y) => P.bceWithLogits(x, y), inputs: () => [R(2, 3), U([2, 3], 0, 1)] },
  { name: "reluBackward primitive (broadcast g)", fn: (g, y) => P.reluBackward(g, y), inputs: () => [R(3), R(2, 3)] },
  { name: "softmax primitive middle dim of a transposed view", fn: (x) => P.softmax(x.transpose(0, 2), 1, false), inputs: () => [R(2, 3, 4)] },
  { name: "softmax primitive log, dim 0", fn: (x) => P.softmax(x, 0, true), inputs: () => [R(3, 4)] },
  { name: "softmaxBackward primitive", fn: (g, y) => P.softmaxBackward(g, y, 1, false), inputs: () => [R(3, 4), R(3, 4)] },
  { name: "softmaxBackward primitive log, middle dim, expanded g", fn: (g, y) => P.softmaxBackward(g.expand(2, 3, 4), y, 1, true), inputs: () => [R(3, 1), R(2, 3, 4)] },
  { name: "geluBackward primitive exact", fn: (g, x) => P.geluBackward(g, x, false), inputs: () => [R(3, 4), R(3, 4)] },
  { name: "geluBackward primitive tanh, transposed x", fn: (g, x) => P.geluBackward(g, x.t(), true), inputs: () => [R(4, 3), R(3, 4)] },
  { name: "layerNorm primitive over 2 trailing dims of a transposed view", fn: (x) => P.layerNorm(x.transpose(0, 2), 6, 1e-5), inputs: () => [R(3, 2, 4)] },
  { name: "layerNormBackward primitive", fn: (g, x) => P.layerNormBackward(g, x, 5, 1e-3), inputs: () => [R(3, 5), R(3, 5)] },
  { name: "layerNormBackward primitive expanded g, 3-d", fn: (g, x) => P.layerNormBackward(g.expand(2, 3, 4), x, 4, 0.1), inputs: () => [R(3, 1), R(2, 3, 4)] },
  { name: "bceWithLogitsBackward primitive (broadcast g)", fn: (g, x, y) => P.bceWithLogitsBackward(g, x, y), inputs: () => [R(1, 3), R(2, 3), U([2, 3], 0, 1)] },
  // conv/pool windows: odd sizes, stride, dilation, padding (negative crops), ceil mode's window past the input
  { name: "im2col primitive stride dilation padding", fn: (x) => P.im2col(x, win(3, 2, 2, 1, 1, 2, 1, 0, 3, 4)), inputs: () => [R(2, 3, 5, 7)] },
  { name: "im2col primitive cropping strided input", fn: (x) => P.im2col(x.transpose(2, 3), win(2, 2, 1, 2, 1, 1, -1, 1, 2, 3)), inputs: () => [R(1, 2, 5, 4)] },
  { name: "col2im primitive overlapping windows, transposed columns", fn: (c) => P.col2im(c.t(), [2, 1, 4, 3], win(2, 2, 1, 1, 1, 1, 0, 0, 3, 2)), inputs: () => [R(12, 4)] },
  { name: "col2im primitive overlapping windows", fn: (c) => P.col2im(c, [2, 2, 4, 5], win(3, 2, 1, 2, 1, 1, 1, 0, 4, 2)), inputs: () => [R(12, 16)] },
  { name: "maxPool2d primitive padding dilation", fn: (x) => P.maxPool2d(x, win(3, 2, 2, 1, 1, 2, 1, 1, 3, 6)), inputs: () => [distinct(2, 3, 5, 6)] },
  // overlapping windows (stride 1) share maxima: the gradient sums there; ceil mode's last window hangs past the input
  { name: "maxPool2d primitive overlap ceil mode", fn: (x) => P.maxPool2d(x.transpose(2, 3), win(2, 3, 1, 2, 1, 1, 0, 1, 4, 3)), inputs: () => [distinct(1, 2, 5, 5)] },
  { name: "maxPool2dBackward primitive repeated indices", fn: (g) => P.maxPool2dBackward(g, idx([[[0, 5, 5], [2, 2, 1]]]), [1, 2, 2, 3]), inputs: () => [R(1, 2, 1, 3)] },
  { name: "layerNormAffine primitive with bias, 3-d", fn: (x, w, b) => P.layerNormAffine(x, w, b, 4, 1e-3), inputs: () => [R(2, 3, 4), R(4), R(4)] },
  { name: "layerNormAffine primitive without bias, transposed x over 2 trailing dims", fn: (x, w) => P.layerNormAffine(x.transpose(0, 2), w, null, 6, 1e-3), inputs: () => [R(3, 2, 4), R(6)] },
  // attention: batch dims, L ≠ S, E ≠ Ev, a scale, a float bias (its gradient sums over the batch), a transposed k
  { name: "attention primitive bias and scale", fn: (q, k, v, b) => P.attention(q, k, v, b, 0.7), inputs: () => [R(2, 3, 4), R(2, 5, 4), R(2, 5, 2), R(3, 5)] },
  { name: "attention primitive transposed k, no bias", fn: (q, k, v) => P.attention(q, k.transpose(2, 3), v, null, 1), inputs: () => [R(2, 2, 3, 3), R(2, 2, 3, 4), R(2, 2, 4, 3)] },
  { name: "convOutput primitive with bias", fn: (y, b) => P.convOutput(y, b, 2, 3), inputs: () => [R(4, 6), R(4)] },
  { name: "convOutput primitive without bias, transposed result", fn: (y) => P.convOutput(y.t(), null, 3, 2), inputs: () => [R(6, 3)] },
  { name: "conv2d primitive stride dilation padding, bias", fn: (x, w, b) => P.conv2d(x, w, b, win(3, 2, 2, 1, 1, 2, 1, 0, 3, 4)), inputs: () => [R(2, 3, 5, 7), R(4, 18), R(4)] },
  { name: "conv2dInput primitive stride dilation padding", fn: (g, w) => P.conv2dInput(g, w, [2, 3, 5, 7], win(3, 2, 2, 1, 1, 2, 1, 0, 3, 4)), inputs: () => [R(4, 24), R(4, 18)] },
  { name: "conv2dInput primitive transposed gradient and weight, overlapping windows", fn: (g, w) => P.conv2dInput(g.t(), w.t(), [1, 2, 4, 5], win(3, 2, 1, 2, 1, 1, 1, 0, 4, 2)), inputs: () => [R(8, 3), R(12, 3)] },
  { name: "conv2dWeight primitive stride dilation padding", fn: (g, x) => P.conv2dWeight(g, x, win(3, 2, 2, 1, 1, 2, 1, 0, 3, 4)), inputs: () => [R(4, 24), R(2, 3, 5, 7)] },
  { name: "conv2dWeight primitive transposed gradient, strided input", fn: (g, x) => P.conv2dWeight(g.t(), x.transpose(2, 3), win(2, 2, 1, 2, 1, 1, -1, 1, 2, 3)), inputs: () => [R(6, 3), R(1, 2, 5, 4)] },
  { name: "conv2d primitive cropping strided input, transposed weight", fn: (x, w) => P.conv2d(x.transpose(2, 3), w.t(), null, win(2, 2, 1, 2, 1, 1, -1, 1, 2, 3)), inputs: () => [R(1, 2, 5, 4), R(8, 3)] },
];
const all = [...cases, ...fused];

for (const c of all) {
  test(`gradcheck ${c.name}`, () => {
    assert.equal(gradcheck(c.fn, c.inputs(), { eps: c.eps, atol: c.atol, rtol: c.rtol }), true);
  });
}

test("every primitive in grad_rules is covered by a gradient check", () => {
  const covered = new Set<string>();
  for (const c of all) {
    for (const n of nodeNames(c.fn(...c.inputs()))) covered.add(n);
    for (const n of c.covers ?? []) covered.add(n);
  }
  const missing = Object.keys(rules).filter((p) => !covered.has(p));
  assert.deepEqual(missing, [], `primitives without a gradcheck case: ${missing.join(", ")}`);
});

// Methods that are not differentiable (or are in-place / bookkeeping) and so have no gradcheck case.
const NOT_DIFFERENTIABLE = new Set([
  "constructor", "numel", "size", "dim", "item", "toTypedArray", "tolist", "toString", "requiresGrad_", "detach",
  "retainGrad", "backward", "int", "bool", "isContiguous", "eq", "ne", "lt", "le", "gt", "ge", "logicalNot",
  "logicalAnd", "logicalOr", "argmax", "argmin", "all", "any", "checkInplace", "inplace", "fillWith", "copy_",
  "add_", "sub_", "mul_", "div_", "clamp_", "fill_", "zero_", "uniform_", "normal_", "ndim", "isLeaf", "data",
]);

test("every differentiable Tensor method (and free-only op) has a gradcheck case", () => {
  const covered = new Set<string>();
  for (const c of all) {
    covered.add(c.name.split(" ")[0]);
    for (const m of c.methods ?? []) covered.add(m);
  }
  const methods = Object.getOwnPropertyNames(Tensor.prototype).filter((m) => !NOT_DIFFERENTIABLE.has(m));
  const missing = [...methods, "cat", "stack", "pad"].filter((m) => !covered.has(m));
  assert.deepEqual(missing, [], `methods without a gradcheck case: ${missing.join(", ")}`);
});

// ---- hand-checked gradients where finite differences do not apply (ties, kinks) ----

test("amax/max() with ties split the gradient evenly (PyTorch's amax backward)", () => {
  const x = tensor([[1, 3, 3], [2, 2, 0]], { dtype: "float64", requiresGrad: true });
  x.amax(1).sum().backward();
  assert.deepEqual(x.grad!.tolist(), [[0, 0.5, 0.5], [0.5, 0.5, 0]]);
  const y = tensor([[1, 3, 3], [3, 2, 0]], { dtype: "float64", requiresGrad: true });
  y.max().backward();
  assert.deepEqual(y.grad!.tolist(), [[0, 1 / 3, 1 / 3], [1 / 3, 0, 0]]);
  const z = tensor([[4, 1], [4, 0]], { dtype: "float64", requiresGrad: true });
  z.amin(0, { keepdim: true }).mul(tensor([[2, 6]], { dtype: "float64" })).sum().backward();
  assert.deepEqual(z.grad!.tolist(), [[1, 0], [1, 6]]);
  const w = tensor([[4, 1], [4, 0]], { dtype: "float64", requiresGrad: true });
  w.amax(0).sum().backward();
  assert.deepEqual(w.grad!.tolist(), [[0.5, 1], [0.5, 0]]);
});

test("max(dim) with ties sends the whole gradient to the returned index", () => {
  const x = tensor([[1, 3, 3], [2, 2, 0]], { dtype: "float64", requiresGrad: true });
  const { values, indices } = x.max(1);
  assert.deepEqual(indices.tolist(), [1, 0]);
  values.mul(tensor([10, 20], { dtype: "float64" })).sum().backward();
  assert.deepEqual(x.grad!.tolist(), [[0, 10, 0], [20, 0, 0]]);
});

test("maximum/minimum ties split the gradient in half", () => {
  const a = tensor([1, 2, 3], { dtype: "float64", requiresGrad: true });
  const b = tensor([1, 5, 0], { dtype: "float64", requiresGrad: true });
  a.maximum(b).sum().backward();
  assert.deepEqual(a.grad!.tolist(), [0.5, 0, 1]);
  assert.deepEqual(b.grad!.tolist(), [0.5, 1, 0]);
  const c = tensor([2, 2], { dtype: "float64", requiresGrad: true });
  c.minimum(2).sum().backward();
  assert.deepEqual(c.grad!.tolist(), [0.5, 0.5]);
});

test("kinks follow PyTorch: relu'(0)=0, abs'(0)=0, clamp passes at the bounds, leakyRelu'(0)=slope", () => {
  const x = tensor([0, 0, 0, 0], { dtype: "float64", requiresGrad: true });
  x.relu().sum().backward();
  assert.deepEqual(x.grad!.tolist(), [0, 0, 0, 0]);
  const y = tensor([0, -1], { dtype: "float64", requiresGrad: true });
  y.abs().sum().backward();
  assert.deepEqual(y.grad!.tolist(), [0, -1]);
  const z = tensor([-1, 1, 0.5], { dtype: "float64", requiresGrad: true });
  z.clamp(-1, 1).sum().backward();
  assert.deepEqual(z.grad!.tolist(), [1, 1, 1]);
  const w = tensor([0, 2], { dtype: "float64", requiresGrad: true });
  w.leakyRelu(0.25).sum().backward();
  assert.deepEqual(w.grad!.tolist(), [0.25, 1]);
});

test("norm and std have zero (not NaN) gradient at zero, as PyTorch", () => {
  // regression: sqrt'(0) = inf made 0 * inf = NaN flow into every element
  const x = tensor([0, 0, 0], { dtype: "float64", requiresGrad: true });
  x.norm().backward();
  assert.deepEqual(x.grad!.tolist(), [0, 0, 0]);
  const y = tensor([[0, 0], [3, 4]], { dtype: "float64", requiresGrad: true });
  y.norm(2, 1).sum().backward();
  const gy = y.grad!.tolist() as number[][];
  assert.deepEqual(gy[0], [0, 0]);
  assert.ok(Math.abs(gy[1][0] - 0.6) < 1e-12 && Math.abs(gy[1][1] - 0.8) < 1e-12, `${gy}`);
  const p = tensor([0, 0], { dtype: "float64", requiresGrad: true });
  p.norm(3).backward();
  assert.deepEqual(p.grad!.tolist(), [0, 0]);
  const s = tensor([2, 2, 2], { dtype: "float64", requiresGrad: true });
  s.std().backward();
  assert.deepEqual(s.grad!.tolist(), [0, 0, 0]);
  // and away from zero the values are unchanged
  gradcheck((t) => t.norm(2, 1), [tensor([[0.5, -1], [3, 4]], { dtype: "float64", requiresGrad: true })]);
  gradcheck((t) => t.std(1), [tensor([[0.5, -1, 2], [3, 4, 4.5]], { dtype: "float64", requiresGrad: true })]);
});

// ---- second derivatives ----

const smooth2: [string, (...xs: Tensor[]) => Tensor, () => Tensor[]][] = [
  ["exp", (x) => x.exp(), () => [R(2, 3)]],
  ["tanh", (x) => x.tanh(), () => [R(2, 3)]],
  ["sigmoid", (x) => x.sigmoid(), () => [R(2, 3)]],
  ["mul", (a, b) => a.mul(b), () => [R(2, 3), R(3)]],
  ["div", (a, b) => a.div(b), () => [R(2, 3), away(3)]],
  ["pow", (a, b) => a.pow(b), () => [U([2, 3], 0.4, 2), R(2, 3)]],
  ["pow scalar", (a) => a.pow(3), () => [R(4)]],
  ["matmul", (a, b) => a.matmul(b), () => [R(2, 3), R(3, 2)]],
  ["softmax", (x) => x.softmax(-1), () => [R(2, 4)]],
  ["logSoftmax", (x) => x.logSoftmax(-1), () => [R(2, 4)]],
  ["gelu", (x) => x.gelu(), () => [R(2, 3)]],
  ["layerNorm with weight", (x, w) => nn.functional.layerNorm(x, [4], { weight: w }), () => [R(3, 4), R(4)]],
  ["layerNormBackward primitive", (g, x) => P.layerNormBackward(g, x, 4, 1e-2), () => [R(2, 4), R(2, 4)]],
  // without a bias: its gradient, the row sum of the constant upstream gradient, has no graph to check
  ["layerNormAffine primitive", (x, w) => P.layerNormAffine(x, w, null, 4, 1e-2), () => [R(3, 4), R(4)]],
  ["softmaxBackward primitive", (g, y) => P.softmaxBackward(g, y, 1, false), () => [R(2, 4), R(2, 4)]],
  // the rule recomputes the probabilities from q, k and the bias when it builds a graph
  ["attention primitive", (q, k, v, b) => P.attention(q, k, v, b, 0.5), () => [R(2, 3, 2), R(2, 4, 2), R(2, 4, 3), R(3, 4)]],
  ["softmaxBackward primitive log", (g, y) => P.softmaxBackward(g, y, 0, true), () => [R(2, 4), R(2, 4)]],
  ["geluBackward primitive tanh", (g, x) => P.geluBackward(g, x, true), () => [R(2, 3), R(2, 3)]],
  ["gelu tanh", (x) => x.gelu({ approximate: "tanh" }), () => [R(2, 3)]],
  ["log", (x) => x.log(), () => [U([4], 0.3, 2)]],
  ["sqrt", (x) => x.sqrt(), () => [U([4], 0.3, 2)]],
  ["prod", (x) => x.prod(1), () => [R(2, 3)]],
  ["erf", (x) => x.erf(), () => [R(4)]],
  // conv is bilinear in (x, w): its second derivatives run the primitives of conv2d's rule (im2col, col2im, matmul)
  ["conv2d stride padding", (x, w) => nn.functional.conv2d(x, w, null, { stride: 2, padding: 1 }), () => [R(1, 2, 4, 5), R(3, 2, 2, 3)]],
  ["maxPool2d squared", (x) => P.maxPool2d(x, win(2, 2, 1, 1, 1, 1, 1, 0, 4, 3)).square(), () => [distinct(1, 2, 4, 4)]],
];
for (const [name, fn, inputs] of smooth2) {
  test(`gradgradcheck ${name}`, () => {
    assert.equal(autograd.gradgradcheck(fn, inputs()), true);
  });
}

test("autograd.grad with createGraph gives hand-checked second derivatives", () => {
  const x = tensor([0.5, -1, 2], { dtype: "float64", requiresGrad: true });
  const y = x.pow(3).sum().add(x.sin().sum());
  const [dx] = autograd.grad(y, [x], { createGraph: true });
  // d/dx = 3x^2 + cos x
  const want1 = [0.5, -1, 2].map((v) => 3 * v * v + Math.cos(v));
  (dx!.tolist() as number[]).forEach((v, i) => assert.ok(Math.abs(v - want1[i]) < 1e-12));
  assert.ok(dx!.requiresGrad, "the first derivative must itself be differentiable");
  const [d2x] = autograd.grad(dx!.sum(), [x]);
  // d2/dx2 = 6x - sin x
  const want2 = [0.5, -1, 2].map((v) => 6 * v - Math.sin(v));
  (d2x!.tolist() as number[]).forEach((v, i) => assert.ok(Math.abs(v - want2[i]) < 1e-12));
  // mixed partial of a*b^2: d/da d/db = 2b
  const a = tensor(1.5, { dtype: "float64", requiresGrad: true });
  const b = tensor(-2, { dtype: "float64", requiresGrad: true });
  const [db] = autograd.grad(a.mul(b.square()), [b], { createGraph: true });
  const [dadb] = autograd.grad(db!, [a]);
  assert.equal(dadb!.item(), -4);
});

test("gradcheck itself rejects a wrong gradient (the harness can fail)", () => {
  class WrongSquare extends autograd.Function {
    static override forward(ctx: FunctionCtx, x: Tensor): Tensor {
      ctx.saveForBackward(x);
      return x.square();
    }
    static override backward(ctx: FunctionCtx, g: Tensor): Tensor {
      return g.mul(ctx.savedTensors[0]); // missing the factor 2
    }
  }
  assert.throws(() => gradcheck((x) => WrongSquare.apply(x), [R(3)]), /^Error: \[gradcheck\] Jacobian mismatch/);
});
