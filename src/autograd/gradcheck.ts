// Finite-difference gradient checks (float64), as torch.autograd.gradcheck and gradgradcheck.
import { grad } from "./functional.js";
import { enableGrad, noGrad } from "./grad_mode.js";
import { Tensor } from "../tensor.js";
import * as P from "../ops/primitives.js";

export interface GradcheckOptions { eps?: number; atol?: number; rtol?: number }

function outputsOf(r: Tensor | Tensor[]): Tensor[] {
  return Array.isArray(r) ? r : [r];
}

/**
 * Compare the analytical Jacobian of `fn` at `inputs` with central finite differences. Inputs that require
 * grad must be float64. Returns true, or throws naming the input, element and both values.
 * @example
 * const x = randn([3], { dtype: "float64", requiresGrad: true });
 * gradcheck((x) => x.tanh(), [x]);
 */
export function gradcheck(fn: (...xs: Tensor[]) => Tensor | Tensor[], inputs: Tensor[], opts: GradcheckOptions = {}): true {
  const eps = opts.eps ?? 1e-6, atol = opts.atol ?? 1e-5, rtol = opts.rtol ?? 1e-3;
  const diffIdx = inputs.map((t, i) => (t.requiresGrad ? i : -1)).filter((i) => i >= 0);
  for (const i of diffIdx) {
    if (inputs[i].dtype !== "float64") throw new Error(`[gradcheck] input ${i} requires grad but is ${inputs[i].dtype}; use float64 for finite differences`);
  }
  const outs = outputsOf(fn(...inputs)).filter((o) => o.dtype === "float32" || o.dtype === "float64");
  // analytical: one backward per output element
  const analytical: Float64Array[][] = diffIdx.map((i) => outs.map((o) => new Float64Array(inputs[i].numel() * o.numel())));
  outs.forEach((o, oi) => {
    const n = o.numel();
    for (let k = 0; k < n; k++) {
      const seed = P.filled(o.shape.slice(), 0, o.dtype);
      seed.buf[k] = 1;
      const gs = grad(outputsOf(fn(...inputs)).filter((x) => x.dtype === "float32" || x.dtype === "float64")[oi], diffIdx.map((i) => inputs[i]), { gradOutputs: seed, allowUnused: true });
      gs.forEach((g, j) => {
        const col = analytical[j][oi];
        const m = inputs[diffIdx[j]].numel();
        const flat = g ? g.contiguous().toTypedArray() : new Float64Array(m);
        for (let e = 0; e < m; e++) col[e * n + k] = flat[e];
      });
    }
  });
  // numerical: perturb each element of each differentiable input in place
  diffIdx.forEach((i, j) => {
    const x = inputs[i];
    const m = x.numel();
    if (!x.isContiguous()) throw new Error(`[gradcheck] input ${i} must be contiguous`);
    for (let e = 0; e < m; e++) {
      const at = x.offset + e;
      const orig = x.buf[at];
      const evalAt = (v: number) => {
        x.buf[at] = v;
        return noGrad(() => outputsOf(fn(...inputs)).filter((o) => o.dtype === "float32" || o.dtype === "float64").map((o) => o.contiguous().toTypedArray()));
      };
      const plus = evalAt(orig + eps);
      const minus = evalAt(orig - eps);
      x.buf[at] = orig;
      outs.forEach((o, oi) => {
        const n = o.numel();
        for (let k = 0; k < n; k++) {
          const num = (plus[oi][k] - minus[oi][k]) / (2 * eps);
          const ana = analytical[j][oi][e * n + k];
          if (!(Math.abs(num - ana) <= atol + rtol * Math.abs(num))) {
            throw new Error(`[gradcheck] Jacobian mismatch for output ${oi} element ${k} w.r.t. input ${i} element ${e}: numerical ${num}, analytical ${ana}`);
          }
        }
      });
    }
  });
  return true;
}

/** Check second derivatives: gradcheck of the (differentiable) gradient of fn's outputs. */
export function gradgradcheck(fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[], opts: GradcheckOptions = {}): true {
  const out = fn(...inputs);
  const v = P.filled(out.shape.slice(), 0, out.dtype);
  for (let k = 0; k < v.buf.length; k++) v.buf[k] = Math.sin(k + 1);
  const diff = inputs.filter((t) => t.requiresGrad);
  // NOTE: gradcheck evaluates the numerical side under noGrad, but the function checked here is itself a
  // backward pass, which needs a recorded forward graph: enableGrad restores recording inside it.
  return gradcheck((...xs: Tensor[]) => enableGrad(() => {
    const o = fn(...xs);
    const gs = grad(o, xs.filter((t) => t.requiresGrad), { gradOutputs: v, createGraph: true, allowUnused: true });
    return gs.map((g, i) => g ?? P.filled(diff[i].shape.slice(), 0, diff[i].dtype));
  }), inputs, opts);
}
