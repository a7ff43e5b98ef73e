// nn.functional's normalisation, embedding and channel-dropout functions, as torch.nn.functional's.
import type { Tensor } from "../tensor.js";
import { defaultGenerator, type Generator } from "../random.js";
import { checkOptions } from "./helpers.js";
import { checkDropoutP } from "./impl.js";
import {
  batchNormImpl, checkEps, checkNormalizedShape, checkPositive, dropout2dImpl, embeddingImpl, groupNormImpl,
  layerNormImpl, rmsNormImpl,
} from "./norm_impl.js";

export interface BatchNormFnOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  /** Use batch statistics (and update the running ones in place); default false, as F.batch_norm. */
  training?: boolean;
  momentum?: number;
  eps?: number;
}

/**
 * Batch normalisation of (N, C, *) per channel. With `training` the batch mean and biased variance normalise,
 * and runningMean / runningVar (if given) are updated in place: r = (1 - momentum) r + momentum s, with the
 * unbiased variance; otherwise the running statistics normalise.
 * @example
 * const rm = zeros(3), rv = ones(3);
 * F.batchNorm(randn(8, 3), rm, rv, { training: true }).shape; // [8, 3]; rm and rv moved toward the batch stats
 */
export function batchNorm(x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, opts: BatchNormFnOptions = {}): Tensor {
  checkOptions("batchNorm", opts, ["weight", "bias", "training", "momentum", "eps"]);
  const momentum = opts.momentum ?? 0.1;
  if (typeof momentum !== "number" || !(momentum >= 0 && momentum <= 1)) throw new Error(`[batchNorm] momentum must be a number in [0, 1], got ${String(momentum)}`);
  return batchNormImpl("batchNorm", x, runningMean, runningVar, opts.weight ?? null, opts.bias ?? null, opts.training ?? false,
    momentum, checkEps("batchNorm", opts.eps ?? 1e-5));
}

/**
 * Layer normalisation over the trailing `normalizedShape` dims: (x - mean) / sqrt(var + eps) * weight + bias.
 * @example
 * F.layerNorm(randn(2, 5, 4), [4]).mean(-1); // ~0 everywhere
 */
export function layerNorm(x: Tensor, normalizedShape: number | number[], opts: { weight?: Tensor | null; bias?: Tensor | null; eps?: number } = {}): Tensor {
  checkOptions("layerNorm", opts, ["weight", "bias", "eps"]);
  return layerNormImpl("layerNorm", x, checkNormalizedShape("layerNorm", normalizedShape), opts.weight ?? null, opts.bias ?? null,
    checkEps("layerNorm", opts.eps ?? 1e-5));
}

/**
 * Group normalisation of (N, C, *): the C channels split into numGroups groups, each normalised over its
 * channels and spatial positions, then a per-channel affine map.
 * @example
 * F.groupNorm(randn(2, 6, 5), 3).shape; // [2, 6, 5]
 */
export function groupNorm(x: Tensor, numGroups: number, opts: { weight?: Tensor | null; bias?: Tensor | null; eps?: number } = {}): Tensor {
  checkOptions("groupNorm", opts, ["weight", "bias", "eps"]);
  return groupNormImpl("groupNorm", x, checkPositive("groupNorm", "numGroups", numGroups), opts.weight ?? null, opts.bias ?? null,
    checkEps("groupNorm", opts.eps ?? 1e-5));
}

/**
 * Root-mean-square normalisation over the trailing dims: x * rsqrt(mean(x^2) + eps) * weight; `eps` null or
 * omitted is the dtype's machine epsilon, as torch.nn.functional.rms_norm.
 * @example
 * F.rmsNorm(tensor([[3, 4]]), [2]); // [[0.8485, 1.1314]]
 */
export function rmsNorm(x: Tensor, normalizedShape: number | number[], opts: { weight?: Tensor | null; eps?: number | null } = {}): Tensor {
  checkOptions("rmsNorm", opts, ["weight", "eps"]);
  const eps = opts.eps ?? null;
  return rmsNormImpl("rmsNorm", x, checkNormalizedShape("rmsNorm", normalizedShape), opts.weight ?? null, eps === null ? null : checkEps("rmsNorm", eps));
}

/**
 * Look up rows of `weight` (V, D) at int32 `indices` of any shape: (*) → (*, D). The `paddingIdx` row
 * (negative counts from the end) receives no gradient.
 * @example
 * F.embedding(tensor([[0, 2]], { dtype: "int32" }), randn(5, 3)).shape; // [1, 2, 3]
 */
export function embedding(indices: Tensor, weight: Tensor, opts: { paddingIdx?: number | null } = {}): Tensor {
  checkOptions("embedding", opts, ["paddingIdx"]);
  return embeddingImpl("embedding", indices, weight, opts.paddingIdx);
}

/**
 * Zero whole channels of (N, C, H, W) or (C, H, W) with probability p and scale the rest by 1/(1-p)
 * (training only), drawing one number per channel from the default generator unless one is given.
 * @example
 * F.dropout2d(ones(2, 4, 3, 3), { p: 0.5, generator: new Generator(0) }); // each 3x3 plane all 0 or all 2
 */
export function dropout2d(x: Tensor, opts: { p?: number; training?: boolean; generator?: Generator } = {}): Tensor {
  checkOptions("dropout2d", opts, ["p", "training", "generator"]);
  return dropout2dImpl("dropout2d", x, checkDropoutP("dropout2d", opts.p ?? 0.5), opts.training ?? true, opts.generator ?? defaultGenerator);
}
