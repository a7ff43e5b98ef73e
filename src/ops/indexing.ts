// Index-driven ops: gather, scatterAdd, indexSelect, maskedFill, oneHot.
import * as P from "./primitives.js";
import { asTensor } from "./helpers.js";
import { indexSelectImpl } from "./movement.js";
import { Tensor } from "../tensor.js";
import { fmtShape, normDim } from "../shape.js";

function asIndex(index: Tensor, op: string): Tensor {
  if (index.dtype === "int32") return index;
  if (index.dtype === "bool") throw new Error(`[${op}] index must be an integer tensor, got bool (shape ${fmtShape(index.shape)})`);
  // NOTE: float indices are accepted because tensor([0, 2]) is float32, but never silently truncated
  const flat = index.toTypedArray();
  for (let k = 0; k < flat.length; k++) {
    if (!Number.isInteger(flat[k])) throw new Error(`[${op}] index must hold integers, got ${flat[k]} in a ${index.dtype} tensor of shape ${fmtShape(index.shape)}; use an int32 tensor`);
  }
  return P.cast(index, "int32");
}

/** out[i][j] = x[i][index[i][j]] along dim (for dim = 1), as torch.gather. */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  return P.gather(x, normDim(dim, x.ndim, "gather"), asIndex(index, "gather"));
}

/** x with src added at the positions index names along dim, as torch.scatter_add (out of place). */
export function scatterAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  return P.scatterAdd(x, normDim(dim, x.ndim, "scatterAdd"), asIndex(index, "scatterAdd"), src);
}

/** Rows (or slices along dim) picked by a 1-D index. */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  const idx = asIndex(index, "indexSelect");
  if (idx.ndim > 1) throw new Error(`[indexSelect] index must be 0-D or 1-D, got ${fmtShape(idx.shape)}`);
  const d = normDim(dim, x.ndim, "indexSelect");
  // checked here so the error names indexSelect, not the gather it is built on
  for (const v of idx.toTypedArray()) {
    if (v < 0 || v >= x.shape[d]) throw new Error(`[indexSelect] index ${v} is out of range for dim ${d} with size ${x.shape[d]} (input ${fmtShape(x.shape)})`);
  }
  return indexSelectImpl(x, d, idx.ndim === 0 ? idx.reshape([1]) : idx);
}

export function maskedFill(x: Tensor, mask: Tensor, value: Tensor | number): Tensor {
  if (mask.dtype !== "bool") throw new Error(`[maskedFill] mask must be a bool tensor, got ${mask.dtype}`);
  // the result keeps x's dtype (the value is cast to it), as torch.masked_fill
  const v = asTensor(value, x);
  return P.where(mask, v.dtype === x.dtype ? v : P.cast(v, x.dtype), x);
}

/** One-hot encoding of int class indices as int32 (PyTorch: int64); numClasses -1 infers max + 1. */
export function oneHot(index: Tensor, numClasses = -1): Tensor {
  const idx = asIndex(index, "oneHot");
  let n = numClasses;
  let lo = Infinity, hi = -Infinity;
  for (const v of idx.contiguous().toTypedArray()) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (idx.numel() > 0 && lo < 0) throw new Error(`[oneHot] class values must be non-negative, got ${lo}`);
  if (n === -1) n = idx.numel() === 0 ? 0 : hi + 1;
  else if (idx.numel() > 0 && hi >= n) throw new Error(`[oneHot] class value ${hi} is out of range for numClasses ${n}`);
  const classes = Tensor.fromStorage(Int32Array.from({ length: n }, (_, i) => i), [n]);
  return P.cast(P.eq(idx.unsqueeze(-1), classes), "int32");
}
