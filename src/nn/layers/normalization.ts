// Normalisation layers: BatchNorm1d, BatchNorm2d, LayerNorm, GroupNorm and RMSNorm, with PyTorch's defaults and names.
import type { Tensor } from "../../tensor.js";
import type { DType } from "../../dtype.js";
import { fmtShape } from "../../shape.js";
import { noGrad } from "../../autograd/grad_mode.js";
import { ones, zeros } from "../../ops/creation.js";
import { Module, Parameter } from "../module.js";
import { checkOptions, pyBool, pyFloat } from "../helpers.js";
import { batchNormImpl, checkEps, checkNormalizedShape, checkPositive, groupNormImpl, layerNormImpl, rmsNormImpl } from "../norm_impl.js";

/** A shape as Python prints a tuple: `(4,)`, `(3, 4)`. */
function pyTuple(s: number[]): string {
  return s.length === 1 ? `(${s[0]},)` : `(${s.join(", ")})`;
}

function checkBool(op: string, name: string, v: unknown): boolean {
  if (typeof v !== "boolean") throw new Error(`[${op}] ${name} must be a boolean, got ${String(v)}`);
  return v;
}

export interface BatchNormOptions {
  eps?: number;
  /** Weight of the newest batch in the running averages; null for a cumulative (equal-weight) average. */
  momentum?: number | null;
  affine?: boolean;
  trackRunningStats?: boolean;
  dtype?: DType;
}

/** The shared body of BatchNorm1d and BatchNorm2d; the subclasses only check the input's rank. */
abstract class BatchNormBase extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  weight: Parameter | null; // (C)
  bias: Parameter | null; // (C)
  // buffers under PyTorch's names (so stateDict keys match), created by registerBuffer
  declare running_mean: Tensor | null; // (C)
  declare running_var: Tensor | null; // (C)
  declare num_batches_tracked: Tensor | null; // () int32 (PyTorch: int64)

  constructor(numFeatures: number, opts: BatchNormOptions) {
    super();
    const op = new.target.name;
    checkOptions(op, opts, ["eps", "momentum", "affine", "trackRunningStats", "dtype"]);
    this.numFeatures = checkPositive(op, "numFeatures", numFeatures);
    this.eps = checkEps(op, opts.eps ?? 1e-5);
    const momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
    if (momentum !== null && (typeof momentum !== "number" || !(momentum >= 0 && momentum <= 1))) {
      throw new Error(`[${op}] momentum must be a number in [0, 1] or null, got ${String(momentum)}`);
    }
    this.momentum = momentum;
    this.affine = checkBool(op, "affine", opts.affine ?? true);
    this.trackRunningStats = checkBool(op, "trackRunningStats", opts.trackRunningStats ?? true);
    const dtype = opts.dtype ?? "float32";
    this.weight = this.affine ? Parameter(ones([numFeatures], { dtype })) : null;
    this.bias = this.affine ? Parameter(zeros([numFeatures], { dtype })) : null;
    this.registerBuffer("running_mean", this.trackRunningStats ? zeros([numFeatures], { dtype }) : null);
    this.registerBuffer("running_var", this.trackRunningStats ? ones([numFeatures], { dtype }) : null);
    this.registerBuffer("num_batches_tracked", this.trackRunningStats ? zeros([], { dtype: "int32" }) : null);
  }

  /** Running mean 0, running variance 1, no batches seen. */
  resetRunningStats(): void {
    if (!this.trackRunningStats) return;
    noGrad(() => {
      this.running_mean!.zero_();
      this.running_var!.fill_(1);
      this.num_batches_tracked!.zero_();
    });
  }

  /** PyTorch's reset_parameters: the running stats, then weight 1 and bias 0. */
  resetParameters(): void {
    this.resetRunningStats();
    if (this.weight && this.bias) noGrad(() => { this.weight!.fill_(1); this.bias!.zero_(); });
  }

  protected abstract checkInputDim(x: Tensor): void;

  forward(x: Tensor): Tensor {
    this.checkInputDim(x);
    let factor = this.momentum ?? 0;
    if (this.training && this.num_batches_tracked) {
      noGrad(() => this.num_batches_tracked!.add_(1));
      // momentum null: the cumulative average, each batch weighted 1 / (batches seen)
      if (this.momentum === null) factor = 1 / this.num_batches_tracked.item();
    }
    // without running stats, eval mode normalises with the batch statistics too (as PyTorch)
    const useBatch = this.training || (this.running_mean === null && this.running_var === null);
    return batchNormImpl(this.constructor.name, x, this.running_mean, this.running_var, this.weight, this.bias, useBatch, factor, this.eps);
  }

  override extraRepr(): string {
    const m = this.momentum === null ? "None" : pyFloat(this.momentum);
    return `${this.numFeatures}, eps=${pyFloat(this.eps)}, momentum=${m}, affine=${pyBool(this.affine)}, track_running_stats=${pyBool(this.trackRunningStats)}`;
  }
}

