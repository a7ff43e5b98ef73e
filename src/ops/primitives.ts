// THE list of primitives: every kernel call and every autograd record in Kiln goes through these functions.
// Each validates its arguments, runs the active backend's kernel, and records its node via `record`.
import { active } from "../backend/active.js";
import type { Backend, BinaryKernel, ReduceKernel, UnaryKernel, Window2d } from "../backend/backend.js";
import { gradMode } from "../autograd/grad_mode.js";
import { Node, type GradRule } from "../autograd/node.js";
import { rules } from "../autograd/grad_rules.js";
import { allocStorage, isFloating, promoteTypes, resultType, type DType } from "../dtype.js";
import { broadcastShapes, contiguousStrides, fmtShape, numelOf, shapesEqual, mapDims, reducedShape, seqMajorStrides } from "../shape.js";
import { Tensor } from "../tensor.js";

export type PrimName = keyof typeof rules;

/** Attach the autograd node to `out` when recording is on and any input requires grad. */
function record(name: PrimName, out: Tensor, inputs: Tensor[], attrs: unknown): Tensor {
  if (gradMode.enabled) {
    for (let i = 0; i < inputs.length; i++) {
      if (inputs[i].requiresGrad) {
        out.gradFn = new Node(name, rules[name] as GradRule, inputs, attrs, out);
        out.requiresGrad = true;
        break;
      }
    }
  }
  return out;
}

function fresh(buf: ReturnType<typeof allocStorage>, shape: number[], dtype: DType): Tensor {
  return new Tensor(buf, shape, contiguousStrides(shape), 0, dtype);
}

// ---- unary ----------------------------------------------------------------------------------------
type Sel<K> = (b: Backend) => K;

function unary(name: PrimName, k: Sel<UnaryKernel>, toFloat: boolean) {
  return (x: Tensor): Tensor => {
    if (name === "neg" && x.dtype === "bool") throw new Error(`[neg] negation of a bool tensor (shape ${fmtShape(x.shape)}) is not supported; use logicalNot()`);
    const dt = toFloat && !isFloating(x.dtype) ? "float32" : x.dtype;
    return record(name, fresh(k(active.b)(x, dt), x.shape.slice(), dt), [x], null);
  };
}

export const exp = unary("exp", (b) => b.exp, true);
export const log = unary("log", (b) => b.log, true);
export const log1p = unary("log1p", (b) => b.log1p, true);
export const sqrt = unary("sqrt", (b) => b.sqrt, true);
export const sin = unary("sin", (b) => b.sin, true);
export const cos = unary("cos", (b) => b.cos, true);
export const tanh = unary("tanh", (b) => b.tanh, true);
export const sigmoid = unary("sigmoid", (b) => b.sigmoid, true);
export const erf = unary("erf", (b) => b.erf, true);
export const neg = unary("neg", (b) => b.neg, false);
export const abs = unary("abs", (b) => b.abs, false);
export const sign = unary("sign", (b) => b.sign, false);
export const relu = unary("relu", (b) => b.relu, false);
export const floor = unary("floor", (b) => b.floor, false);
export const round = unary("round", (b) => b.round, false);

export function logicalNot(x: Tensor): Tensor {
  return fresh(active.b.logicalNot(x, "bool"), x.shape.slice(), "bool");
}

// ---- binary with broadcasting -----------------------------------------------------------------------
function binary(name: PrimName, k: Sel<BinaryKernel>, kind: "promote" | "div" | "compare") {
  return (a: Tensor, b: Tensor): Tensor => {
    const shape = shapesEqual(a.shape, b.shape) ? a.shape.slice() : broadcastShapes(a.shape, b.shape, name);
    let dt = resultType(a, b);
    if (kind === "div" && !isFloating(dt)) dt = "float32";
    if (kind === "compare") return fresh(k(active.b)(a, b, shape, "bool"), shape, "bool");
    if (dt === "bool" && name === "sub") {
      throw new Error(`[sub] subtraction of two bool tensors (shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)}) is not supported; use logicalNot() to invert a mask`);
    }
    const buf = k(active.b)(a, b, shape, dt);
    // bool + bool is logical or, as PyTorch: the kernel's 1 + 1 = 2 must not leak into a bool tensor
    if (dt === "bool" && name === "add") for (let i = 0; i < buf.length; i++) buf[i] = buf[i] ? 1 : 0;
    return record(name, fresh(buf, shape, dt), [a, b], null);
  };
}

