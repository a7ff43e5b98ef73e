// float32 elementwise ops, reductions, strided copy and fused GELU/softmax/layerNorm rows on WebAssembly SIMD (dev/kernels/elementwise).
import type { Backend, BinaryKernel, ReduceKernel, UnaryKernel, View } from "../backend.js";
import { jsBackend } from "../js/js_backend.js";
import { COPY_RUN } from "../js/copy_runs.js";
import { coalesce, isContiguous } from "../js/strided.js";
import { align64, span } from "./load.js";
import { EW, arenaFor, ewJobBytes, ewRowsJob, kernelModule, localKernelModule } from "./gemm.js";
import { getNumThreads } from "./gemm_pool.js";
import { allocStorage, allocStorageForOverwrite, type Storage } from "../../dtype.js";
import { numelOf } from "../../shape.js";

type UnaryExport = (x: number, o: number, n: number) => void;
type BinaryExport = (a: number, am: number, b: number, bm: number, o: number, rows: number, cols: number) => void;
type UnaryName = "neg" | "abs" | "sqrt" | "relu" | "exp" | "log" | "log1p" | "tanh" | "sigmoid" | "erf";
type BinaryName = "add" | "sub" | "mul" | "div" | "maximum" | "minimum" | "relu_backward";

type ElementwiseExports = { memory: WebAssembly.Memory; arena(bytes: number, threads: number): number } &
  { [K in `u_${UnaryName}`]: UnaryExport } & { [K in `b_${BinaryName}`]: BinaryExport } & {
    sum_last(x: number, o: number, rows: number, cols: number): void;
    max_last(x: number, o: number, rows: number, cols: number): void;
    sum_lead(x: number, o: number, acc: number, rows: number, cols: number): void;
    gather4(x: number, o: number, n0: number, n1: number, n2: number, n3: number, s0: number, s1: number, s2: number, s3: number): void;
    gelu(x: number, o: number, n: number, tanh: number): void;
    gelu_backward(g: number, x: number, o: number, n: number, tanh: number): void;
    softmax_last(x: number, o: number, rows: number, cols: number, log: number): void;
    softmax_backward_last(g: number, y: number, o: number, rows: number, cols: number, log: number): void;
    layer_norm(x: number, o: number, rows: number, cols: number, eps: number): void;
    layer_norm_backward(g: number, x: number, o: number, rows: number, cols: number, eps: number): void;
    layer_norm_affine(x: number, o: number, rows: number, cols: number, eps: number, w: number, b: number): void;
    layer_norm_affine_backward(g: number, x: number, o: number, rows: number, cols: number, eps: number, w: number, dw: number, db: number, xh: number, acc: number): void;
  };

// NOTE: the kernels are built into the GEMM module, so the pool can run the big row kernels on every thread in
// its shared memory (`pooled`). Calls that stay on this thread run there too below LOCAL_MIN elements, and from
// it in the module's plain-memory instance (`lx(n)`), made by the first such call: copies into a plain memory
// run at twice the speed (see localKernelModule), but making that instance (a second compile of the module)
// cost the seed program 6–8% of its training time when its set-up (10,000–20,000-element ops) triggered it: with
// only these kernels laid over JS it ran 0.3105 s against 0.2925 with none (medians of 8 interleaved runs); with
// this threshold, 0.3445 against 0.359 s (10 runs, a slower window).
const pooled = kernelModule<ElementwiseExports>();
let localEx: ElementwiseExports | null = null;
const LOCAL_MIN = 1 << 16;
const lx = (n: number) => (n < LOCAL_MIN && pooled ? pooled.ex : (localEx ??= localKernelModule<ElementwiseExports>()!.ex));

/**
 * Element counts below which float32 kernels stay in JS (tests set them to 0 to reach the WebAssembly path on
 * tiny shapes). NOTE: measured in dev/kernels/elementwise/README.md: a call plus copy-in/out costs ~0.4 µs, so
 * cheap ops (add, neg, relu, copy: JS 4–10 ns/element) cross over between 64 and 256 elements, reductions
 * between 256 and 1024, transcendentals and the row kernels (JS 25–80 ns/element) below 64. The seed program's
 * 16×10 = 160-element tensors must stay in JS (its step is dominated by per-op overhead), hence 256 at least.
 * `minThreaded`: GELU, softmax and layer norm on at least this many elements run on the pool's threads (waking a
 * worker costs 18–99 µs; 65536 elements of GELU take ~300 µs on one).
 */
