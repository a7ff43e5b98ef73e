// RMSprop with momentum, centering and weight decay, as torch.optim.RMSprop (PyTorch 1.13, foreach=False).
import type { Tensor } from "../tensor.js";
import { rmspropUpdate } from "./kernels.js";
import {
  Optimizer, checkNonNegative, resolveOptions, zerosFor, type FloatStorage, type OptimizerOptions, type ParamGroup, type Params,
} from "./optimizer.js";

export interface RMSpropOptions extends OptimizerOptions {
  /** Smoothing constant of the squared-gradient average. */
  alpha: number;
  /** Added to the denominator for numerical stability. */
  eps: number;
  /** L2 penalty added to the gradient. */
  weightDecay: number;
  /** Momentum factor (0 = none). */
  momentum: number;
  /** Normalize by an estimate of the gradient's variance instead of its second moment. */
  centered: boolean;
  /** Maximize the objective instead of minimizing it. */
  maximize: boolean;
}

/** Per-parameter RMSprop state (momentumBuffer with momentum > 0, gradAvg when centered). */
export type RMSpropState = { step: number; squareAvg: Tensor; momentumBuffer?: Tensor; gradAvg?: Tensor };

/**
 * RMSprop, as `torch.optim.RMSprop`.
 * @example
 * const opt = new RMSprop(model.parameters(), { lr: 1e-2, momentum: 0.9, centered: true });
 */
export class RMSprop extends Optimizer<RMSpropOptions, RMSpropState> {
  constructor(params: Params<RMSpropOptions>, opts: Partial<RMSpropOptions> = {}) {
    const o = resolveOptions<RMSpropOptions>("RMSprop", opts, { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, maximize: false });
    checkNonNegative("RMSprop", o, "lr", "alpha", "eps", "weightDecay", "momentum");
    super(params, o);
  }

  protected initState(p: Tensor, group: ParamGroup<RMSpropOptions>): RMSpropState {
    const st: RMSpropState = { step: 0, squareAvg: zerosFor(p) };
    if (group.momentum > 0) st.momentumBuffer = zerosFor(p);
    if (group.centered) st.gradAvg = zerosFor(p);
    return st;
  }

  protected update(pb: FloatStorage, gb: FloatStorage, n: number, st: RMSpropState, group: ParamGroup<RMSpropOptions>, p: Tensor, f32: boolean): void {
    const { momentum, centered } = group;
    // A scheduler (OneCycleLR) may turn momentum on after the state was created.
    if (momentum > 0) st.momentumBuffer ??= zerosFor(p);
    if (centered) st.gradAvg ??= zerosFor(p);
    st.step += 1;
    rmspropUpdate(
      pb, gb, n, st.squareAvg.buf as FloatStorage, centered ? (st.gradAvg!.buf as FloatStorage) : null,
      momentum > 0 ? (st.momentumBuffer!.buf as FloatStorage) : null,
      group.lr, group.alpha, group.eps, group.weightDecay, momentum, group.maximize, f32,
    );
  }
}
