// Reductions over one, several or all dims: sum, mean, max/min with indices, var/std, logsumexp, norms, softmax.
import * as P from "./primitives.js";
import { scalarLike } from "./helpers.js";
import { Tensor } from "../tensor.js";
import { isFloating, type DType } from "../dtype.js";
import { normDim, normDims, mapDims } from "../shape.js";

export type Dims = number | number[] | null | undefined;
export interface ReduceOpts { keepdim?: boolean; dtype?: DType }

export function sum(x: Tensor, dim?: Dims, opts?: ReduceOpts): Tensor {
  const src = opts?.dtype ? P.cast(x, opts.dtype) : x;
  return P.sum(src, normDims(dim, x.ndim, "sum"), opts?.keepdim ?? false);
}

export function prod(x: Tensor, dim?: Dims, opts?: ReduceOpts): Tensor {
  const src = opts?.dtype ? P.cast(x, opts.dtype) : x;
  return P.prod(src, normDims(dim, x.ndim, "prod"), opts?.keepdim ?? false);
}

function countOf(x: Tensor, dims: number[]): number {
  let n = 1;
  for (const d of dims) n *= x.shape[d];
  return n;
}

export function mean(x: Tensor, dim?: Dims, opts?: ReduceOpts): Tensor {
  const src = opts?.dtype ? P.cast(x, opts.dtype) : x;
  if (!isFloating(src.dtype)) throw new Error(`[mean] input dtype should be floating point, got ${src.dtype}; pass { dtype: "float32" }`);
  const dims = normDims(dim, x.ndim, "mean");
  return P.mean(src, dims, opts?.keepdim ?? false);
}

export function amax(x: Tensor, dim?: Dims, opts?: { keepdim?: boolean }): Tensor {
  return P.max(x, normDims(dim, x.ndim, "amax"), opts?.keepdim ?? false);
}
export function amin(x: Tensor, dim?: Dims, opts?: { keepdim?: boolean }): Tensor {
  return P.min(x, normDims(dim, x.ndim, "amin"), opts?.keepdim ?? false);
}

export interface ValuesIndices { values: Tensor; indices: Tensor }

/** max over a dim, returning values and (first) indices; the gradient flows to the index, as PyTorch's. */
export function maxDim(x: Tensor, dim: number, opts?: { keepdim?: boolean }): ValuesIndices {
  return extremumDim(x, dim, opts?.keepdim ?? false, true);
}
export function minDim(x: Tensor, dim: number, opts?: { keepdim?: boolean }): ValuesIndices {
  return extremumDim(x, dim, opts?.keepdim ?? false, false);
}
function extremumDim(x: Tensor, dim: number, keepdim: boolean, isMax: boolean): ValuesIndices {
  const d = normDim(dim, x.ndim, isMax ? "max" : "min");
  if (x.ndim === 0) return { values: x, indices: P.filled([], 0, "int32") };
  const idx = isMax ? P.argmax(x, d, true) : P.argmin(x, d, true);
  const values = P.gather(x, d, idx);
  return keepdim ? { values, indices: idx } : { values: values.squeeze(d), indices: idx.squeeze(d) };
}

export function argmax(x: Tensor, dim?: number | null, opts?: { keepdim?: boolean }): Tensor {
  if (dim === undefined || dim === null) return flatArg(x, P.argmax(x.reshape(-1), 0, false), opts);
  return P.argmax(x, normDim(dim, x.ndim, "argmax"), opts?.keepdim ?? false);
}
export function argmin(x: Tensor, dim?: number | null, opts?: { keepdim?: boolean }): Tensor {
  if (dim === undefined || dim === null) return flatArg(x, P.argmin(x.reshape(-1), 0, false), opts);
  return P.argmin(x, normDim(dim, x.ndim, "argmin"), opts?.keepdim ?? false);
}
/** The index into the flattened input; with keepdim every dim is kept as size 1, as torch.argmax(dim=None). */
function flatArg(x: Tensor, i: Tensor, opts?: { keepdim?: boolean }): Tensor {
  return opts?.keepdim ? i.reshape(mapDims(x.shape, () => 1)) : i;
}

export interface VarOpts { keepdim?: boolean; correction?: number; unbiased?: boolean }

