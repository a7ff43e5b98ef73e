// The code behind the normalisation, embedding and Dropout2d layers and their functional forms (composites).
import { Tensor } from "../tensor.js";
import { allocStorage, isFloating } from "../dtype.js";
import { fmtShape, mapDims, numelOf, shapesEqual } from "../shape.js";
import type { Generator } from "../random.js";
import { noGrad } from "../autograd/grad_mode.js";
import { scalarLike } from "../ops/helpers.js";
import { indexSelectImpl } from "../ops/movement.js";
import * as P from "../ops/primitives.js";

/** torch.finfo(dtype).eps: RMSNorm's default epsilon. */
export function finfoEps(x: Tensor): number {
  return x.dtype === "float64" ? 2 ** -52 : 2 ** -23;
}

/** A normalized shape as PyTorch accepts it (an int or a list of ints), as a list. */
export function checkNormalizedShape(op: string, s: unknown): number[] {
  const shape = typeof s === "number" ? [s] : s;
  if (!Array.isArray(shape) || shape.length === 0 || shape.some((v) => !Number.isInteger(v) || v < 0)) {
    throw new Error(`[${op}] normalizedShape must be a non-negative integer or a non-empty list of them, got ${JSON.stringify(s)}`);
  }
  return shape.slice();
}

export function checkPositive(op: string, name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) throw new Error(`[${op}] ${name} must be a positive integer, got ${String(v)}`);
  return v;
}

export function checkEps(op: string, eps: unknown): number {
  if (typeof eps !== "number" || !(eps >= 0)) throw new Error(`[${op}] eps must be a number >= 0, got ${String(eps)}`);
  return eps;
}

function checkFloatInput(op: string, x: unknown): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new Error(`[${op}] input must be a Tensor`);
  if (!isFloating(x.dtype)) throw new Error(`[${op}] expected a floating point input, got ${x.dtype} (shape ${fmtShape(x.shape)})`);
}

function checkParamShape(op: string, what: string, t: Tensor | null, shape: number[]): void {
  if (t === null) return;
  if (!(t instanceof Tensor) || !shapesEqual(t.shape, shape)) {
    throw new Error(`[${op}] ${what} must have shape ${fmtShape(shape)}, got ${t instanceof Tensor ? fmtShape(t.shape) : typeof t}`);
  }
}

/** (x - mean) / sqrt(var + eps) over dims, with the biased variance, as every PyTorch norm layer. */
function standardize(x: Tensor, dims: number[], eps: number): { y: Tensor; mean: Tensor; var: Tensor } {
  const mean = P.mean(x, dims, true);
  const d = P.sub(x, mean);
  const v = P.mean(P.mul(d, d), dims, true);
  return { y: P.div(d, P.sqrt(P.add(v, scalarLike(eps, v)))), mean, var: v };
}

/** y * weight + bias with both broadcast from `shape`; either may be null. */
function affine(y: Tensor, weight: Tensor | null, bias: Tensor | null, shape: number[]): Tensor {
  let r = y;
  if (weight) r = P.mul(r, weight.reshape(shape));
  if (bias) r = P.add(r, bias.reshape(shape));
  return r;
}

// ---- batch norm ------------------------------------------------------------------------------------

/**
 * Batch normalisation over (N, C, *): batch statistics when `training` (then the running stats, if given, are
 * updated in place with `momentum`, the variance unbiased), else the running statistics.
 */
