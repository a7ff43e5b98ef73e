// Adagrad with learning-rate decay and weight decay, as torch.optim.Adagrad (PyTorch 1.13, foreach=False).
import type { Tensor } from "../tensor.js";
import { adagradUpdate } from "./kernels.js";
import {
  Optimizer, checkNonNegative, resolveOptions, zerosFor,
  type FloatStorage, type OptimizerOptions, type ParamGroup, type ParamGroupInput, type Params,
} from "./optimizer.js";

export interface AdagradOptions extends OptimizerOptions {
  /** The step size is lr / (1 + (step - 1) * lrDecay). */
  lrDecay: number;
  /** L2 penalty added to the gradient. */
  weightDecay: number;
  /** Starting value of the squared-gradient sums. */
  initialAccumulatorValue: number;
  /** Added to the denominator for numerical stability. */
  eps: number;
  /** Maximize the objective instead of minimizing it. */
  maximize: boolean;
}

/** Per-parameter Adagrad state: step count and sum of squared gradients. */
export type AdagradState = { step: number; sum: Tensor };

/**
 * Adagrad, as `torch.optim.Adagrad`. As in PyTorch, state exists from construction (the sums start at
 * initialAccumulatorValue), so `stateDict()` lists every parameter before the first step.
 * @example
 * const opt = new Adagrad(model.parameters(), { lr: 0.1, lrDecay: 1e-3 });
 */
export class Adagrad extends Optimizer<AdagradOptions, AdagradState> {
  constructor(params: Params<AdagradOptions>, opts: Partial<AdagradOptions> = {}) {
    const o = resolveOptions<AdagradOptions>("Adagrad", opts, { lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10, maximize: false });
    checkNonNegative("Adagrad", o, "lr", "lrDecay", "weightDecay", "initialAccumulatorValue", "eps");
    super(params, o);
  }

  override addParamGroup(input: ParamGroupInput<AdagradOptions>): void {
    super.addParamGroup(input);
    const group = this.paramGroups[this.paramGroups.length - 1];
    for (const p of group.params) this.state.set(p, this.initState(p, group));
  }

  protected initState(p: Tensor, group: ParamGroup<AdagradOptions>): AdagradState {
    // NOTE: the group's value; PyTorch 1.13 uses the constructor's even where a group overrides it.
    return { step: 0, sum: zerosFor(p, group.initialAccumulatorValue) };
  }

  protected update(pb: FloatStorage, gb: FloatStorage, n: number, st: AdagradState, group: ParamGroup<AdagradOptions>, _p: Tensor, f32: boolean): void {
    st.step += 1;
    const clr = group.lr / (1 + (st.step - 1) * group.lrDecay);
    adagradUpdate(pb, gb, n, st.sum.buf as FloatStorage, clr, group.eps, group.weightDecay, group.maximize, f32);
  }
}