/** Variance with Bessel's correction by default (correction = 1), as torch.var. */
export function variance(x: Tensor, dim?: Dims, opts?: VarOpts): Tensor {
  const dims = normDims(dim, x.ndim, "var");
  const correction = opts?.correction ?? (opts?.unbiased === false ? 0 : 1);
  const mu = P.div(P.sum(x, dims, true), scalarLike(countOf(x, dims), x));
  const d = P.sub(x, mu);
  const ss = P.sum(P.mul(d, d), dims, opts?.keepdim ?? false);
  return P.div(ss, scalarLike(Math.max(countOf(x, dims) - correction, 0), x));
}

export function std(x: Tensor, dim?: Dims, opts?: VarOpts): Tensor {
  return rootMaskedAtZero(variance(x, dim, opts), P.sqrt);
}

/**
 * root(s) for s >= 0 with a zero gradient where s == 0, as PyTorch's norm/std backward.
 * NOTE: root'(0) is infinite, and inf * 0 (the inner gradient) = NaN would poison every element; the
 * root is taken of 1 there instead and the result masked back to 0, so both value and gradient are exact.
 */
function rootMaskedAtZero(s: Tensor, root: (t: Tensor) => Tensor): Tensor {
  const zero = P.eq(s, scalarLike(0, s));
  return P.where(zero, scalarLike(0, s), root(P.where(zero, scalarLike(1, s), s)));
}

/** log(sum(exp(x))) computed stably by shifting with the (detached) maximum. */
export function logsumexp(x: Tensor, dim?: Dims, opts?: { keepdim?: boolean }): Tensor {
  const dims = normDims(dim, x.ndim, "logsumexp");
  const m = P.max(x.detach(), dims, true);
  // an infinite max would give inf - inf = NaN; shift by 0 there instead, as PyTorch does
  const shift = P.where(P.eq(P.abs(m), scalarLike(Infinity, m)), scalarLike(0, m), m);
  const s = P.log(P.sum(P.exp(P.sub(x, shift)), dims, true));
  const r = P.add(s, shift);
  return opts?.keepdim ? r : r.squeeze(dims);
}

/** p-norm over dims (p = 2 by default; 1, Infinity, -Infinity, or any positive p). */
export function norm(x: Tensor, p: number | "fro" = 2, dim?: Dims, opts?: { keepdim?: boolean }): Tensor {
  const dims = normDims(dim, x.ndim, "norm");
  const keep = opts?.keepdim ?? false;
  const q = p === "fro" ? 2 : p;
  const ax = P.abs(x);
  if (q === Infinity) return P.max(ax, dims, keep);
  if (q === -Infinity) return P.min(ax, dims, keep);
  if (q === 1) return P.sum(ax, dims, keep);
  if (q === 2) return rootMaskedAtZero(P.sum(P.mul(x, x), dims, keep), P.sqrt);
  return rootMaskedAtZero(P.sum(P.pow(ax, scalarLike(q, x)), dims, keep), (s) => P.pow(s, scalarLike(1 / q, x)));
}

export function softmax(x: Tensor, dim: number): Tensor {
  return softmaxOf("softmax", x, dim, false);
}

export function logSoftmax(x: Tensor, dim: number): Tensor {
  return softmaxOf("logSoftmax", x, dim, true);
}

/** The fused primitive on a floating x (integers become float32); a 0-d x is a row of one. */
function softmaxOf(op: string, x: Tensor, dim: number, log: boolean): Tensor {
  const d = normDim(dim, x.ndim, op);
  const xf = isFloating(x.dtype) ? x : P.cast(x, "float32");
  if (x.ndim === 0) return P.softmax(xf.reshape([1]), 0, log).reshape([]);
  return P.softmax(xf, d, log);
}

export function all(x: Tensor, dim?: Dims, opts?: { keepdim?: boolean }): Tensor {
  return P.min(P.cast(x, "bool"), normDims(dim, x.ndim, "all"), opts?.keepdim ?? false);
}
export function any(x: Tensor, dim?: Dims, opts?: { keepdim?: boolean }): Tensor {
  return P.max(P.cast(x, "bool"), normDims(dim, x.ndim, "any"), opts?.keepdim ?? false);
}