export function batchNormImpl(op: string, x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, weight: Tensor | null,
  bias: Tensor | null, training: boolean, momentum: number, eps: number): Tensor {
  checkFloatInput(op, x);
  if (x.ndim < 2) throw new Error(`[${op}] expected an input of shape (N, C, *), got ${fmtShape(x.shape)}`);
  const C = x.shape[1];
  for (const [what, t] of [["runningMean", runningMean], ["runningVar", runningVar], ["weight", weight], ["bias", bias]] as const) {
    if (t !== null && (!(t instanceof Tensor) || !shapesEqual(t.shape, [C]))) {
      throw new Error(`[${op}] ${what} must have shape [${C}] for input ${fmtShape(x.shape)}, got ${t instanceof Tensor ? fmtShape(t.shape) : typeof t}`);
    }
  }
  const dims = mapDims(x.shape, (_, d) => d).filter((d) => d !== 1); // every dim but the channels
  const bshape = mapDims(x.shape, (s, d) => (d === 1 ? C : 1)); // (1, C, 1, ...)
  let y: Tensor;
  if (training) {
    const n = numelOf(x.shape) / C;
    if (n <= 1) throw new Error(`[${op}] expected more than 1 value per channel when training, got input shape ${fmtShape(x.shape)}`);
    const s = standardize(x, dims, eps);
    y = s.y;
    if (runningMean || runningVar) {
      noGrad(() => {
        // running stats keep the unbiased variance, normalisation uses the biased one (as PyTorch)
        if (runningMean) runningMean.copy_(P.add(P.mul(runningMean, scalarLike(1 - momentum, runningMean)), P.mul(s.mean.reshape([C]), scalarLike(momentum, runningMean))));
        if (runningVar) runningVar.copy_(P.add(P.mul(runningVar, scalarLike(1 - momentum, runningVar)), P.mul(s.var.reshape([C]), scalarLike(momentum * n / (n - 1), runningVar))));
      });
    }
  } else {
    if (!runningMean || !runningVar) throw new Error(`[${op}] runningMean and runningVar are required when not training (input ${fmtShape(x.shape)})`);
    const rv = runningVar.reshape(bshape);
    y = P.div(P.sub(x, runningMean.reshape(bshape)), P.sqrt(P.add(rv, scalarLike(eps, rv))));
  }
  return affine(y, weight, bias, bshape);
}

// ---- layer, group and RMS norm ---------------------------------------------------------------------

/** The trailing dims that normalizedShape names, after checking that x ends with that shape. */
function trailingDims(op: string, x: Tensor, normalizedShape: number[]): number[] {
  const k = normalizedShape.length;
  if (x.ndim < k || !shapesEqual(x.shape.slice(x.ndim - k), normalizedShape)) {
    throw new Error(`[${op}] expected input with shape [*, ${normalizedShape.join(", ")}], got ${fmtShape(x.shape)} (normalizedShape ${fmtShape(normalizedShape)})`);
  }
  return mapDims(normalizedShape, (_, i) => x.ndim - k + i);
}

/** Layer normalisation over the trailing normalizedShape dims, then the elementwise affine map. */
export function layerNormImpl(op: string, x: Tensor, normalizedShape: number[], weight: Tensor | null, bias: Tensor | null, eps: number): Tensor {
  checkFloatInput(op, x);
  trailingDims(op, x, normalizedShape);
  checkParamShape(op, "weight", weight, normalizedShape);
  checkParamShape(op, "bias", bias, normalizedShape);
  const D = numelOf(normalizedShape);
  // with a weight, one kernel each way (layerNormAffine) instead of layerNorm, mul and add (an empty normalized
  // shape keeps the composite, which handles it)
  if (weight && D > 0) return P.layerNormAffine(x, weight.reshape([D]), bias ? bias.reshape([D]) : null, D, eps);
  return affine(P.layerNorm(x, D, eps), weight, bias, normalizedShape);
}

/** Group normalisation: channels of (N, C, *) split into numGroups groups, each normalised with its spatial dims. */
export function groupNormImpl(op: string, x: Tensor, numGroups: number, weight: Tensor | null, bias: Tensor | null, eps: number): Tensor {
  checkFloatInput(op, x);
  if (x.ndim < 2) throw new Error(`[${op}] expected an input of shape (N, C, *), got ${fmtShape(x.shape)}`);
  const [N, C] = x.shape;
  if (C % numGroups !== 0) throw new Error(`[${op}] expected the number of channels in input ${fmtShape(x.shape)} to be divisible by numGroups ${numGroups}`);
  checkParamShape(op, "weight", weight, [C]);
  checkParamShape(op, "bias", bias, [C]);
  const grouped = x.reshape([N, numGroups, (C / numGroups) * numelOf(x.shape.slice(2))]); // (N, G, C/G * spatial)
  const y = P.layerNorm(grouped, grouped.shape[2], eps).reshape(x.shape.slice()); // (N, C, *)
  return affine(y, weight, bias, mapDims(x.shape, (s, d) => (d === 1 ? C : 1)));
}

