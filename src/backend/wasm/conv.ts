// float32 im2col, col2im, max pooling and the conv output reorder on WebAssembly (dev/kernels/conv): the view's span copied in, the output copied out.
import type { Backend, View, Window2d } from "../backend.js";
import { convKernels as ref } from "../js/conv_kernels.js";
import { align64, loadBest, span } from "./load.js";
import { allocStorage, allocStorageForOverwrite, type DType, type Storage } from "../../dtype.js";
import { numelOf } from "../../shape.js";
import { isContiguous } from "../js/strided.js";
import { SIMD } from "./conv_wasm.generated.js";

type Geometry = [kh: number, kw: number, sh: number, sw: number, dh: number, dw: number, ph: number, pw: number, ho: number, wo: number];
type Strided4 = [x: number, s0: number, s1: number, s2: number, s3: number, N: number, C: number, H: number, W: number];

interface ConvExports {
  memory: WebAssembly.Memory;
  arena(bytes: number): number;
  im2col(...a: [...Strided4, ...Geometry, out: number]): void;
  col2im(cols: number, cK: number, cL: number, N: number, C: number, H: number, W: number, ...a: [...Geometry, out: number]): void;
  maxPool2d(...a: [...Strided4, ...Geometry, values: number, idx: number]): void;
  maxPool2dBackward(g: number, gN: number, gC: number, gH: number, gW: number, idx: number, N: number, C: number, H: number, W: number, ho: number, wo: number, out: number): void;
  convOutput(y: number, bias: number, O: number, N: number, L: number, out: number): void;
}

const wasm = loadBest<ConvExports, "simd">([["simd", SIMD]]);

/**
 * Output element counts below which these kernels stay in JS (tests set it to 0 to reach WebAssembly on tiny
 * shapes). NOTE: a call plus copies costs about a microsecond, a few hundred elements of the JS loops.
 */
export const wasmConvConfig = { minElements: 2048 };

const geometry = (w: Window2d): Geometry => [w.kh, w.kw, w.sh, w.sw, w.dh, w.dw, w.ph, w.pw, w.ho, w.wo];

/**
 * Whether a float32 kernel with `n` output elements reading `v` runs in WebAssembly.
 * NOTE: a view whose span is much larger than itself (a stepped slice of a big storage) stays in JS: the span is
 * what gets copied in.
 */
function use(dtype: DType, n: number, v: View): boolean {
  if (dtype !== "float32" || n < wasmConvConfig.minElements || !(v.buf instanceof Float32Array)) return false;
  const count = numelOf(v.shape), [lo, hi] = span(v);
  return count > 0 && hi - lo + 1 <= 4 * count;
}

/**
 * Copy the span x touches into the arena at `at`; returns the byte address of x's element (0, ..., 0) there.
 * NOTE: the span of a narrow slice of a big storage includes everything between its first and last element.
 */
function copyIn(ex: ConvExports, x: View, lo: number, hi: number, at: number): number {
  new Float32Array(ex.memory.buffer).set((x.buf as Float32Array).subarray(lo, hi + 1), at >> 2);
  return at + (x.offset - lo) * 4;
}

function takeOut(ex: ConvExports, at: number, n: number): Storage {
  const out = allocStorageForOverwrite("float32", n);
  out.set(new Float32Array(ex.memory.buffer, at, n));
  return out;
}

