// Reference kernels of the fused primitives: softmax / log-softmax, GELU and layer standardization, forward and backward.
import type { Backend, View } from "../backend.js";
import { allocStorage, type DType, type Storage } from "../../dtype.js";
import { numelOf } from "../../shape.js";
import { forEachRow, isContiguous } from "./strided.js";
import { erf } from "./special.js";

const SQRT1_2 = Math.SQRT1_2;
/** 1 / sqrt(2 pi): the standard normal density's constant. */
const INV_SQRT_2PI = 0.3989422804014327;
/** sqrt(2 / pi) and the cubic coefficient of GELU's tanh approximation. */
const K_BETA = 0.7978845608028654, K_KAPPA = 0.044715;

/** The elements of v as a contiguous storage, and the offset they start at (no copy when already contiguous). */
function dense(v: View): [Storage, number] {
  if (isContiguous(v.shape, v.strides)) return [v.buf, v.offset];
  const out = allocStorage(v.buf instanceof Float64Array ? "float64" : "float32", numelOf(v.shape));
  const vb = v.buf;
  let oi = 0;
  forEachRow(v.shape, [v.strides], [v.offset], (offs, len, inner) => {
    for (let i = 0, si = offs[0], st = inner[0]; i < len; i++, si += st) out[oi++] = vb[si];
  });
  return [out, 0];
}

/** (outer, n, inner): x's shape seen as (dims before dim, dim, dims after dim). */
function split(shape: readonly number[], dim: number): [number, number, number] {
  let outer = 1, inner = 1;
  for (let d = 0; d < dim; d++) outer *= shape[d];
  for (let d = dim + 1; d < shape.length; d++) inner *= shape[d];
  return [outer, shape[dim], inner];
}

/**
 * softmax or log-softmax along `dim`, each row computed in double and rounded once: the max is subtracted
 * first; for log-softmax an infinite max shifts by 0 instead, so a row of -inf gives NaN as PyTorch does.
 */
function softmax(x: View, dim: number, log: boolean, dtype: DType): Storage {
  const [outer, n, inner] = split(x.shape, dim);
  const out = allocStorage(dtype, outer * n * inner);
  const [xb, xo] = dense(x);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * n * inner + j;
      let m = -Infinity;
      for (let i = 0, p = xo + base; i < n; i++, p += inner) {
        const v = xb[p];
        if (v > m || v !== v) m = v;
        if (v !== v) break;
      }
      if (log) {
        const shift = m === Infinity || m === -Infinity ? 0 : m;
        let s = 0;
        for (let i = 0, p = xo + base; i < n; i++, p += inner) s += Math.exp(xb[p] - shift);
        const lse = Math.log(s) + shift;
        for (let i = 0, p = xo + base, q = base; i < n; i++, p += inner, q += inner) out[q] = xb[p] - lse;
      } else {
        let s = 0;
        for (let i = 0, p = xo + base, q = base; i < n; i++, p += inner, q += inner) {
          const e = Math.exp(xb[p] - m);
          out[q] = e;
          s += e;
        }
        // NOTE: e was stored rounded; dividing the stored value would round twice, so recompute it in double
        const r = 1 / s;
        for (let i = 0, p = xo + base, q = base; i < n; i++, p += inner, q += inner) out[q] = Math.exp(xb[p] - m) * r;
      }
    }
  }
  return out;
}

/** The input gradient of softmax, y (g - Σ g y), or of log-softmax, g - exp(y) Σ g, along `dim`. */
function softmaxBackward(g: View, y: View, dim: number, log: boolean, dtype: DType): Storage {
  const [outer, n, inner] = split(y.shape, dim);
  const out = allocStorage(dtype, outer * n * inner);
  const [gb, go] = dense(g), [yb, yo] = dense(y);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * n * inner + j;
      let s = 0;
      if (log) {
        for (let i = 0, p = base; i < n; i++, p += inner) s += gb[go + p];
        for (let i = 0, p = base; i < n; i++, p += inner) out[p] = gb[go + p] - Math.exp(yb[yo + p]) * s;
      } else {
        for (let i = 0, p = base; i < n; i++, p += inner) s += gb[go + p] * yb[yo + p];
        for (let i = 0, p = base; i < n; i++, p += inner) out[p] = yb[yo + p] * (gb[go + p] - s);
      }
    }
  }
  return out;
}

