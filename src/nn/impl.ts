// The code behind nn.functional, the layers and the losses: options are checked by callers, tensors here.
import { Tensor } from "../tensor.js";
import { allocStorage, isFloating } from "../dtype.js";
import { broadcastShapes, fmtShape, shapesEqual } from "../shape.js";
import type { Generator } from "../random.js";
import { Function, type FunctionCtx } from "../autograd/function.js";
import { gradMode } from "../autograd/grad_mode.js";
import { scalarLike } from "../ops/helpers.js";
import * as P from "../ops/primitives.js";
import * as E from "../ops/elementwise.js";
import * as R from "../ops/reduce.js";

export type Reduction = "mean" | "sum" | "none";

// ---- activations, linear, dropout ------------------------------------------------------------------

export type GeluApproximate = "none" | "tanh";

export function checkApproximate(op: string, a: unknown): GeluApproximate {
  if (a !== "none" && a !== "tanh") throw new Error(`[${op}] approximate must be 'none' or 'tanh', got ${JSON.stringify(a)}`);
  return a;
}

export function linearImpl(op: string, x: Tensor, weight: Tensor, bias: Tensor | null): Tensor {
  const inF = weight.shape[1];
  if (x.ndim === 0 || x.shape[x.ndim - 1] !== inF) {
    throw new Error(`[${op}] expected input with last dim ${inF}, got shape ${fmtShape(x.shape)}`);
  }
  // the fused primitive needs leading dims that merge into rows without a copy
  return P.linear(x.ndim > 2 ? x.contiguous() : x, weight, bias);
}

export function checkDropoutP(op: string, p: unknown): number {
  if (typeof p !== "number" || !(p >= 0 && p <= 1)) throw new Error(`[${op}] dropout probability has to be between 0 and 1, but got ${String(p)}`);
  return p;
}

export function dropoutImpl(op: string, x: Tensor, p: number, training: boolean, g: Generator): Tensor {
  if (!training || p === 0) return x;
  checkFloat(op, x, "input");
  const n = x.numel();
  // one mask tensor holding 0 or 1/(1-p), as PyTorch's bernoulli(1-p).div(1-p) noise; p = 1 zeroes everything
  const mask = allocStorage(x.dtype, n);
  if (p < 1) {
    const keep = 1 - p, scale = 1 / keep;
    for (let i = 0; i < n; i++) mask[i] = g.nextFloat() < keep ? scale : 0;
  }
  return P.mul(x, Tensor.fromStorage(mask, x.shape.slice()));
}

// ---- loss helpers ----------------------------------------------------------------------------------

export function checkReduction(op: string, r: unknown): Reduction {
  if (r !== "mean" && r !== "sum" && r !== "none") throw new Error(`[${op}] reduction must be 'mean', 'sum' or 'none', got ${JSON.stringify(r)}`);
  return r;
}

function reduce(loss: Tensor, reduction: Reduction): Tensor {
  return reduction === "none" ? loss : reduction === "sum" ? R.sum(loss) : R.mean(loss);
}

function checkFloat(op: string, t: Tensor, what: string): void {
  if (!(t instanceof Tensor)) throw new Error(`[${op}] ${what} must be a Tensor`);
  if (!isFloating(t.dtype)) throw new Error(`[${op}] expected a floating point ${what}, got ${t.dtype}`);
}

function checkSameShape(op: string, input: Tensor, target: Tensor): void {
  checkFloat(op, input, "input");
  if (!(target instanceof Tensor)) throw new Error(`[${op}] target must be a Tensor`);
  if (!shapesEqual(input.shape, target.shape)) {
    throw new Error(`[${op}] target shape ${fmtShape(target.shape)} does not match input shape ${fmtShape(input.shape)}`);
  }
}

function checkBroadcastsTo(op: string, what: string, w: Tensor, shape: number[]): void {
  let ok = false;
  try {
    ok = shapesEqual(broadcastShapes(w.shape, shape, op), shape);
  } catch {
    ok = false;
  }
  if (!ok) throw new Error(`[${op}] ${what} shape ${fmtShape(w.shape)} cannot be broadcast to input shape ${fmtShape(shape)}`);
}

// ---- binary cross-entropy --------------------------------------------------------------------------

