// Elementwise math with broadcasting: primitives wrapped to take scalars, plus composite activations.
import * as P from "./primitives.js";
import { asTensor, scalarLike } from "./helpers.js";
import { Tensor } from "../tensor.js";
import { isFloating } from "../dtype.js";
import { fmtShape } from "../shape.js";

export type TensorLike = Tensor | number;

// NOTE: these are functions, not `const x = P.x` aliases: a module-level read of a primitive runs at load
// time and hits the primitives module mid-evaluation when the import cycle is entered from a deep module.

/** a + alpha * b, broadcasting. @example add(tensor([1, 2]), 1) */
export function add(a: TensorLike, b: TensorLike, opts?: { alpha?: number }): Tensor {
  const alpha = opts?.alpha;
  return P.add(asTensor(a, b), alpha === undefined || alpha === 1 ? asTensor(b, a) : mul(b, alpha));
}
/** a - alpha * b. @example sub(tensor([1, 2]), 1) */
export function sub(a: TensorLike, b: TensorLike, opts?: { alpha?: number }): Tensor {
  const alpha = opts?.alpha;
  return P.sub(asTensor(a, b), alpha === undefined || alpha === 1 ? asTensor(b, a) : mul(b, alpha));
}
export function mul(a: TensorLike, b: TensorLike): Tensor { return P.mul(asTensor(a, b), asTensor(b, a)); }
/** True division; `roundingMode` 'floor' or 'trunc' as torch.div. */
export function div(a: TensorLike, b: TensorLike, opts?: { roundingMode?: "floor" | "trunc" }): Tensor {
  const ta = asTensor(a, b), tb = asTensor(b, a);
  if (!opts?.roundingMode) return P.div(ta, tb);
  const ints = !isFloating(ta.dtype) && !isFloating(tb.dtype);
  if (ints && tb.toTypedArray().includes(0)) {
    throw new Error(`[div] integer division by zero (${ta.dtype} ${fmtShape(ta.shape)} by ${tb.dtype} ${fmtShape(tb.shape)})`);
  }
  // NOTE: integer floor/trunc division runs in float64, exact for every int32 (float32 is not above 2^24)
  const q = ints ? P.div(P.cast(ta, "float64"), P.cast(tb, "float64")) : P.div(ta, tb);
  const r = opts.roundingMode === "floor" ? P.floor(q) : P.mul(P.sign(q), P.floor(P.abs(q)));
  return ints ? P.cast(r, "int32") : r;
}
/** a ** b; integer bases with negative integer exponents are an error, as PyTorch. */
export function pow(a: TensorLike, b: TensorLike): Tensor {
  const ta = asTensor(a, b), tb = asTensor(b, a);
  if (!isFloating(ta.dtype) && !isFloating(tb.dtype) && tb.toTypedArray().some((v) => v < 0)) {
    throw new Error(`[pow] integers to negative integer powers are not allowed (${ta.dtype} ${fmtShape(ta.shape)} ** ${tb.dtype} ${fmtShape(tb.shape)})`);
  }
  return P.pow(ta, tb);
}
export function maximum(a: TensorLike, b: TensorLike): Tensor { return P.maximum(asTensor(a, b), asTensor(b, a)); }
export function minimum(a: TensorLike, b: TensorLike): Tensor { return P.minimum(asTensor(a, b), asTensor(b, a)); }
export function eq(a: TensorLike, b: TensorLike): Tensor { return P.eq(asTensor(a, b), asTensor(b, a)); }
export function ne(a: TensorLike, b: TensorLike): Tensor { return P.ne(asTensor(a, b), asTensor(b, a)); }
export function lt(a: TensorLike, b: TensorLike): Tensor { return P.lt(asTensor(a, b), asTensor(b, a)); }
export function le(a: TensorLike, b: TensorLike): Tensor { return P.le(asTensor(a, b), asTensor(b, a)); }
export function gt(a: TensorLike, b: TensorLike): Tensor { return P.gt(asTensor(a, b), asTensor(b, a)); }
export function ge(a: TensorLike, b: TensorLike): Tensor { return P.ge(asTensor(a, b), asTensor(b, a)); }