/**
 * Batch normalisation of (N, C) or (N, C, L) per channel C: batch statistics in training (updating
 * `running_mean` / `running_var` with `momentum`, counting `num_batches_tracked`), running statistics in eval.
 * @example
 * const bn = new nn.BatchNorm1d(3);
 * bn.forward(randn(8, 3, 5)).shape; // [8, 3, 5]
 * Object.keys(bn.stateDict()); // ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
 * String(bn); // "BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)"
 */
export class BatchNorm1d extends BatchNormBase {
  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super(numFeatures, opts);
  }

  protected checkInputDim(x: Tensor): void {
    if (x.ndim !== 2 && x.ndim !== 3) throw new Error(`[BatchNorm1d] expected a 2-D (N, C) or 3-D (N, C, L) input, got ${fmtShape(x.shape)}`);
  }
}

/**
 * Batch normalisation of (N, C, H, W) per channel C (see BatchNorm1d for training and eval behaviour).
 * @example
 * const bn = new nn.BatchNorm2d(4);
 * bn.forward(randn(2, 4, 7, 7)).shape; // [2, 4, 7, 7]
 * bn.eval().forward(randn(1, 4, 7, 7)); // uses running_mean and running_var
 */
export class BatchNorm2d extends BatchNormBase {
  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super(numFeatures, opts);
  }

  protected checkInputDim(x: Tensor): void {
    if (x.ndim !== 4) throw new Error(`[BatchNorm2d] expected a 4-D (N, C, H, W) input, got ${fmtShape(x.shape)}`);
  }
}

export interface LayerNormOptions { eps?: number; elementwiseAffine?: boolean; bias?: boolean; dtype?: DType }

/**
 * Layer normalisation over the trailing `normalizedShape` dims, with a learned elementwise weight (ones) and
 * bias (zeros); `bias: false` keeps only the weight (PyTorch 2.1+).
 * @example
 * const ln = new nn.LayerNorm(4);
 * ln.forward(randn(2, 5, 4)).shape; // [2, 5, 4]
 * String(ln); // "LayerNorm((4,), eps=1e-05, elementwise_affine=True)"
 */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;
  weight: Parameter | null; // normalizedShape
  bias: Parameter | null; // normalizedShape

  constructor(normalizedShape: number | number[], opts: LayerNormOptions = {}) {
    super();
    checkOptions("LayerNorm", opts, ["eps", "elementwiseAffine", "bias", "dtype"]);
    this.normalizedShape = checkNormalizedShape("LayerNorm", normalizedShape);
    this.eps = checkEps("LayerNorm", opts.eps ?? 1e-5);
    this.elementwiseAffine = checkBool("LayerNorm", "elementwiseAffine", opts.elementwiseAffine ?? true);
    const useBias = checkBool("LayerNorm", "bias", opts.bias ?? true);
    const dtype = opts.dtype ?? "float32";
    this.weight = this.elementwiseAffine ? Parameter(ones(this.normalizedShape, { dtype })) : null;
    this.bias = this.elementwiseAffine && useBias ? Parameter(zeros(this.normalizedShape, { dtype })) : null;
  }

  forward(x: Tensor): Tensor {
    return layerNormImpl("LayerNorm", x, this.normalizedShape, this.weight, this.bias, this.eps);
  }

  override extraRepr(): string {
    return `${pyTuple(this.normalizedShape)}, eps=${pyFloat(this.eps)}, elementwise_affine=${pyBool(this.elementwiseAffine)}`;
  }
}