export function bceWithLogitsImpl(op: string, x: Tensor, t: Tensor, weight: Tensor | null, posWeight: Tensor | null, reduction: Reduction): Tensor {
  checkSameShape(op, x, t);
  // one fused primitive (1 - t) x + softplus(-x); its gradient sigmoid(x) - t is exact even at x = 0
  let loss = P.bceWithLogits(x, t);
  if (posWeight) {
    checkBroadcastsTo(op, "posWeight", posWeight, x.shape);
    // (1 + (pw - 1) t) softplus(-x) adds (pw - 1) t softplus(-x), and softplus(-x) is the same loss at t = 1
    const softplusNeg = P.bceWithLogits(x, P.filled(x.shape.slice(), 1, x.dtype));
    loss = P.add(loss, P.mul(P.mul(P.sub(posWeight, scalarLike(1, posWeight)), t), softplusNeg));
  }
  if (weight) {
    checkBroadcastsTo(op, "weight", weight, x.shape);
    loss = P.mul(loss, weight);
  }
  return reduce(loss, reduction);
}

/** max(log(v), -100), PyTorch's clamp that keeps BCE finite at 0 and 1. */
function clampedLog(v: Tensor): Tensor {
  return P.maximum(P.log(v), scalarLike(-100, v));
}

/** -(t log x + (1 - t) log(1 - x)) elementwise, logs clamped at -100. */
function bceElements(x: Tensor, t: Tensor): Tensor {
  const log1mx = clampedLog(E.sub(1, x));
  return P.neg(P.add(log1mx, P.mul(t, P.sub(clampedLog(x), log1mx))));
}

/**
 * Elementwise BCE with PyTorch's backward: a composite of the clamped logs would give 0/0 = NaN gradients for
 * saturated probabilities (x = 0 or 1); PyTorch divides by max(x (1 - x), 1e-12) instead.
 */
class BinaryCrossEntropyFn extends Function {
  static override forward(ctx: FunctionCtx, x: Tensor, t: Tensor, weight: Tensor | null): Tensor {
    ctx.saveForBackward(x, t);
    ctx.weight = weight;
    const loss = bceElements(x, t);
    return weight ? P.mul(loss, weight) : loss;
  }

  static override backward(ctx: FunctionCtx, g: Tensor): (Tensor | null)[] {
    const [x, t] = ctx.savedTensors;
    const weight = ctx.weight as Tensor | null;
    const [needX, needT, needW] = ctx.needsInputGrad;
    const gw = weight ? P.mul(g, weight) : g;
    const dx = needX ? P.div(P.mul(gw, P.sub(x, t)), P.maximum(P.mul(E.sub(1, x), x), scalarLike(1e-12, x))) : null;
    const dt = needT ? P.mul(gw, P.sub(clampedLog(E.sub(1, x)), clampedLog(x))) : null;
    const dw = needW ? P.mul(g, bceElements(x, t)) : null;
    return [dx, dt, dw];
  }
}

export function bceImpl(op: string, x: Tensor, t: Tensor, weight: Tensor | null, reduction: Reduction): Tensor {
  checkSameShape(op, x, t);
  if (weight) checkBroadcastsTo(op, "weight", weight, x.shape);
  return reduce(BinaryCrossEntropyFn.apply(x, t, weight), reduction);
}

// ---- cross-entropy and NLL -------------------------------------------------------------------------

export function checkIgnoreIndex(op: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v)) throw new Error(`[${op}] ignoreIndex must be an integer, got ${String(v)}`);
  return v;
}

export function checkLabelSmoothing(op: string, v: unknown): number {
  if (typeof v !== "number" || !(v >= 0 && v <= 1)) throw new Error(`[${op}] labelSmoothing must be between 0.0 and 1.0, got ${String(v)}`);
  return v;
}

export function crossEntropyImpl(op: string, input: Tensor, target: Tensor, weight: Tensor | null, ignoreIndex: number, reduction: Reduction, smoothing: number): Tensor {
  checkFloat(op, input, "input");
  if (!(target instanceof Tensor)) throw new Error(`[${op}] target must be a Tensor`);
  if (input.ndim === 0) throw new Error(`[${op}] input must have a class dimension, got shape ${fmtShape(input.shape)}`);
  const batched = input.ndim >= 2;
  // an unbatched (C) input is the batch of one (1, C)
  const x = batched ? input : input.unsqueeze(0);
  const C = x.shape[1];
  checkClassWeight(op, weight, C);
  if (isFloating(target.dtype)) {
    if (!shapesEqual(target.shape, input.shape)) {
      throw new Error(`[${op}] target shape ${fmtShape(target.shape)} does not match input ${fmtShape(input.shape)}`);
    }
    if (ignoreIndex !== -100) throw new Error(`[${op}] ignoreIndex is not supported for class-probability (floating point) targets`);
    const loss = probTargetLoss(R.logSoftmax(x, 1), batched ? target : target.unsqueeze(0), weight, reduction, smoothing, C);
    return batched || reduction !== "none" ? loss : loss.reshape([]);
  }
  checkIndexTarget(op, input, target, true);
  return classIndexLoss(op, R.logSoftmax(x, 1), batched ? target : target.reshape([1]), target.shape, weight, ignoreIndex, reduction, smoothing);
}

