// The composites behind convolution, pooling and resampling (layers and nn.functional), on the im2col and maxPool2d primitives.
import { Tensor } from "../tensor.js";
import { allocStorage, isFloating, type DType } from "../dtype.js";
import { fmtShape } from "../shape.js";
import type { Window2d } from "../backend/backend.js";
import * as P from "../ops/primitives.js";
import * as M from "../ops/movement.js";
import * as L from "../ops/linalg.js";
import * as I from "../ops/indexing.js";
import { describe } from "./helpers.js";

/** A size per spatial dim (length 1 for the 1-d layers, 2 for the 2-d ones). */
export type Sizes = number[];
export type PaddingMode = "zeros" | "reflect" | "replicate" | "circular";
export type Padding = Sizes | "same" | "valid";
/** (before, after) per spatial dim, flattened: [top, bottom, left, right] in 2-d; negative entries crop. */
type Pads = number[];

// ---- argument checking -----------------------------------------------------------------------------

/** An int or an nd-tuple of ints, each >= min, as PyTorch's _single/_pair. */
export function toSizes(op: string, name: string, v: unknown, nd: number, min: number): Sizes {
  const arr = typeof v === "number" ? new Array<number>(nd).fill(v) : v;
  if (!Array.isArray(arr) || arr.length !== nd || arr.some((s) => !Number.isInteger(s) || s < min)) {
    const what = nd === 1 ? "an integer" : `an integer or a list of ${nd} integers`;
    throw new Error(`[${op}] ${name} must be ${what} >= ${min}, got ${Array.isArray(v) ? `[${v.join(", ")}]` : describe(v) === "number" ? String(v) : describe(v)}`);
  }
  return arr.slice();
}

export function toPadding(op: string, v: unknown, nd: number): Padding {
  if (v === "same" || v === "valid") return v;
  if (typeof v === "string") throw new Error(`[${op}] invalid padding string '${v}', should be one of 'valid', 'same'`);
  return toSizes(op, "padding", v, nd, 0);
}

export function checkPaddingMode(op: string, v: unknown): PaddingMode {
  if (v !== "zeros" && v !== "reflect" && v !== "replicate" && v !== "circular") {
    throw new Error(`[${op}] paddingMode must be one of 'zeros', 'reflect', 'replicate' or 'circular', got ${JSON.stringify(v)}`);
  }
  return v;
}

export function checkGroups(op: string, groups: unknown, inC: number, outC: number): number {
  if (!Number.isInteger(groups) || (groups as number) < 1) throw new Error(`[${op}] groups must be a positive integer, got ${String(groups)}`);
  const g = groups as number;
  if (inC % g !== 0) throw new Error(`[${op}] inChannels ${inC} must be divisible by groups ${g}`);
  if (outC % g !== 0) throw new Error(`[${op}] outChannels ${outC} must be divisible by groups ${g}`);
  return g;
}

/** Checks a floating input of rank nd + 2 (batched) or nd + 1 (unbatched); returns whether it is batched. */
function checkInput(op: string, x: Tensor, nd: number): boolean {
  if (!(x instanceof Tensor)) throw new Error(`[${op}] input must be a Tensor, got ${describe(x)}`);
  if (x.ndim !== nd + 1 && x.ndim !== nd + 2) {
    throw new Error(`[${op}] expected ${nd + 1}-D (unbatched) or ${nd + 2}-D (batched) input, got shape ${fmtShape(x.shape)}`);
  }
  if (!isFloating(x.dtype)) throw new Error(`[${op}] expected a floating point input, got ${x.dtype} (shape ${fmtShape(x.shape)})`);
  return x.ndim === nd + 2;
}

/** Python's tuple repr, as PyTorch prints kernel_size=(3, 3) or (3,). */
export function pyTuple(v: Sizes): string {
  return v.length === 1 ? `(${v[0]},)` : `(${v.join(", ")})`;
}

// ---- building blocks -------------------------------------------------------------------------------

