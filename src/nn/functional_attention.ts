// nn.functional's attention: scaledDotProductAttention, as torch.nn.functional.scaled_dot_product_attention (PyTorch 2.x).
import type { Tensor } from "../tensor.js";
import { broadcastShapes, fmtShape } from "../shape.js";
import { defaultGenerator } from "../random.js";
import { checkOptions } from "./helpers.js";
import { checkDropoutP } from "./impl.js";
import { attend, causalBias, checkBiasShape, checkFloatTensor, maskToBias } from "./attention_impl.js";

export interface ScaledDotProductAttentionOptions {
  /** Bool (true = may attend, the opposite of MultiheadAttention's masks) or a float bias added to the scores; broadcast to (..., L, S). */
  attnMask?: Tensor | null;
  /** Dropout on the attention weights, applied whenever > 0 (this function has no training flag, as PyTorch's). */
  dropoutP?: number;
  /** Mask out keys after each query (top-left aligned); attnMask must then be omitted. */
  isCausal?: boolean;
  /** Factor on q kᵀ; 1/sqrt(E) by default. */
  scale?: number | null;
}

/**
 * softmax(q kᵀ · scale + mask) v over the last two dims, batch dims broadcasting: q (..., L, E), k (..., S, E),
 * v (..., S, Ev) → (..., L, Ev). Computed as the composite PyTorch documents, so it has gradients of every order.
 * @example
 * const q = randn(2, 4, 5, 8), k = randn(2, 4, 7, 8), v = randn(2, 4, 7, 8); // (B, nh, T, hs)
 * F.scaledDotProductAttention(q, k, v).shape; // [2, 4, 5, 8]
 * F.scaledDotProductAttention(q, q, q, { isCausal: true }); // each position attends to itself and earlier ones
 */
export function scaledDotProductAttention(query: Tensor, key: Tensor, value: Tensor, opts: ScaledDotProductAttentionOptions = {}): Tensor {
  const op = "scaledDotProductAttention";
  checkOptions(op, opts, ["attnMask", "dropoutP", "isCausal", "scale"]);
  const q = checkFloatTensor(op, "query", query), k = checkFloatTensor(op, "key", key), v = checkFloatTensor(op, "value", value);
  if (q.ndim < 2 || k.ndim < 2 || v.ndim < 2) {
    throw new Error(`[${op}] query, key and value need at least 2 dims (..., L, E), got ${fmtShape(q.shape)}, ${fmtShape(k.shape)} and ${fmtShape(v.shape)}`);
  }
  const E = q.shape[q.ndim - 1], L = q.shape[q.ndim - 2], S = k.shape[k.ndim - 2];
  if (k.shape[k.ndim - 1] !== E || v.shape[v.ndim - 2] !== S) {
    throw new Error(`[${op}] expected query (..., L, E), key (..., S, E) and value (..., S, Ev), got ${fmtShape(q.shape)}, ${fmtShape(k.shape)} and ${fmtShape(v.shape)}`);
  }
  if (q.dtype !== k.dtype || q.dtype !== v.dtype) throw new Error(`[${op}] query, key and value must have the same dtype, got ${q.dtype}, ${k.dtype} and ${v.dtype}`);
  const dropoutP = checkDropoutP(op, opts.dropoutP ?? 0);
  const mask = opts.attnMask ?? null;
  if (opts.isCausal && mask !== null) throw new Error(`[${op}] an explicit attnMask (shape ${fmtShape(mask.shape)}) must not be given with isCausal: true`);
  const scale = opts.scale ?? 1 / Math.sqrt(E);
  if (typeof scale !== "number" || !Number.isFinite(scale)) throw new Error(`[${op}] scale must be a finite number, got ${String(scale)}`);
  const bias = opts.isCausal ? causalBias(L, S, q.dtype) : mask === null ? null : maskToBias(op, "attnMask", mask, false, q.dtype);
  const batch = broadcastShapes(q.shape.slice(0, -2), k.shape.slice(0, -2), op);
  if (bias) checkBiasShape(op, "attnMask", bias, [...batch, L, S]);
  return attend(op, q, k, v, bias, scale, dropoutP, true, defaultGenerator, false).out; // (..., L, Ev)
}
