// Fused update loops of the optimizers: PyTorch 1.13's single-tensor algorithms over typed arrays.
//
// Each loop updates the first n elements of parameter `p` from gradient `g`, doing per element the whole
// sequence of tensor kernels PyTorch runs for one parameter. It rounds with `fr` wherever PyTorch's kernel
// produces a float32 result, so float32 parameters match PyTorch bit for bit (checked over 200-step runs):
// JS computes in double, and one +, -, *, / or sqrt of float32 values, rounded from double to float32, is
// correctly rounded. `fr(a + b * c)` rounds an exact product plus a sum, which reproduces the fused
// multiply-add of PyTorch's CPU kernels for add(alpha=) and addcmul (mul_ and addcdiv are not fused), up to
// rare double-rounding ties. A store into a Float32Array rounds like `fr`, so stored values need no `fr`.
// Scalars are computed in double, as PyTorch does in Python, then cast to the parameter's dtype.
// Large float32 parameters under the "wasm" backend run the same arithmetic in WebAssembly SIMD
// (src/backend/wasm/optim.ts), bit for bit; these loops stay the reference and the fallback.
import type { FloatStorage } from "./optimizer.js";
import { active } from "../backend/active.js";
import { wasmAdagrad, wasmAdam, wasmOptimAvailable, wasmOptimConfig, wasmRmsprop, wasmSgd } from "../backend/wasm/optim.js";

// NOTE: a local function taking a flag, rather than a `round` function argument: V8 reliably inlines it
// into the loops, while a call through a function-valued argument can stay an indirect call (4x slower).
function fr(x: number, f32: boolean): number {
  return f32 ? Math.fround(x) : x;
}

/** Whether this update goes to the WebAssembly kernels: float32, large enough to repay the copies, "wasm" backend. */
function useWasm(n: number, f32: boolean): boolean {
  return f32 && n >= wasmOptimConfig.minN && wasmOptimAvailable && active.b.name === "wasm";
}

/** _single_tensor_sgd. `buf` is null without momentum; `first` copies d_p into it (PyTorch's clone). */
export function sgdUpdate(
  p: FloatStorage, g: FloatStorage, n: number, buf: FloatStorage | null, first: boolean,
  lr: number, momentum: number, dampening: number, weightDecay: number, nesterov: boolean, maximize: boolean, f32: boolean,
): void {
  const wd = fr(weightDecay, f32), mom = fr(momentum, f32), keep = fr(1 - dampening, f32), negLr = fr(-lr, f32);
  if (useWasm(n, f32)) {
    wasmSgd(p as Float32Array, g as Float32Array, n, buf as Float32Array | null, first, negLr, wd, mom, keep, weightDecay !== 0, nesterov, maximize);
    return;
  }
  for (let i = 0; i < n; i++) {
    const pi = p[i];
    let d = maximize ? -g[i] : g[i];
    if (weightDecay !== 0) d = fr(d + wd * pi, f32); // d_p.add(param, alpha=weight_decay)
    if (buf !== null) {
      buf[i] = first ? d : fr(buf[i] * mom, f32) + keep * d; // buf.mul_(momentum).add_(d_p, alpha=1-dampening)
      const b = buf[i];
      d = nesterov ? fr(d + mom * b, f32) : b; // d_p.add(buf, alpha=momentum)
    }
    p[i] = pi + negLr * d; // param.add_(d_p, alpha=-lr)
  }
}

/**
 * _single_tensor_adam (decoupled = false) and _single_tensor_adamw (decoupled = true). `vMax` is null
 * without amsgrad; bc1 = 1 - beta1^step and bc2Sqrt = sqrt(1 - beta2^step).
 */
