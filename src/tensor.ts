// Tensor: strided storage, dtype and autograd state; methods are one-line delegations to src/ops/.
import { allocStorage, checkDType, dtypeOfStorage, isFloating, type DType, type Storage } from "./dtype.js";
import { contiguousStrides, fmtShape, normDim, numelOf, shapeFromArgs, mapDims } from "./shape.js";
import type { Node } from "./autograd/node.js";
import { gradMode } from "./autograd/grad_mode.js";
import { runBackward } from "./autograd/engine.js";
import * as P from "./ops/primitives.js";
import * as E from "./ops/elementwise.js";
import * as R from "./ops/reduce.js";
import * as M from "./ops/movement.js";
import * as I from "./ops/indexing.js";
import * as L from "./ops/linalg.js";
import { asTensor } from "./ops/helpers.js";
import { copyInto } from "./backend/js/js_backend.js";
import { isContiguous } from "./backend/js/strided.js";
import { defaultGenerator, type Generator } from "./random.js";
import { formatTensor } from "./format.js";

type TL = Tensor | number;
type NestedList = number | boolean | NestedList[];

/**
 * An n-dimensional array with reverse-mode autograd, like `torch.Tensor`.
 * @example
 * const x = tensor([[1, 2], [3, 4]], { requiresGrad: true });
 * x.mul(x).sum().backward();
 * x.grad!.tolist(); // [[2, 4], [6, 8]]
 */
export class Tensor {
  /** Gradient accumulated by backward() (leaves, or tensors that called retainGrad()). */
  grad: Tensor | null = null;
  /** The node that produced this tensor; null for leaves. */
  gradFn: Node | null = null;
  requiresGrad = false;
  /** True once retainGrad() asked a non-leaf to keep its gradient. */
  retainsGrad = false;
  /** Set by nn.Parameter: a tensor that a Module owns and trains. */
  isParameter = false;

  constructor(
    /** Backing storage, shared between views. */
    public buf: Storage,
    public shape: number[],
    public strides: number[],
    public offset: number,
    public dtype: DType,
  ) {}

  /** A contiguous tensor over an existing typed array (no copy). */
  static fromStorage(buf: Storage, shape: number[]): Tensor {
    return new Tensor(buf, shape, contiguousStrides(shape), 0, dtypeOfStorage(buf));
  }

  get ndim(): number { return this.shape.length; }
  get isLeaf(): boolean { return this.gradFn === null; }
  numel(): number { return numelOf(this.shape); }
  size(dim?: number): number | number[] {
    return dim === undefined ? this.shape.slice() : this.shape[normDim(dim, this.ndim, "size")];
  }
  dim(): number { return this.shape.length; }

  // ---- reading -------------------------------------------------------------------------------------
  /** The value of a one-element tensor. */
  item(): number {
    if (this.numel() !== 1) throw new Error(`[item] a Tensor with ${this.numel()} elements cannot be converted to a scalar (shape ${fmtShape(this.shape)})`);
    return this.buf[this.offset];
  }
  /** A contiguous typed-array copy of the elements in row-major order. */
  toTypedArray(): Storage {
    const c = M.contiguous(this);
    const n = this.numel();
    return c.buf.slice(c.offset, c.offset + n) as Storage;
  }
  /** Nested JS arrays (booleans for bool tensors). */
  tolist(): NestedList {
    const flat = this.toTypedArray();
    const isBool = this.dtype === "bool";
    let i = 0;
    const build = (d: number): NestedList => {
      if (d === this.ndim) { const v = flat[i++]; return isBool ? v !== 0 : v; }
      return Array.from({ length: this.shape[d] }, () => build(d + 1));
    };
    return build(0);
  }
  toString(): string { return this.isParameter ? `Parameter containing:\n${formatTensor(this)}` : formatTensor(this); }
  [Symbol.for("nodejs.util.inspect.custom")](): string { return this.toString(); }