/** The WebAssembly conv kernels of the "wasm" backend, or null when this runtime lacks WebAssembly SIMD. */
export const convKernels: Pick<Backend, "im2col" | "col2im" | "maxPool2d" | "maxPool2dBackward" | "convOutput"> | null = wasm ? {
  im2col(x, win, dtype) {
    const [N, C] = x.shape;
    const n = C * win.kh * win.kw * N * win.ho * win.wo;
    if (!use(dtype, n, x)) return ref.im2col(x, win, dtype);
    const ex = wasm.ex;
    const [lo, hi] = span(x);
    const inBytes = align64((hi - lo + 1) * 4);
    const base = ex.arena(inBytes + n * 4);
    const xp = copyIn(ex, x, lo, hi, base);
    ex.im2col(xp, x.strides[0], x.strides[1], x.strides[2], x.strides[3], N, C, x.shape[2], x.shape[3], ...geometry(win), base + inBytes);
    return takeOut(ex, base + inBytes, n);
  },
  col2im(cols, shape, win, dtype) {
    const n = numelOf(shape);
    if (!use(dtype, n, cols)) return ref.col2im(cols, shape, win, dtype);
    const ex = wasm.ex;
    const [lo, hi] = span(cols);
    const inBytes = align64((hi - lo + 1) * 4);
    const base = ex.arena(inBytes + n * 4);
    const cp = copyIn(ex, cols, lo, hi, base);
    ex.col2im(cp, cols.strides[0], cols.strides[1], shape[0], shape[1], shape[2], shape[3], ...geometry(win), base + inBytes);
    return takeOut(ex, base + inBytes, n);
  },
  maxPool2d(x, win, dtype) {
    const [N, C] = x.shape;
    const n = N * C * win.ho * win.wo;
    if (!use(dtype, n, x)) return ref.maxPool2d(x, win, dtype);
    const ex = wasm.ex;
    const [lo, hi] = span(x);
    const inBytes = align64((hi - lo + 1) * 4), outBytes = align64(n * 4);
    const base = ex.arena(inBytes + 2 * outBytes);
    const xp = copyIn(ex, x, lo, hi, base);
    const vAt = base + inBytes, iAt = vAt + outBytes;
    ex.maxPool2d(xp, x.strides[0], x.strides[1], x.strides[2], x.strides[3], N, C, x.shape[2], x.shape[3], ...geometry(win), vAt, iAt);
    const indices = new Int32Array(n);
    indices.set(new Int32Array(ex.memory.buffer, iAt, n));
    return { values: takeOut(ex, vAt, n), indices };
  },
  maxPool2dBackward(g, indices, shape, dtype) {
    const n = numelOf(shape), m = numelOf(g.shape);
    if (!use(dtype, n, g) || !(indices.buf instanceof Int32Array)) return ref.maxPool2dBackward(g, indices, shape, dtype);
    const ex = wasm.ex;
    const [lo, hi] = span(g);
    const gBytes = align64((hi - lo + 1) * 4), iBytes = align64(m * 4);
    const base = ex.arena(gBytes + iBytes + n * 4);
    const gp = copyIn(ex, g, lo, hi, base);
    new Int32Array(ex.memory.buffer).set(indices.buf.subarray(indices.offset, indices.offset + m), (base + gBytes) >> 2);
    ex.maxPool2dBackward(gp, g.strides[0], g.strides[1], g.strides[2], g.strides[3], base + gBytes, shape[0], shape[1], shape[2], shape[3], g.shape[2], g.shape[3], base + gBytes + iBytes);
    return takeOut(ex, base + gBytes + iBytes, n);
  },
  convOutput(y, b, N, dtype) {
    const n = numelOf(y.shape);
    // without a bias the JS reference copies runs with TypedArray.set, one pass
    if (!b || !use(dtype, n, y) || !isContiguous(y.shape, y.strides) || !(b.buf instanceof Float32Array)) return ref.convOutput(y, b, N, dtype);
    const ex = wasm.ex;
    const O = y.shape[0], yBytes = align64(n * 4), bBytes = align64(O * 4);
    const base = ex.arena(yBytes + bBytes + n * 4);
    const h = new Float32Array(ex.memory.buffer);
    h.set((y.buf as Float32Array).subarray(y.offset, y.offset + n), base >> 2);
    for (let o = 0, bi = b.offset, at = (base + yBytes) >> 2; o < O; o++, bi += b.strides[0]) h[at + o] = b.buf[bi];
    ex.convOutput(base, base + yBytes, O, N, n / O / N, base + yBytes + bBytes);
    return takeOut(ex, base + yBytes + bBytes, n);
  },
} : null;
