// The TypeScript reference backend: the executable specification every other backend is tested against.
import type { Backend, View } from "../backend.js";
import { allocStorage, type DType, type Storage } from "../../dtype.js";
import { broadcastStrides, contiguousStrides, numelOf, mapDims, seqMajorStrides } from "../../shape.js";
import { coalesce, forEachRow, isContiguous, swapLast } from "./strided.js";
import { COPY_RUN, copyRuns } from "./copy_runs.js";
import { erf } from "./special.js";
import { activationKernels } from "./activation_kernels.js";
import { convKernels } from "./conv_kernels.js";

type URow = (o: Storage, oi: number, a: Storage, ai: number, as: number, n: number) => void;
type BRow = (o: Storage, oi: number, a: Storage, ai: number, as: number, b: Storage, bi: number, bs: number, n: number) => void;

function mapUnary(x: View, dtype: DType, k: URow): Storage {
  const n = numelOf(x.shape);
  const out = allocStorage(dtype, n);
  if (isContiguous(x.shape, x.strides)) {
    k(out, 0, x.buf, x.offset, 1, n);
    return out;
  }
  let oi = 0;
  forEachRow(x.shape, [x.strides], [x.offset], (offs, len, inner) => {
    k(out, oi, x.buf, offs[0], inner[0], len);
    oi += len;
  });
  return out;
}

function mapBinary(a: View, b: View, shape: readonly number[], dtype: DType, k: BRow): Storage {
  const n = numelOf(shape);
  const out = allocStorage(dtype, n);
  if (n === 0) return out;
  const an = numelOf(a.shape), bn = numelOf(b.shape);
  const aFlat = an === n && isContiguous(a.shape, a.strides);
  const bFlat = bn === n && isContiguous(b.shape, b.strides);
  // one value (numel 1, or expanded from one with all strides 0, as sum's gradient is)
  const aOne = isOneValue(a), bOne = isOneValue(b);
  if ((aFlat || aOne) && (bFlat || bOne)) {
    k(out, 0, a.buf, a.offset, aOne ? 0 : 1, b.buf, b.offset, bOne ? 0 : 1, n);
    return out;
  }
  // one operand full and contiguous, the other a contiguous trailing block repeated (a bias row)
  if (aFlat && isContiguous(b.shape, b.strides) && isSuffix(b.shape, shape)) {
    for (let oi = 0; oi < n; oi += bn) k(out, oi, a.buf, a.offset + oi, 1, b.buf, b.offset, 1, bn);
    return out;
  }
  if (bFlat && isContiguous(a.shape, a.strides) && isSuffix(a.shape, shape)) {
    for (let oi = 0; oi < n; oi += an) k(out, oi, a.buf, a.offset, 1, b.buf, b.offset + oi, 1, an);
    return out;
  }
  const as = broadcastStrides(a.shape, a.strides, shape);
  const bs = broadcastStrides(b.shape, b.strides, shape);
  let oi = 0;
  forEachRow(shape, [as, bs], [a.offset, b.offset], (offs, len, inner) => {
    k(out, oi, a.buf, offs[0], inner[0], b.buf, offs[1], inner[1], len);
    oi += len;
  });
  return out;
}

type TRow = (o: Storage, oi: number, a: Storage, ai: number, as: number, b: Storage, bi: number, bs: number, c: Storage, ci: number, cs: number, n: number) => void;