export function nllLossImpl(op: string, input: Tensor, target: Tensor, weight: Tensor | null, ignoreIndex: number, reduction: Reduction): Tensor {
  checkFloat(op, input, "input");
  if (!(target instanceof Tensor)) throw new Error(`[${op}] target must be a Tensor`);
  if (input.ndim === 0) throw new Error(`[${op}] input must have a class dimension, got shape ${fmtShape(input.shape)}`);
  const batched = input.ndim >= 2;
  const x = batched ? input : input.unsqueeze(0);
  checkClassWeight(op, weight, x.shape[1]);
  checkIndexTarget(op, input, target, false);
  return classIndexLoss(op, x, batched ? target : target.reshape([1]), target.shape, weight, ignoreIndex, reduction, 0);
}

function checkClassWeight(op: string, weight: Tensor | null, C: number): void {
  if (weight === null) return;
  if (!(weight instanceof Tensor) || weight.ndim !== 1 || weight.shape[0] !== C) {
    throw new Error(`[${op}] weight should be a 1D tensor of size ${C} (one per class), got ${weight instanceof Tensor ? `shape ${fmtShape(weight.shape)}` : typeof weight}`);
  }
}

function checkIndexTarget(op: string, input: Tensor, target: Tensor, probsAllowed: boolean): void {
  if (target.dtype !== "int32") {
    throw new Error(`[${op}] target must hold int32 class indices${probsAllowed ? " or floating point class probabilities" : ""}, got ${target.dtype}`);
  }
  const want = input.ndim >= 2 ? [input.shape[0], ...input.shape.slice(2)] : [];
  if (!shapesEqual(target.shape, want)) {
    throw new Error(`[${op}] target shape ${fmtShape(target.shape)} does not match input ${fmtShape(input.shape)}: class-index targets need shape ${fmtShape(want)}`);
  }
}

/**
 * PyTorch's nll_loss with label smoothing over log-probabilities `logp` (N, C, d...) and targets (N, d...):
 * per element -(1 - eps) w[t] logp[t] - (eps / C) sum_c w[c] logp[c], zero where t == ignoreIndex; the mean
 * divides by sum of w[t] over the kept elements. One pass over the targets validates them and builds the
 * per-element coefficients, so the graph is only gather, mul and sum.
 */
function classIndexLoss(op: string, logp: Tensor, target: Tensor, outShape: number[], weight: Tensor | null, ignoreIndex: number,
  reduction: Reduction, smoothing: number): Tensor {
  if (weight?.requiresGrad && gradMode.enabled) throw new Error(`[${op}] gradients with respect to weight are not supported`);
  const C = logp.shape[1];
  const n = target.numel();
  const tc = target.contiguous();
  const tb = tc.buf, to = tc.offset;
  const wc = weight?.contiguous();
  const wb = wc?.buf, wo = wc?.offset ?? 0;
  let total = 0, ignored = 0;
  for (let i = 0; i < n; i++) {
    const v = tb[to + i];
    if (v === ignoreIndex) { ignored++; continue; }
    if (v < 0 || v >= C) throw new Error(`[${op}] target ${v} is out of bounds for ${C} classes (input shape ${fmtShape(logp.shape)})`);
    total += wb ? wb[wo + v] : 1;
  }
  const idxShape = target.shape.slice();
  idxShape.splice(1, 0, 1); // (N, 1, d...): gather's index has the input's rank
  let index = tc.reshape(idxShape);
  const pickCoef = -(1 - smoothing), smoothCoef = -smoothing / C;
  // per-element coefficients only when weights or ignored targets make them differ
  let pick: Tensor | null = null, keep: Tensor | null = null;
  if (ignored) {
    const safe = new Int32Array(n);
    for (let i = 0; i < n; i++) { const v = tb[to + i]; safe[i] = v === ignoreIndex ? 0 : v; }
    index = Tensor.fromStorage(safe, idxShape);
  }
  if (wb || ignored) {
    const pc = allocStorage(logp.dtype, n);
    for (let i = 0; i < n; i++) { const v = tb[to + i]; pc[i] = v === ignoreIndex ? 0 : pickCoef * (wb ? wb[wo + v] : 1); }
    pick = Tensor.fromStorage(pc, idxShape);
  }
  if (ignored && smoothing > 0) {
    const kc = allocStorage(logp.dtype, n);
    for (let i = 0; i < n; i++) kc[i] = tb[to + i] === ignoreIndex ? 0 : smoothCoef;
    keep = Tensor.fromStorage(kc, idxShape);
  }
  const picked = P.gather(logp, 1, index); // (N, 1, d...)
  if (smoothing === 0 && pick === null) {
    // the plain case folds sign and mean into one scalar after the sum
    if (reduction === "none") return P.neg(picked).reshape(outShape);
    return P.mul(R.sum(picked), scalarLike(reduction === "mean" ? -1 / total : -1, picked));
  }
  let loss = P.mul(picked, pick ?? scalarLike(pickCoef, picked));
  if (smoothing > 0) {
    const weighted = weight ? P.mul(logp, weight.reshape([1, C, ...logp.shape.slice(2).map(() => 1)])) : logp;
    const rowSum = P.sum(weighted, [1], true); // (N, 1, d...)
    loss = P.add(loss, P.mul(rowSum, keep ?? scalarLike(smoothCoef, rowSum)));
  }
  if (reduction === "none") return loss.reshape(outShape);
  const s = R.sum(loss);
  // 1/0 = Infinity times a 0 sum gives PyTorch's NaN when every target is ignored
  return reduction === "sum" ? s : P.mul(s, scalarLike(1 / total, s));
}