export const wasmElementwiseConfig = { minCheap: 256, minTranscendental: 256, minReduce: 512, minCopy: 256, minThreaded: 1 << 16 };

/** The full plain memory as float32, re-taken after arena() grows it (growing detaches the old buffer). */
let heap = new Float32Array(0);
function heapOf(ex: ElementwiseExports): Float32Array {
  if (heap.buffer !== ex.memory.buffer) heap = new Float32Array(ex.memory.buffer);
  return heap;
}
const arena = (ex: ElementwiseExports, bytes: number) => ex.arena(bytes, 1);

const f32 = (v: View): v is View & { buf: Float32Array } => v.buf instanceof Float32Array;

/** Copy the output of n floats at `at` out of WebAssembly memory into fresh storage. */
function takeOut(h: Float32Array, at: number, n: number): Storage {
  const out = allocStorageForOverwrite("float32", n);
  out.set(h.subarray(at >> 2, (at >> 2) + n));
  return out;
}

function unary(name: UnaryName, transcendental: boolean): UnaryKernel {
  const key = `u_${name}` as const, ref = jsBackend[name];
  return (x, d) => {
    const n = numelOf(x.shape);
    if (n < (transcendental ? wasmElementwiseConfig.minTranscendental : wasmElementwiseConfig.minCheap) || n === 0 || d !== "float32" || !f32(x) ||
      !isContiguous(x.shape, x.strides)) return ref(x, d);
    const ex = lx(n), at = arena(ex, n * 4);
    const h = heapOf(ex);
    h.set(x.buf.subarray(x.offset, x.offset + n), at >> 2);
    ex[key](at, at, n);
    return takeOut(h, at, n);
  };
}

// operand modes of the binary kernels: bit 0 = a vector along the row, bit 1 = moves on with each row
const FULL = 3, ROW = 1, COL = 2, ONE = 0;

function isOneValue(v: View): boolean {
  for (let i = 0; i < v.shape.length; i++) if (v.shape[i] !== 1 && v.strides[i] !== 0) return false;
  return true;
}

/** How the kernel reads operand v of an n-element output with last dim C, and how many elements it copies in. */
function modeOf(v: View, shape: readonly number[], n: number): [mode: number, count: number] {
  const vn = numelOf(v.shape);
  if (vn === n && isContiguous(v.shape, v.strides)) return [FULL, n];
  if (isOneValue(v)) return [ONE, 1];
  const nd = v.shape.length, C = shape[shape.length - 1];
  if (isContiguous(v.shape, v.strides)) {
    // a contiguous block equal to the output's trailing dims (leading 1s aside), repeated: a bias row
    let i = 0;
    while (i < nd && v.shape[i] === 1) i++;
    const off = shape.length - (nd - i);
    let suffix = off >= 0 && nd - i > 0;
    for (let j = i; suffix && j < nd; j++) if (v.shape[j] !== shape[off + j - i]) suffix = false;
    if (suffix) return [ROW, vn];
  }
  // one value per output row (last dim 1 or stride 0, the rest contiguous): broadcast along the last dim
  if (nd > 0 && C > 1 && (v.shape[nd - 1] === 1 || v.strides[nd - 1] === 0)) {
    const rest = v.shape.slice(0, nd - 1);
    if (numelOf(rest) * C === n && isContiguous(rest, v.strides.slice(0, nd - 1))) return [COL, n / C];
  }
  return [-1, 0];
}

function binary(name: BinaryName, ref: BinaryKernel): BinaryKernel {
  const key = `b_${name}` as const;
  return (a, b, shape, d) => {
    const n = numelOf(shape);
    if (n < wasmElementwiseConfig.minCheap || n === 0 || d !== "float32" || !f32(a) || !f32(b)) return ref(a, b, shape, d);
    const [am, an] = modeOf(a, shape, n), [bm, bn] = modeOf(b, shape, n);
    // one operand must be the full output (it holds the output in place); the other any mode
    if (am !== FULL && bm !== FULL) return ref(a, b, shape, d);
    const other = am === FULL ? bm : am, otherN = am === FULL ? bn : an;
    if (other < 0) return ref(a, b, shape, d);
    const cols = other === ROW ? otherN : other === COL ? n / otherN : n;
    const ex = lx(n), aAt = arena(ex, align64(an * 4) + align64(bn * 4)), bAt = aAt + align64(an * 4);
    const h = heapOf(ex);
    h.set(a.buf.subarray(a.offset, a.offset + an), aAt >> 2);
    h.set(b.buf.subarray(b.offset, b.offset + bn), bAt >> 2);
    const o = am === FULL ? aAt : bAt;
    ex[key](aAt, am, bAt, bm, o, n / cols, cols);
    return takeOut(h, o, n);
  };
}