function map3(a: View, b: View, c: View, shape: readonly number[], dtype: DType, k: TRow): Storage {
  const n = numelOf(shape);
  const out = allocStorage(dtype, n);
  if (n === 0) return out;
  const step = (v: View) => (isOneValue(v) ? 0 : numelOf(v.shape) === n && isContiguous(v.shape, v.strides) ? 1 : -1);
  const sa = step(a), sb = step(b), sc = step(c);
  if (sa >= 0 && sb >= 0 && sc >= 0) {
    k(out, 0, a.buf, a.offset, sa, b.buf, b.offset, sb, c.buf, c.offset, sc, n);
    return out;
  }
  const as = broadcastStrides(a.shape, a.strides, shape);
  const bs = broadcastStrides(b.shape, b.strides, shape);
  const cs = broadcastStrides(c.shape, c.strides, shape);
  let oi = 0;
  forEachRow(shape, [as, bs, cs], [a.offset, b.offset, c.offset], (offs, len, inner) => {
    k(out, oi, a.buf, offs[0], inner[0], b.buf, offs[1], inner[1], c.buf, offs[2], inner[2], len);
    oi += len;
  });
  return out;
}

/** Whether every element of the view is the same storage element (numel 1, or broadcast from one). */
function isOneValue(v: View): boolean {
  for (let i = 0; i < v.shape.length; i++) if (v.shape[i] !== 1 && v.strides[i] !== 0) return false;
  return true;
}

/** Whether `s`, without leading 1s, equals the trailing dims of `full` (so it repeats as a block). */
function isSuffix(s: readonly number[], full: readonly number[]): boolean {
  let i = 0;
  while (i < s.length && s[i] === 1) i++;
  const off = full.length - (s.length - i);
  if (off < 0 || s.length - i === 0) return false;
  for (let j = i; j < s.length; j++) if (s[j] !== full[off + j - i]) return false;
  return true;
}

const u = (f: (v: number) => number): URow => (o, oi, a, ai, as, n) => {
  for (let i = 0; i < n; i++, ai += as) o[oi + i] = f(a[ai]);
};

function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 ? 2 * Math.round(v / 2) : r;
}

/** Copy the view `src` into `dst` at element offset `dstOff` with strides `dstStrides` (same shape). */
export function copyInto(dst: Storage, dstOff: number, dstStrides: readonly number[], src: View): void {
  if (isContiguous(src.shape, src.strides) && isContiguous(src.shape, dstStrides)) {
    const n = numelOf(src.shape);
    for (let i = 0; i < n; i++) dst[dstOff + i] = src.buf[src.offset + i];
    return;
  }
  forEachRow(src.shape, [dstStrides, src.strides], [dstOff, src.offset], (offs, len, inner) => {
    let di = offs[0], si = offs[1];
    const ds = inner[0], ss = inner[1], sb = src.buf;
    for (let i = 0; i < len; i++, di += ds, si += ss) dst[di] = sb[si];
  });
}

/** A contiguous x of `shape` (at least 3 dims) copied into its seqMajorStrides layout (dims -3 and -2 swapped). */
function toSeqMajor(x: Storage, shape: readonly number[], dtype: DType): Storage {
  const out = allocStorage(dtype, x.length);
  copyInto(out, 0, seqMajorStrides(shape), { buf: x, shape, strides: contiguousStrides(shape), offset: 0 });
  return out;
}

/**
 * out[oi..] (M, N) = a (M, K) @ b (K, N), read through the last two strides of a and b: dot products four
 * columns at a time with double accumulators. NOTE: for the seed's tiny shapes (K = 1..16) loop setup is the
 * cost, and this form beat a row-streaming (i-k-j) loop 2-3x; strided (transposed) operands need no copy.
 */
function gemm(out: Storage, oi: number, a: View, ao: number, b: View, bo: number, M: number, N: number, K: number): void {
  const nd = a.strides.length;
  const as0 = a.strides[nd - 2], as1 = a.strides[nd - 1], bs0 = b.strides[nd - 2], bs1 = b.strides[nd - 1];
  const ab = a.buf, bb = b.buf;
  for (let m = 0; m < M; m++, oi += N) {
    const arow = ao + m * as0;
    let n = 0;
    for (; n + 4 <= N; n += 4) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let k = 0, ai = arow, bi = bo + n * bs1; k < K; k++, ai += as1, bi += bs0) {
        const av = ab[ai];
        s0 += av * bb[bi];
        s1 += av * bb[bi + bs1];
        s2 += av * bb[bi + 2 * bs1];
        s3 += av * bb[bi + 3 * bs1];
      }
      out[oi + n] = s0;
      out[oi + n + 1] = s1;
      out[oi + n + 2] = s2;
      out[oi + n + 3] = s3;
    }
    for (; n < N; n++) {
      let s = 0;
      for (let k = 0, ai = arow, bi = bo + n * bs1; k < K; k++, ai += as1, bi += bs0) s += ab[ai] * bb[bi];
      out[oi + n] = s;
    }
  }
}

