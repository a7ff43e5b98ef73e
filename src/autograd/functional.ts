// autograd.grad: gradients of outputs with respect to chosen inputs, optionally differentiable again.
import { runBackward } from "./engine.js";
import type { Tensor } from "../tensor.js";
import * as P from "../ops/primitives.js";
import { fmtShape } from "../shape.js";

export interface GradOptions {
  gradOutputs?: Tensor | Tensor[];
  retainGraph?: boolean;
  /** Record the backward pass so the result can be differentiated again (second derivatives). */
  createGraph?: boolean;
  /** Return null for inputs the outputs do not depend on instead of throwing. */
  allowUnused?: boolean;
}

/**
 * Gradients of `outputs` w.r.t. `inputs`, as torch.autograd.grad; leaves' `.grad` is left untouched.
 * @example
 * const [dx] = grad(x.pow(3).sum(), [x], { createGraph: true });
 * const [d2x] = grad(dx.sum(), [x]);
 */
export function grad(outputs: Tensor | Tensor[], inputs: Tensor | Tensor[], opts: GradOptions = {}): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  const ins = Array.isArray(inputs) ? inputs : [inputs];
  const gos = opts.gradOutputs === undefined ? [] : Array.isArray(opts.gradOutputs) ? opts.gradOutputs : [opts.gradOutputs];
  const seeds = outs.map((o, i) => {
    const g = gos[i];
    if (g) {
      if (g.shape.length !== o.shape.length || g.shape.some((s, k) => s !== o.shape[k])) {
        throw new Error(`[grad] gradOutputs[${i}] shape ${fmtShape(g.shape)} does not match output shape ${fmtShape(o.shape)}`);
      }
      return g;
    }
    if (o.numel() !== 1) throw new Error(`[grad] grad can be implicitly created only for scalar outputs; output ${i} has shape ${fmtShape(o.shape)}`);
    return P.filled(o.shape.slice(), 1, o.dtype);
  });
  ins.forEach((t, i) => {
    if (!t.requiresGrad) throw new Error(`[grad] input ${i} does not require grad`);
  });
  const res = runBackward(outs, seeds, { retainGraph: opts.retainGraph, createGraph: opts.createGraph }, ins);
  if (!opts.allowUnused) {
    res.forEach((r, i) => {
      if (r === null) throw new Error(`[grad] input ${i} (shape ${fmtShape(ins[i].shape)}) was not used in the graph; pass { allowUnused: true }`);
    });
  }
  return res;
}
