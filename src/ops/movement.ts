// Shape and layout ops: views on strided storage where possible (reshape, permute, slicing), copies otherwise.
import * as P from "./primitives.js";
import { Tensor } from "../tensor.js";
import { contiguousStrides, fmtShape, normDim, numelOf, mapDims } from "../shape.js";
import { isContiguous } from "../backend/js/strided.js";

/**
 * Strides that view (shape, strides) as newShape without copying, or null when impossible
 * (the chunk-matching algorithm of PyTorch's computeStride).
 */
function viewStrides(shape: readonly number[], strides: readonly number[], newShape: readonly number[]): number[] | null {
  if (shape.length === 0 || numelOf(shape) === 0) return contiguousStrides(newShape);
  const out = mapDims(newShape, () => 0);
  let viewD = newShape.length - 1;
  let chunkBase = strides[strides.length - 1];
  let tensorNumel = 1, viewNumel = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    tensorNumel *= shape[d];
    if (d === 0 || (shape[d - 1] !== 1 && strides[d - 1] !== tensorNumel * chunkBase)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] === 1)) {
        out[viewD] = viewNumel * chunkBase;
        viewNumel *= newShape[viewD];
        viewD--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (d > 0) {
        chunkBase = strides[d - 1];
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  return viewD === -1 ? out : null;
}

/** Resolve one -1 entry and check the element count. */
export function inferShape(x: Tensor, shape: number[], op: string): number[] {
  let infer = -1, known = 1;
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === -1) {
      if (infer >= 0) throw new Error(`[${op}] only one dimension can be inferred in ${fmtShape(shape)}`);
      infer = i;
    } else if (shape[i] < 0) {
      throw new Error(`[${op}] invalid shape dimension ${shape[i]} in ${fmtShape(shape)}`);
    } else known *= shape[i];
  }
  const n = x.numel();
  const out = shape.slice();
  if (infer >= 0) {
    if (known === 0 || n % known !== 0) throw new Error(`[${op}] shape ${fmtShape(shape)} is invalid for input of size ${n} (shape ${fmtShape(x.shape)})`);
    out[infer] = n / known;
  } else if (known !== n) {
    throw new Error(`[${op}] shape ${fmtShape(shape)} is invalid for input of size ${n} (shape ${fmtShape(x.shape)})`);
  }
  return out;
}

/** Reshape, as a view when the strides allow it, else a copy. */
export function reshape(x: Tensor, shape: number[]): Tensor {
  const s = inferShape(x, shape, "reshape");
  const st = isContiguous(x.shape, x.strides) ? contiguousStrides(s) : viewStrides(x.shape, x.strides, s);
  if (st) return P.view(x, s, st);
  const c = P.clone(x);
  return P.view(c, s, contiguousStrides(s));
}

/** Reshape that must not copy, as torch.Tensor.view. */
export function view(x: Tensor, shape: number[]): Tensor {
  const s = inferShape(x, shape, "view");
  const st = viewStrides(x.shape, x.strides, s);
  if (!st) {
    throw new Error(`[view] size ${fmtShape(s)} is not compatible with input ${fmtShape(x.shape)} strides [${x.strides.join(", ")}]; use reshape (which copies)`);
  }
  return P.view(x, s, st);
}

export function contiguous(x: Tensor): Tensor {
  return isContiguous(x.shape, x.strides) ? x : P.clone(x);
}

export function permute(x: Tensor, dims: number[]): Tensor {
  if (dims.length !== x.ndim) throw new Error(`[permute] number of dims ${dims.length} does not match input ${fmtShape(x.shape)}`);
  const perm = mapDims(dims, (d) => normDim(d, x.ndim, "permute"));
  if (new Set(perm).size !== perm.length) throw new Error(`[permute] repeated dim in [${dims.join(", ")}]`);
  return P.permute(x, perm);
}

export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  if (x.ndim < 2 && (dim0 === 0 || dim0 === -1) && (dim1 === 0 || dim1 === -1)) return x;
  const a = normDim(dim0, x.ndim, "transpose"), b = normDim(dim1, x.ndim, "transpose");
  const perm = Array.from({ length: x.ndim }, (_, i) => i);
  perm[a] = b;
  perm[b] = a;
  return P.permute(x, perm);
}