type Reducer = (buf: Storage, base: number, rel: Int32Array | null, stride: number, n: number) => number;

/** Reduce x over sorted `dims`; output has the keepdim shape, contiguous. */
function reduce(x: View, dims: readonly number[], dtype: DType, red: Reducer): Storage {
  if (dims.length > 0 && dims[dims.length - 1] - dims[0] === dims.length - 1 && isContiguous(x.shape, x.strides)) {
    // a contiguous input reduced over a block of adjacent dims: (outer, R, inner)
    let outer = 1, R = 1, inner = 1;
    for (let d = 0; d < x.shape.length; d++) {
      if (d < dims[0]) outer *= x.shape[d];
      else if (d <= dims[dims.length - 1]) R *= x.shape[d];
      else inner *= x.shape[d];
    }
    const out = allocStorage(dtype, outer * inner);
    for (let o = 0, oi = 0; o < outer; o++) {
      const base = x.offset + o * R * inner;
      for (let i = 0; i < inner; i++) out[oi++] = red(x.buf, base + i, null, inner, R);
    }
    return out;
  }
  const keep: number[] = [], keepSt: number[] = [], rshape: number[] = [], rst: number[] = [];
  const outShape = x.shape.slice();
  for (let d = 0, j = 0; d < x.shape.length; d++) {
    if (j < dims.length && dims[j] === d) {
      rshape.push(x.shape[d]); rst.push(x.strides[d]); outShape[d] = 1; j++;
    } else {
      keep.push(x.shape[d]); keepSt.push(x.strides[d]);
    }
  }
  const nOut = numelOf(outShape);
  const out = allocStorage(dtype, nOut);
  const rc = coalesce(rshape, [rst]);
  const rn = numelOf(rshape);
  let rel: Int32Array | null = null;
  let rstride = rc.strides[0][0];
  if (rc.shape.length > 1) {
    rel = new Int32Array(rn);
    let i = 0;
    forEachRow(rshape, [rst], [0], (offs, len, inner) => {
      for (let t = 0, p = offs[0]; t < len; t++, p += inner[0]) rel![i++] = p;
    });
    rstride = 0;
  }
  if (nOut === 0) return out;
  let oi = 0;
  forEachRow(keep.length ? keep : [1], [keep.length ? keepSt : [0]], [x.offset], (offs, len, inner) => {
    for (let t = 0, base = offs[0]; t < len; t++, base += inner[0]) out[oi++] = red(x.buf, base, rel, rstride, rn);
  });
  return out;
}

const sumR: Reducer = (b, base, rel, st, n) => {
  let s = 0;
  if (rel) for (let i = 0; i < n; i++) s += b[base + rel[i]];
  else for (let i = 0, p = base; i < n; i++, p += st) s += b[p];
  return s;
};
const prodR: Reducer = (b, base, rel, st, n) => {
  let s = 1;
  if (rel) for (let i = 0; i < n; i++) s *= b[base + rel[i]];
  else for (let i = 0, p = base; i < n; i++, p += st) s *= b[p];
  return s;
};
const maxR: Reducer = (b, base, rel, st, n) => {
  let m = -Infinity;
  for (let i = 0, p = base; i < n; i++, p += st) {
    const v = b[rel ? base + rel[i] : p];
    if (v > m || v !== v) { m = v; if (v !== v) break; }
  }
  return m;
};
const minR: Reducer = (b, base, rel, st, n) => {
  let m = Infinity;
  for (let i = 0, p = base; i < n; i++, p += st) {
    const v = b[rel ? base + rel[i] : p];
    if (v < m || v !== v) { m = v; if (v !== v) break; }
  }
  return m;
};
function argR(greater: boolean): Reducer {
  return (b, base, _rel, st, n) => {
    let m = b[base], mi = 0;
    if (m !== m) return 0;
    for (let i = 1, p = base + st; i < n; i++, p += st) {
      const v = b[p];
      if (v !== v) return i;
      if (greater ? v > m : v < m) { m = v; mi = i; }
    }
    return mi;
  };
}
const argmaxR = argR(true), argminR = argR(false);