/** x * rsqrt(mean(x^2) + eps) over the trailing normalizedShape dims, times weight (PyTorch 2.4's rms_norm). */
export function rmsNormImpl(op: string, x: Tensor, normalizedShape: number[], weight: Tensor | null, eps: number | null): Tensor {
  checkFloatInput(op, x);
  const dims = trailingDims(op, x, normalizedShape);
  checkParamShape(op, "weight", weight, normalizedShape);
  const ms = P.mean(P.mul(x, x), dims, true);
  const y = P.div(x, P.sqrt(P.add(ms, scalarLike(eps ?? finfoEps(x), ms))));
  return affine(y, weight, null, normalizedShape);
}

// ---- embedding -------------------------------------------------------------------------------------

/** paddingIdx with negative values counted from the end, checked against numEmbeddings. */
export function checkPaddingIdx(op: string, paddingIdx: number | null | undefined, numEmbeddings: number): number | null {
  if (paddingIdx === null || paddingIdx === undefined) return null;
  if (!Number.isInteger(paddingIdx) || paddingIdx < -numEmbeddings || paddingIdx >= numEmbeddings) {
    throw new Error(`[${op}] paddingIdx must be an integer within numEmbeddings ${numEmbeddings}, got ${String(paddingIdx)}`);
  }
  return paddingIdx < 0 ? paddingIdx + numEmbeddings : paddingIdx;
}

/**
 * Rows of weight (V, D) picked by int32 indices of any shape: (*) → (*, D); the paddingIdx row (negative counts
 * from the end) gets no gradient.
 */
export function embeddingImpl(op: string, indices: Tensor, weight: Tensor, padding: number | null | undefined): Tensor {
  if (!(indices instanceof Tensor)) throw new Error(`[${op}] indices must be a Tensor`);
  if (!(weight instanceof Tensor) || weight.ndim !== 2) throw new Error(`[${op}] weight must be a 2-D tensor (numEmbeddings, embeddingDim), got ${weight instanceof Tensor ? fmtShape(weight.shape) : typeof weight}`);
  if (indices.dtype !== "int32") throw new Error(`[${op}] indices must be an int32 tensor, got ${indices.dtype} (shape ${fmtShape(indices.shape)})`);
  const [V, D] = weight.shape;
  const paddingIdx = checkPaddingIdx(op, padding, V);
  const flat = indices.reshape([-1]); // (M)
  const vals = flat.toTypedArray();
  let padded = false;
  for (const v of vals) {
    if (v < 0 || v >= V) throw new Error(`[${op}] index ${v} is out of range for ${V} embeddings (indices shape ${fmtShape(indices.shape)}, weight ${fmtShape(weight.shape)})`);
    if (v === paddingIdx) padded = true;
  }
  let rows = indexSelectImpl(weight, 0, flat); // (M, D)
  if (padded) {
    // rows looked up at paddingIdx come from a detached copy: same values, no gradient into that row
    const mask = allocStorage("bool", vals.length);
    for (let i = 0; i < vals.length; i++) mask[i] = vals[i] === paddingIdx ? 1 : 0;
    rows = P.where(Tensor.fromStorage(mask, [vals.length, 1]), rows.detach(), rows);
  }
  return rows.reshape([...indices.shape, D]); // (*, D)
}

// ---- channel dropout -------------------------------------------------------------------------------

/** Zero whole channels of (N, C, H, W) or (C, H, W) with probability p, scaling the kept ones by 1/(1-p). */
export function dropout2dImpl(op: string, x: Tensor, p: number, training: boolean, g: Generator): Tensor {
  checkFloatInput(op, x);
  if (x.ndim !== 3 && x.ndim !== 4) throw new Error(`[${op}] expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got ${fmtShape(x.shape)}`);
  if (!training || p === 0) return x;
  const maskShape = mapDims(x.shape, (s, d) => (d < x.ndim - 2 ? s : 1)); // (N, C, 1, 1) or (C, 1, 1)
  const n = numelOf(maskShape);
  const mask = allocStorage(x.dtype, n);
  if (p < 1) {
    const keep = 1 - p, scale = 1 / keep;
    for (let i = 0; i < n; i++) mask[i] = g.nextFloat() < keep ? scale : 0;
  }
  return P.mul(x, Tensor.fromStorage(mask, maskShape));
}