/**
 * x (N, C, H, W) spread out with `step` (step - 1 zeros between elements, for transposed convolution) and
 * padded by pads (top, bottom, left, right) with `value`; negative pads crop.
 */
function padBox(x: Tensor, pads: Pads, value: number, step: Sizes = [1, 1]): Tensor {
  const [N, C, H, W] = x.shape;
  const [t, b, l, r] = pads.map((p) => Math.max(p, 0));
  let y = x;
  if (t + b + l + r > 0 || step[0] > 1 || step[1] > 1) {
    const shape = [N, C, t + (H - 1) * step[0] + 1 + b, l + (W - 1) * step[1] + 1 + r];
    y = P.pad(x, shape, [0, 0, t, l], [1, 1, step[0], step[1]], value); // (N, C, Hp, Wp)
  }
  const [ct, cb, cl, cr] = pads.map((p) => Math.max(-p, 0));
  if (ct + cb + cl + cr === 0) return y;
  return P.region(y, [0, 0, ct, cl], [1, 1, 1, 1], [N, C, y.shape[2] - ct - cb, y.shape[3] - cl - cr]);
}

/** Reflect, replicate or circular padding of x (N, C, H, W) by gathering rows, then columns. */
function padByIndex(op: string, x: Tensor, pads: Pads, mode: Exclude<PaddingMode, "zeros">): Tensor {
  let y = x;
  for (let d = 0; d < 2; d++) {
    const n = x.shape[2 + d], before = pads[2 * d], after = pads[2 * d + 1];
    if (before === 0 && after === 0) continue;
    const limit = mode === "reflect" ? n - 1 : mode === "circular" ? n : Infinity;
    if (before > limit || after > limit) {
      throw new Error(`[${op}] ${mode} padding (${before}, ${after}) is too large for dim ${2 + d} of input ${fmtShape(x.shape)} (at most ${limit})`);
    }
    const idx = new Int32Array(before + n + after);
    for (let k = 0; k < idx.length; k++) {
      const t = k - before;
      idx[k] = mode === "reflect" ? (t < 0 ? -t : t >= n ? 2 * (n - 1) - t : t)
        : mode === "replicate" ? Math.min(Math.max(t, 0), n - 1)
          : ((t % n) + n) % n;
    }
    y = I.indexSelect(y, 2 + d, Tensor.fromStorage(idx, [idx.length]));
  }
  return y;
}

/** Output length of a sliding window over n padded elements, as PyTorch's conv and pooling shapes. */
function slidOut(n: number, k: number, s: number, d: number, pBefore: number, pAfter: number, ceil: boolean): number {
  const span = n + pBefore + pAfter - d * (k - 1) - 1;
  let out = Math.floor((span + (ceil ? s - 1 : 0)) / s) + 1;
  // the last window must start inside the input or the left padding, as PyTorch's pooling_output_shape
  if (ceil && (out - 1) * s >= n + pBefore) out--;
  return out;
}

/**
 * 2-d convolution of x (N, C, H, W) with w (O, C/groups, kh, kw), as im2col: the weight (G, O/G, C/G*kh*kw) times
 * the columns (G, C/G*kh*kw, N*Ho*Wo) gives (O, N*Ho*Wo), reordered to (N, O, Ho, Wo) with the bias added; with
 * one group, all of that is the conv2d primitive (its columns need not become a tensor).
 * NOTE: with the batch in the columns each of the forward, input-gradient and weight-gradient products is one
 * GEMM (the weight gradient's K is N*Ho*Wo, not a first layer's 9); the cost is the output reordered once each
 * way, in runs of Ho*Wo. Consumers get a contiguous output: strided elementwise ops are several times slower.
 */
