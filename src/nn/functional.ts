// nn.functional (also exported as F): activations, linear, dropout and the loss functions, as torch.nn.functional.
import type { Tensor } from "../tensor.js";
import { defaultGenerator, type Generator } from "../random.js";
import * as P from "../ops/primitives.js";
import * as E from "../ops/elementwise.js";
import * as R from "../ops/reduce.js";
import { checkOptions } from "./helpers.js";
import {
  bceImpl, bceWithLogitsImpl, checkApproximate, checkBeta, checkDelta, checkDropoutP, checkIgnoreIndex, checkLabelSmoothing,
  checkReduction, crossEntropyImpl, dropoutImpl, huberImpl, l1Impl, linearImpl, mseImpl, nllLossImpl, smoothL1Impl,
  type GeluApproximate, type Reduction,
} from "./impl.js";

export type { GeluApproximate, Reduction } from "./impl.js";

// ---- activations -------------------------------------------------------------------------------------

export function relu(x: Tensor): Tensor {
  return P.relu(x);
}

/** max(0, x) + negativeSlope * min(0, x). */
export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  return E.leakyRelu(x, negativeSlope);
}

/** x * Phi(x) (erf form), or its tanh approximation with `{ approximate: "tanh" }`. */
export function gelu(x: Tensor, opts: { approximate?: GeluApproximate } = {}): Tensor {
  checkOptions("gelu", opts, ["approximate"]);
  return E.gelu(x, { approximate: checkApproximate("gelu", opts.approximate ?? "none") });
}

/** x * sigmoid(x). */
export function silu(x: Tensor): Tensor {
  return E.silu(x);
}

/** log(1 + exp(beta x)) / beta, linear where beta x > threshold. */
export function softplus(x: Tensor, opts: { beta?: number; threshold?: number } = {}): Tensor {
  checkOptions("softplus", opts, ["beta", "threshold"]);
  return E.softplus(x, opts);
}

export function sigmoid(x: Tensor): Tensor {
  return P.sigmoid(x);
}

export function tanh(x: Tensor): Tensor {
  return P.tanh(x);
}

export function softmax(x: Tensor, dim: number): Tensor {
  return R.softmax(x, dim);
}

export function logSoftmax(x: Tensor, dim: number): Tensor {
  return R.logSoftmax(x, dim);
}

// ---- linear and dropout ----------------------------------------------------------------------------

/**
 * x @ weight^T + bias over the last dim: x (..., in), weight (out, in), bias (out) → (..., out).
 * @example
 * F.linear(randn(16, 2), randn(10, 2), zeros(10)).shape; // [16, 10]
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  return linearImpl("linear", x, weight, bias ?? null);
}

/**
 * Zero each element with probability p and scale the rest by 1/(1-p) (training only), drawing from the
 * default generator unless one is given.
 * @example
 * F.dropout(ones(4, 4), { p: 0.5, generator: new Generator(0) }); // entries 0 or 2
 */
export function dropout(x: Tensor, opts: { p?: number; training?: boolean; generator?: Generator } = {}): Tensor {
  checkOptions("dropout", opts, ["p", "training", "generator"]);
  return dropoutImpl("dropout", x, checkDropoutP("dropout", opts.p ?? 0.5), opts.training ?? true, opts.generator ?? defaultGenerator);
}

export interface BCEWithLogitsOptions { weight?: Tensor | null; posWeight?: Tensor | null; reduction?: Reduction }

/**
 * Binary cross-entropy on logits, stable for any magnitude:
 * `(1 - t) x + (1 + (posWeight - 1) t) log(1 + exp(-x))`, times `weight`, reduced.
 * @example
 * F.binaryCrossEntropyWithLogits(tensor([[2.0], [-1.0]]), tensor([[1.0], [0.0]])); // 0.2201
 */
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, opts: BCEWithLogitsOptions = {}): Tensor {
  const op = "binaryCrossEntropyWithLogits";
  checkOptions(op, opts, ["weight", "posWeight", "reduction"]);
  return bceWithLogitsImpl(op, input, target, opts.weight ?? null, opts.posWeight ?? null, checkReduction(op, opts.reduction ?? "mean"));
}

/**
 * Binary cross-entropy on probabilities in [0, 1]: `-(t log x + (1 - t) log(1 - x))` with logs clamped at -100.
 * @example
 * F.binaryCrossEntropy(tensor([0.9, 0.2]), tensor([1.0, 0.0])); // 0.1643
 */
export function binaryCrossEntropy(input: Tensor, target: Tensor, opts: { weight?: Tensor | null; reduction?: Reduction } = {}): Tensor {
  const op = "binaryCrossEntropy";
  checkOptions(op, opts, ["weight", "reduction"]);
  return bceImpl(op, input, target, opts.weight ?? null, checkReduction(op, opts.reduction ?? "mean"));
}

