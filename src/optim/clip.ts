// Gradient clipping by global norm or by value, as torch.nn.utils.clip_grad_norm_ / clip_grad_value_.
import { Tensor } from "../tensor.js";
import { isDenseAs } from "./optimizer.js";

function gradsOf(parameters: Iterable<Tensor> | Tensor): Tensor[] {
  const list = parameters instanceof Tensor ? [parameters] : Array.from(parameters);
  const grads: Tensor[] = [];
  for (const p of list) if (p.grad !== null) grads.push(p.grad);
  return grads;
}

/** The p-norm (p > 0 or Infinity) of the values, accumulated in double. */
function pNorm(values: ArrayLike<number>, n: number, p: number): number {
  let acc = 0;
  if (p === Infinity) {
    for (let i = 0; i < n; i++) acc = Math.max(acc, Math.abs(values[i])); // NaN propagates, as torch.max
    return acc;
  }
  for (let i = 0; i < n; i++) {
    const a = Math.abs(values[i]);
    acc += p === 2 ? a * a : p === 1 ? a : a ** p;
  }
  return p === 2 ? Math.sqrt(acc) : p === 1 ? acc : acc ** (1 / p);
}

/**
 * Scale the gradients in place so that their total norm (of all gradients as one vector) is at most
 * `maxNorm`, as `torch.nn.utils.clip_grad_norm_`; returns the total norm before clipping as a 0-d tensor.
 * Parameters without a gradient are skipped. The scale is maxNorm / (total + 1e-6), clamped to 1, computed
 * in the gradients' precision as PyTorch does.
 * @example
 * loss.backward();
 * const total = clipGradNorm_(model.parameters(), 1.0);
 * opt.step();
 */
export function clipGradNorm_(
  parameters: Iterable<Tensor> | Tensor, maxNorm: number,
  { normType = 2, errorIfNonfinite = false }: { normType?: number; errorIfNonfinite?: boolean } = {},
): Tensor {
  if (!(normType > 0)) throw new Error(`[clipGradNorm_] normType must be > 0 or Infinity, got ${normType}`);
  const grads = gradsOf(parameters);
  if (grads.length === 0) return Tensor.fromStorage(new Float32Array(1), []);
  const f32 = grads.every((g) => g.dtype === "float32");
  const fr = f32 ? Math.fround : (x: number) => x;
  // As PyTorch: the norm of each gradient (a tensor of its dtype), then the norm of those norms.
  const norms = grads.map((g) => fr(pNorm(isDenseAs(g, g.shape) ? g.buf : g.toTypedArray(), g.numel(), normType)));
  const total = fr(pNorm(norms, norms.length, normType));
  if (errorIfNonfinite && !Number.isFinite(total)) {
    throw new Error(`[clipGradNorm_] the total norm of order ${normType} for gradients from parameters is non-finite, so it cannot be clipped; pass errorIfNonfinite: false to scale the gradients by the non-finite norm anyway`);
  }
  // max_norm / (total_norm + 1e-6) is Tensor.__rdiv__: reciprocal() then a multiply, each a float32 kernel.
  const coef = Math.min(fr(fr(1 / fr(total + fr(1e-6))) * fr(maxNorm)), 1); // NaN propagates, as torch.clamp
  for (const g of grads) {
    if (isDenseAs(g, g.shape)) {
      const b = g.buf, n = g.numel();
      for (let i = 0; i < n; i++) b[i] *= coef;
    } else {
      g.detach().mul_(coef);
    }
  }
  return Tensor.fromStorage(f32 ? Float32Array.of(total) : Float64Array.of(total), []);
}

/**
 * Clamp every gradient in place to [-clipValue, clipValue], as `torch.nn.utils.clip_grad_value_`.
 * @example
 * loss.backward();
 * clipGradValue_(model.parameters(), 0.5);
 */
export function clipGradValue_(parameters: Iterable<Tensor> | Tensor, clipValue: number): void {
  if (typeof clipValue !== "number" || !(clipValue >= 0)) throw new Error(`[clipGradValue_] clipValue must be a number >= 0, got ${String(clipValue)}`);
  const hi = clipValue, lo = -clipValue;
  for (const g of gradsOf(parameters)) {
    if (isDenseAs(g, g.shape)) {
      const b = g.buf, n = g.numel();
      for (let i = 0; i < n; i++) b[i] = b[i] < lo ? lo : b[i] > hi ? hi : b[i]; // NaN stays NaN, as torch.clamp
    } else {
      g.detach().clamp_(lo, hi);
    }
  }
}