function conv2dCore(x: Tensor, w: Tensor, b: Tensor | null, stride: Sizes, pads: Pads, dil: Sizes, groups: number): Tensor {
  const [N, , H, W] = x.shape;
  const [O, Cg, kh, kw] = w.shape;
  const ho = slidOut(H, kh, stride[0], dil[0], pads[0], pads[1], false), wo = slidOut(W, kw, stride[1], dil[1], pads[2], pads[3], false);
  const win: Window2d = { kh, kw, sh: stride[0], sw: stride[1], dh: dil[0], dw: dil[1], ph: pads[0], pw: pads[2], ho, wo };
  const K = Cg * kh * kw, L = ho * wo, NL = N * L;
  if (groups === 1) return P.conv2d(x, w.reshape([O, K]), b, win); // (N, O, Ho, Wo)
  const cols = P.im2col(x, win).reshape([groups, K, NL]); // (G, C/G*kh*kw, N*L)
  const y = P.matmul(w.reshape([groups, O / groups, K]), cols).reshape([O, NL]); // (G, O/G, N*L)
  return P.convOutput(y, b, N, L).reshape([N, O, ho, wo]); // (N, O, Ho, Wo)
}

/** Lift a 1-d problem (N, C, L) to 2-d (N, C, 1, L) so one implementation serves both. */
function lift(nd: number, x: Tensor): Tensor {
  return nd === 1 ? x.unsqueeze(2) : x;
}
function lower(nd: number, y: Tensor): Tensor {
  return nd === 1 ? y.squeeze(2) : y;
}
const lift2 = (nd: number, v: Sizes, fill: number): Sizes => (nd === 1 ? [fill, v[0]] : v);

// ---- convolution -----------------------------------------------------------------------------------

export interface ConvArgs {
  stride: Sizes;
  padding: Padding;
  dilation: Sizes;
  groups: number;
  paddingMode: PaddingMode;
}

/** Checks a weight (O, C/groups, *K) and bias (O) against groups, for the functional forms. */
export function checkConvWeight(op: string, nd: number, w: Tensor, b: Tensor | null, groups: number): void {
  if (!(w instanceof Tensor) || w.ndim !== nd + 2) {
    throw new Error(`[${op}] weight must be a ${nd + 2}-D tensor (out, in / groups, ${nd === 1 ? "k" : "kh, kw"}), got ${w instanceof Tensor ? `shape ${fmtShape(w.shape)}` : describe(w)}`);
  }
  if (w.shape[0] % groups !== 0) throw new Error(`[${op}] weight ${fmtShape(w.shape)}: out channels ${w.shape[0]} must be divisible by groups ${groups}`);
  if (b !== null && (!(b instanceof Tensor) || b.ndim !== 1 || b.shape[0] !== w.shape[0])) {
    throw new Error(`[${op}] bias must be a 1-D tensor of ${w.shape[0]} elements (one per output channel), got ${b instanceof Tensor ? `shape ${fmtShape(b.shape)}` : describe(b)}`);
  }
}

/** Convolution over nd = 1 or 2 spatial dims: x (N, C, *S) or unbatched (C, *S), w (O, C/groups, *K), b (O). */
export function convImpl(op: string, nd: number, x: Tensor, w: Tensor, b: Tensor | null, a: ConvArgs): Tensor {
  const batched = checkInput(op, x, nd);
  const xb = batched ? x : x.unsqueeze(0); // (N, C, *S)
  const C = w.shape[1] * a.groups;
  if (xb.shape[1] !== C) throw new Error(`[${op}] expected input with ${C} channels, got shape ${fmtShape(x.shape)}`);
  const K = w.shape.slice(2), S = xb.shape.slice(2);
  if (a.padding === "same" && a.stride.some((s) => s !== 1)) {
    throw new Error(`[${op}] padding='same' is not supported for strided convolutions (stride ${pyTuple(a.stride)})`);
  }
  const pads: Pads = [];
  for (let d = 0; d < nd; d++) {
    // 'same' puts the odd element of the total on the after side, as PyTorch does for even kernels
    const total = a.dilation[d] * (K[d] - 1);
    if (a.padding === "same") pads.push(Math.floor(total / 2), total - Math.floor(total / 2));
    else if (a.padding === "valid") pads.push(0, 0);
    else pads.push(a.padding[d], a.padding[d]);
  }
  const padded = S.map((s, d) => s + pads[2 * d] + pads[2 * d + 1]);
  if (K.some((k, d) => a.dilation[d] * (k - 1) + 1 > padded[d])) {
    throw new Error(`[${op}] kernel size ${pyTuple(K)} with dilation ${pyTuple(a.dilation)} is larger than the padded input ${pyTuple(padded)} (input shape ${fmtShape(x.shape)})`);
  }
  let x2 = lift(nd, xb); // (N, C, H, W)
  const pads2 = nd === 1 ? [0, 0, ...pads] : pads;
  let convPads = pads2;
  if (a.paddingMode !== "zeros") {
    x2 = padByIndex(op, x2, pads2, a.paddingMode);
    convPads = [0, 0, 0, 0];
  }
  const w2 = nd === 1 ? w.unsqueeze(2) : w; // (O, C/G, kh, kw)
  const y = lower(nd, conv2dCore(x2, w2, b, lift2(nd, a.stride, 1), convPads, lift2(nd, a.dilation, 1), a.groups));
  return batched ? y : y.squeeze(0);
}