export const add = binary("add", (b) => b.add, "promote");
export const sub = binary("sub", (b) => b.sub, "promote");
export const mul = binary("mul", (b) => b.mul, "promote");
export const div = binary("div", (b) => b.div, "div");
export const pow = binary("pow", (b) => b.pow, "promote");
export const maximum = binary("maximum", (b) => b.maximum, "promote");
export const minimum = binary("minimum", (b) => b.minimum, "promote");
/** g where y > 0, else 0 (relu's backward from its output y), one pass instead of compare + where. */
export const reluBackward = binary("reluBackward", (b) => b.reluBackward, "promote");
export const eq = binary("eq", (b) => b.eq, "compare");
export const ne = binary("ne", (b) => b.ne, "compare");
export const lt = binary("lt", (b) => b.lt, "compare");
export const le = binary("le", (b) => b.le, "compare");
export const gt = binary("gt", (b) => b.gt, "compare");
export const ge = binary("ge", (b) => b.ge, "compare");

export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  if (cond.dtype !== "bool") throw new Error(`[where] condition must be a bool tensor, got ${cond.dtype}`);
  const shape = broadcastShapes(broadcastShapes(cond.shape, a.shape, "where"), b.shape, "where");
  const dt = resultType(a, b);
  return record("where", fresh(active.b.where(cond, a, b, shape, dt), shape, dt), [cond, a, b], null);
}

// ---- reductions -------------------------------------------------------------------------------------
function reduction(name: PrimName, k: Sel<ReduceKernel>) {
  return (x: Tensor, dims: number[], keepdim: boolean): Tensor => {
    // NOTE: sums of bool/int32 are int32 (PyTorch: int64); max/min keep the dtype.
    const dt = x.dtype === "bool" && (name === "sum" || name === "prod") ? "int32" : x.dtype;
    if (name === "max" || name === "min") {
      for (const d of dims) {
        if (x.shape[d] === 0) throw new Error(`[${name}] cannot reduce over dim ${d} of size 0 (input shape ${fmtShape(x.shape)})`);
      }
    }
    const buf = k(active.b)(x, dims, dt);
    const shape = reducedShape(x.shape, dims, keepdim);
    return record(name, fresh(buf, shape, dt), [x], { dims, keepdim });
  };
}

export const sum = reduction("sum", (b) => b.sum);

/** Mean over dims of a floating tensor: the sum kernel, scaled in place (one node instead of sum + div). */
export function mean(x: Tensor, dims: number[], keepdim: boolean): Tensor {
  let count = 1;
  for (const d of dims) count *= x.shape[d];
  const buf = active.b.sum(x, dims, x.dtype);
  for (let i = 0; i < buf.length; i++) buf[i] /= count;
  const shape = reducedShape(x.shape, dims, keepdim);
  return record("mean", fresh(buf, shape, x.dtype), [x], { dims, keepdim, count });
}
export const prod = reduction("prod", (b) => b.prod);
export const max = reduction("max", (b) => b.max);
export const min = reduction("min", (b) => b.min);

export function argmax(x: Tensor, dim: number, keepdim: boolean): Tensor {
  return argReduce(x, dim, keepdim, true);
}
export function argmin(x: Tensor, dim: number, keepdim: boolean): Tensor {
  return argReduce(x, dim, keepdim, false);
}
function argReduce(x: Tensor, dim: number, keepdim: boolean, isMax: boolean): Tensor {
  const op = isMax ? "argmax" : "argmin";
  if (x.shape[dim] === 0) throw new Error(`[${op}] cannot reduce over dim ${dim} of size 0 (input shape ${fmtShape(x.shape)})`);
  const buf = isMax ? active.b.argmax(x, dim) : active.b.argmin(x, dim);
  return fresh(buf, reducedShape(x.shape, [dim], keepdim), "int32");
}

// ---- data movement ----------------------------------------------------------------------------------
export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x;
  const out = fresh(active.b.cast(x, dtype), x.shape.slice(), dtype);
  return isFloating(dtype) ? record("cast", out, [x], null) : out;
}

/** A contiguous copy (always a new buffer). */
export function clone(x: Tensor): Tensor {
  return record("clone", fresh(active.b.copy(x, x.dtype), x.shape.slice(), x.dtype), [x], null);
}

/** A view with new shape and strides over the same storage; the caller checks that it is valid. */
export function view(x: Tensor, shape: number[], strides: number[]): Tensor {
  return record("view", new Tensor(x.buf, shape, strides, x.offset, x.dtype), [x], null);
}

export function permute(x: Tensor, perm: number[]): Tensor {
  const t = new Tensor(x.buf, mapDims(perm, (p) => x.shape[p]), mapDims(perm, (p) => x.strides[p]), x.offset, x.dtype);
  return record("permute", t, [x], perm);
}