/** GELU: x Φ(x) with Φ(x) = (1 + erf(x / √2)) / 2, or PyTorch's tanh approximation. */
function gelu(x: View, tanh: boolean, dtype: DType): Storage {
  const n = numelOf(x.shape);
  const out = allocStorage(dtype, n);
  const [xb, xo] = dense(x);
  if (tanh) {
    for (let i = 0; i < n; i++) {
      const v = xb[xo + i];
      out[i] = 0.5 * v * (1 + Math.tanh(K_BETA * (v + K_KAPPA * v * v * v)));
    }
  } else {
    for (let i = 0; i < n; i++) {
      const v = xb[xo + i];
      out[i] = 0.5 * v * (1 + erf(v * SQRT1_2));
    }
  }
  return out;
}

/**
 * GELU's input gradient g · gelu'(x), as PyTorch's GeluBackward: Φ(x) + x φ(x) exactly, or for the tanh form
 * (1 + t) / 2 + x (1 - t²) β (1 + 3κx²) / 2 with t = tanh(β (x + κx³)). g and x have the output's shape.
 */
function geluBackward(g: View, x: View, tanh: boolean, dtype: DType): Storage {
  const n = numelOf(x.shape);
  const out = allocStorage(dtype, n);
  const [gb, go] = dense(g), [xb, xo] = dense(x);
  if (tanh) {
    for (let i = 0; i < n; i++) {
      const v = xb[xo + i], v2 = v * v;
      const t = Math.tanh(K_BETA * (v + K_KAPPA * v2 * v));
      out[i] = gb[go + i] * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * K_BETA * (1 + 3 * K_KAPPA * v2));
    }
  } else {
    for (let i = 0; i < n; i++) {
      const v = xb[xo + i];
      out[i] = gb[go + i] * (0.5 * (1 + erf(v * SQRT1_2)) + v * Math.exp(-0.5 * v * v) * INV_SQRT_2PI);
    }
  }
  return out;
}

/** Mean and 1/sqrt(biased variance + eps) of row `r` (D elements from xo + r D), two passes in double. */
function rowStats(xb: Storage, at: number, D: number, eps: number): [number, number] {
  let s = 0;
  for (let i = 0; i < D; i++) s += xb[at + i];
  const mu = s / D;
  let v = 0;
  for (let i = 0; i < D; i++) { const c = xb[at + i] - mu; v += c * c; }
  return [mu, 1 / Math.sqrt(v / D + eps)];
}

/** (x - mean) / sqrt(var + eps) over each row of the last D elements (x's trailing dims flattened). */
function layerNorm(x: View, D: number, eps: number, dtype: DType): Storage {
  const n = numelOf(x.shape), rows = D === 0 ? 0 : n / D;
  const out = allocStorage(dtype, n);
  const [xb, xo] = dense(x);
  for (let r = 0, at = 0; r < rows; r++, at += D) {
    const [mu, rs] = rowStats(xb, xo + at, D, eps);
    for (let i = 0; i < D; i++) out[at + i] = (xb[xo + at + i] - mu) * rs;
  }
  return out;
}

/** The input gradient of layerNorm per row: r (g - mean(g) - x̂ mean(g x̂)) with x̂ the standardized row, r = 1/std. */
function layerNormBackward(g: View, x: View, D: number, eps: number, dtype: DType): Storage {
  const n = numelOf(x.shape), rows = D === 0 ? 0 : n / D;
  const out = allocStorage(dtype, n);
  const [gb, go] = dense(g), [xb, xo] = dense(x);
  for (let r = 0, at = 0; r < rows; r++, at += D) {
    const [mu, rs] = rowStats(xb, xo + at, D, eps);
    let sg = 0, sgx = 0;
    for (let i = 0; i < D; i++) {
      const gi = gb[go + at + i];
      sg += gi;
      sgx += gi * (xb[xo + at + i] - mu) * rs;
    }
    const mg = sg / D, mgx = sgx / D;
    for (let i = 0; i < D; i++) out[at + i] = rs * (gb[go + at + i] - mg - (xb[xo + at + i] - mu) * rs * mgx);
  }
  return out;
}

export const activationKernels: Pick<Backend, "softmax" | "softmaxBackward" | "gelu" | "geluBackward" | "layerNorm" | "layerNormBackward"> = {
  softmax, softmaxBackward, gelu, geluBackward, layerNorm, layerNormBackward,
};