/** 2-D transpose; 0-D and 1-D tensors are returned as is, as torch.t. */
export function t(x: Tensor): Tensor {
  if (x.ndim > 2) throw new Error(`[t] expects a tensor with <= 2 dimensions, got ${fmtShape(x.shape)}`);
  return x.ndim < 2 ? x : transpose(x, 0, 1);
}

export function squeeze(x: Tensor, dim?: number | number[]): Tensor {
  let drop: number[];
  if (dim === undefined) drop = x.shape.map((s, i) => (s === 1 ? i : -1)).filter((i) => i >= 0);
  else drop = (typeof dim === "number" ? [dim] : dim).map((d) => normDim(d, x.ndim, "squeeze")).filter((d) => x.shape[d] === 1);
  if (drop.length === 0) return x;
  return P.view(x, x.shape.filter((_, i) => !drop.includes(i)), x.strides.filter((_, i) => !drop.includes(i)));
}

export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normDim(dim, x.ndim + 1, "unsqueeze");
  const shape = x.shape.slice(), strides = x.strides.slice();
  shape.splice(d, 0, 1);
  strides.splice(d, 0, d < x.ndim ? x.strides[d] * x.shape[d] : 1);
  return P.view(x, shape, strides);
}

export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normDim(startDim, x.ndim, "flatten"), e = normDim(endDim, x.ndim, "flatten");
  if (s > e) throw new Error(`[flatten] startDim ${startDim} cannot come after endDim ${endDim}`);
  const shape = [...x.shape.slice(0, s), numelOf(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)];
  return reshape(x, shape);
}

export function unflatten(x: Tensor, dim: number, sizes: number[]): Tensor {
  const d = normDim(dim, x.ndim, "unflatten");
  const known = sizes.filter((s) => s !== -1).reduce((p, s) => p * s, 1);
  const ok = sizes.includes(-1) ? known > 0 && x.shape[d] % known === 0 : known === x.shape[d];
  if (!ok) throw new Error(`[unflatten] sizes ${fmtShape(sizes)} do not multiply to dim ${d} of size ${x.shape[d]} (input ${fmtShape(x.shape)})`);
  return reshape(x, [...x.shape.slice(0, d), ...sizes, ...x.shape.slice(d + 1)]);
}

/** Broadcast to `shape` as a view; -1 keeps a dim's size. */
export function expand(x: Tensor, shape: number[]): Tensor {
  // NOTE: plain loops, no closures: this runs in every mean's backward, and each closure was one more function
  // for V8 to compile while a short training run is still warming up (docs/dev/architecture.md, "Warm-up")
  const off = shape.length - x.ndim;
  if (off < 0) throw new Error(`[expand] the number of sizes provided (${shape.length}) must be at least the number of dims (${x.ndim})`);
  const s: number[] = [];
  let same = off === 0;
  for (let i = 0; i < shape.length; i++) {
    let v = shape[i];
    if (!Number.isInteger(v) || v < -1) throw new Error(`[expand] invalid size ${v} in ${fmtShape(shape)} (input ${fmtShape(x.shape)})`);
    if (v === -1) {
      if (i < off) throw new Error(`[expand] -1 is not allowed in a leading, non-existing dimension: ${fmtShape(shape)}`);
      v = x.shape[i - off];
    }
    if (i >= off && v !== x.shape[i - off]) same = false;
    s.push(v);
  }
  if (same) return x;
  return P.expand(x, s);
}

/** Elements [start, start + length) along dim, as a view. */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const d = normDim(dim, x.ndim, "narrow");
  const size = x.shape[d];
  const s = start < 0 ? start + size : start;
  if (!Number.isInteger(start) || !Number.isInteger(length) || s < 0 || length < 0 || s + length > size) {
    throw new Error(`[narrow] start ${start} + length ${length} exceeds dim ${d} of size ${size} (input ${fmtShape(x.shape)})`);
  }
  return slice(x, d, s, s + length, 1);
}