export function expand(x: Tensor, shape: number[]): Tensor {
  const off = shape.length - x.ndim, strides: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    const s = shape[i], d = i < off ? 1 : x.shape[i - off];
    if (d !== s && d !== 1) throw new Error(`[expand] the expanded size ${s} must match the existing size ${d} at non-singleton dim ${i} (input ${fmtShape(x.shape)}, target ${fmtShape(shape)})`);
    strides.push(i < off || d !== s ? 0 : x.strides[i - off]);
  }
  return record("expand", new Tensor(x.buf, shape, strides, x.offset, x.dtype), [x], null);
}

/** The view x[start[d] :: step[d]] with `shape` elements along each dim d. */
export function region(x: Tensor, start: number[], step: number[], shape: number[]): Tensor {
  let off = x.offset;
  const strides = mapDims(x.strides, (s, d) => { off += start[d] * s; return s * step[d]; });
  return record("region", new Tensor(x.buf, shape, strides, off, x.dtype), [x], { start, step });
}

/** A tensor of `shape` filled with `value`, with x written at [start[d] :: step[d]]: the inverse of region. */
export function pad(x: Tensor, shape: number[], start: number[], step: number[], value: number): Tensor {
  for (let d = 0; d < shape.length; d++) {
    if (x.shape[d] > 0 && start[d] + (x.shape[d] - 1) * step[d] >= shape[d]) {
      throw new Error(`[pad] input ${fmtShape(x.shape)} does not fit in ${fmtShape(shape)} at dim ${d}`);
    }
  }
  const buf = active.b.pad(x, shape, start, step, value, x.dtype);
  return record("pad", fresh(buf, shape.slice(), x.dtype), [x], { start, step });
}

export function cat(xs: Tensor[], dim: number): Tensor {
  const first = xs[0];
  const shape = first.shape.slice();
  let dt = first.dtype;
  shape[dim] = 0;
  for (const x of xs) {
    if (x.ndim !== first.ndim) throw new Error(`[cat] tensors must have the same number of dims: ${fmtShape(first.shape)} vs ${fmtShape(x.shape)}`);
    for (let d = 0; d < x.ndim; d++) {
      if (d !== dim && x.shape[d] !== first.shape[d]) {
        throw new Error(`[cat] sizes of tensors must match except in dim ${dim}: ${fmtShape(first.shape)} vs ${fmtShape(x.shape)}`);
      }
    }
    shape[dim] += x.shape[dim];
    dt = promoteTypes(dt, x.dtype);
  }
  return record("cat", fresh(active.b.cat(xs, dim, shape, dt), shape, dt), xs, dim);
}

function checkIndexTensor(op: string, x: Tensor, dim: number, index: Tensor): void {
  if (index.dtype !== "int32") throw new Error(`[${op}] index must be an int32 tensor, got ${index.dtype}`);
  if (index.ndim !== x.ndim) throw new Error(`[${op}] index ${fmtShape(index.shape)} must have as many dims as input ${fmtShape(x.shape)}`);
  for (let d = 0; d < x.ndim; d++) {
    if (d !== dim && index.shape[d] > x.shape[d]) {
      throw new Error(`[${op}] index ${fmtShape(index.shape)} is larger than input ${fmtShape(x.shape)} at dim ${d}`);
    }
  }
}

export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  checkIndexTensor("gather", x, dim, index);
  return record("gather", fresh(active.b.gather(x, dim, index, x.dtype), index.shape.slice(), x.dtype), [x, index], dim);
}

export function scatterAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  checkIndexTensor("scatterAdd", x, dim, index);
  for (let d = 0; d < x.ndim; d++) {
    if (index.shape[d] > src.shape[d]) throw new Error(`[scatterAdd] index ${fmtShape(index.shape)} is larger than src ${fmtShape(src.shape)} at dim ${d}`);
  }
  const dt = promoteTypes(x.dtype, src.dtype);
  return record("scatterAdd", fresh(active.b.scatterAdd(x, dim, index, src, dt), x.shape.slice(), dt), [x, index, src], dim);
}

/** a (...batch, M, K) @ b (...batch, K, N) with equal batch shapes (broadcast beforehand by expand). */
export function matmul(a: Tensor, b: Tensor): Tensor {
  const nd = a.ndim;
  if (nd < 2 || b.ndim !== nd || a.shape[nd - 1] !== b.shape[nd - 2] || !shapesEqual(a.shape.slice(0, -2), b.shape.slice(0, -2))) {
    throw new Error(`[matmul] shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)} cannot be multiplied`);
  }
  const dt = promoteTypes(a.dtype, b.dtype);
  const shape = [...a.shape.slice(0, -2), a.shape[nd - 2], b.shape[nd - 1]];
  return record("matmul", fresh(active.b.matmul(a, b, shape, dt), shape, dt), [a, b], null);
}