  // ---- autograd ------------------------------------------------------------------------------------
  /** Set requiresGrad on a leaf, as torch.Tensor.requires_grad_. */
  requiresGrad_(on = true): this {
    if (!this.isLeaf) throw new Error("[requiresGrad_] you can only change requiresGrad flags of leaf tensors; use detach() first");
    if (on && !isFloating(this.dtype)) throw new Error(`[requiresGrad_] only floating point tensors can require gradients, got ${this.dtype}`);
    this.requiresGrad = on;
    return this;
  }
  /** A tensor sharing storage, cut from the graph. */
  detach(): Tensor { return new Tensor(this.buf, this.shape, this.strides, this.offset, this.dtype); }
  /** Detached alias of this tensor's storage, as torch's `.data`. */
  get data(): Tensor { return this.detach(); }
  set data(t: Tensor) {
    this.buf = t.buf; this.shape = t.shape.slice(); this.strides = t.strides.slice(); this.offset = t.offset; this.dtype = t.dtype;
  }
  retainGrad(): this {
    if (!this.requiresGrad) throw new Error("[retainGrad] can't retain grad on a tensor that has requiresGrad=false");
    if (!this.isLeaf) this.retainsGrad = true;
    return this;
  }
  /**
   * Accumulate d(this)/d(leaf) into every leaf's `.grad`. A non-scalar needs `gradient` (same shape).
   * @example loss.backward();
   */
  backward(gradient?: Tensor, opts?: { retainGraph?: boolean; createGraph?: boolean }): void {
    let g = gradient;
    if (g === undefined) {
      if (this.numel() !== 1) throw new Error(`[backward] grad can be implicitly created only for scalar outputs; got shape ${fmtShape(this.shape)}`);
      g = P.filled(this.shape.slice(), 1, this.dtype);
    } else if (g.numel() !== this.numel() || g.ndim !== this.ndim || g.shape.some((s, i) => s !== this.shape[i])) {
      throw new Error(`[backward] gradient shape ${fmtShape(g.shape)} does not match tensor shape ${fmtShape(this.shape)}`);
    }
    runBackward([this], [g], opts ?? {});
  }

  // ---- conversion ----------------------------------------------------------------------------------
  /** Cast to a dtype (no copy when it already has it). */
  to(dtype: DType): Tensor { return P.cast(this, checkDType(dtype, "to")); }
  float(): Tensor { return this.to("float32"); }
  double(): Tensor { return this.to("float64"); }
  int(): Tensor { return this.to("int32"); }
  bool(): Tensor { return this.to("bool"); }
  clone(): Tensor { return P.clone(this); }
  contiguous(): Tensor { return M.contiguous(this); }
  isContiguous(): boolean { return isContiguous(this.shape, this.strides); }

  // ---- elementwise ---------------------------------------------------------------------------------
  add(o: TL, opts?: { alpha?: number }): Tensor { return E.add(this, o, opts); }
  sub(o: TL, opts?: { alpha?: number }): Tensor { return E.sub(this, o, opts); }
  /** other - this */
  rsub(o: TL): Tensor { return E.sub(o, this); }
  mul(o: TL): Tensor { return E.mul(this, o); }
  div(o: TL, opts?: { roundingMode?: "floor" | "trunc" }): Tensor { return E.div(this, o, opts); }
  pow(o: TL): Tensor { return E.pow(this, o); }
  maximum(o: TL): Tensor { return E.maximum(this, o); }
  minimum(o: TL): Tensor { return E.minimum(this, o); }
  eq(o: TL): Tensor { return E.eq(this, o); }
  ne(o: TL): Tensor { return E.ne(this, o); }
  lt(o: TL): Tensor { return E.lt(this, o); }
  le(o: TL): Tensor { return E.le(this, o); }
  gt(o: TL): Tensor { return E.gt(this, o); }
  ge(o: TL): Tensor { return E.ge(this, o); }
  neg(): Tensor { return P.neg(this); }
  abs(): Tensor { return P.abs(this); }
  exp(): Tensor { return P.exp(this); }
  log(): Tensor { return P.log(this); }
  log1p(): Tensor { return P.log1p(this); }
  log2(): Tensor { return E.log2(this); }
  sqrt(): Tensor { return P.sqrt(this); }
  rsqrt(): Tensor { return E.rsqrt(this); }
  square(): Tensor { return E.square(this); }
  reciprocal(): Tensor { return E.reciprocal(this); }
  sin(): Tensor { return P.sin(this); }
  cos(): Tensor { return P.cos(this); }
  tanh(): Tensor { return P.tanh(this); }
  sigmoid(): Tensor { return P.sigmoid(this); }
  relu(): Tensor { return P.relu(this); }
  erf(): Tensor { return P.erf(this); }
  leakyRelu(negativeSlope?: number): Tensor { return E.leakyRelu(this, negativeSlope); }
  gelu(opts?: { approximate?: "none" | "tanh" }): Tensor { return E.gelu(this, opts); }
  silu(): Tensor { return E.silu(this); }
  softplus(opts?: { beta?: number; threshold?: number }): Tensor { return E.softplus(this, opts); }
  sign(): Tensor { return P.sign(this); }
  floor(): Tensor { return P.floor(this); }
  round(): Tensor { return P.round(this); }
  clamp(min?: TL | null, max?: TL | null): Tensor { return E.clamp(this, min, max); }
  clip(min?: TL | null, max?: TL | null): Tensor { return E.clamp(this, min, max); }
  logicalNot(): Tensor { return E.logicalNot(this); }
  logicalAnd(o: Tensor): Tensor { return E.logicalAnd(this, o); }
  logicalOr(o: Tensor): Tensor { return E.logicalOr(this, o); }
  where(cond: Tensor, other: TL): Tensor { return E.where(cond, this, other); }
  maskedFill(mask: Tensor, value: TL): Tensor { return I.maskedFill(this, mask, value); }