export interface ConvTransposeArgs {
  stride: Sizes;
  padding: Sizes;
  outputPadding: Sizes;
  dilation: Sizes;
  groups: number;
}

/**
 * Transposed 2-d convolution of x (N, Cin, H, W) with w (Cin, O/groups, kh, kw): x spread out with stride - 1
 * zeros, padded by dilation*(k-1) - padding (plus outputPadding after), convolved at stride 1 with the flipped
 * kernel whose in/out channels are swapped per group.
 */
export function convTranspose2dImpl(op: string, x: Tensor, w: Tensor, b: Tensor | null, a: ConvTransposeArgs): Tensor {
  const batched = checkInput(op, x, 2);
  const xb = batched ? x : x.unsqueeze(0); // (N, Cin, H, W)
  const [Cin, Og, kh, kw] = w.shape;
  const G = a.groups;
  if (xb.shape[1] !== Cin) throw new Error(`[${op}] expected input with ${Cin} channels, got shape ${fmtShape(x.shape)}`);
  for (let d = 0; d < 2; d++) {
    if (a.outputPadding[d] >= Math.max(a.stride[d], a.dilation[d])) {
      throw new Error(`[${op}] outputPadding ${pyTuple(a.outputPadding)} must be smaller than either stride ${pyTuple(a.stride)} or dilation ${pyTuple(a.dilation)}`);
    }
    const out = (xb.shape[2 + d] - 1) * a.stride[d] - 2 * a.padding[d] + a.dilation[d] * (w.shape[2 + d] - 1) + a.outputPadding[d] + 1;
    if (out < 1) throw new Error(`[${op}] input ${fmtShape(x.shape)} with padding ${pyTuple(a.padding)} gives a non-positive output size ${out} in dim ${2 + d}`);
  }
  const q = [a.dilation[0] * (kh - 1) - a.padding[0], a.dilation[1] * (kw - 1) - a.padding[1]];
  const z = padBox(xb, [q[0], q[0] + a.outputPadding[0], q[1], q[1] + a.outputPadding[1]], 0, a.stride); // (N, Cin, Hz, Wz)
  const wf = M.flip(w, [2, 3]) // (Cin, O/G, kh, kw), kernel reversed
    .reshape([G, Cin / G, Og, kh, kw])
    .permute([0, 2, 1, 3, 4]) // (G, O/G, Cin/G, kh, kw)
    .reshape([G * Og, Cin / G, kh, kw]); // (O, Cin/G, kh, kw)
  const y = conv2dCore(z, wf, b, [1, 1], [0, 0, 0, 0], a.dilation, G); // (N, O, Ho, Wo)
  return batched ? y : y.squeeze(0);
}

// ---- pooling ---------------------------------------------------------------------------------------

export interface PoolArgs {
  kernelSize: Sizes;
  stride: Sizes;
  padding: Sizes;
  dilation: Sizes;
  ceilMode: boolean;
  countIncludePad: boolean;
}