/** dims as one adjacent block [lo, hi], or null. */
function block(dims: readonly number[]): [number, number] | null {
  for (let i = 1; i < dims.length; i++) if (dims[i] !== dims[0] + i) return null;
  return dims.length ? [dims[0], dims[dims.length - 1]] : null;
}

function reduction(name: "sum" | "max"): ReduceKernel {
  const ref = jsBackend[name];
  return (x, dims, d) => {
    const n = numelOf(x.shape);
    if (n < wasmElementwiseConfig.minReduce || n === 0 || d !== "float32" || !f32(x)) return ref(x, dims, d);
    const nd = x.shape.length, b = block(dims);
    if (!b || !isContiguous(x.shape, x.strides)) return ref(x, dims, d);
    let R = 1;
    for (let i = b[0]; i <= b[1]; i++) R *= x.shape[i];
    const lastBlock = b[1] === nd - 1;
    // the bias-gradient pattern (R, C) → (1, C): sum over leading dims
    const lead = !lastBlock && b[0] === 0 && name === "sum";
    if (!lastBlock && !lead) return ref(x, dims, d);
    const outN = n / R;
    const ex = lx(n), xAt = arena(ex, align64(n * 4) + align64(outN * 4) + (lead ? outN * 8 : 0)), oAt = xAt + align64(n * 4);
    const h = heapOf(ex);
    h.set(x.buf.subarray(x.offset, x.offset + n), xAt >> 2);
    if (lead) ex.sum_lead(xAt, oAt, oAt + align64(outN * 4), R, outN);
    else ex[`${name}_last`](xAt, oAt, outN, R);
    return takeOut(h, oAt, outN);
  };
}

/**
 * A strided float32 view made contiguous: its touched span copied in (one memcpy), gathered over up to four
 * coalesced dims, the result copied out. A contiguous view is a single TypedArray copy.
 */
function copy(): Backend["copy"] {
  return (x, d) => {
    const n = numelOf(x.shape);
    if (d !== "float32" || !f32(x) || n === 0 || n < wasmElementwiseConfig.minCopy) return jsBackend.copy(x, d);
    if (isContiguous(x.shape, x.strides)) {
      const out = allocStorageForOverwrite("float32", n);
      out.set(x.buf.subarray(x.offset, x.offset + n));
      return out;
    }
    const c = coalesce(x.shape, [x.strides]);
    // long contiguous runs (a convolution's output reorder): TypedArray.set per run beats three passes here
    const last = c.shape.length - 1;
    if (c.strides[0][last] === 1 && c.shape[last] >= COPY_RUN) return jsBackend.copy(x, d);
    const [lo, hi] = span(x);
    // a narrow slice of a big storage would copy its whole span
    if (c.shape.length > 4 || hi - lo + 1 > 4 * n) return jsBackend.copy(x, d);
    const sh = c.shape.slice(), st = c.strides[0].slice();
    while (sh.length < 4) { sh.unshift(1); st.unshift(0); }
    const ex = lx(n), xAt = arena(ex, align64((hi - lo + 1) * 4) + n * 4), oAt = xAt + align64((hi - lo + 1) * 4);
    const h = heapOf(ex);
    h.set(x.buf.subarray(lo, hi + 1), xAt >> 2);
    ex.gather4(xAt + (x.offset - lo) * 4, oAt, sh[0], sh[1], sh[2], sh[3], st[0], st[1], st[2], st[3]);
    return takeOut(h, oAt, n);
  };
}

/** Whether x is a contiguous float32 view worth the copies for a transcendental kernel. */
const wasmWorthy = (x: View, n: number, d: string): x is View & { buf: Float32Array } =>
  d === "float32" && f32(x) && n > 0 && n >= wasmElementwiseConfig.minTranscendental && isContiguous(x.shape, x.strides);