/** dst[d0 + t] += src[s0 + t] for t < n. NOTE: a function of its own: inside scatterAdd's row closure the same loop ran ~30% slower */
function addRow(dst: Storage, d0: number, src: Storage, s0: number, n: number): void {
  for (let t = 0; t < n; t++) dst[d0 + t] += src[s0 + t];
}

function checkIndex(v: number, size: number, op: string, dim: number): void {
  if (v < 0 || v >= size) throw new Error(`[${op}] index ${v} is out of bounds for dim ${dim} with size ${size}`);
}

/** Rounding to the storage of `dtype` (float32's, or none), for arithmetic done in double one operation at a time. */
const roundFor = (dtype: DType): ((x: number) => number) => (dtype === "float32" ? Math.fround : (x) => x);

export const jsBackend: Backend = {
  name: "js",
  ...convKernels,
  ...activationKernels,
  neg: (x, d) => mapUnary(x, d, u((v) => -v)),
  abs: (x, d) => mapUnary(x, d, u(Math.abs)),
  sign: (x, d) => mapUnary(x, d, u((v) => (v > 0 ? 1 : v < 0 ? -1 : v === 0 ? 0 : v))),
  exp: (x, d) => mapUnary(x, d, u(Math.exp)),
  log: (x, d) => mapUnary(x, d, u(Math.log)),
  log1p: (x, d) => mapUnary(x, d, u(Math.log1p)),
  sqrt: (x, d) => mapUnary(x, d, u(Math.sqrt)),
  sin: (x, d) => mapUnary(x, d, u(Math.sin)),
  cos: (x, d) => mapUnary(x, d, u(Math.cos)),
  tanh: (x, d) => mapUnary(x, d, u(Math.tanh)),
  sigmoid: (x, d) => mapUnary(x, d, u((v) => 1 / (1 + Math.exp(-v)))),
  relu: (x, d) => mapUnary(x, d, (o, oi, a, ai, as, n) => {
    for (let i = 0; i < n; i++, ai += as) { const v = a[ai]; o[oi + i] = v > 0 || v !== v ? v : 0; }
  }),
  floor: (x, d) => mapUnary(x, d, u(Math.floor)),
  round: (x, d) => mapUnary(x, d, u(roundHalfEven)),
  erf: (x, d) => mapUnary(x, d, u(erf)),
  logicalNot: (x, d) => mapUnary(x, d, u((v) => (v ? 0 : 1))),

  add: (a, b, s, d) => mapBinary(a, b, s, d, (o, oi, x, xi, xs, y, yi, ys, n) => {
    for (let i = 0; i < n; i++, xi += xs, yi += ys) o[oi + i] = x[xi] + y[yi];
  }),
  sub: (a, b, s, d) => mapBinary(a, b, s, d, (o, oi, x, xi, xs, y, yi, ys, n) => {
    for (let i = 0; i < n; i++, xi += xs, yi += ys) o[oi + i] = x[xi] - y[yi];
  }),
  mul: (a, b, s, d) => mapBinary(a, b, s, d, d === "int32"
    ? (o, oi, x, xi, xs, y, yi, ys, n) => { for (let i = 0; i < n; i++, xi += xs, yi += ys) o[oi + i] = Math.imul(x[xi], y[yi]); }
    : (o, oi, x, xi, xs, y, yi, ys, n) => { for (let i = 0; i < n; i++, xi += xs, yi += ys) o[oi + i] = x[xi] * y[yi]; }),
  div: (a, b, s, d) => mapBinary(a, b, s, d, (o, oi, x, xi, xs, y, yi, ys, n) => {
    for (let i = 0; i < n; i++, xi += xs, yi += ys) o[oi + i] = x[xi] / y[yi];
  }),
  pow: (a, b, s, d) => mapBinary(a, b, s, d, (o, oi, x, xi, xs, y, yi, ys, n) => {
    for (let i = 0; i < n; i++, xi += xs, yi += ys) o[oi + i] = Math.pow(x[xi], y[yi]);
  }),
  maximum: (a, b, s, d) => mapBinary(a, b, s, d, (o, oi, x, xi, xs, y, yi, ys, n) => {
    for (let i = 0; i < n; i++, xi += xs, yi += ys) { const p = x[xi], q = y[yi]; o[oi + i] = p !== p || q !== q ? NaN : p > q ? p : q; }
  }),
  minimum: (a, b, s, d) => mapBinary(a, b, s, d, (o, oi, x, xi, xs, y, yi, ys, n) => {
    for (let i = 0; i < n; i++, xi += xs, yi += ys) { const p = x[xi], q = y[yi]; o[oi + i] = p !== p || q !== q ? NaN : p < q ? p : q; }
  }),
  eq: (a, b, s, d) => mapBinary(a, b, s, d, (o, oi, x, xi, xs, y, yi, ys, n) => {
    for (let i = 0; i < n; i++, xi += xs, yi += ys) o[oi + i] = x[xi] === y[yi] ? 1 : 0;
  }),
  ne: (a, b, s, d) => mapBinary(a, b, s, d, (o, oi, x, xi, xs, y, yi, ys, n) => {
    for (let i = 0; i < n; i++, xi += xs, yi += ys) o[oi + i] = x[xi] !== y[yi] ? 1 : 0;
  }),
  lt: (a, b, s, d) => mapBinary(a, b, s, d, (o, oi, x, xi, xs, y, yi, ys, n) => {
    for (let i = 0; i < n; i++, xi += xs, yi += ys) o[oi + i] = x[xi] < y[yi] ? 1 : 0;
  }),
  le: (a, b, s, d) => mapBinary(a, b, s, d, (o, oi, x, xi, xs, y, yi, ys, n) => {
    for (let i = 0; i < n; i++, xi += xs, yi += ys) o[oi + i] = x[xi] <= y[yi] ? 1 : 0;
  }),
  gt: (a, b, s, d) => mapBinary(a, b, s, d, (o, oi, x, xi, xs, y, yi, ys, n) => {
    for (let i = 0; i < n; i++, xi += xs, yi += ys) o[oi + i] = x[xi] > y[yi] ? 1 : 0;
  }),
  ge: (a, b, s, d) => mapBinary(a, b, s, d, (o, oi, x, xi, xs, y, yi, ys, n) => {
    for (let i = 0; i < n; i++, xi += xs, yi += ys) o[oi + i] = x[xi] >= y[yi] ? 1 : 0;
  }),
  bceWithLogits: (a, b, s, d) => mapBinary(a, b, s, d, (o, oi, x, xi, xs, y, yi, ys, n) => {
    for (let i = 0; i < n; i++, xi += xs, yi += ys) {
      const v = x[xi];
      // softplus(-v) = max(-v, 0) + log1p(exp(-|v|))
      o[oi + i] = (1 - y[yi]) * v + (v < 0 ? -v : 0) + Math.log1p(Math.exp(-Math.abs(v)));
    }
  }),
  where: (c, a, b, shape, dtype) => map3(c, a, b, shape, dtype, (o, oi, x, xi, xs, y, yi, ys, z, zi, zs, n) => {
    for (let i = 0; i < n; i++, xi += xs, yi += ys, zi += zs) o[oi + i] = x[xi] ? y[yi] : z[zi];
  }),
  reluBackward: (a, b, s, d) => mapBinary(a, b, s, d, (o, oi, g, gi, gs, y, yi, ys, n) => {
    for (let i = 0; i < n; i++, gi += gs, yi += ys) o[oi + i] = y[yi] > 0 ? g[gi] : 0;
  }),
  bceWithLogitsBackward: (g, x, y, shape, dtype) => map3(g, x, y, shape, dtype, (o, oi, a, ai, as, b, bi, bs, c, ci, cs, n) => {
    for (let i = 0; i < n; i++, ai += as, bi += bs, ci += cs) o[oi + i] = a[ai] * (1 / (1 + Math.exp(-b[bi])) - c[ci]);
  }),

  sum: (x, dims, d) => reduce(x, dims, d, sumR),
  prod: (x, dims, d) => reduce(x, dims, d, prodR),
  max: (x, dims, d) => reduce(x, dims, d, maxR),
  min: (x, dims, d) => reduce(x, dims, d, minR),
  argmax: (x, dim) => reduce(x, [dim], "int32", argmaxR) as Int32Array,
  argmin: (x, dim) => reduce(x, [dim], "int32", argminR) as Int32Array,

  cast(x, dtype) {
    if (dtype === "bool") return mapUnary(x, dtype, u((v) => (v !== 0 ? 1 : 0)));
    if (dtype === "int32") return mapUnary(x, dtype, u((v) => (v !== v ? 0 : Math.trunc(v))));
    return mapUnary(x, dtype, u((v) => v));
  },
  copy(x, dtype) {
    if (isContiguous(x.shape, x.strides)) {
      const n = numelOf(x.shape);
      const out = allocStorage(dtype, n);
      const src = x.buf, off = x.offset;
      if (n >= COPY_RUN && out.constructor === src.constructor) out.set(src.subarray(off, off + n) as never);
      else for (let i = 0; i < n; i++) out[i] = src[off + i];
      return out;
    }
    return copyRuns(x, dtype) ?? mapUnary(x, dtype, u((v) => v));
  },
  pad(x, outShape, start, step, value, dtype) {
    const out = allocStorage(dtype, numelOf(outShape));
    if (value !== 0) out.fill(value);
    const os = contiguousStrides(outShape);
    let off = 0;
    const st = mapDims(os, (s, d) => { off += start[d] * s; return s * step[d]; });
    copyInto(out, off, st, x);
    return out;
  },
  cat(xs, dim, outShape, dtype) {
    const out = allocStorage(dtype, numelOf(outShape));
    const os = contiguousStrides(outShape);
    let at = 0;
    for (const x of xs) {
      copyInto(out, at * os[dim], os, x);
      at += x.shape[dim];
    }
    return out;
  },
  gather(x, dim, index, dtype) {
    const out = allocStorage(dtype, numelOf(index.shape));
    const xs = x.strides.slice();
    const xdim = xs[dim], size = x.shape[dim];
    xs[dim] = 0;
    const xb = x.buf, ib = index.buf;
    let oi = 0;
    forEachRow(index.shape, [xs, index.strides], [x.offset, index.offset], (offs, len, inner) => {
      if (inner[1] === 0) {
        // one index for the whole row (indexSelect, embedding lookups): check it once, then copy a strip of x
        const k = ib[offs[1]];
        checkIndex(k, size, "gather", dim);
        const xs0 = offs[0] + k * xdim, xin = inner[0];
        if (xin === 1) {
          out.set(xb.subarray(xs0, xs0 + len), oi);
          oi += len;
        } else {
          for (let t = 0, xi = xs0; t < len; t++, xi += xin) out[oi++] = xb[xi];
        }
        return;
      }
      for (let t = 0, xi = offs[0], ii = offs[1]; t < len; t++, xi += inner[0], ii += inner[1]) {
        const k = ib[ii];
        checkIndex(k, size, "gather", dim);
        out[oi++] = xb[xi + k * xdim];
      }
    });
    return out;
  },
  scatterAdd(x, dim, index, src, dtype) {
    const out = jsBackend.copy(x, dtype);
    const os = contiguousStrides(x.shape);
    const odim = os[dim], size = x.shape[dim];
    os[dim] = 0;
    const ib = index.buf, sb = src.buf;
    forEachRow(index.shape, [os, index.strides, src.strides], [0, index.offset, src.offset], (offs, len, inner) => {
      if (inner[1] === 0) {
        // one index for the whole row (the gradient of an embedding lookup): check it once, then add a strip of src
        const k = ib[offs[1]];
        checkIndex(k, size, "scatterAdd", dim);
        const o0 = offs[0] + k * odim, s0 = offs[2], oin = inner[0], sin = inner[2];
        if (oin === 1 && sin === 1) {
          addRow(out, o0, sb, s0, len);
        } else {
          for (let t = 0, oi = o0, si = s0; t < len; t++, oi += oin, si += sin) out[oi] += sb[si];
        }
        return;
      }
      for (let t = 0, oi = offs[0], ii = offs[1], si = offs[2]; t < len; t++, oi += inner[0], ii += inner[1], si += inner[2]) {
        const k = ib[ii];
        checkIndex(k, size, "scatterAdd", dim);
        out[oi + k * odim] += sb[si];
      }
    });
    return out;
  },

  matmul(a, b, outShape, dtype) {
    const nd = outShape.length;
    const M = outShape[nd - 2], N = outShape[nd - 1], K = a.shape[nd - 1];
    const out = allocStorage(dtype, numelOf(outShape));
    if (out.length === 0) return out;
    if (nd === 2) {
      gemm(out, 0, a, a.offset, b, b.offset, M, N, K);
      return out;
    }
    let oi = 0;
    forEachRow(outShape.slice(0, nd - 2), [a.strides.slice(0, nd - 2), b.strides.slice(0, nd - 2)], [a.offset, b.offset], (offs, len, inner) => {
      for (let t = 0, ao = offs[0], bo = offs[1]; t < len; t++, ao += inner[0], bo += inner[1], oi += M * N) gemm(out, oi, a, ao, b, bo, M, N, K);
    });
    return out;
  },

  linear(x, wt, b, outShape, dtype) {
    const out = jsBackend.matmul(x, wt, outShape, dtype);
    if (b) {
      const bb = b.buf, bo = b.offset, bs = b.strides[0], rows = outShape[0], n = outShape[1];
      for (let r = 0, at = 0; r < rows; r++) for (let j = 0; j < n; j++, at++) out[at] += bb[bo + j * bs];
    }
    return out;
  },

  // the composite it fuses, kernel by kernel: matmul, scale, bias, softmax, matmul
  linearBackward(g, x, w, need, dtype) {
    const R = g.shape[0], O = g.shape[1], I = w.shape[1];
    return {
      dx: need[0] ? jsBackend.matmul(g, w, [R, I], dtype) : null,
      dw: need[1] ? jsBackend.matmul(swapLast(g), x, [O, I], dtype) : null,
      db: need[2] ? jsBackend.sum(g, [0], dtype) : null,
    };
  },
  attention(q, k, v, bias, scale, dtype, withProbs, seqMajor) {
    const nd = q.shape.length, batch = q.shape.slice(0, nd - 2), L = q.shape[nd - 2], S = k.shape[nd - 2];
    const sShape = [...batch, L, S];
    const scores = jsBackend.matmul(q, swapLast(k), sShape, dtype); // (...batch, L, S)
    const round = roundFor(dtype);
    for (let at = 0; at < scores.length; at += L * S) {
      for (let i = 0, o = at; i < L; i++) {
        for (let j = 0; j < S; j++, o++) {
          let x = scores[o];
          if (scale !== 1) x = round(x * scale);
          if (bias) x = round(x + bias.buf[bias.offset + i * bias.strides[0] + j * bias.strides[1]]);
          scores[o] = x;
        }
      }
    }
    const probs = jsBackend.softmax({ buf: scores, shape: sShape, strides: contiguousStrides(sShape), offset: 0 }, nd - 1, false, dtype);
    const out = jsBackend.matmul({ buf: probs, shape: sShape, strides: contiguousStrides(sShape), offset: 0 }, v, [...batch, L, v.shape[nd - 1]], dtype);
    return { out: seqMajor ? toSeqMajor(out, [...batch, L, v.shape[nd - 1]], dtype) : out, probs: withProbs ? probs : null };
  },

  // the composite it fuses, kernel by kernel: layerNorm, mul, add (w, b broadcast along the rows)
  layerNormAffine(x, w, b, D, eps, dtype) {
    const n = numelOf(x.shape), shape = [n / D, D], y = jsBackend.layerNorm(x, D, eps, dtype);
    const row = (v: View): View => ({ buf: v.buf, shape, strides: [0, v.strides[0]], offset: v.offset });
    const yv: View = { buf: y, shape, strides: [D, 1], offset: 0 };
    const yw = jsBackend.mul(yv, row(w), shape, dtype);
    return b ? jsBackend.add({ buf: yw, shape, strides: [D, 1], offset: 0 }, row(b), shape, dtype) : yw;
  },

  layerNormAffineBackward(g, x, w, D, eps, dtype) {
    const n = numelOf(x.shape), shape = [n / D, D];
    const rows = (v: View): View => (isContiguous(v.shape, v.strides) ? { buf: v.buf, shape, strides: [D, 1], offset: v.offset } : { buf: jsBackend.copy(v, dtype), shape, strides: [D, 1], offset: 0 });
    const gv = rows(g), dense = (buf: Storage): View => ({ buf, shape, strides: [D, 1], offset: 0 });
    const dy = jsBackend.mul(gv, { buf: w.buf, shape, strides: [0, w.strides[0]], offset: w.offset }, shape, dtype);
    const dx = jsBackend.layerNormBackward(dense(dy), rows(x), D, eps, dtype);
    const xh = jsBackend.layerNorm(rows(x), D, eps, dtype);
    const dw = jsBackend.sum(dense(jsBackend.mul(gv, dense(xh), shape, dtype)), [0], dtype);
    return { dx, dw, db: jsBackend.sum(gv, [0], dtype) };
  },

  attentionBackward(g, q, k, v, probs, _bias, scale, dtype, seqMajor) {
    const nd = q.shape.length, batch = q.shape.slice(0, nd - 2), L = q.shape[nd - 2], E = q.shape[nd - 1], S = k.shape[nd - 2];
    const dense = (buf: Storage, shape: number[]): View => ({ buf, shape, strides: contiguousStrides(shape), offset: 0 });
    const dv = jsBackend.matmul(swapLast(probs), g, v.shape, dtype);
    const sShape = [...batch, L, S];
    const ds = jsBackend.softmaxBackward(dense(jsBackend.matmul(g, swapLast(v), sShape, dtype), sShape), probs, nd - 1, false, dtype);
    if (scale !== 1) {
      const round = roundFor(dtype);
      for (let i = 0; i < ds.length; i++) ds[i] = round(ds[i] * scale);
    }
    const dq = jsBackend.matmul(dense(ds, sShape), k, [...batch, L, E], dtype);
    const dk = jsBackend.matmul(swapLast(dense(ds, sShape)), q, [...batch, S, E], dtype);
    const lay = (x: Storage, shape: number[], i: number) => (seqMajor[i] ? toSeqMajor(x, shape, dtype) : x);
    return { dq: lay(dq, [...batch, L, E], 0), dk: lay(dk, [...batch, S, E], 1), dv: lay(dv, v.shape.slice(), 2) };
  },
};