/** Output sizes of a pooling window, with PyTorch's checks (padding at most half the kernel, output not empty). */
function poolGeometry(op: string, x: Tensor, nd: number, a: PoolArgs): Sizes {
  const S = x.shape.slice(x.ndim - nd);
  for (let d = 0; d < nd; d++) {
    if (a.padding[d] * 2 > a.kernelSize[d]) {
      throw new Error(`[${op}] padding should be at most half of kernel size, but got padding ${pyTuple(a.padding)} and kernelSize ${pyTuple(a.kernelSize)}`);
    }
  }
  const out = S.map((n, d) => slidOut(n, a.kernelSize[d], a.stride[d], a.dilation[d], a.padding[d], a.padding[d], a.ceilMode));
  if (out.some((o) => o < 1)) throw new Error(`[${op}] output size ${pyTuple(out)} is too small for input ${fmtShape(x.shape)}`);
  return out;
}

/** Max or average pooling over nd = 1 or 2 spatial dims of x (N, C, *S) or unbatched (C, *S). */
export function poolImpl(op: string, kind: "max" | "avg", nd: number, x: Tensor, a: PoolArgs): Tensor {
  const batched = checkInput(op, x, nd);
  const out = lift2(nd, poolGeometry(op, x, nd, a), 1);
  const xb = lift(nd, batched ? x : x.unsqueeze(0)); // (N, C, H, W)
  const [k, s, p, dil] = [lift2(nd, a.kernelSize, 1), lift2(nd, a.stride, 1), lift2(nd, a.padding, 0), lift2(nd, a.dilation, 1)];
  const [N, C, H, W] = xb.shape;
  // positions past the input (padding, and ceil mode's last window) read as 0 for avg and never win for max
  const win: Window2d = { kh: k[0], kw: k[1], sh: s[0], sw: s[1], dh: dil[0], dw: dil[1], ph: p[0], pw: p[1], ho: out[0], wo: out[1] };
  let y: Tensor;
  if (kind === "max") {
    y = P.maxPool2d(xb, win); // (N, C, Ho, Wo)
  } else {
    const cols = P.im2col(xb, win).reshape([C, k[0] * k[1], N, out[0], out[1]]); // (C, kh*kw, N, Ho, Wo)
    const sums = P.sum(cols, [1], false).permute([1, 0, 2, 3]); // (N, C, Ho, Wo)
    y = P.div(sums, avgDivisor(x.dtype, [H, W], k, s, p, out, a.countIncludePad));
  }
  y = lower(nd, y);
  return batched ? y : y.squeeze(0);
}

/**
 * The divisor of each average-pooling window (Ho, Wo), as PyTorch: the window clipped to the padded input when
 * padding counts, else clipped to the input itself.
 */
function avgDivisor(dtype: DType, S: Sizes, k: Sizes, s: Sizes, p: Sizes, out: Sizes, countIncludePad: boolean): Tensor {
  const counts = [0, 1].map((d) => Array.from({ length: out[d] }, (_, o) => {
    const start = o * s[d] - p[d], end = Math.min(start + k[d], S[d] + p[d]);
    return countIncludePad ? end - start : Math.min(end, S[d]) - Math.max(start, 0);
  }));
  const buf = allocStorage(dtype, out[0] * out[1]);
  for (let i = 0; i < out[0]; i++) for (let j = 0; j < out[1]; j++) buf[i * out[1] + j] = counts[0][i] * counts[1][j];
  return Tensor.fromStorage(buf, [out[0], out[1]]);
}

/**
 * Adaptive average pooling of x (N, C, H, W) or (C, H, W) to `size` (null keeps a dim), as A_h x A_w^T with
 * averaging matrices: output (i, j) averages rows floor(i H / Ho) .. ceil((i + 1) H / Ho) and the same for columns.
 */