export function adamUpdate(
  p: FloatStorage, g: FloatStorage, n: number, m: FloatStorage, v: FloatStorage, vMax: FloatStorage | null,
  lr: number, beta1: number, beta2: number, bc1: number, bc2Sqrt: number, eps: number, weightDecay: number,
  decoupled: boolean, maximize: boolean, f32: boolean,
): void {
  const negStepSize = fr(-(lr / bc1), f32), bcs = fr(bc2Sqrt, f32), e = fr(eps, f32);
  const b1 = fr(beta1, f32), b2 = fr(beta2, f32), omb1 = fr(1 - beta1, f32), omb2 = fr(1 - beta2, f32);
  const wd = fr(weightDecay, f32), decay = fr(1 - lr * weightDecay, f32);
  const l2 = !decoupled && weightDecay !== 0;
  if (useWasm(n, f32)) {
    wasmAdam(
      p as Float32Array, g as Float32Array, n, m as Float32Array, v as Float32Array, vMax as Float32Array | null,
      negStepSize, bcs, e, b1, b2, omb1, omb2, wd, decay, decoupled, l2, maximize,
    );
    return;
  }
  for (let i = 0; i < n; i++) {
    let pi = p[i];
    let gi = maximize ? -g[i] : g[i];
    if (decoupled) pi = fr(pi * decay, f32); // param.mul_(1 - lr * weight_decay)
    else if (l2) gi = fr(gi + wd * pi, f32); // grad.add(param, alpha=weight_decay)
    m[i] = fr(m[i] * b1, f32) + omb1 * gi; // exp_avg.mul_(beta1).add_(grad, alpha=1-beta1)
    v[i] = fr(v[i] * b2, f32) + fr(omb2 * gi, f32) * gi; // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1-beta2)
    let s = v[i];
    if (vMax !== null) {
      s = Math.max(vMax[i], s); // torch.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
      vMax[i] = s;
    }
    const denom = fr(fr(fr(Math.sqrt(s), f32) / bcs, f32) + e, f32); // (sqrt(.) / bias_correction2_sqrt).add_(eps)
    p[i] = pi + fr(fr(negStepSize * m[i], f32) / denom, f32); // param.addcdiv_(exp_avg, denom, value=-step_size)
  }
}

/** _single_tensor_rmsprop. `ga` is null unless centered, `buf` null without momentum. */
export function rmspropUpdate(
  p: FloatStorage, g: FloatStorage, n: number, sq: FloatStorage, ga: FloatStorage | null, buf: FloatStorage | null,
  lr: number, alpha: number, eps: number, weightDecay: number, momentum: number, maximize: boolean, f32: boolean,
): void {
  const a = fr(alpha, f32), oma = fr(1 - alpha, f32), e = fr(eps, f32), wd = fr(weightDecay, f32), mom = fr(momentum, f32), negLr = fr(-lr, f32);
  if (useWasm(n, f32)) {
    wasmRmsprop(p as Float32Array, g as Float32Array, n, sq as Float32Array, ga as Float32Array | null, buf as Float32Array | null, negLr, a, oma, e, wd, mom, weightDecay !== 0, maximize);
    return;
  }
  for (let i = 0; i < n; i++) {
    const pi = p[i];
    let gi = maximize ? -g[i] : g[i];
    if (weightDecay !== 0) gi = fr(gi + wd * pi, f32); // grad.add(param, alpha=weight_decay)
    sq[i] = fr(sq[i] * a, f32) + fr(oma * gi, f32) * gi; // square_avg.mul_(alpha).addcmul_(grad, grad, value=1-alpha)
    const si = sq[i];
    let avg: number;
    if (ga !== null) {
      ga[i] = fr(ga[i] * a, f32) + oma * gi; // grad_avg.mul_(alpha).add_(grad, alpha=1-alpha)
      const gai = ga[i];
      avg = fr(Math.sqrt(fr(si - gai * gai, f32)), f32); // square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
    } else {
      avg = fr(Math.sqrt(si), f32);
    }
    avg = fr(avg + e, f32);
    if (buf !== null) {
      buf[i] = fr(buf[i] * mom, f32) + fr(gi / avg, f32); // buf.mul_(momentum).addcdiv_(grad, avg)
      p[i] = pi + negLr * buf[i]; // param.add_(buf, alpha=-lr)
    } else {
      p[i] = pi + fr(fr(negLr * gi, f32) / avg, f32); // param.addcdiv_(grad, avg, value=-lr)
    }
  }
}

/** _single_tensor_adagrad (dense gradients); clr = lr / (1 + (step - 1) * lr_decay). */
export function adagradUpdate(
  p: FloatStorage, g: FloatStorage, n: number, sum: FloatStorage, clr: number, eps: number, weightDecay: number, maximize: boolean, f32: boolean,
): void {
  const negClr = fr(-clr, f32), e = fr(eps, f32), wd = fr(weightDecay, f32);
  if (useWasm(n, f32)) {
    wasmAdagrad(p as Float32Array, g as Float32Array, n, sum as Float32Array, negClr, e, wd, weightDecay !== 0, maximize);
    return;
  }
  for (let i = 0; i < n; i++) {
    const pi = p[i];
    let gi = maximize ? -g[i] : g[i];
    if (weightDecay !== 0) gi = fr(gi + wd * pi, f32); // grad.add(param, alpha=weight_decay)
    sum[i] += gi * gi; // state_sum.addcmul_(grad, grad, value=1)
    const std = fr(fr(Math.sqrt(sum[i]), f32) + e, f32); // state_sum.sqrt().add_(eps)
    p[i] = pi + fr(fr(negClr * gi, f32) / std, f32); // param.addcdiv_(grad, std, value=-clr)
  }
}