/**
 * linear's gradients for a backward pass that builds no graph (nothing is recorded): dx = g w, dw = gᵀ x and db = g
 * summed over rows, for g (rows, out), x (rows, in), w (out, in) of one dtype; null where `need` is false.
 * NOTE: one kernel instead of two matmuls and a sum, so the wasm backend copies g in once instead of three times.
 */
export function linearGrads(g: Tensor, x: Tensor, w: Tensor, need: readonly [boolean, boolean, boolean]): [Tensor | null, Tensor | null, Tensor | null] {
  const dt = g.dtype, R = g.shape[0], O = g.shape[1], I = w.shape[1];
  const r = active.b.linearBackward(g, x, w, need, dt);
  return [r.dx && fresh(r.dx, [R, I], dt), r.dw && fresh(r.dw, [O, I], dt), r.db && fresh(r.db, [O], dt)];
}

/**
 * Whether attention stores a result shaped like x with dims -3 and -2 swapped: x is itself laid out so (heads of
 * (N, L, H, D) viewed as (N, H, L, D), as MultiheadAttention passes them), and the result then merges its heads back
 * to (N, L, H·D) by a view instead of a copy.
 */
function seqMajor(x: Tensor): boolean {
  const nd = x.ndim;
  return nd >= 3 && x.strides[nd - 3] < x.strides[nd - 2];
}

/** A tensor over storage laid out as `attention`'s kernels were asked to (contiguous, or seqMajorStrides). */
function laidOut(buf: ReturnType<typeof allocStorage>, shape: number[], dtype: DType, seq: boolean): Tensor {
  return new Tensor(buf, shape, seq ? seqMajorStrides(shape) : contiguousStrides(shape), 0, dtype);
}

/**
 * Attention without dropout, one kernel: softmax(q kᵀ · scale + bias) v for q (...batch, L, E), k (...batch, S, E),
 * v (...batch, S, Ev) with equal batch dims and a float bias (L, S) or null. The node keeps the probabilities
 * (...batch, L, S) for the gradient (computed without one when no input requires a gradient). The output is laid out
 * like q (`seqMajor`), and each gradient like its input.
 * NOTE: the composite ran four kernels with the (...batch, L, S) scores copied in and out of each; here they stay
 * in one thread's cache per batch element.
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, bias: Tensor | null, scale: number): Tensor {
  const nd = q.ndim, E = q.shape[nd - 1], L = q.shape[nd - 2], S = k.shape[nd - 2];
  if (nd < 2 || k.ndim !== nd || v.ndim !== nd || k.shape[nd - 1] !== E || v.shape[nd - 2] !== S ||
    !shapesEqual(q.shape.slice(0, -2), k.shape.slice(0, -2)) || !shapesEqual(q.shape.slice(0, -2), v.shape.slice(0, -2)) ||
    (bias !== null && (bias.ndim !== 2 || bias.shape[0] !== L || bias.shape[1] !== S))) {
    throw new Error(`[attention] expected q (..., L, E), k (..., S, E), v (..., S, Ev) with equal batch dims and bias (L, S) or none; got ${fmtShape(q.shape)}, ${fmtShape(k.shape)}, ${fmtShape(v.shape)} and ${bias ? fmtShape(bias.shape) : "none"}`);
  }
  let dt = promoteTypes(promoteTypes(q.dtype, k.dtype), v.dtype);
  if (bias) dt = promoteTypes(dt, bias.dtype);
  if (!isFloating(dt)) throw new Error(`[attention] expected floating point q, k, v, got ${dt}`);
  const inputs = bias ? [q, k, v, bias] : [q, k, v];
  // the probabilities only for a node (inference skips their copy out: 2 MiB a layer of the benchmark transformer)
  const withProbs = gradMode.enabled && inputs.some((t) => t.requiresGrad);
  const seq = seqMajor(q);
  const { out, probs } = active.b.attention(q, k, v, bias, scale, dt, withProbs, seq);
  const batch = q.shape.slice(0, -2), y = laidOut(out, [...batch, L, v.shape[nd - 1]], dt, seq);
  return withProbs ? record("attention", y, inputs, { scale, probs: fresh(probs!, [...batch, L, S], dt) }) : y;
}

/**
 * attention's gradients (dq, dk, dv) in one kernel, for a backward pass that builds no graph: nothing is recorded.
 * NOTE: the rule's composite copied the (...batch, L, S) dp and ds in and out of four kernels; here they stay in
 * one thread's cache per batch element.
 */
export function attentionGrads(g: Tensor, q: Tensor, k: Tensor, v: Tensor, probs: Tensor, bias: Tensor | null, scale: number): [Tensor, Tensor, Tensor] {
  const seq = [seqMajor(q), seqMajor(k), seqMajor(v)] as const;
  const dt = probs.dtype, { dq, dk, dv } = active.b.attentionBackward(g, q, k, v, probs, bias, scale, dt, seq);
  return [laidOut(dq, q.shape.slice(), dt, seq[0]), laidOut(dk, k.shape.slice(), dt, seq[1]), laidOut(dv, v.shape.slice(), dt, seq[2])];
}