export interface GroupNormOptions { eps?: number; affine?: boolean; dtype?: DType }

/**
 * Group normalisation of (N, C, *): C channels in numGroups groups, each normalised over its channels and
 * positions, then a per-channel weight (ones) and bias (zeros).
 * @example
 * const gn = new nn.GroupNorm(2, 6);
 * gn.forward(randn(3, 6, 5)).shape; // [3, 6, 5]
 * String(gn); // "GroupNorm(2, 6, eps=1e-05, affine=True)"
 */
export class GroupNorm extends Module {
  readonly numGroups: number;
  readonly numChannels: number;
  readonly eps: number;
  readonly affine: boolean;
  weight: Parameter | null; // (C)
  bias: Parameter | null; // (C)

  constructor(numGroups: number, numChannels: number, opts: GroupNormOptions = {}) {
    super();
    checkOptions("GroupNorm", opts, ["eps", "affine", "dtype"]);
    this.numGroups = checkPositive("GroupNorm", "numGroups", numGroups);
    this.numChannels = checkPositive("GroupNorm", "numChannels", numChannels);
    if (numChannels % numGroups !== 0) throw new Error(`[GroupNorm] numChannels ${numChannels} must be divisible by numGroups ${numGroups}`);
    this.eps = checkEps("GroupNorm", opts.eps ?? 1e-5);
    this.affine = checkBool("GroupNorm", "affine", opts.affine ?? true);
    const dtype = opts.dtype ?? "float32";
    this.weight = this.affine ? Parameter(ones([numChannels], { dtype })) : null;
    this.bias = this.affine ? Parameter(zeros([numChannels], { dtype })) : null;
  }

  forward(x: Tensor): Tensor {
    if (x.ndim >= 2 && x.shape[1] !== this.numChannels) {
      throw new Error(`[GroupNorm] expected input with ${this.numChannels} channels (N, ${this.numChannels}, *), got ${fmtShape(x.shape)}`);
    }
    return groupNormImpl("GroupNorm", x, this.numGroups, this.weight, this.bias, this.eps);
  }

  override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${pyFloat(this.eps)}, affine=${pyBool(this.affine)}`;
  }
}

export interface RMSNormOptions {
  /** null (the default) uses the input dtype's machine epsilon, as PyTorch. */
  eps?: number | null;
  elementwiseAffine?: boolean;
  dtype?: DType;
}

/**
 * Root-mean-square normalisation over the trailing dims, as PyTorch 2.4's nn.RMSNorm:
 * x * rsqrt(mean(x^2) + eps) * weight, weight initialised to ones.
 * @example
 * const rms = new nn.RMSNorm([4]);
 * rms.forward(randn(2, 4)).shape; // [2, 4]
 * String(rms); // "RMSNorm((4,), eps=None, elementwise_affine=True)"
 */
export class RMSNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number | null;
  readonly elementwiseAffine: boolean;
  weight: Parameter | null; // normalizedShape

  constructor(normalizedShape: number | number[], opts: RMSNormOptions = {}) {
    super();
    checkOptions("RMSNorm", opts, ["eps", "elementwiseAffine", "dtype"]);
    this.normalizedShape = checkNormalizedShape("RMSNorm", normalizedShape);
    this.eps = opts.eps === undefined || opts.eps === null ? null : checkEps("RMSNorm", opts.eps);
    this.elementwiseAffine = checkBool("RMSNorm", "elementwiseAffine", opts.elementwiseAffine ?? true);
    this.weight = this.elementwiseAffine ? Parameter(ones(this.normalizedShape, { dtype: opts.dtype ?? "float32" })) : null;
  }

  forward(x: Tensor): Tensor {
    return rmsNormImpl("RMSNorm", x, this.normalizedShape, this.weight, this.eps);
  }

  override extraRepr(): string {
    return `${pyTuple(this.normalizedShape)}, eps=${this.eps === null ? "None" : pyFloat(this.eps)}, elementwise_affine=${pyBool(this.elementwiseAffine)}`;
  }
}