/**
 * Run a row kernel over rows×cols floats of one or two same-shape operands copied in, the output overwriting the
 * first, plus `vectors` (cols floats each, copied after the operands; their addresses follow the operands', 0 for
 * null): on this thread (`direct`), or from `minThreaded` elements on the pool as op `op`, one block of rows per
 * unit, each block copied out as it finishes (the job's b is the second address, its bias the third). Null when an
 * operand does not qualify (float32, contiguous, above the threshold), so the caller falls back to JS.
 * NOTE: a flat kernel (cols = 1: GELU) is cut at multiples of 8 elements, a vector pair of its loop, so every unit
 * groups lanes as one call would (its central-fit test is per vector): bit-identical for any thread count.
 */
function rowsOf(d: string, xs: readonly View[], cols: number, op: number, flag: number, eps: number,
  direct: (ex: ElementwiseExports, ats: number[], rows: number) => void, vectors: readonly (View | null)[] = []): Storage | null {
  const n = numelOf(xs[0].shape), rows = n / cols;
  for (const x of xs) if (!wasmWorthy(x, n, d)) return null;
  const threads = n >= wasmElementwiseConfig.minThreaded && pooled ? getNumThreads() : 1;
  const bytes = align64(n * 4), vBytes = align64(cols * 4), step = cols === 1 ? 8 : 1;
  const width = Math.ceil(rows / (4 * threads) / step) * step, units = Math.ceil(rows / width);
  const need = bytes * xs.length + vBytes * vectors.length;
  const ex = threads === 1 ? lx(n) : pooled!.ex, base = threads === 1 ? arena(ex, need) : arenaFor(need + ewJobBytes(units), threads);
  const h = threads === 1 ? heapOf(ex) : new Float32Array(ex.memory.buffer);
  const ats = xs.map((x, i) => {
    h.set((x.buf as Float32Array).subarray(x.offset, x.offset + n), (base + i * bytes) >> 2);
    return base + i * bytes;
  });
  vectors.forEach((v, i) => {
    const at = base + bytes * xs.length + i * vBytes;
    if (v) putVector(h, v, at >> 2);
    ats.push(v ? at : 0);
  });
  if (threads === 1) {
    direct(ex, ats, rows);
    return takeOut(h, base, n);
  }
  const out = allocStorageForOverwrite("float32", n) as Float32Array;
  ewRowsJob(op, base, ats[1] ?? 0, base, rows, cols, flag, eps, width, threads, base + need, out, ats[2] ?? 0);
  return out;
}

function gelu(): Pick<Backend, "gelu" | "geluBackward"> {
  return {
    gelu(x, tanh, d) {
      const t = tanh ? 1 : 0;
      return rowsOf(d, [x], 1, EW.GELU, t, 0, (ex, [at], n) => ex.gelu(at, at, n, t)) || jsBackend.gelu(x, tanh, d);
    },
    geluBackward(g, x, tanh, d) {
      const t = tanh ? 1 : 0;
      return rowsOf(d, [g, x], 1, EW.GELU_BACKWARD, t, 0, (ex, [gAt, xAt], n) => ex.gelu_backward(gAt, xAt, gAt, n, t)) ||
        jsBackend.geluBackward(g, x, tanh, d);
    },
  };
}

/** softmax and layerNorm over contiguous last-dim rows; other dims stay in JS. */
function rowKernels(): Pick<Backend, "softmax" | "softmaxBackward" | "layerNorm" | "layerNormBackward"> {
  const last = (x: View, dim: number) => dim === x.shape.length - 1 && x.shape[dim] > 0;
  return {
    softmax(x, dim, log, d) {
      const cols = x.shape[dim], l = log ? 1 : 0;
      return (last(x, dim) && rowsOf(d, [x], cols, EW.SOFTMAX, l, 0, (ex, [at], rows) => ex.softmax_last(at, at, rows, cols, l))) ||
        jsBackend.softmax(x, dim, log, d);
    },
    softmaxBackward(g, y, dim, log, d) {
      const cols = y.shape[dim], l = log ? 1 : 0;
      return (last(y, dim) && rowsOf(d, [g, y], cols, EW.SOFTMAX_BACKWARD, l, 0, (ex, [gAt, yAt], rows) => ex.softmax_backward_last(gAt, yAt, gAt, rows, cols, l))) ||
        jsBackend.softmaxBackward(g, y, dim, log, d);
    },
    layerNorm(x, D, eps, d) {
      return (D > 0 && rowsOf(d, [x], D, EW.LAYER_NORM, 0, eps, (ex, [at], rows) => ex.layer_norm(at, at, rows, D, eps))) || jsBackend.layerNorm(x, D, eps, d);
    },
    layerNormBackward(g, x, D, eps, d) {
      return (D > 0 && rowsOf(d, [g, x], D, EW.LAYER_NORM_BACKWARD, 0, eps, (ex, [gAt, xAt], rows) => ex.layer_norm_backward(gAt, xAt, gAt, rows, D, eps))) ||
        jsBackend.layerNormBackward(g, x, D, eps, d);
    },
  };
}