/** A tensor of `shape` holding the scalar `v` in every element (contiguous, own storage). */
export function filled(shape: number[], v: number, dtype: DType): Tensor {
  const buf = allocStorage(dtype, numelOf(shape));
  if (v !== 0) buf.fill(v);
  return fresh(buf, shape, dtype);
}

/**
 * Fused affine map x @ w^T + b over the last dim: x (..., in), w (out, in), b (out) or null → (..., out).
 * NOTE: one primitive instead of permute+matmul+add: per-op overhead dominates small training steps.
 */
export function linear(x: Tensor, w: Tensor, b: Tensor | null): Tensor {
  const inF = w.shape[1], outF = w.shape[0];
  if (w.ndim !== 2 || x.ndim < 1 || x.shape[x.ndim - 1] !== inF || (b !== null && (b.ndim !== 1 || b.shape[0] !== outF))) {
    throw new Error(`[linear] input ${fmtShape(x.shape)}, weight ${fmtShape(w.shape)} and bias ${b ? fmtShape(b.shape) : "None"} do not fit (expected input (..., ${inF}), weight (out, in), bias (out))`);
  }
  const rows = numelOf(x.shape.slice(0, -1));
  const rs = x.ndim > 2 ? rowStrides(x) : null;
  // leading dims that do not merge (a transposed or expanded batch) are copied once; clone keeps the gradient path
  if (x.ndim > 2 && !rs) return linear(clone(x), w, b);
  const x2 = x.ndim === 2 ? x : new Tensor(x.buf, [rows, inF], x.ndim === 1 ? [0, x.strides[0]] : rs!, x.offset, x.dtype);
  const wt = new Tensor(w.buf, [inF, outF], [w.strides[1], w.strides[0]], w.offset, w.dtype);
  let dt = promoteTypes(x.dtype, w.dtype);
  if (b) dt = promoteTypes(dt, b.dtype);
  const buf = active.b.linear(x2, wt, b, [x2.shape[0], outF], dt);
  const shape = [...x.shape.slice(0, -1), outF];
  return record("linear", fresh(buf, shape, dt), b ? [x, w, b] : [x, w], null);
}

/** Strides of x flattened to (rows, last) when its leading dims merge without a copy, else null. */
function rowStrides(x: Tensor): number[] | null {
  const nd = x.ndim;
  for (let d = nd - 2; d > 0; d--) {
    if (x.strides[d - 1] !== x.strides[d] * x.shape[d] && x.shape[d - 1] !== 1) return null;
  }
  return [x.strides[nd - 2], x.strides[nd - 1]];
}

// ---- fused activations ---------------------------------------------------------------------------
// NOTE: one kernel instead of 5-9 elementwise passes each way; attention and cross-entropy run softmax on
// every step of a transformer, GELU runs on its widest activations.

/** softmax (log = false) or log-softmax (log = true) of a floating x (ndim >= 1) along dim. */
export function softmax(x: Tensor, dim: number, log: boolean): Tensor {
  return record("softmax", fresh(active.b.softmax(x, dim, log, x.dtype), x.shape.slice(), x.dtype), [x], { dim, log });
}

/** The input gradient of softmax from the upstream g and the output y (same shapes), in one pass. */
export function softmaxBackward(g: Tensor, y: Tensor, dim: number, log: boolean): Tensor {
  return fusedBackward("softmaxBackward", "output", g, y, { dim, log }, (dt) => active.b.softmaxBackward(g, y, dim, log, dt));
}

/** A fused backward primitive of the upstream g and one tensor t of the same shape: checked, promoted, recorded. */
function fusedBackward(name: PrimName, what: string, g: Tensor, t: Tensor, attrs: object, kernel: (dt: DType) => ReturnType<typeof allocStorage>): Tensor {
  if (!shapesEqual(g.shape, t.shape)) throw new Error(`[${name}] gradient ${fmtShape(g.shape)} and ${what} ${fmtShape(t.shape)} must have the same shape`);
  const dt = promoteTypes(g.dtype, t.dtype);
  return record(name, fresh(kernel(dt), t.shape.slice(), dt), [g, t], attrs);
}

/** GELU of a floating x: exact, x Φ(x), or PyTorch's tanh approximation. */
export function gelu(x: Tensor, tanh: boolean): Tensor {
  return record("gelu", fresh(active.b.gelu(x, tanh, x.dtype), x.shape.slice(), x.dtype), [x], { tanh });
}

