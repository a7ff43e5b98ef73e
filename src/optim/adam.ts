// Adam and AdamW (decoupled weight decay), with AMSGrad, as torch.optim.Adam/AdamW (PyTorch 1.13, foreach=False).
import type { Tensor } from "../tensor.js";
import { adamUpdate } from "./kernels.js";
import {
  Optimizer, checkNonNegative, resolveOptions, zerosFor,
  type FloatStorage, type OptimizerOptions, type ParamGroup, type Params,
} from "./optimizer.js";

export interface AdamOptions extends OptimizerOptions {
  /** Decay rates of the first and second moment running averages. */
  betas: [number, number];
  /** Added to the denominator for numerical stability. */
  eps: number;
  /** Adam: L2 penalty added to the gradient; AdamW: decoupled decay factor (param *= 1 - lr * weightDecay). */
  weightDecay: number;
  /** Use the maximum of past second moments (AMSGrad). */
  amsgrad: boolean;
  /** Maximize the objective instead of minimizing it. */
  maximize: boolean;
}

/** Per-parameter Adam state: step count and moment buffers (maxExpAvgSq only with amsgrad). */
export type AdamState = { step: number; expAvg: Tensor; expAvgSq: Tensor; maxExpAvgSq?: Tensor };

function adamOptions(op: string, opts: Partial<AdamOptions>, weightDecay: number): AdamOptions {
  const o = resolveOptions<AdamOptions>(op, opts, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay, amsgrad: false, maximize: false });
  checkNonNegative(op, o, "lr", "eps", "weightDecay");
  if (!Array.isArray(o.betas) || o.betas.length !== 2) throw new Error(`[${op}] betas must be a pair [beta1, beta2], got ${JSON.stringify(o.betas)}`);
  o.betas.forEach((b, i) => {
    if (!(b >= 0 && b < 1)) throw new Error(`[${op}] invalid beta parameter at index ${i}: ${b} (expected 0 <= beta < 1)`);
  });
  return { ...o, betas: [o.betas[0], o.betas[1]] };
}

/** Adam and AdamW differ only in how weight decay enters the update. */
abstract class AdamFamily extends Optimizer<AdamOptions, AdamState> {
  // Bias corrections of the last step count and betas: parameters usually share them, and pow is costly.
  private readonly bias = { step: 0, beta1: NaN, beta2: NaN, bc1: 0, bc2Sqrt: 0 };

  constructor(params: Params<AdamOptions>, defaults: AdamOptions, private readonly decoupled: boolean) {
    super(params, defaults);
  }

  protected initState(p: Tensor, group: ParamGroup<AdamOptions>): AdamState {
    const st: AdamState = { step: 0, expAvg: zerosFor(p), expAvgSq: zerosFor(p) };
    if (group.amsgrad) st.maxExpAvgSq = zerosFor(p);
    return st;
  }

  protected update(pb: FloatStorage, gb: FloatStorage, n: number, st: AdamState, group: ParamGroup<AdamOptions>, p: Tensor, f32: boolean): void {
    const { amsgrad, betas } = group;
    if (amsgrad && st.maxExpAvgSq === undefined) st.maxExpAvgSq = zerosFor(p);
    const step = (st.step += 1);
    const bc = this.bias;
    if (bc.step !== step || bc.beta1 !== betas[0] || bc.beta2 !== betas[1]) {
      bc.step = step;
      bc.beta1 = betas[0];
      bc.beta2 = betas[1];
      bc.bc1 = 1 - betas[0] ** step;
      bc.bc2Sqrt = Math.sqrt(1 - betas[1] ** step);
    }
    adamUpdate(
      pb, gb, n, st.expAvg.buf as FloatStorage, st.expAvgSq.buf as FloatStorage, amsgrad ? (st.maxExpAvgSq!.buf as FloatStorage) : null,
      group.lr, betas[0], betas[1], bc.bc1, bc.bc2Sqrt, group.eps, group.weightDecay, this.decoupled, group.maximize, f32,
    );
  }
}

/**
 * Adam, as `torch.optim.Adam` (PyTorch 1.13's single-tensor algorithm, float32 results bit for bit):
 * weight decay is an L2 penalty added to the gradient.
 * @example
 * const opt = new Adam(model.parameters(), { lr: 1e-3 });
 * for (const [x, y] of batches) {
 *   opt.zeroGrad();
 *   lossFn(model.forward(x), y).backward();
 *   opt.step();
 * }
 */
export class Adam extends AdamFamily {
  constructor(params: Params<AdamOptions>, opts: Partial<AdamOptions> = {}) {
    super(params, adamOptions("Adam", opts, 0), false);
  }
}

/**
 * AdamW, as `torch.optim.AdamW`: Adam with decoupled weight decay (param *= 1 - lr * weightDecay before the
 * Adam update; default weightDecay 1e-2).
 * @example
 * const opt = new AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0.05 });
 */
export class AdamW extends AdamFamily {
  constructor(params: Params<AdamOptions>, opts: Partial<AdamOptions> = {}) {
    super(params, adamOptions("AdamW", opts, 1e-2), true);
  }
}