/** x[start:end:step] along dim as a view, with Python's clamping of out-of-range bounds. */
export function slice(x: Tensor, dim: number, start?: number | null, end?: number | null, step = 1): Tensor {
  const d = normDim(dim, x.ndim, "slice");
  if (!Number.isInteger(step) || step <= 0) throw new Error(`[slice] step must be a positive integer, got ${step}`);
  for (const v of [start, end]) {
    if (v !== undefined && v !== null && !Number.isInteger(v)) throw new Error(`[slice] start and end must be integers, got ${v} (input ${fmtShape(x.shape)})`);
  }
  const size = x.shape[d];
  const clampIdx = (v: number) => Math.min(Math.max(v < 0 ? v + size : v, 0), size);
  const s = start === undefined || start === null ? 0 : clampIdx(start);
  const e = end === undefined || end === null ? size : clampIdx(end);
  const len = e > s ? Math.ceil((e - s) / step) : 0;
  if (s === 0 && len === size && step === 1) return x;
  const starts = mapDims(x.shape, () => 0), steps = mapDims(x.shape, () => 1), shape = x.shape.slice();
  starts[d] = s;
  steps[d] = step;
  shape[d] = len;
  return P.region(x, starts, steps, shape);
}

/** The slice at `index` along dim, with that dim removed (a view). */
export function select(x: Tensor, dim: number, index: number): Tensor {
  const d = normDim(dim, x.ndim, "select");
  const size = x.shape[d];
  if (!Number.isInteger(index) || index < -size || index >= size) {
    throw new Error(`[select] index ${index} is out of range for dim ${d} with size ${size} (input ${fmtShape(x.shape)})`);
  }
  const i = index < 0 ? index + size : index;
  const starts = mapDims(x.shape, () => 0), steps = mapDims(x.shape, () => 1), shape = x.shape.slice();
  starts[d] = i;
  shape[d] = 1;
  return squeeze(P.region(x, starts, steps, shape), d);
}

export function cat(xs: Tensor[], dim = 0): Tensor {
  if (!Array.isArray(xs) || xs.length === 0) throw new Error("[cat] expected a non-empty list of tensors");
  // PyTorch skips legacy empty 1-D tensors of shape [0]
  const parts = xs.filter((x) => !(x.ndim === 1 && x.shape[0] === 0));
  // NOTE: even one part goes through P.cat: the result is a new tensor, never an alias of an input
  if (parts.length === 0) return P.cat(xs, 0);
  return P.cat(parts, normDim(dim, parts[0].ndim, "cat"));
}

export function stack(xs: Tensor[], dim = 0): Tensor {
  if (!Array.isArray(xs) || xs.length === 0) throw new Error("[stack] expected a non-empty list of tensors");
  const d = normDim(dim, xs[0].ndim + 1, "stack");
  for (const x of xs) {
    if (x.ndim !== xs[0].ndim || x.shape.some((s, i) => s !== xs[0].shape[i])) {
      throw new Error(`[stack] stack expects each tensor to be equal size, but got ${fmtShape(xs[0].shape)} and ${fmtShape(x.shape)}`);
    }
  }
  return P.cat(xs.map((x) => unsqueeze(x, d)), d);
}

/** Split into pieces of `splitSize` (last may be smaller) or into the given sizes, as views. */
export function split(x: Tensor, splitSize: number | number[], dim = 0): Tensor[] {
  const d = normDim(dim, x.ndim, "split");
  const size = x.shape[d];
  let sizes: number[];
  if (typeof splitSize === "number") {
    if (!(splitSize > 0)) throw new Error(`[split] splitSize must be positive, got ${splitSize}`);
    sizes = [];
    for (let at = 0; at < size; at += splitSize) sizes.push(Math.min(splitSize, size - at));
    if (sizes.length === 0) sizes.push(0);
  } else {
    sizes = splitSize;
    if (sizes.some((v) => !Number.isInteger(v) || v < 0)) throw new Error(`[split] sizes [${sizes.join(", ")}] must be non-negative integers`);
    const total = sizes.reduce((a, b) => a + b, 0);
    if (total !== size) throw new Error(`[split] sizes [${sizes.join(", ")}] sum to ${total}, not dim ${d} of size ${size}`);
  }
  let at = 0;
  return sizes.map((n) => {
    const piece = narrow(x, d, at, n);
    at += n;
    return piece;
  });
}

export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  if (!Number.isInteger(chunks) || chunks <= 0) throw new Error(`[chunk] chunks must be a positive integer, got ${chunks}`);
  const d = normDim(dim, x.ndim, "chunk");
  return split(x, Math.max(1, Math.ceil(x.shape[d] / chunks)), d);
}