/** g · gelu'(x) in one pass (GELU's input gradient); g and x have the same shape. */
export function geluBackward(g: Tensor, x: Tensor, tanh: boolean): Tensor {
  return fusedBackward("geluBackward", "input", g, x, { tanh }, (dt) => active.b.geluBackward(g, x, tanh, dt));
}

/**
 * Standardize each row of the last D elements of a floating x (its trailing dims, flattened): (x - mean) /
 * sqrt(var + eps), biased variance. LayerNorm and GroupNorm apply their affine maps after it.
 */
export function layerNorm(x: Tensor, D: number, eps: number): Tensor {
  const n = numelOf(x.shape);
  if (D < 0 || (D === 0 ? n !== 0 : n % D !== 0)) throw new Error(`[layerNorm] ${D} normalized elements do not divide input ${fmtShape(x.shape)}`);
  return record("layerNorm", fresh(active.b.layerNorm(x, D, eps, x.dtype), x.shape.slice(), x.dtype), [x], { D, eps });
}

/**
 * LayerNorm with its affine map in one kernel: layerNorm(x; D, eps) · w + b, for w and b (D) (b may be null).
 * NOTE: the composite ran the mul and the add as two more passes over x's size each way; a transformer step has
 * five LayerNorms.
 */
export function layerNormAffine(x: Tensor, w: Tensor, b: Tensor | null, D: number, eps: number): Tensor {
  const n = numelOf(x.shape);
  if (D <= 0 || n % D !== 0 || w.ndim !== 1 || w.shape[0] !== D || (b !== null && (b.ndim !== 1 || b.shape[0] !== D))) {
    throw new Error(`[layerNormAffine] ${D} normalized elements, input ${fmtShape(x.shape)}, weight ${fmtShape(w.shape)} and bias ${b ? fmtShape(b.shape) : "none"} do not fit (expected weight and bias (${D}))`);
  }
  let dt = promoteTypes(x.dtype, w.dtype);
  if (b) dt = promoteTypes(dt, b.dtype);
  if (!isFloating(dt)) throw new Error(`[layerNormAffine] expected a floating point input, got ${dt}`);
  return record("layerNormAffine", fresh(active.b.layerNormAffine(x, w, b, D, eps, dt), x.shape.slice(), dt), b ? [x, w, b] : [x, w], { D, eps });
}

/** layerNormAffine's gradients (dx, dw, db) in one kernel, for a backward pass that builds no graph: nothing is recorded. */
export function layerNormAffineGrads(g: Tensor, x: Tensor, w: Tensor, D: number, eps: number): [Tensor, Tensor, Tensor] {
  const dt = g.dtype, { dx, dw, db } = active.b.layerNormAffineBackward(g, x, w, D, eps, dt);
  return [fresh(dx, x.shape.slice(), dt), fresh(dw, [D], dt), fresh(db, [D], dt)];
}

/** layerNorm's input gradient from the upstream g and the input x (same shapes), in one pass per row. */
export function layerNormBackward(g: Tensor, x: Tensor, D: number, eps: number): Tensor {
  return fusedBackward("layerNormBackward", "input", g, x, { D, eps }, (dt) => active.b.layerNormBackward(g, x, D, eps, dt));
}

/** Elementwise binary cross-entropy on logits, log(1 + exp(-x)) + (1 - y) x, computed stably. */
export function bceWithLogits(x: Tensor, y: Tensor): Tensor {
  if (!shapesEqual(x.shape, y.shape)) throw new Error(`[binaryCrossEntropyWithLogits] target shape ${fmtShape(y.shape)} must match input shape ${fmtShape(x.shape)}`);
  const dt = promoteTypes(x.dtype, y.dtype);
  return record("bceWithLogits", fresh(active.b.bceWithLogits(x, y, x.shape, dt), x.shape.slice(), dt), [x, y], null);
}

/** g (sigmoid(x) - y) in one pass: the gradient of bceWithLogits with respect to its logits. */
export function bceWithLogitsBackward(g: Tensor, x: Tensor, y: Tensor): Tensor {
  const shape = shapesEqual(g.shape, x.shape) && shapesEqual(x.shape, y.shape) ? x.shape.slice() :
    broadcastShapes(broadcastShapes(g.shape, x.shape, "bceWithLogitsBackward"), y.shape, "bceWithLogitsBackward");
  const dt = promoteTypes(promoteTypes(g.dtype, x.dtype), y.dtype);
  return record("bceWithLogitsBackward", fresh(active.b.bceWithLogitsBackward(g, x, y, shape, dt), shape, dt), [g, x, y], null);
}