export function adaptiveAvgPool2dImpl(op: string, x: Tensor, size: (number | null)[]): Tensor {
  checkInput(op, x, 2);
  const S = x.shape.slice(x.ndim - 2);
  const out = size.map((o, d) => o ?? S[d]);
  if (S.some((n) => n === 0)) throw new Error(`[${op}] input ${fmtShape(x.shape)} has an empty spatial dim`);
  const mats = [0, 1].map((d) => {
    const n = S[d], o = out[d];
    const buf = allocStorage(x.dtype, o * n);
    for (let i = 0; i < o; i++) {
      const start = Math.floor((i * n) / o), end = Math.ceil(((i + 1) * n) / o);
      for (let t = start; t < end; t++) buf[i * n + t] = 1 / (end - start);
    }
    return Tensor.fromStorage(buf, [o, n]); // (Out, In)
  });
  return L.matmul(L.matmul(mats[0], x), mats[1].mT); // (..., Ho, W) -> (..., Ho, Wo)
}

// ---- resampling ------------------------------------------------------------------------------------

export type InterpolateMode = "nearest" | "bilinear";

/**
 * Resize x (N, C, H, W) to `out` (Ho, Wo). `scales` are the user's scale factors (null when a size was given):
 * PyTorch maps output to source coordinates with 1/scale when one was given, else with In/Out.
 */
export function interpolateImpl(x: Tensor, out: Sizes, scales: Sizes | null, mode: InterpolateMode, alignCorners: boolean): Tensor {
  const S = x.shape.slice(2);
  if (mode === "nearest") {
    let y = x;
    for (let d = 0; d < 2; d++) {
      const n = S[d], o = out[d];
      // NOTE: PyTorch maps indices with a float32 scale: for 6 -> 74, output 37 reads input 2 (in double: 3)
      const scale = Math.fround(scales ? 1 / scales[d] : n / o);
      const idx = Int32Array.from({ length: o }, (_, i) => (o === n ? i : o === 2 * n ? i >> 1 : Math.min(Math.floor(Math.fround(i * scale)), n - 1)));
      y = I.indexSelect(y, 2 + d, Tensor.fromStorage(idx, [o])); // (N, C, Ho, W) then (N, C, Ho, Wo)
    }
    return y;
  }
  const mats = [0, 1].map((d) => {
    const n = S[d], o = out[d];
    const buf = allocStorage(x.dtype, o * n);
    const scale = alignCorners ? (o > 1 ? (n - 1) / (o - 1) : 0) : scales ? 1 / scales[d] : n / o;
    for (let i = 0; i < o; i++) {
      if (o === n) { buf[i * n + i] = 1; continue; }
      const src = alignCorners ? scale * i : Math.max(scale * (i + 0.5) - 0.5, 0);
      const i0 = Math.floor(src), i1 = i0 + (i0 < n - 1 ? 1 : 0);
      const l1 = src - i0;
      buf[i * n + i0] += 1 - l1;
      buf[i * n + i1] += l1;
    }
    return Tensor.fromStorage(buf, [o, n]); // (Out, In): each row mixes two neighbours
  });
  return L.matmul(L.matmul(mats[0], x), mats[1].mT); // (N, C, Ho, W) -> (N, C, Ho, Wo)
}

export interface ResizeSpec {
  size: Sizes | null;
  scaleFactor: Sizes | null;
  mode: InterpolateMode;
  alignCorners: boolean;
}