/** Lower (tril) or upper (triu) triangle of the last two dims; the rest is zeroed. */
export function tril(x: Tensor, diagonal = 0): Tensor {
  return triangle(x, diagonal, true);
}
export function triu(x: Tensor, diagonal = 0): Tensor {
  return triangle(x, diagonal, false);
}
function triangle(x: Tensor, diagonal: number, lower: boolean): Tensor {
  const op = lower ? "tril" : "triu";
  if (x.ndim < 2) throw new Error(`[${op}] input must have at least 2 dims, got ${fmtShape(x.shape)}`);
  const R = x.shape[x.ndim - 2], C = x.shape[x.ndim - 1];
  const keep = P.filled([R, C], 0, "bool");
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) keep.buf[r * C + c] = (lower ? c - r <= diagonal : c - r >= diagonal) ? 1 : 0;
  return P.where(keep, x, P.filled([], 0, x.dtype));
}

/**
 * Constant padding as torch.nn.functional.pad: `pads` lists (before, after) pairs starting from the last
 * dim. Negative pads crop.
 */
export function pad(x: Tensor, pads: number[], opts?: { mode?: "constant"; value?: number }): Tensor {
  if ((opts?.mode ?? "constant") !== "constant") throw new Error(`[pad] only mode 'constant' is supported, got '${opts?.mode}'`);
  if (pads.length % 2 !== 0 || pads.length / 2 > x.ndim) {
    throw new Error(`[pad] pad length ${pads.length} must be even and at most 2 * ndim (input ${fmtShape(x.shape)})`);
  }
  let src = x;
  const start = mapDims(x.shape, () => 0);
  const shape = x.shape.slice();
  for (let i = 0; i < pads.length / 2; i++) {
    const d = x.ndim - 1 - i;
    let before = pads[2 * i], after = pads[2 * i + 1];
    if (before < 0 || after < 0) {
      const cropB = Math.max(0, -before), cropA = Math.max(0, -after);
      if (cropB + cropA > src.shape[d]) {
        throw new Error(`[pad] pads [${pads.join(", ")}] crop ${cropB + cropA} elements from dim ${d} of size ${src.shape[d]} (input ${fmtShape(x.shape)})`);
      }
      src = narrow(src, d, cropB, src.shape[d] - cropB - cropA);
      before = Math.max(0, before);
      after = Math.max(0, after);
    }
    start[d] = before;
    shape[d] = src.shape[d] + before + after;
  }
  return P.pad(src, shape, start, mapDims(x.shape, () => 1), opts?.value ?? 0);
}

export function repeat(x: Tensor, reps: number[]): Tensor {
  if (reps.length < x.ndim) throw new Error(`[repeat] number of repeat dims ${reps.length} can not be smaller than the tensor's dims ${x.ndim}`);
  if (reps.some((r) => !Number.isInteger(r) || r < 0)) throw new Error(`[repeat] repeats [${reps.join(", ")}] must be non-negative integers (input ${fmtShape(x.shape)})`);
  const lead = reps.length - x.ndim;
  const src = reshape(x, [...new Array<number>(lead).fill(1), ...x.shape]);
  // (r0, s0, r1, s1, ...) by expanding an interleaved view, then merging pairs
  const inter: number[] = [], expanded: number[] = [];
  src.shape.forEach((s, i) => { inter.push(1, s); expanded.push(reps[i], s); });
  return reshape(expand(reshape(src, inter), expanded), mapDims(src.shape, (s, i) => s * reps[i]));
}

export function flip(x: Tensor, dims: number[]): Tensor {
  let r = x;
  const seen = new Set<number>();
  for (const dim of dims) {
    const d = normDim(dim, x.ndim, "flip");
    if (seen.has(d)) throw new Error(`[flip] dim ${d} appears multiple times in [${dims.join(", ")}]`);
    seen.add(d);
    const n = x.shape[d];
    const idx = Tensor.fromStorage(Int32Array.from({ length: n }, (_, i) => n - 1 - i), [n]);
    r = indexSelectImpl(r, d, idx);
  }
  return r;
}

function indexSelectImpl(x: Tensor, d: number, index: Tensor): Tensor {
  const shape = x.shape.slice();
  shape[d] = index.shape[0];
  const view = mapDims(x.shape, (_, i) => (i === d ? index.shape[0] : 1));
  return P.gather(x, d, expand(reshape(index, view), shape));
}
export { indexSelectImpl };