export function neg(x: Tensor): Tensor { return P.neg(x); }
export function abs(x: Tensor): Tensor { return P.abs(x); }
export function exp(x: Tensor): Tensor { return P.exp(x); }
export function log(x: Tensor): Tensor { return P.log(x); }
export function log1p(x: Tensor): Tensor { return P.log1p(x); }
export function sqrt(x: Tensor): Tensor { return P.sqrt(x); }
export function sin(x: Tensor): Tensor { return P.sin(x); }
export function cos(x: Tensor): Tensor { return P.cos(x); }
export function tanh(x: Tensor): Tensor { return P.tanh(x); }
export function sigmoid(x: Tensor): Tensor { return P.sigmoid(x); }
export function relu(x: Tensor): Tensor { return P.relu(x); }
export function erf(x: Tensor): Tensor { return P.erf(x); }
export function sign(x: Tensor): Tensor { return P.sign(x); }
export function floor(x: Tensor): Tensor { return P.floor(x); }
export function round(x: Tensor): Tensor { return P.round(x); }

export function square(x: Tensor): Tensor {
  return P.mul(x, x);
}
export function reciprocal(x: Tensor): Tensor {
  return P.div(scalarLike(1, x), x);
}
export function rsqrt(x: Tensor): Tensor {
  return reciprocal(P.sqrt(x));
}
export function log2(x: Tensor): Tensor {
  return P.div(P.log(x), scalarLike(Math.LN2, x));
}

export function logicalNot(x: Tensor): Tensor {
  return P.logicalNot(x);
}
export function logicalAnd(a: Tensor, b: Tensor): Tensor {
  return P.ne(P.mul(P.cast(a, "bool"), P.cast(b, "bool")), scalarLike(0, a));
}
export function logicalOr(a: Tensor, b: Tensor): Tensor {
  return P.ne(P.add(P.cast(a, "int32"), P.cast(b, "int32")), scalarLike(0, a));
}

/** where(cond, a, b): a where cond holds, else b; scalars accepted for a and b. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  return P.where(cond, asTensor(a, b), asTensor(b, a));
}

/** Clamp into [min, max]; the gradient flows where min <= x <= max, as PyTorch's. */
export function clamp(x: Tensor, min?: TensorLike | null, max?: TensorLike | null): Tensor {
  if ((min === undefined || min === null) && (max === undefined || max === null)) {
    throw new Error("[clamp] at least one of min or max must be given");
  }
  let r = x;
  if (min !== undefined && min !== null) r = P.where(P.lt(x, asTensor(min, x)), asTensor(min, x), r);
  // compares r, not x: with min > max every element becomes max, as torch.clamp
  if (max !== undefined && max !== null) r = P.where(P.gt(r, asTensor(max, x)), asTensor(max, x), r);
  return r;
}

export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  return P.where(P.gt(x, scalarLike(0, x)), x, P.mul(x, scalarLike(negativeSlope, x)));
}

/** GELU: exact (erf) by default, or the tanh approximation. */
export function gelu(x: Tensor, opts?: { approximate?: "none" | "tanh" }): Tensor {
  return P.gelu(isFloating(x.dtype) ? x : P.cast(x, "float32"), opts?.approximate === "tanh");
}

export function silu(x: Tensor): Tensor {
  return P.mul(x, P.sigmoid(x));
}

/** softplus(x) = log(1 + exp(beta x)) / beta, linear above `threshold` as PyTorch's. */
export function softplus(x: Tensor, opts?: { beta?: number; threshold?: number }): Tensor {
  const beta = opts?.beta ?? 1, threshold = opts?.threshold ?? 20;
  const bx = beta === 1 ? x : P.mul(x, scalarLike(beta, x));
  // NOTE: clamping before exp keeps the unselected branch finite, so its zero gradient is not 0*inf = NaN.
  const safe = P.minimum(bx, scalarLike(threshold, x));
  let soft = P.log1p(P.exp(safe));
  if (beta !== 1) soft = P.div(soft, scalarLike(beta, x));
  return P.where(P.gt(bx, scalarLike(threshold, x)), x, soft);
}