/** Validate interpolation options: exactly one of size and scaleFactor; alignCorners only for bilinear. */
export function checkResize(op: string, o: { size?: unknown; scaleFactor?: unknown; mode?: unknown; alignCorners?: unknown }): ResizeSpec {
  const mode = o.mode ?? "nearest";
  if (mode !== "nearest" && mode !== "bilinear") throw new Error(`[${op}] mode must be 'nearest' or 'bilinear', got ${JSON.stringify(mode)}`);
  const hasSize = o.size !== undefined && o.size !== null, hasScale = o.scaleFactor !== undefined && o.scaleFactor !== null;
  if (hasSize === hasScale) throw new Error(`[${op}] ${hasSize ? "only one" : "either one"} of size or scaleFactor should be defined`);
  if (o.alignCorners !== undefined && o.alignCorners !== null) {
    if (typeof o.alignCorners !== "boolean") throw new Error(`[${op}] alignCorners must be a boolean, got ${describe(o.alignCorners)}`);
    if (mode === "nearest") throw new Error(`[${op}] alignCorners can only be set with mode 'bilinear' (mode is 'nearest')`);
  }
  let scaleFactor: Sizes | null = null;
  if (hasScale) {
    const v = typeof o.scaleFactor === "number" ? [o.scaleFactor, o.scaleFactor] : o.scaleFactor;
    if (!Array.isArray(v) || v.length !== 2 || v.some((f) => typeof f !== "number" || !(f > 0) || !Number.isFinite(f))) {
      throw new Error(`[${op}] scaleFactor must be a positive number or a list of 2 positive numbers, got ${Array.isArray(o.scaleFactor) ? `[${o.scaleFactor.join(", ")}]` : String(o.scaleFactor)}`);
    }
    scaleFactor = v.slice();
  }
  return { size: hasSize ? toSizes(op, "size", o.size, 2, 1) : null, scaleFactor, mode, alignCorners: o.alignCorners === true };
}

/** Resize a 4-D input (N, C, H, W) by a checked spec. */
export function resizeImpl(op: string, x: Tensor, spec: ResizeSpec): Tensor {
  if (!(x instanceof Tensor) || x.ndim !== 4) {
    throw new Error(`[${op}] expected a 4-D input (N, C, H, W), got ${x instanceof Tensor ? `shape ${fmtShape(x.shape)}` : describe(x)}`);
  }
  if (!isFloating(x.dtype)) throw new Error(`[${op}] expected a floating point input, got ${x.dtype} (shape ${fmtShape(x.shape)})`);
  const S = x.shape.slice(2);
  // PyTorch's output size for a scale factor: floor(In * scale)
  const out = spec.size ?? S.map((n, d) => Math.floor(n * spec.scaleFactor![d]));
  if (out.some((o) => o < 1) || S.some((n) => n < 1)) throw new Error(`[${op}] input ${fmtShape(x.shape)} would be resized to an empty output ${pyTuple(out)}`);
  return interpolateImpl(x, out, spec.size ? null : spec.scaleFactor, spec.mode, spec.alignCorners);
}

/** Pooling options resolved to per-dim sizes (stride defaults to the kernel size, as PyTorch's stride=None). */
export function resolvePool(op: string, nd: number, kernelSize: unknown,
  o: { stride?: unknown; padding?: unknown; dilation?: unknown; ceilMode?: unknown; countIncludePad?: unknown }): PoolArgs {
  const k = toSizes(op, "kernelSize", kernelSize, nd, 1);
  for (const name of ["ceilMode", "countIncludePad"] as const) {
    if (o[name] !== undefined && typeof o[name] !== "boolean") throw new Error(`[${op}] ${name} must be a boolean, got ${describe(o[name])}`);
  }
  return {
    kernelSize: k,
    stride: o.stride === undefined || o.stride === null ? k : toSizes(op, "stride", o.stride, nd, 1),
    padding: toSizes(op, "padding", o.padding ?? 0, nd, 0),
    dilation: toSizes(op, "dilation", o.dilation ?? 1, nd, 1),
    ceilMode: (o.ceilMode as boolean | undefined) ?? false,
    countIncludePad: (o.countIncludePad as boolean | undefined) ?? true,
  };
}

/** An adaptive pool's output size: an int, or a pair whose entries may be null (keep that input dim). */
export function toAdaptiveSize(op: string, v: unknown): (number | null)[] {
  const arr = typeof v === "number" ? [v, v] : v;
  if (!Array.isArray(arr) || arr.length !== 2 || arr.some((s) => s !== null && (!Number.isInteger(s) || s < 1))) {
    throw new Error(`[${op}] outputSize must be a positive integer or a list of 2 (positive integers or null), got ${Array.isArray(v) ? `[${v.join(", ")}]` : String(v)}`);
  }
  return arr.slice();
}