export interface CrossEntropyOptions {
  weight?: Tensor | null;
  ignoreIndex?: number;
  reduction?: Reduction;
  labelSmoothing?: number;
}

/**
 * Cross-entropy of logits `input` (N, C), (N, C, d1, ...) or (C) against class indices (int32, shape of input
 * without dim 1) or class probabilities (input's shape), as torch.nn.functional.cross_entropy: class `weight`,
 * `ignoreIndex` (indices only), `labelSmoothing`, and the weighted-mean denominator sum(weight[target]).
 * @example
 * F.crossEntropy(tensor([[2.0, 0.5, -1.0]]), tensor([0], { dtype: "int32" })); // 0.2413
 */
export function crossEntropy(input: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const op = "crossEntropy";
  checkOptions(op, opts, ["weight", "ignoreIndex", "reduction", "labelSmoothing"]);
  return crossEntropyImpl(op, input, target, opts.weight ?? null, checkIgnoreIndex(op, opts.ignoreIndex ?? -100),
    checkReduction(op, opts.reduction ?? "mean"), checkLabelSmoothing(op, opts.labelSmoothing ?? 0));
}

/**
 * Negative log-likelihood of log-probabilities `input` (N, C), (N, C, d1, ...) or (C) at int32 class indices.
 * @example
 * F.nllLoss(tensor([[-0.1, -2.5]]), tensor([0], { dtype: "int32" })); // 0.1
 */
export function nllLoss(input: Tensor, target: Tensor, opts: { weight?: Tensor | null; ignoreIndex?: number; reduction?: Reduction } = {}): Tensor {
  const op = "nllLoss";
  checkOptions(op, opts, ["weight", "ignoreIndex", "reduction"]);
  return nllLossImpl(op, input, target, opts.weight ?? null, checkIgnoreIndex(op, opts.ignoreIndex ?? -100), checkReduction(op, opts.reduction ?? "mean"));
}

// ---- regression losses -----------------------------------------------------------------------------

/** Mean squared error (x - t)^2. @example F.mseLoss(tensor([1, 2]), tensor([1, 4])); // 2 */
export function mseLoss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  checkOptions("mseLoss", opts, ["reduction"]);
  return mseImpl("mseLoss", input, target, checkReduction("mseLoss", opts.reduction ?? "mean"));
}

/** Mean absolute error |x - t|. @example F.l1Loss(tensor([1, 2]), tensor([1, 4])); // 1 */
export function l1Loss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  checkOptions("l1Loss", opts, ["reduction"]);
  return l1Impl("l1Loss", input, target, checkReduction("l1Loss", opts.reduction ?? "mean"));
}

/**
 * Smooth L1: 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (beta = 0 is L1).
 * @example F.smoothL1Loss(tensor([0, 0]), tensor([0.5, 3]), { beta: 1 }); // (0.125 + 2.5) / 2
 */
export function smoothL1Loss(input: Tensor, target: Tensor, opts: { reduction?: Reduction; beta?: number } = {}): Tensor {
  checkOptions("smoothL1Loss", opts, ["reduction", "beta"]);
  return smoothL1Impl("smoothL1Loss", input, target, checkReduction("smoothL1Loss", opts.reduction ?? "mean"), checkBeta("smoothL1Loss", opts.beta ?? 1));
}

/**
 * Huber: 0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta).
 * @example F.huberLoss(tensor([0, 0]), tensor([0.5, 3]), { delta: 1 }); // (0.125 + 2.5) / 2
 */
export function huberLoss(input: Tensor, target: Tensor, opts: { reduction?: Reduction; delta?: number } = {}): Tensor {
  checkOptions("huberLoss", opts, ["reduction", "delta"]);
  return huberImpl("huberLoss", input, target, checkReduction("huberLoss", opts.reduction ?? "mean"), checkDelta("huberLoss", opts.delta ?? 1));
}
export { conv1d, conv2d, convTranspose2d, maxPool1d, maxPool2d, avgPool1d, avgPool2d, adaptiveAvgPool2d, interpolate } from "./functional_conv.js";
export type { ConvFnOptions, ConvTransposeFnOptions, MaxPoolFnOptions, AvgPoolFnOptions, InterpolateOptions, InterpolateMode, PaddingMode } from "./functional_conv.js";
export { batchNorm, layerNorm, groupNorm, rmsNorm, embedding, dropout2d } from "./functional_norm.js";
export type { BatchNormFnOptions } from "./functional_norm.js";
export { scaledDotProductAttention } from "./functional_attention.js";
export type { ScaledDotProductAttentionOptions } from "./functional_attention.js";
