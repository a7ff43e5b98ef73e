// The backend interface: one kernel per primitive. Outputs are always fresh contiguous storage.
import type { DType, Storage } from "../dtype.js";

/** A strided view on storage, the only thing a kernel reads. Tensors satisfy it. */
export interface View {
  readonly buf: Storage;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

export type UnaryKernel = (x: View, outDtype: DType) => Storage;
export type BinaryKernel = (a: View, b: View, outShape: readonly number[], outDtype: DType) => Storage;
/** Reduce over `dims` (sorted); the result has the keepdim shape. */
export type ReduceKernel = (x: View, dims: readonly number[], outDtype: DType) => Storage;

export interface Backend {
  readonly name: string;
  // unary
  neg: UnaryKernel; abs: UnaryKernel; sign: UnaryKernel; exp: UnaryKernel; log: UnaryKernel; log1p: UnaryKernel;
  sqrt: UnaryKernel; sin: UnaryKernel; cos: UnaryKernel; tanh: UnaryKernel; sigmoid: UnaryKernel; relu: UnaryKernel;
  floor: UnaryKernel; round: UnaryKernel; erf: UnaryKernel; logicalNot: UnaryKernel;
  // binary with broadcasting
  add: BinaryKernel; sub: BinaryKernel; mul: BinaryKernel; div: BinaryKernel; pow: BinaryKernel;
  maximum: BinaryKernel; minimum: BinaryKernel;
  eq: BinaryKernel; ne: BinaryKernel; lt: BinaryKernel; le: BinaryKernel; gt: BinaryKernel; ge: BinaryKernel;
  /** Elementwise log(1 + exp(-x)) + (1 - y) x without overflow. */
  bceWithLogits: BinaryKernel;
  where(cond: View, a: View, b: View, outShape: readonly number[], outDtype: DType): Storage;
  /** g where y > 0, else 0: relu's backward given its output y. */
  reluBackward: BinaryKernel;
  /** g (sigmoid(x) - y): the input gradient of bceWithLogits. */
  bceWithLogitsBackward(g: View, x: View, y: View, outShape: readonly number[], outDtype: DType): Storage;
  // reductions
  sum: ReduceKernel; prod: ReduceKernel; max: ReduceKernel; min: ReduceKernel;
  /** Index of the first max/min along `dim`, as int32, in the keepdim shape. */
  argmax(x: View, dim: number): Int32Array;
  argmin(x: View, dim: number): Int32Array;
  // data movement
  cast(x: View, outDtype: DType): Storage;
  copy(x: View, outDtype: DType): Storage;
  /** Output of `outShape` filled with `value`, with x written at [start[d] :: step[d]] along every dim d. */
  pad(x: View, outShape: readonly number[], start: readonly number[], step: readonly number[], value: number, outDtype: DType): Storage;
  cat(xs: readonly View[], dim: number, outShape: readonly number[], outDtype: DType): Storage;
  gather(x: View, dim: number, index: View, outDtype: DType): Storage;
  /** A copy of x with src added at the positions index names along dim. */
  scatterAdd(x: View, dim: number, index: View, src: View, outDtype: DType): Storage;
  // linear algebra: a (...batch, M, K) @ b (...batch, K, N), batch dims already equal (strides may be 0)
  matmul(a: View, b: View, outShape: readonly number[], outDtype: DType): Storage;
}
