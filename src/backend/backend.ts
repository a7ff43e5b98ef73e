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

/**
 * A sliding window over the last two dims (H, W) of an (N, C, H, W) input: kernel, stride, dilation, the
 * padding before each dim (negative crops; the after side is implied by the output size), output size.
 */
export interface Window2d {
  readonly kh: number; readonly kw: number; readonly sh: number; readonly sw: number;
  readonly dh: number; readonly dw: number; readonly ph: number; readonly pw: number;
  readonly ho: number; readonly wo: number;
}

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
  /** x (rows, in) @ wt (in, out), plus b (out) on every row when given: the matmul, then each element + b[j] rounded once. */
  linear(x: View, wt: View, b: View | null, outShape: readonly number[], outDtype: DType): Storage;
  /**
   * linear's gradients from the upstream g (rows, out), its input x (rows, in) and weight w (out, in): dx = g w
   * (rows, in), dw = gᵀ x (out, in) and db = g summed over its rows (out), as matmul and sum compute them; each
   * null unless `need` asks for it.
   */
  linearBackward(g: View, x: View, w: View, need: readonly [dx: boolean, dw: boolean, db: boolean], outDtype: DType): { dx: Storage | null; dw: Storage | null; db: Storage | null };
  /**
   * Attention without dropout: probs = softmax(q kᵀ · scale + bias) along the last dim and out = probs v, for
   * q (...batch, L, E), k (...batch, S, E), v (...batch, S, Ev) with equal batch dims and bias (L, S) or null:
   * the matmul, each score · scale then + bias rounded once each (the multiply skipped when scale is 1), softmax,
   * matmul. probs (...batch, L, S) contiguous (null unless `withProbs`); out (...batch, L, Ev) contiguous, or with
   * `seqMajor` (at least 3 dims) stored as (...outer, L, H, Ev) for batch (...outer, H): dims -3 and -2 swapped,
   * the layout MultiheadAttention merges its heads from without a copy.
   */
  attention(q: View, k: View, v: View, bias: View | null, scale: number, outDtype: DType, withProbs: boolean, seqMajor: boolean): { out: Storage; probs: Storage | null };
  /**
   * attention's gradients from the upstream g (...batch, L, Ev) and its probs: dv = probsᵀ g, ds = softmaxBackward(g vᵀ,
   * probs) · scale (the multiply skipped when scale is 1), dq = ds k, dk = dsᵀ q; shaped as q, k, v, each contiguous
   * or, where its `seqMajor` flag is set, stored with dims -3 and -2 swapped (as attention's out). `bias` is the
   * forward's: where it is -inf the probabilities are 0, which a kernel may use to skip work (the reference ignores it).
   */
  attentionBackward(g: View, q: View, k: View, v: View, probs: View, bias: View | null, scale: number, outDtype: DType,
    seqMajor: readonly [dq: boolean, dk: boolean, dv: boolean]): { dq: Storage; dk: Storage; dv: Storage };
  // fused activations (src/backend/js/activation_kernels.ts): one pass instead of a chain of elementwise kernels
  /** softmax (log = false) or log-softmax (log = true) of a floating x along dim; output has x's shape. */
  softmax(x: View, dim: number, log: boolean, outDtype: DType): Storage;
  /** The input gradient from the output y and upstream g (y's shape): y (g - Σ g y), or g - exp(y) Σ g when log. */
  softmaxBackward(g: View, y: View, dim: number, log: boolean, outDtype: DType): Storage;
  /** GELU of a floating x: exact (erf) or the tanh approximation. */
  gelu(x: View, tanh: boolean, outDtype: DType): Storage;
  /** g · gelu'(x), with g and x of the same shape. */
  geluBackward(g: View, x: View, tanh: boolean, outDtype: DType): Storage;
  /** (x - mean) / sqrt(var + eps) over each row of x's last D elements (biased variance). */
  layerNorm(x: View, D: number, eps: number, outDtype: DType): Storage;
  /** layerNorm's input gradient from the upstream g (x's shape) and the input x. */
  layerNormBackward(g: View, x: View, D: number, eps: number, outDtype: DType): Storage;
  /** layerNorm(x) · w + b over rows of D (w, b (D); b may be null): the layerNorm, then one multiply and one add, each rounded. */
  layerNormAffine(x: View, w: View, b: View | null, D: number, eps: number, outDtype: DType): Storage;
  /**
   * layerNormAffine's gradients from the upstream g (x's shape): dx = layerNormBackward(g · w, x), dw and db the
   * sums over rows of g · layerNorm(x) (each product rounded) and of g.
   */
  layerNormAffineBackward(g: View, x: View, w: View, D: number, eps: number, outDtype: DType): { dx: Storage; dw: Storage; db: Storage };
  // convolution and pooling windows over x (N, C, H, W); positions outside the input read as 0 (-inf for pooling)
  /** The windows of x as columns (C*kh*kw, N*ho*wo): rows in (c, i, j) order, the batch folded into the columns. */
  im2col(x: View, win: Window2d, outDtype: DType): Storage;
  /** The adjoint of im2col: cols (C*kh*kw, N*ho*wo) summed back into an (N, C, H, W) = `shape` output. */
  col2im(cols: View, shape: readonly number[], win: Window2d, outDtype: DType): Storage;
  /** Max over each window (N, C, ho, wo), and the flat h*W + w index of the first maximum (a NaN wins; -1: window all outside). */
  maxPool2d(x: View, win: Window2d, outDtype: DType): { values: Storage; indices: Int32Array };
  /** maxPool2d's input gradient: g (N, C, ho, wo) added at contiguous `indices` (N, C, ho*wo; any outside [0, H*W) skipped) into zeros of `shape` (N, C, H, W). */
  maxPool2dBackward(g: View, indices: View, shape: readonly number[], outDtype: DType): Storage;
  /** A convolution's GEMM result y (O, N*L) reordered to (N, O, L), plus the bias b (O) when given. */
  convOutput(y: View, b: View | null, N: number, outDtype: DType): Storage;
  /** A convolution as one kernel: w (O, C*kh*kw) @ im2col(x) + b (O) when given, reordered to (N, O, ho*wo) as convOutput does. */
  conv2d(x: View, w: View, b: View | null, win: Window2d, outDtype: DType): Storage;
  /** conv2d's input gradient as one kernel: col2im(wᵀ @ g) for w (O, C*kh*kw), g (O, N*ho*wo), into `shape` (N, C, H, W). */
  conv2dInput(g: View, w: View, shape: readonly number[], win: Window2d, outDtype: DType): Storage;
  /** conv2d's weight gradient as one kernel: g (O, N*ho*wo) @ im2col(x)ᵀ, (O, C*kh*kw). */
  conv2dWeight(g: View, x: View, win: Window2d, outDtype: DType): Storage;
}