// ---- convolution and pooling windows ------------------------------------------------------------------
// NOTE: primitives with dedicated kernels: as composites (pad, kh*kw strided region views, stack) the conv's
// backward built kh*kw full-size padded gradients and added them, the bulk of a CNN's training step.

function checkWindow(op: string, shape: readonly number[], win: Window2d): void {
  const { kh, kw, sh, sw, dh, dw, ho, wo } = win;
  if (shape.length !== 4) throw new Error(`[${op}] expected a 4-D input (N, C, H, W), got shape ${fmtShape(shape)}`);
  if (!(kh >= 1 && kw >= 1 && sh >= 1 && sw >= 1 && dh >= 1 && dw >= 1 && ho >= 0 && wo >= 0)) {
    throw new Error(`[${op}] invalid window: kernel (${kh}, ${kw}), stride (${sh}, ${sw}), dilation (${dh}, ${dw}), output (${ho}, ${wo}) for input ${fmtShape(shape)}`);
  }
}

/**
 * The windows of x (N, C, H, W) as columns (C*kh*kw, N*ho*wo); positions outside x (padding) are 0.
 * NOTE: the batch is folded into the columns so that a convolution is one GEMM each way, and the weight
 * gradient one GEMM over N*ho*wo instead of N small ones (with K = C*kh*kw = 9 for a first layer) and a sum.
 */
export function im2col(x: Tensor, win: Window2d): Tensor {
  checkWindow("im2col", x.shape, win);
  const shape = [x.shape[1] * win.kh * win.kw, x.shape[0] * win.ho * win.wo];
  return record("im2col", fresh(active.b.im2col(x, win, x.dtype), shape, x.dtype), [x], win);
}

/** The adjoint of im2col: cols (C*kh*kw, N*ho*wo) summed back into a tensor of `shape` (N, C, H, W). */
export function col2im(cols: Tensor, shape: number[], win: Window2d): Tensor {
  checkWindow("col2im", shape, win);
  const [N, C] = shape;
  if (cols.ndim !== 2 || cols.shape[0] !== C * win.kh * win.kw || cols.shape[1] !== N * win.ho * win.wo) {
    throw new Error(`[col2im] columns ${fmtShape(cols.shape)} do not fit output ${fmtShape(shape)} with kernel (${win.kh}, ${win.kw}) and output (${win.ho}, ${win.wo})`);
  }
  return record("col2im", fresh(active.b.col2im(cols, shape, win, cols.dtype), shape.slice(), cols.dtype), [cols], win);
}

/**
 * Max over each window of x (N, C, H, W) → (N, C, ho, wo); padding never wins. The node keeps the flat
 * h*W + w index of each window's first maximum (a NaN wins), where the gradient goes.
 */
export function maxPool2d(x: Tensor, win: Window2d): Tensor {
  checkWindow("maxPool2d", x.shape, win);
  const [N, C] = x.shape;
  const { values, indices } = active.b.maxPool2d(x, win, x.dtype);
  const out = fresh(values, [N, C, win.ho, win.wo], x.dtype);
  return record("maxPool2d", out, [x], { indices: fresh(indices, [N, C, win.ho * win.wo], "int32") });
}

/** maxPool2d's input gradient: g (N, C, ho, wo) added at the window maxima `indices` (N, C, ho*wo) of an input of `shape`. */
export function maxPool2dBackward(g: Tensor, indices: Tensor, shape: number[]): Tensor {
  const [N, C] = shape;
  if (shape.length !== 4 || g.ndim !== 4 || g.shape[0] !== N || g.shape[1] !== C || indices.dtype !== "int32" || !shapesEqual(indices.shape, [N, C, g.shape[2] * g.shape[3]])) {
    throw new Error(`[maxPool2dBackward] gradient ${fmtShape(g.shape)} and ${indices.dtype} indices ${fmtShape(indices.shape)} do not fit input ${fmtShape(shape)}`);
  }
  const idx = indices.isContiguous() ? indices : clone(indices); // the kernels walk the indices in order
  return record("maxPool2dBackward", fresh(active.b.maxPool2dBackward(g, idx, shape, g.dtype), shape.slice(), g.dtype), [g], idx);
}

/**
 * A convolution's GEMM result y (O, N*L) reordered to (N, O, L), plus the bias b (O) when given.
 * NOTE: one pass over the output instead of a bias add and a permuted copy, each a fresh output the size of it.
 */
export function convOutput(y: Tensor, b: Tensor | null, N: number, L: number): Tensor {
  const O = y.shape[0];
  if (y.ndim !== 2 || y.shape[1] !== N * L || (b !== null && (b.ndim !== 1 || b.shape[0] !== O))) {
    throw new Error(`[convOutput] result ${fmtShape(y.shape)} and bias ${b ? fmtShape(b.shape) : "None"} do not fit (O, N*L) = (O, ${N}*${L}) and (O)`);
  }
  const dt = b ? promoteTypes(y.dtype, b.dtype) : y.dtype;
  return record("convOutput", fresh(active.b.convOutput(y, b, N, dt), [N, O, L], dt), b ? [y, b] : [y], null);
}