/** Cross-entropy against class probabilities (N, C, d...): -sum_c w[c] t'[c] logp[c], t' = t (1 - eps) + eps / C. */
function probTargetLoss(logp: Tensor, target: Tensor, weight: Tensor | null, reduction: Reduction, smoothing: number, C: number): Tensor {
  const t = smoothing > 0 ? P.add(P.mul(target, scalarLike(1 - smoothing, target)), scalarLike(smoothing / C, target)) : target;
  let prod = P.mul(logp, t);
  if (weight) prod = P.mul(prod, weight.reshape([1, C, ...logp.shape.slice(2).map(() => 1)]));
  if (reduction === "none") return P.neg(P.sum(prod, [1], false));
  // the mean is over the N * d1 * ... positions, not over classes (PyTorch divides by numel / C)
  const scale = reduction === "sum" ? -1 : -C / logp.numel();
  return P.mul(R.sum(prod), scalarLike(scale, prod));
}

// ---- regression losses -----------------------------------------------------------------------------

export function mseImpl(op: string, x: Tensor, t: Tensor, reduction: Reduction): Tensor {
  checkSameShape(op, x, t);
  const d = P.sub(x, t);
  return reduce(P.mul(d, d), reduction);
}

export function l1Impl(op: string, x: Tensor, t: Tensor, reduction: Reduction): Tensor {
  checkSameShape(op, x, t);
  return reduce(P.abs(P.sub(x, t)), reduction);
}

export function checkBeta(op: string, beta: unknown): number {
  if (typeof beta !== "number" || !(beta >= 0)) throw new Error(`[${op}] beta must be a number >= 0, got ${String(beta)}`);
  return beta;
}

export function smoothL1Impl(op: string, x: Tensor, t: Tensor, reduction: Reduction, beta: number): Tensor {
  if (beta === 0) return l1Impl(op, x, t, reduction);
  checkSameShape(op, x, t);
  const z = P.abs(P.sub(x, t));
  const quad = P.mul(P.mul(z, z), scalarLike(0.5 / beta, z));
  const lin = P.sub(z, scalarLike(0.5 * beta, z));
  return reduce(P.where(P.lt(z, scalarLike(beta, z)), quad, lin), reduction);
}

export function checkDelta(op: string, delta: unknown): number {
  if (typeof delta !== "number" || !(delta > 0)) throw new Error(`[${op}] delta must be a number > 0, got ${String(delta)}`);
  return delta;
}

export function huberImpl(op: string, x: Tensor, t: Tensor, reduction: Reduction, delta: number): Tensor {
  checkSameShape(op, x, t);
  const z = P.abs(P.sub(x, t));
  const quad = P.mul(P.mul(z, z), scalarLike(0.5, z));
  const lin = P.sub(P.mul(z, scalarLike(delta, z)), scalarLike(0.5 * delta * delta, z));
  return reduce(P.where(P.lt(z, scalarLike(delta, z)), quad, lin), reduction);
}