  // ---- reductions ----------------------------------------------------------------------------------
  sum(dim?: R.Dims, opts?: R.ReduceOpts): Tensor { return R.sum(this, dim, opts); }
  mean(dim?: R.Dims, opts?: R.ReduceOpts): Tensor { return R.mean(this, dim, opts); }
  prod(dim?: R.Dims, opts?: R.ReduceOpts): Tensor { return R.prod(this, dim, opts); }
  /** max(): the maximum; max(dim): {values, indices}; max(other): elementwise maximum. */
  max(): Tensor;
  max(dim: number, opts?: { keepdim?: boolean }): R.ValuesIndices;
  max(other: Tensor): Tensor;
  max(dim?: number | Tensor, opts?: { keepdim?: boolean }): Tensor | R.ValuesIndices {
    if (dim instanceof Tensor) return E.maximum(this, dim);
    return dim === undefined ? R.amax(this) : R.maxDim(this, dim, opts);
  }
  min(): Tensor;
  min(dim: number, opts?: { keepdim?: boolean }): R.ValuesIndices;
  min(other: Tensor): Tensor;
  min(dim?: number | Tensor, opts?: { keepdim?: boolean }): Tensor | R.ValuesIndices {
    if (dim instanceof Tensor) return E.minimum(this, dim);
    return dim === undefined ? R.amin(this) : R.minDim(this, dim, opts);
  }
  amax(dim?: R.Dims, opts?: { keepdim?: boolean }): Tensor { return R.amax(this, dim, opts); }
  amin(dim?: R.Dims, opts?: { keepdim?: boolean }): Tensor { return R.amin(this, dim, opts); }
  argmax(dim?: number | null, opts?: { keepdim?: boolean }): Tensor { return R.argmax(this, dim, opts); }
  argmin(dim?: number | null, opts?: { keepdim?: boolean }): Tensor { return R.argmin(this, dim, opts); }
  var(dim?: R.Dims, opts?: R.VarOpts): Tensor { return R.variance(this, dim, opts); }
  std(dim?: R.Dims, opts?: R.VarOpts): Tensor { return R.std(this, dim, opts); }
  logsumexp(dim?: R.Dims, opts?: { keepdim?: boolean }): Tensor { return R.logsumexp(this, dim, opts); }
  norm(p?: number | "fro", dim?: R.Dims, opts?: { keepdim?: boolean }): Tensor { return R.norm(this, p, dim, opts); }
  softmax(dim: number): Tensor { return R.softmax(this, dim); }
  logSoftmax(dim: number): Tensor { return R.logSoftmax(this, dim); }
  all(dim?: R.Dims, opts?: { keepdim?: boolean }): Tensor { return R.all(this, dim, opts); }
  any(dim?: R.Dims, opts?: { keepdim?: boolean }): Tensor { return R.any(this, dim, opts); }

  // ---- shape ---------------------------------------------------------------------------------------
  reshape(...shape: number[] | [number[]]): Tensor { return M.reshape(this, shapeFromArgs(shape, "reshape")); }
  view(...shape: number[] | [number[]]): Tensor { return M.view(this, shapeFromArgs(shape, "view")); }
  viewAs(o: Tensor): Tensor { return M.view(this, o.shape); }
  reshapeAs(o: Tensor): Tensor { return M.reshape(this, o.shape); }
  flatten(startDim?: number, endDim?: number): Tensor { return M.flatten(this, startDim, endDim); }
  unflatten(dim: number, sizes: number[]): Tensor { return M.unflatten(this, dim, sizes); }
  squeeze(dim?: number | number[]): Tensor { return M.squeeze(this, dim); }
  unsqueeze(dim: number): Tensor { return M.unsqueeze(this, dim); }
  transpose(dim0: number, dim1: number): Tensor { return M.transpose(this, dim0, dim1); }
  permute(...dims: number[] | [number[]]): Tensor { return M.permute(this, shapeFromArgs(dims, "permute")); }
  t(): Tensor { return M.t(this); }
  /** Transpose of the last two dims (a view). */
  get mT(): Tensor { return M.transpose(this, -2, -1); }
  get T(): Tensor { return this.ndim < 2 ? this : M.permute(this, mapDims(this.shape, (_, i) => this.ndim - 1 - i)); }
  expand(...shape: number[] | [number[]]): Tensor { return M.expand(this, shapeFromArgs(shape, "expand")); }
  expandAs(o: Tensor): Tensor { return M.expand(this, o.shape); }
  broadcastTo(...shape: number[] | [number[]]): Tensor { return M.expand(this, shapeFromArgs(shape, "broadcastTo")); }
  repeat(...reps: number[] | [number[]]): Tensor { return M.repeat(this, shapeFromArgs(reps, "repeat")); }
  flip(...dims: number[] | [number[]]): Tensor { return M.flip(this, shapeFromArgs(dims, "flip")); }
  narrow(dim: number, start: number, length: number): Tensor { return M.narrow(this, dim, start, length); }
  select(dim: number, index: number): Tensor { return M.select(this, dim, index); }
  /** x[start:end:step] along dim, as a view. */
  slice(dim: number, start?: number | null, end?: number | null, step?: number): Tensor { return M.slice(this, dim, start, end, step); }
  split(splitSize: number | number[], dim?: number): Tensor[] { return M.split(this, splitSize, dim); }
  chunk(chunks: number, dim?: number): Tensor[] { return M.chunk(this, chunks, dim); }
  tril(diagonal?: number): Tensor { return M.tril(this, diagonal); }
  triu(diagonal?: number): Tensor { return M.triu(this, diagonal); }
  gather(dim: number, index: Tensor): Tensor { return I.gather(this, dim, index); }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor { return I.scatterAdd(this, dim, index, src); }
  indexSelect(dim: number, index: Tensor): Tensor { return I.indexSelect(this, dim, index); }