/** A float32 vector (D) copied into h at float index `at`, whatever its stride. */
function putVector(h: Float32Array, v: View, at: number): void {
  const s = v.strides[0], D = v.shape[0];
  if (s === 1) h.set((v.buf as Float32Array).subarray(v.offset, v.offset + D), at);
  else for (let j = 0; j < D; j++) h[at + j] = v.buf[v.offset + j * s];
}

/**
 * LayerNorm with its affine map, forward (rows on the pool from `minThreaded` elements, as layerNorm; w and b copied
 * after x) and backward (one pass on this thread: dx, and the column sums for dw and db).
 */
function affineKernels(): Pick<Backend, "layerNormAffine" | "layerNormAffineBackward"> {
  const vec = (v: View | null) => v === null || v.buf instanceof Float32Array;
  return {
    layerNormAffine(x, w, b, D, eps, d) {
      return (D > 0 && vec(w) && vec(b) && rowsOf(d, [x], D, EW.LAYER_NORM_AFFINE, 0, eps,
        (ex, [at, wAt, bAt], rows) => ex.layer_norm_affine(at, at, rows, D, eps, wAt, bAt), [w, b])) || jsBackend.layerNormAffine(x, w, b, D, eps, d);
    },
    layerNormAffineBackward(g, x, w, D, eps, d) {
      const n = numelOf(x.shape), rows = n / D;
      if (D === 0 || !wasmWorthy(x, n, d) || !wasmWorthy(g, n, d) || !vec(w)) return jsBackend.layerNormAffineBackward(g, x, w, D, eps, d);
      const xBytes = align64(n * 4), vBytes = align64(D * 4), ex = lx(n);
      const gAt = arena(ex, 2 * xBytes + 4 * vBytes + 16 * D), xAt = gAt + xBytes, wAt = xAt + xBytes;
      const dwAt = wAt + vBytes, dbAt = dwAt + vBytes, xhAt = dbAt + vBytes, accAt = xhAt + vBytes, h = heapOf(ex);
      h.set((g.buf as Float32Array).subarray(g.offset, g.offset + n), gAt >> 2);
      h.set(x.buf.subarray(x.offset, x.offset + n), xAt >> 2);
      putVector(h, w, wAt >> 2);
      ex.layer_norm_affine_backward(gAt, xAt, gAt, rows, D, eps, wAt, dwAt, dbAt, xhAt, accAt);
      return { dx: takeOut(h, gAt, n), dw: takeOut(h, dwAt, D), db: takeOut(h, dbAt, D) };
    },
  };
}

function kernels(): Partial<Backend> {
  const cheap = ["neg", "abs", "sqrt", "relu"] as const, transcendental = ["exp", "log", "log1p", "tanh", "sigmoid", "erf"] as const;
  const ks: Partial<Record<keyof Backend, unknown>> = {};
  for (const name of cheap) ks[name] = unary(name, false);
  for (const name of transcendental) ks[name] = unary(name, true);
  for (const name of ["add", "sub", "mul", "div", "maximum", "minimum"] as const) ks[name] = binary(name, jsBackend[name]);
  ks.reluBackward = binary("relu_backward", jsBackend.reluBackward);
  ks.sum = reduction("sum");
  ks.max = reduction("max");
  ks.copy = copy();
  return { ...ks, ...gelu(), ...rowKernels(), ...affineKernels() } as Partial<Backend>;
}

/** The elementwise, reduction and copy kernels of the "wasm" backend, or null when this runtime lacks WebAssembly SIMD. */
export const elementwiseKernels: Partial<Backend> | null = pooled ? kernels() : null;
