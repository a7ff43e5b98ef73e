// Loss modules: thin Modules over nn.functional's losses, with options checked once at construction.
import type { Tensor } from "../tensor.js";
import { Module } from "./module.js";
import { checkOptions } from "./helpers.js";
import {
  bceImpl, bceWithLogitsImpl, checkBeta, checkDelta, checkIgnoreIndex, checkLabelSmoothing, checkReduction, crossEntropyImpl,
  huberImpl, l1Impl, mseImpl, nllLossImpl, smoothL1Impl, type Reduction,
} from "./impl.js";

/** Options every loss takes. */
export interface LossOptions { reduction?: Reduction }

abstract class Loss extends Module {
  readonly reduction: Reduction;

  constructor(op: string, opts: LossOptions, allowed: readonly string[]) {
    super();
    checkOptions(op, opts, ["reduction", ...allowed]);
    this.reduction = checkReduction(op, opts.reduction ?? "mean");
  }

  abstract override forward(input: Tensor, target: Tensor): Tensor;
}

/**
 * Class-weighted losses keep `weight` as a buffer (stateDict key "weight"), as PyTorch's _WeightedLoss does.
 * Subclasses read it through `this.weight`.
 */
abstract class WeightedLoss extends Loss {
  declare weight: Tensor | null;

  constructor(op: string, opts: LossOptions & { weight?: Tensor | null }, allowed: readonly string[]) {
    super(op, opts, ["weight", ...allowed]);
    this.registerBuffer("weight", opts.weight ?? null);
  }
}

/**
 * Binary cross-entropy on logits (sigmoid and BCE fused, stable for any magnitude); `posWeight` (C) weighs the
 * positive term per class, `weight` each element.
 * @example
 * const crit = new nn.BCEWithLogitsLoss();
 * crit.forward(tensor([[2.0], [-1.0]]), tensor([[1.0], [0.0]])); // 0.2201
 */
export class BCEWithLogitsLoss extends WeightedLoss {
  // registered under PyTorch's stateDict key so checkpoints load either way; read it as `posWeight`
  declare pos_weight: Tensor | null;

  constructor(opts: LossOptions & { weight?: Tensor | null; posWeight?: Tensor | null } = {}) {
    super("BCEWithLogitsLoss", opts, ["posWeight"]);
    this.registerBuffer("pos_weight", opts.posWeight ?? null);
  }

  /** Weight of the positive term per class (C), or null. */
  get posWeight(): Tensor | null {
    return this.pos_weight;
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return bceWithLogitsImpl("BCEWithLogitsLoss", input, target, this.weight, this.pos_weight, this.reduction);
  }
}

/**
 * Binary cross-entropy on probabilities (after a sigmoid), logs clamped at -100 as PyTorch.
 * @example new nn.BCELoss().forward(tensor([0.9, 0.2]), tensor([1.0, 0.0])); // 0.1643
 */
export class BCELoss extends WeightedLoss {
  constructor(opts: LossOptions & { weight?: Tensor | null } = {}) {
    super("BCELoss", opts, []);
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return bceImpl("BCELoss", input, target, this.weight, this.reduction);
  }
}

/**
 * Cross-entropy of logits (N, C, ...) against int32 class indices or class probabilities, with class `weight`,
 * `ignoreIndex` and `labelSmoothing` as PyTorch's.
 * @example
 * const crit = new nn.CrossEntropyLoss({ labelSmoothing: 0.1 });
 * crit.forward(randn(4, 3), tensor([0, 2, 1, 0], { dtype: "int32" }));
 */
export class CrossEntropyLoss extends WeightedLoss {
  readonly ignoreIndex: number;
  readonly labelSmoothing: number;

  constructor(opts: LossOptions & { weight?: Tensor | null; ignoreIndex?: number; labelSmoothing?: number } = {}) {
    super("CrossEntropyLoss", opts, ["ignoreIndex", "labelSmoothing"]);
    this.ignoreIndex = checkIgnoreIndex("CrossEntropyLoss", opts.ignoreIndex ?? -100);
    this.labelSmoothing = checkLabelSmoothing("CrossEntropyLoss", opts.labelSmoothing ?? 0);
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return crossEntropyImpl("CrossEntropyLoss", input, target, this.weight, this.ignoreIndex, this.reduction, this.labelSmoothing);
  }
}

/**
 * Negative log-likelihood of log-probabilities (after LogSoftmax) at int32 class indices.
 * @example new nn.NLLLoss().forward(tensor([[-0.1, -2.5]]), tensor([0], { dtype: "int32" })); // 0.1
 */
export class NLLLoss extends WeightedLoss {
  readonly ignoreIndex: number;

  constructor(opts: LossOptions & { weight?: Tensor | null; ignoreIndex?: number } = {}) {
    super("NLLLoss", opts, ["ignoreIndex"]);
    this.ignoreIndex = checkIgnoreIndex("NLLLoss", opts.ignoreIndex ?? -100);
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return nllLossImpl("NLLLoss", input, target, this.weight, this.ignoreIndex, this.reduction);
  }
}

/** Mean squared error. @example new nn.MSELoss().forward(tensor([1, 2]), tensor([1, 4])); // 2 */
export class MSELoss extends Loss {
  constructor(opts: LossOptions = {}) {
    super("MSELoss", opts, []);
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return mseImpl("MSELoss", input, target, this.reduction);
  }
}

/** Mean absolute error. @example new nn.L1Loss().forward(tensor([1, 2]), tensor([1, 4])); // 1 */
export class L1Loss extends Loss {
  constructor(opts: LossOptions = {}) {
    super("L1Loss", opts, []);
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return l1Impl("L1Loss", input, target, this.reduction);
  }
}

/**
 * Quadratic below `beta` (scaled by 1/beta), linear above.
 * @example new nn.SmoothL1Loss({ beta: 1 }).forward(tensor([0, 0]), tensor([0.5, 3])); // (0.125 + 2.5) / 2
 */
export class SmoothL1Loss extends Loss {
  readonly beta: number;

  constructor(opts: LossOptions & { beta?: number } = {}) {
    super("SmoothL1Loss", opts, ["beta"]);
    this.beta = checkBeta("SmoothL1Loss", opts.beta ?? 1);
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return smoothL1Impl("SmoothL1Loss", input, target, this.reduction, this.beta);
  }
}

/**
 * Quadratic below `delta`, linear (slope delta) above.
 * @example new nn.HuberLoss({ delta: 2 }).forward(tensor([0, 0]), tensor([0.5, 3])); // (0.125 + 4) / 2
 */
export class HuberLoss extends Loss {
  readonly delta: number;

  constructor(opts: LossOptions & { delta?: number } = {}) {
    super("HuberLoss", opts, ["delta"]);
    this.delta = checkDelta("HuberLoss", opts.delta ?? 1);
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return huberImpl("HuberLoss", input, target, this.reduction, this.delta);
  }
}
