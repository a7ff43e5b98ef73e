// Matrix products: matmul with PyTorch's 1-D and batch-broadcasting rules, mm, bmm, outer, dot.
import * as P from "./primitives.js";
import { Tensor } from "../tensor.js";
import { broadcastShapes, fmtShape } from "../shape.js";
import { expand, reshape } from "./movement.js";

/** Matrix product with NumPy/PyTorch semantics (1-D operands and broadcast batch dims). */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.ndim === 0 || b.ndim === 0) throw new Error(`[matmul] both arguments need at least 1 dimension, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  const a2 = a.ndim === 1 ? reshape(a, [1, a.shape[0]]) : a;
  const b2 = b.ndim === 1 ? reshape(b, [b.shape[0], 1]) : b;
  const K = a2.shape[a2.ndim - 1];
  if (b2.shape[b2.ndim - 2] !== K) {
    throw new Error(`[matmul] shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)} cannot be multiplied (${K} vs ${b2.shape[b2.ndim - 2]})`);
  }
  let out: Tensor;
  if (a2.ndim === 2 && b2.ndim === 2) out = P.matmul(a2, b2);
  else {
    let batch: number[];
    try {
      batch = broadcastShapes(a2.shape.slice(0, -2), b2.shape.slice(0, -2), "matmul");
    } catch {
      throw new Error(`[matmul] shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)} cannot be multiplied: batch dims ${fmtShape(a2.shape.slice(0, -2))} and ${fmtShape(b2.shape.slice(0, -2))} do not broadcast`);
    }
    const ae = expand(a2, [...batch, a2.shape[a2.ndim - 2], K]);
    const be = expand(b2, [...batch, K, b2.shape[b2.ndim - 1]]);
    out = P.matmul(ae, be);
  }
  if (a.ndim === 1 && b.ndim === 1) return reshape(out, []);
  if (a.ndim === 1) return out.squeeze(-2);
  if (b.ndim === 1) return out.squeeze(-1);
  return out;
}

export function mm(a: Tensor, b: Tensor): Tensor {
  if (a.ndim !== 2 || b.ndim !== 2) throw new Error(`[mm] expects 2-D tensors, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  return matmul(a, b);
}

export function bmm(a: Tensor, b: Tensor): Tensor {
  if (a.ndim !== 3 || b.ndim !== 3 || a.shape[0] !== b.shape[0]) {
    throw new Error(`[bmm] expects 3-D tensors with equal batch size, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  }
  return matmul(a, b);
}

export function outer(a: Tensor, b: Tensor): Tensor {
  if (a.ndim !== 1 || b.ndim !== 1) throw new Error(`[outer] expects 1-D tensors, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  return P.mul(reshape(a, [a.shape[0], 1]), reshape(b, [1, b.shape[0]]));
}

export function dot(a: Tensor, b: Tensor): Tensor {
  if (a.ndim !== 1 || b.ndim !== 1 || a.shape[0] !== b.shape[0]) {
    throw new Error(`[dot] expects 1-D tensors of equal size, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  }
  return matmul(a, b);
}
