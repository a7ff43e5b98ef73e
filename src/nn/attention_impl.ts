// The code behind scaledDotProductAttention and MultiheadAttention: masks as additive biases, and the attention core.
import { Tensor } from "../tensor.js";
import { allocStorage, isFloating, type DType } from "../dtype.js";
import { broadcastShapes, fmtShape, shapesEqual } from "../shape.js";
import type { Generator } from "../random.js";
import { scalarLike, scalarTensor } from "../ops/helpers.js";
import { matmul } from "../ops/linalg.js";
import * as P from "../ops/primitives.js";
import * as R from "../ops/reduce.js";
import { dropoutImpl } from "./impl.js";

export function checkFloatTensor(op: string, what: string, t: unknown): Tensor {
  if (!(t instanceof Tensor)) throw new Error(`[${op}] ${what} must be a Tensor, got ${t === null ? "null" : typeof t}`);
  if (!isFloating(t.dtype)) throw new Error(`[${op}] expected a floating point ${what}, got ${t.dtype} (shape ${fmtShape(t.shape)})`);
  return t;
}

/**
 * A mask as an additive float bias in `dtype`: a bool mask becomes 0 / -inf (`maskOutWhen` is the bool value that
 * masks a position out: true for MultiheadAttention, false for scaledDotProductAttention), a float mask is added as
 * it is.
 */
export function maskToBias(op: string, what: string, mask: unknown, maskOutWhen: boolean, dtype: DType): Tensor {
  if (!(mask instanceof Tensor)) throw new Error(`[${op}] ${what} must be a Tensor, got ${mask === null ? "null" : typeof mask}`);
  if (mask.dtype === "bool") {
    const zero = scalarTensor(0, dtype), ninf = scalarTensor(-Infinity, dtype);
    return maskOutWhen ? P.where(mask, ninf, zero) : P.where(mask, zero, ninf); // mask's shape
  }
  if (!isFloating(mask.dtype)) {
    throw new Error(`[${op}] only bool and floating point ${what} are supported, got ${mask.dtype} (shape ${fmtShape(mask.shape)})`);
  }
  return P.cast(mask, dtype);
}

/** The causal bias (L, S): 0 on and below the diagonal, -inf above it (top-left aligned when L != S, as PyTorch). */
export function causalBias(L: number, S: number, dtype: DType): Tensor {
  const buf = allocStorage(dtype, L * S);
  for (let i = 0; i < L; i++) for (let j = i + 1; j < S; j++) buf[i * S + j] = -Infinity;
  return Tensor.fromStorage(buf, [L, S]); // (L, S)
}

/** Checks that a bias broadcasts to the scores' shape without growing it. */
export function checkBiasShape(op: string, what: string, bias: Tensor, scores: number[]): void {
  let ok = false;
  try {
    ok = shapesEqual(broadcastShapes(bias.shape, scores, op), scores);
  } catch {
    ok = false;
  }
  if (!ok) throw new Error(`[${op}] ${what} of shape ${fmtShape(bias.shape)} does not broadcast to the attention scores ${fmtShape(scores)}`);
}

/**
 * softmax(q kᵀ · scale + bias) v with dropout on the weights: q (..., L, E), k (..., S, E), v (..., S, Ev),
 * bias broadcastable to (..., L, S). Returns the output (..., L, Ev) and, when `needWeights`, the (dropped-out)
 * weights (..., L, S).
 * NOTE: without dropout or weights, with equal batch dims and a bias of (L, S) or none (a transformer's causal or
 * padding-free self-attention), the fused `attention` primitive runs instead of the composite.
 */
export function attend(op: string, q: Tensor, k: Tensor, v: Tensor, bias: Tensor | null, scale: number, dropoutP: number,
  training: boolean, g: Generator, needWeights: boolean): { out: Tensor; weights: Tensor | null } {
  const nd = q.ndim, batch = q.shape.slice(0, -2);
  if (!needWeights && !(dropoutP > 0 && training) && k.ndim === nd && v.ndim === nd && shapesEqual(k.shape.slice(0, -2), batch) &&
    shapesEqual(v.shape.slice(0, -2), batch) && (bias === null || bias.ndim === 2)) {
    return { out: P.attention(q, k, v, bias, scale), weights: null }; // (..., L, Ev)
  }
  let scores = matmul(q, k.mT); // (..., L, S)
  // MultiheadAttention passes 1: it folds the scale into its q projection's weight, a pass over (E, E) instead of
  // two (forward and backward) over the (..., L, S) scores
  if (scale !== 1) scores = P.mul(scores, scalarLike(scale, q));
  if (bias) scores = P.add(scores, bias); // (..., L, S)
  // NOTE: a row masked everywhere is all -inf, and its softmax is NaN, as PyTorch's math backend
  let weights = R.softmax(scores, -1); // (..., L, S)
  weights = dropoutImpl(op, weights, dropoutP, training, g); // (..., L, S)
  return { out: matmul(weights, v), weights }; // (..., L, Ev)
}