/**
 * Convolution of x (N, C, H, W) with the flattened weight w (O, C*kh*kw) over the windows `win`, plus b (O) when
 * given: (N, O, ho, wo). The same numbers as convOutput(matmul(w, im2col(x)), b).
 * NOTE: one primitive so that a backend can keep the columns (C*kh*kw, N*ho*wo: 7 MiB for the CNN's second layer)
 * inside its GEMM's memory; the backward recomputes them instead of keeping them alive until it runs.
 */
export function conv2d(x: Tensor, w: Tensor, b: Tensor | null, win: Window2d): Tensor {
  checkWindow("conv2d", x.shape, win);
  const [N, C] = x.shape, O = w.shape[0];
  if (w.ndim !== 2 || w.shape[1] !== C * win.kh * win.kw || (b !== null && (b.ndim !== 1 || b.shape[0] !== O))) {
    throw new Error(`[conv2d] input ${fmtShape(x.shape)}, weight ${fmtShape(w.shape)} and bias ${b ? fmtShape(b.shape) : "None"} do not fit (expected weight (out, ${C}*${win.kh}*${win.kw}), bias (out))`);
  }
  let dt = promoteTypes(x.dtype, w.dtype);
  if (b) dt = promoteTypes(dt, b.dtype);
  if (!isFloating(dt)) throw new Error(`[conv2d] expected floating point input and weight, got ${x.dtype} ${fmtShape(x.shape)} and ${w.dtype} ${fmtShape(w.shape)}`);
  const shape = [N, O, win.ho, win.wo];
  return record("conv2d", fresh(active.b.conv2d(x, w, b, win, dt), shape, dt), b ? [x, w, b] : [x, w], win);
}

/**
 * conv2d's weight gradient: g (O, N*ho*wo) @ im2col(x, win)ᵀ, (O, C*kh*kw). The same numbers as that matmul.
 * NOTE: one primitive so that a backend can build the columns where its GEMM reads them, block by block.
 */
export function conv2dWeight(g: Tensor, x: Tensor, win: Window2d): Tensor {
  checkWindow("conv2dWeight", x.shape, win);
  const [N, C] = x.shape;
  if (g.ndim !== 2 || g.shape[1] !== N * win.ho * win.wo) {
    throw new Error(`[conv2dWeight] gradient ${fmtShape(g.shape)} does not fit input ${fmtShape(x.shape)} with output (${win.ho}, ${win.wo}) (expected (out, ${N}*${win.ho}*${win.wo}))`);
  }
  const dt = promoteTypes(g.dtype, x.dtype);
  if (!isFloating(dt)) throw new Error(`[conv2dWeight] expected floating point gradient and input, got ${g.dtype} ${fmtShape(g.shape)} and ${x.dtype} ${fmtShape(x.shape)}`);
  const shape = [g.shape[0], C * win.kh * win.kw];
  return record("conv2dWeight", fresh(active.b.conv2dWeight(g, x, win, dt), shape, dt), [g, x], win);
}

/**
 * conv2d's input gradient: col2im(wᵀ @ g) for g (O, N*ho*wo) and w (O, C*kh*kw), into `shape` (N, C, H, W). The
 * same numbers as that matmul and col2im.
 * NOTE: one primitive so that a backend can keep the columns (C*kh*kw, N*ho*wo) inside its GEMM's memory.
 */
export function conv2dInput(g: Tensor, w: Tensor, shape: number[], win: Window2d): Tensor {
  checkWindow("conv2dInput", shape, win);
  const [N, C] = shape;
  if (g.ndim !== 2 || w.ndim !== 2 || g.shape[0] !== w.shape[0] || g.shape[1] !== N * win.ho * win.wo || w.shape[1] !== C * win.kh * win.kw) {
    throw new Error(`[conv2dInput] gradient ${fmtShape(g.shape)} and weight ${fmtShape(w.shape)} do not fit input ${fmtShape(shape)} with kernel (${win.kh}, ${win.kw}) and output (${win.ho}, ${win.wo})`);
  }
  const dt = promoteTypes(g.dtype, w.dtype);
  if (!isFloating(dt)) throw new Error(`[conv2dInput] expected floating point gradient and weight, got ${g.dtype} ${fmtShape(g.shape)} and ${w.dtype} ${fmtShape(w.shape)}`);
  return record("conv2dInput", fresh(active.b.conv2dInput(g, w, shape, win, dt), shape.slice(), dt), [g, w], win);
}
