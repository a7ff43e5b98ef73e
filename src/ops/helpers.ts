// Small tensor helpers shared by ops and gradient rules: scalars, zeros, broadcast reduction.
import { allocStorage, promoteWithScalar, type DType } from "../dtype.js";
import { shapesEqual, fmtShape } from "../shape.js";
import { Tensor } from "../tensor.js";
import * as P from "./primitives.js";

/** A 0-d tensor holding v. */
export function scalarTensor(v: number, dtype: DType): Tensor {
  const buf = allocStorage(dtype, 1);
  buf[0] = v;
  return new Tensor(buf, [], [], 0, dtype);
}

/** A 0-d tensor holding v in t's dtype (promoted as PyTorch does for a Python scalar). */
export function scalarLike(v: number, t: Tensor): Tensor {
  return scalarTensor(v, promoteWithScalar(t.dtype, v));
}

/** Turn a tensor-or-number operand into a tensor, typed against the other operand. */
export function asTensor(v: Tensor | number | boolean, other: Tensor | number | boolean): Tensor {
  if (v instanceof Tensor) return v;
  if (typeof v === "boolean") return scalarTensor(v ? 1 : 0, "bool");
  if (other instanceof Tensor) return scalarTensor(v, promoteWithScalar(other.dtype, v));
  return scalarTensor(v, Number.isInteger(v) ? "int32" : "float32");
}

export function zerosLike(t: Tensor, dtype: DType = t.dtype): Tensor {
  return P.filled(t.shape.slice(), 0, dtype);
}

/** Sum a broadcast gradient back down to `shape` (the engine's one place for broadcast reduction). */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const lead = g.ndim - shape.length;
  if (lead < 0) throw new Error(`[sumToShape] gradient ${fmtShape(g.shape)} has fewer dims than ${fmtShape(shape)}`);
  const dims: number[] = [];
  for (let d = 0; d < g.ndim; d++) {
    if (d < lead || (shape[d - lead] === 1 && g.shape[d] !== 1)) dims.push(d);
  }
  // nothing broadcast: hand back a mismatched gradient as is, for the engine to report
  if (dims.length === 0) return g;
  return P.sum(g, dims, true).reshape(shape as number[]);
}
