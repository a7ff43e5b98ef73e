// SGD with momentum, dampening, Nesterov momentum and weight decay, as torch.optim.SGD (PyTorch 1.13).
import type { Tensor } from "../tensor.js";
import { sgdUpdate } from "./kernels.js";
import {
  Optimizer, checkNonNegative, resolveOptions, zerosFor, type FloatStorage, type OptimizerOptions, type ParamGroup, type Params,
} from "./optimizer.js";

export interface SGDOptions extends OptimizerOptions {
  /** Momentum factor (0 = plain SGD). */
  momentum: number;
  /** Dampening for momentum. */
  dampening: number;
  /** L2 penalty added to the gradient. */
  weightDecay: number;
  /** Nesterov momentum (needs momentum > 0 and dampening 0). */
  nesterov: boolean;
  /** Maximize the objective instead of minimizing it. */
  maximize: boolean;
}

/** Per-parameter SGD state; the buffer is null until the first step with momentum. */
export type SGDState = { momentumBuffer: Tensor | null };

/**
 * Stochastic gradient descent, optionally with (Nesterov) momentum, as `torch.optim.SGD`. `lr` is required,
 * as in PyTorch 1.13.
 * @example
 * const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
 * opt.zeroGrad();
 * loss.backward();
 * opt.step();
 */
export class SGD extends Optimizer<SGDOptions, SGDState> {
  constructor(params: Params<SGDOptions>, opts: Partial<SGDOptions> & { lr: number }) {
    if (opts?.lr === undefined) throw new Error("[SGD] lr is required, e.g. new SGD(params, { lr: 0.01 })");
    const o = resolveOptions<SGDOptions>("SGD", opts, { lr: opts.lr, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false });
    checkNonNegative("SGD", o, "lr", "momentum", "weightDecay");
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) throw new Error("[SGD] Nesterov momentum requires a momentum > 0 and zero dampening");
    super(params, o);
  }

  protected initState(): SGDState {
    return { momentumBuffer: null };
  }

  protected update(pb: FloatStorage, gb: FloatStorage, n: number, st: SGDState, group: ParamGroup<SGDOptions>, p: Tensor, f32: boolean): void {
    const { momentum } = group;
    // PyTorch clones the first gradient into the buffer instead of decaying a zero buffer.
    const first = momentum !== 0 && st.momentumBuffer === null;
    if (first) st.momentumBuffer = zerosFor(p);
    const buf = momentum !== 0 ? (st.momentumBuffer!.buf as FloatStorage) : null;
    sgdUpdate(pb, gb, n, buf, first, group.lr, momentum, group.dampening, group.weightDecay, group.nesterov, group.maximize, f32);
  }
}