  // ---- linear algebra ------------------------------------------------------------------------------
  matmul(o: Tensor): Tensor { return L.matmul(this, o); }
  mm(o: Tensor): Tensor { return L.mm(this, o); }
  bmm(o: Tensor): Tensor { return L.bmm(this, o); }
  outer(o: Tensor): Tensor { return L.outer(this, o); }
  dot(o: Tensor): Tensor { return L.dot(this, o); }

  // ---- in place (parameter updates, initialisation) ------------------------------------------------
  private checkInplace(op: string, other?: TL): void {
    if (!gradMode.enabled) return;
    if (this.requiresGrad && this.isLeaf) {
      throw new Error(`[${op}] a leaf tensor that requires grad is being used in an in-place operation; wrap it in noGrad()`);
    }
    if (this.requiresGrad || (other instanceof Tensor && other.requiresGrad)) {
      throw new Error(`[${op}] in-place operations are not recorded by autograd; use the out-of-place form`);
    }
  }
  /** Overwrite the elements with `src` (broadcast to this shape, cast to this dtype). */
  copy_(src: TL): this {
    this.checkInplace("copy_", src);
    const s = asTensor(src, this);
    const v = M.expand(s.dtype === this.dtype ? s : P.cast(s, this.dtype), this.shape);
    copyInto(this.buf, this.offset, this.strides, v.buf === this.buf ? P.clone(v) : v);
    return this;
  }
  private inplace(op: string, r: () => Tensor, other?: TL): this {
    this.checkInplace(op, other);
    const prev = gradMode.enabled;
    gradMode.enabled = false;
    try {
      const out = r();
      copyInto(this.buf, this.offset, this.strides, M.expand(out.dtype === this.dtype ? out : P.cast(out, this.dtype), this.shape));
    } finally {
      gradMode.enabled = prev;
    }
    return this;
  }
  add_(o: TL, opts?: { alpha?: number }): this { return this.inplace("add_", () => E.add(this, o, opts), o); }
  sub_(o: TL, opts?: { alpha?: number }): this { return this.inplace("sub_", () => E.sub(this, o, opts), o); }
  mul_(o: TL): this { return this.inplace("mul_", () => E.mul(this, o), o); }
  div_(o: TL): this { return this.inplace("div_", () => E.div(this, o), o); }
  clamp_(min?: TL | null, max?: TL | null): this { return this.inplace("clamp_", () => E.clamp(this, min, max)); }
  fill_(v: number): this { return this.inplace("fill_", () => asTensor(v, this)); }
  zero_(): this { return this.fill_(0); }
  /** Fill with uniform samples from [from, to). */
  uniform_(from = 0, to = 1, opts?: { generator?: Generator }): this {
    const g = opts?.generator ?? defaultGenerator;
    return this.fillWith("uniform_", () => from + (to - from) * g.nextFloat());
  }
  /** Fill with normal samples N(mean, std^2). */
  normal_(mean = 0, std = 1, opts?: { generator?: Generator }): this {
    const g = opts?.generator ?? defaultGenerator;
    return this.fillWith("normal_", () => mean + std * g.nextNormal());
  }
  private fillWith(op: string, draw: () => number): this {
    const n = this.numel();
    const src = allocStorage(this.dtype, n);
    for (let i = 0; i < n; i++) src[i] = draw();
    return this.inplace(op, () => Tensor.fromStorage(src, this.shape.slice()));
  }
}
