// Parity of every Backend kernel: the "wasm" backend against the JS reference over random shapes, layouts and values.
import { test } from "node:test";
import assert from "node:assert/strict";
import { jsBackend } from "../../src/backend/js/js_backend.js";
import { wasmBackend, wasmGemmConfig } from "../../src/backend/wasm/wasm_backend.js";
import { wasmElementwiseConfig } from "../../src/backend/wasm/elementwise.js";
import { wasmConvConfig } from "../../src/backend/wasm/conv.js";
import type { Backend, View, Window2d } from "../../src/backend/backend.js";
import { allocStorage, type DType, type Storage } from "../../src/dtype.js";
import { contiguousStrides, numelOf } from "../../src/shape.js";
import { Generator } from "../../src/random.js";

const g = new Generator(31337);
const int = (lo: number, hi: number) => lo + g.nextInt(hi - lo + 1);
const pick = <T>(xs: readonly T[]): T => xs[g.nextInt(xs.length)];
const chance = (p: number) => g.nextDouble() < p;
// sizes around the SIMD width (not multiples of 4 or 8), empty dims, and a few large enough for the default thresholds
const DIM = [0, 1, 1, 2, 3, 4, 5, 7, 8, 9, 13, 17, 33] as const;
const SPECIAL = [0, -0, Infinity, -Infinity, NaN, 1e-40, -1e-40, 100, -100, 88.8, -104] as const;

type Kernel = Exclude<keyof Backend, "name">;
type Values = "normal" | "special" | "positive" | "int" | "bool";
/** How close wasm must be: exact (same bits, NaN = NaN), or within `ulp` float32 steps or `abs`. */
type Tol = "exact" | { ulp: number; abs?: number };
interface Case { run(be: Backend): unknown; tol: Tol }

function fill(buf: Storage, values: Values): void {
  for (let i = 0; i < buf.length; i++) {
    const v = g.nextDouble() * 4 - 2;
    buf[i] = values === "int" ? Math.round(v * 5) : values === "bool" ? (v > 0 ? 1 : 0) : values === "positive" ? Math.abs(v) * 3
      : values === "special" && chance(0.1) ? pick(SPECIAL) : v;
  }
}

const dtypeOf = (values: Values): DType => (values === "int" ? "int32" : values === "bool" ? "bool" : "float32");

/** A view of `shape`: contiguous, transposed (last two dims), padded rows, stepped, or flipped along a dim; at a random offset in its storage. */
function view(shape: readonly number[], values: Values = "normal", dtype: DType = dtypeOf(values)): View {
  const nd = shape.length;
  const layout = pick(["contiguous", "contiguous", "transposed", "padded", "stepped", "flipped"] as const);
  let strides: number[];
  if (layout === "transposed" && nd >= 2) {
    const phys = shape.slice();
    [phys[nd - 1], phys[nd - 2]] = [phys[nd - 2], phys[nd - 1]];
    strides = contiguousStrides(phys);
    [strides[nd - 1], strides[nd - 2]] = [strides[nd - 2], strides[nd - 1]];
  } else if ((layout === "padded" || layout === "stepped") && nd >= 1) {
    const inner = layout === "stepped" ? 2 : 1;
    strides = contiguousStrides(shape).map((s) => s * inner);
    if (layout === "padded") for (let d = 0; d < nd - 1; d++) strides[d] = (strides[d] / shape[nd - 1] || 1) * (shape[nd - 1] + 1);
  } else {
    strides = contiguousStrides(shape);
  }
  let offset = int(0, 3), size = offset + 1;
  for (let d = 0; d < nd; d++) size += Math.max(0, shape[d] - 1) * strides[d];
  if (layout === "flipped" && nd >= 1) {
    // a negative stride (flip): the view starts at the dim's far end
    const d = int(0, nd - 1);
    offset += Math.max(0, shape[d] - 1) * strides[d];
    strides[d] = -strides[d];
  }
  const buf = allocStorage(dtype, size);
  fill(buf, values);
  return { buf, shape: shape.slice(), strides, offset };
}

/** A contiguous view at offset 0 over a storage a kernel returned. */
const wrap = (buf: Storage, shape: readonly number[]): View => ({ buf, shape: shape.slice(), strides: contiguousStrides(shape), offset: 0 });

/** A bias (L, S) view: random, causal (-inf above the diagonal), padded keys (-inf in the last columns), or -inf scattered with one row masked whole. */
function maskedBias(L: number, S: number, kind = pick(["random", "causal", "padded", "scattered"] as const)): View {
  const b = view([L, S]), pad = int(0, S);
  const dead = int(0, Math.max(0, L - 1));
  for (let i = 0; i < L; i++) {
    for (let j = 0; j < S; j++) {
      const masked = kind === "causal" ? j > i : kind === "padded" ? j >= S - pad : kind === "scattered" && (i === dead || chance(0.3));
      if (masked) b.buf[b.offset + i * b.strides[0] + j * b.strides[1]] = -Infinity;
    }
  }
  return b;
}

/** A random shape of minNd..maxNd dims, at most ~10k elements; a quarter of them large enough for the default thresholds. */
function randShape(minNd = 0, maxNd = 4, big = chance(0.25)): number[] {
  const nd = int(minNd, maxNd), s: number[] = [];
  for (let d = 0; d < nd; d++) s.push(big && d >= nd - 2 ? pick([31, 64, 65, 97]) : pick(DIM));
  for (let d = 0; d < nd && numelOf(s) > 10000; d++) s[d] = 1;
  return s;
}
const nonEmpty = (minNd = 1, maxNd = 4) => randShape(minNd, maxNd).map((n) => n || 3);

/** The second operand of a binary op with output `shape`: same shape, one value, bias row, last-dim broadcast, or general broadcast. */
function partner(shape: readonly number[], values: Values): View {
  const nd = shape.length;
  switch (pick(["same", "same", "one", "expandedOne", "row", "col", "general"] as const)) {
    case "one": return view(pick([[], [1], shape.map(() => 1)]), values);
    case "expandedOne": { const v = view([1], values); return { ...v, shape: shape.slice(), strides: shape.map(() => 0) }; }
    case "row": return view(shape.slice(int(0, nd)), values);
    case "col": return view(nd ? [...shape.slice(0, nd - 1), 1] : [], values);
    case "general": return view(shape.map((n) => (chance(0.5) ? 1 : n)), values);
    default: return view(shape, values);
  }
}

function unaryCase(k: Kernel, values: Values, tol: Tol): () => Case {
  return () => {
    const x = view(randShape(), values);
    return { run: (be) => (be[k] as Backend["neg"])(x, "float32"), tol };
  };
}

function binaryCase(k: Kernel, values: Values, tol: Tol, dtypes: readonly DType[] = ["float32"]): () => Case {
  return () => {
    const shape = randShape(), d = pick(dtypes), vals = d === "int32" ? "int" : values;
    let a = view(shape, vals, d), b = partner(shape, vals);
    if (d !== "float32") b = view(b.shape, vals, d);
    if (chance(0.5)) [a, b] = [b, a];
    return { run: (be) => (be[k] as Backend["add"])(a, b, shape, d), tol };
  };
}

/** dims to reduce: a random non-empty sorted subset, biased to the last dim and to the leading ones. */
function reduceDims(nd: number): number[] {
  const kind = pick(["last", "lead", "random"] as const);
  if (kind === "last") return [nd - 1];
  if (kind === "lead") return [...Array(int(1, nd)).keys()];
  const dims = [...Array(nd).keys()].filter(() => chance(0.5));
  return dims.length ? dims : [int(0, nd - 1)];
}

function reduceCase(k: Kernel, values: Values, tol: Tol): () => Case {
  return () => {
    const shape = randShape(1, 4), x = view(shape, values);
    const dims = reduceDims(shape.length);
    return { run: (be) => (be[k] as Backend["sum"])(x, dims, "float32"), tol };
  };
}

function window(H: number, W: number): Window2d {
  const kh = int(1, 3), kw = int(1, 3), sh = int(1, 2), sw = int(1, 2), dh = int(1, 2), dw = int(1, 2), ph = int(0, 1), pw = int(0, 1);
  const ho = Math.floor((H + 2 * ph - dh * (kh - 1) - 1) / sh) + 1, wo = Math.floor((W + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
  return { kh, kw, sh, sw, dh, dw, ph, pw, ho: Math.max(ho, 0), wo: Math.max(wo, 0) };
}
const nchw = (): number[] => [int(1, 2), int(1, 3), int(5, 9), int(5, 9)];

const TRANSCENDENTAL: Tol = { ulp: 2 };
// float32 exps summed in float64: log-softmax's x - log Σ keeps Σ's ~1.5 ulp as an absolute error
const SOFTMAX: Tol = { ulp: 2, abs: 2 ** -21 };
// float64 row statistics, summed in another order than the reference's
const ROWS: Tol = { ulp: 1, abs: 1e-9 };
// GELU in float32 (dev/kernels/elementwise/README.md): up to 4.4 ulp (exact form) and 5.7 (tanh form) from the
// float64 values; below x ≈ -5 the reference's own 1 + erf cancels, leaving differences far under 1e-9
const GELU: Tol = { ulp: 7, abs: 1e-9 };
// the derivative is a sum of two terms (≤ 1.25) that cancel near x = -0.75: 8 ulp of the terms times |g| ≤ 2
const GELU_BACKWARD: Tol = { ulp: 8, abs: 8 * 2 ** -22 };
// a sum in float64 rounded once, in a different order: 1 ulp, or far below the terms when they cancel
const SUM: Tol = { ulp: 1, abs: 1e-9 };

const CASES: Partial<Record<Kernel, () => Case>> = {
  neg: unaryCase("neg", "special", "exact"), abs: unaryCase("abs", "special", "exact"), sign: unaryCase("sign", "special", "exact"),
  exp: unaryCase("exp", "special", TRANSCENDENTAL), log: unaryCase("log", "special", TRANSCENDENTAL),
  log1p: unaryCase("log1p", "special", TRANSCENDENTAL), sqrt: unaryCase("sqrt", "special", "exact"),
  sin: unaryCase("sin", "special", "exact"), cos: unaryCase("cos", "special", "exact"),
  tanh: unaryCase("tanh", "special", TRANSCENDENTAL), sigmoid: unaryCase("sigmoid", "special", TRANSCENDENTAL),
  relu: unaryCase("relu", "special", "exact"), floor: unaryCase("floor", "special", "exact"), round: unaryCase("round", "special", "exact"),
  erf: unaryCase("erf", "special", TRANSCENDENTAL), logicalNot: unaryCase("logicalNot", "special", "exact"),
  // a single float32 +, -, ×, ÷ is one rounding in both backends: bit-identical
  add: binaryCase("add", "special", "exact", ["float32", "float32", "float32", "float64", "int32"]),
  sub: binaryCase("sub", "special", "exact", ["float32", "float32", "float32", "float64", "int32"]),
  mul: binaryCase("mul", "special", "exact", ["float32", "float32", "float32", "float64", "int32"]),
  div: binaryCase("div", "special", "exact", ["float32", "float32", "float64"]),
  pow: binaryCase("pow", "positive", "exact"),
  maximum: binaryCase("maximum", "special", "exact"), minimum: binaryCase("minimum", "special", "exact"),
  eq: binaryCase("eq", "int", "exact"), ne: binaryCase("ne", "int", "exact"), lt: binaryCase("lt", "int", "exact"),
  le: binaryCase("le", "int", "exact"), gt: binaryCase("gt", "int", "exact"), ge: binaryCase("ge", "int", "exact"),
  bceWithLogits: binaryCase("bceWithLogits", "normal", "exact"),
  reluBackward: binaryCase("reluBackward", "special", "exact"),
  where: () => {
    const shape = randShape(), c = view(shape, "bool"), a = partner(shape, "normal"), b = partner(shape, "normal");
    return { run: (be) => be.where(c, a, b, shape, "float32"), tol: "exact" };
  },
  bceWithLogitsBackward: () => {
    const shape = randShape(), gr = view(shape), x = partner(shape, "normal"), y = partner(shape, "normal");
    return { run: (be) => be.bceWithLogitsBackward(gr, x, y, shape, "float32"), tol: "exact" };
  },
  sum: reduceCase("sum", "normal", SUM), prod: reduceCase("prod", "normal", "exact"),
  max: reduceCase("max", "special", "exact"), min: reduceCase("min", "special", "exact"),
  argmax: () => { const x = view(nonEmpty(), "special"), dim = int(0, x.shape.length - 1); return { run: (be) => be.argmax(x, dim), tol: "exact" }; },
  argmin: () => { const x = view(nonEmpty(), "special"), dim = int(0, x.shape.length - 1); return { run: (be) => be.argmin(x, dim), tol: "exact" }; },
  cast: () => { const x = view(randShape(), "special"), d = pick(["float64", "int32", "bool"] as const); return { run: (be) => be.cast(x, d), tol: "exact" }; },
  copy: () => { const x = view(randShape(), "special"); return { run: (be) => be.copy(x, "float32"), tol: "exact" }; },
  pad: () => {
    const x = view(randShape()), start = x.shape.map(() => int(0, 2)), step = x.shape.map(() => int(1, 2));
    const out = x.shape.map((n, d) => start[d] + (n ? (n - 1) * step[d] + 1 : 0) + int(0, 2));
    const value = pick([0, -1.5]);
    return { run: (be) => be.pad(x, out, start, step, value, "float32"), tol: "exact" };
  },
  cat: () => {
    const shape = nonEmpty(), dim = int(0, shape.length - 1);
    const xs = [0, 1, 2].slice(0, int(1, 3)).map(() => view(shape.map((n, d) => (d === dim ? pick(DIM) : n))));
    const out = shape.slice();
    out[dim] = xs.reduce((s, x) => s + x.shape[dim], 0);
    return { run: (be) => be.cat(xs, dim, out, "float32"), tol: "exact" };
  },
  gather: () => {
    const x = view(nonEmpty()), dim = int(0, x.shape.length - 1);
    const index = view(x.shape.map((n, d) => (d === dim ? int(1, 5) : n)), "int");
    for (let i = 0; i < index.buf.length; i++) index.buf[i] = g.nextInt(x.shape[dim]);
    return { run: (be) => be.gather(x, dim, index, "float32"), tol: "exact" };
  },
  scatterAdd: () => {
    const x = view(nonEmpty()), dim = int(0, x.shape.length - 1);
    const index = view(x.shape.map((n, d) => (d === dim ? int(1, 5) : n)), "int"), src = view(index.shape);
    for (let i = 0; i < index.buf.length; i++) index.buf[i] = g.nextInt(x.shape[dim]);
    return { run: (be) => be.scatterAdd(x, dim, index, src, "float32"), tol: "exact" };
  },
  matmul: () => {
    const batch = randShape(0, 2).map((n) => Math.min(n, 3)), M = pick(DIM), K = pick(DIM), N = pick(DIM);
    const a = view([...batch, M, K]), b = view([...batch, K, N]);
    // float32 accumulation against float64: 2·K·ε per unit product, the values are below 2 in magnitude
    return { run: (be) => be.matmul(a, b, [...batch, M, N], "float32"), tol: { ulp: 2, abs: 8 * K * 2 ** -24 * 4 } };
  },
  linear: () => {
    const M = pick(DIM), K = pick(DIM), N = pick(DIM), x = view([M, K]), wt = view([K, N]), b = chance(0.8) ? view([N]) : null;
    // matmul's bound; the bias is one more rounding of a sum below 4 in magnitude
    return { run: (be) => be.linear(x, wt, b, [M, N], "float32"), tol: { ulp: 2, abs: 8 * K * 2 ** -24 * 4 + 2 ** -22 } };
  },
  // matmul's bound for both products (K = rows for dw), sum's for db
  linearBackward: () => {
    const R = pick(DIM), O = pick(DIM), I = pick(DIM), g = view([R, O]), x = view([R, I]), w = view([O, I]);
    const need = [chance(0.8), chance(0.8), chance(0.8)] as [boolean, boolean, boolean];
    return {
      run: (be) => { const r = be.linearBackward(g, x, w, need, "float32"); return Float32Array.from([...(r.dx ?? []), ...(r.dw ?? []), ...(r.db ?? [])]); },
      tol: { ulp: 2, abs: 8 * Math.max(R, O) * 2 ** -24 * 4 },
    };
  },
  // the products' bound (values below 2, probabilities below 1) plus softmax's rows; masked biases (causal, padded
  // keys, scattered -inf with a fully masked row) reach the kernels' tile skipping, seqMajor their head layout
  attention: () => {
    const batch = randShape(0, 2).map((n) => Math.min(n, 3)), L = pick(DIM), S = pick(DIM), E = pick(DIM), Ev = pick(DIM);
    const q = view([...batch, L, E]), k = view([...batch, S, E]), v = view([...batch, S, Ev]), bias = chance(0.75) ? maskedBias(L, S) : null;
    const scale = pick([1, 0.35]), seq = batch.length > 0 && chance(0.5);
    return {
      run: (be) => { const { out, probs } = be.attention(q, k, v, bias, scale, "float32", true, seq); return Float32Array.from([...probs!, ...out]); },
      tol: { ulp: 4, abs: 8 * Math.max(E, S) * 2 ** -24 * 16 },
    };
  },
  attentionBackward: () => {
    const batch = randShape(0, 2).map((n) => Math.min(n, 3)), L = pick(DIM), S = pick(DIM), E = pick(DIM), Ev = pick(DIM);
    const q = view([...batch, L, E]), k = view([...batch, S, E]), v = view([...batch, S, Ev]), gr = view([...batch, L, Ev]);
    const bias = chance(0.75) ? maskedBias(L, S) : null;
    const probs = wrap(jsBackend.attention(q, k, v, bias, 1, "float32", true, false).probs!, [...batch, L, S]), scale = pick([1, 0.35]);
    const seq = [0, 1, 2].map(() => batch.length > 0 && chance(0.5)) as [boolean, boolean, boolean];
    return {
      run: (be) => { const { dq, dk, dv } = be.attentionBackward(gr, q, k, v, probs, bias, scale, "float32", seq); return Float32Array.from([...dq, ...dk, ...dv]); },
      tol: { ulp: 4, abs: 8 * Math.max(E, S, L, Ev) * 2 ** -24 * 16 },
    };
  },
  softmax: () => {
    const x = view(nonEmpty()), dim = chance(0.5) ? x.shape.length - 1 : int(0, x.shape.length - 1), log = chance(0.5);
    return { run: (be) => be.softmax(x, dim, log, "float32"), tol: SOFTMAX };
  },
  softmaxBackward: () => {
    const shape = nonEmpty(), dim = chance(0.5) ? shape.length - 1 : int(0, shape.length - 1), log = chance(0.5), gr = view(shape);
    const y = wrap(jsBackend.softmax(view(shape), dim, log, "float32"), shape);
    return { run: (be) => be.softmaxBackward(gr, y, dim, log, "float32"), tol: ROWS };
  },
  gelu: () => { const x = view(randShape(), "special"), t = chance(0.5); return { run: (be) => be.gelu(x, t, "float32"), tol: GELU }; },
  geluBackward: () => {
    const shape = randShape(), gr = view(shape), x = view(shape, "special"), t = chance(0.5);
    return { run: (be) => be.geluBackward(gr, x, t, "float32"), tol: GELU_BACKWARD };
  },
  layerNorm: () => { const x = view(nonEmpty()), D = x.shape[x.shape.length - 1]; return { run: (be) => be.layerNorm(x, D, 1e-5, "float32"), tol: ROWS }; },
  layerNormBackward: () => {
    const shape = nonEmpty(), D = shape[shape.length - 1], gr = view(shape), x = view(shape);
    return { run: (be) => be.layerNormBackward(gr, x, D, 1e-5, "float32"), tol: ROWS };
  },
  layerNormAffine: () => {
    const x = view(nonEmpty()), D = x.shape[x.shape.length - 1], w = view([D]), b = chance(0.7) ? view([D]) : null;
    return { run: (be) => be.layerNormAffine(x, w, b, D, 1e-5, "float32"), tol: ROWS };
  },
  layerNormAffineBackward: () => {
    const shape = nonEmpty(), D = shape[shape.length - 1], gr = view(shape), x = view(shape), w = view([D]);
    // dw and db sum over the rows: the sum kernels' bound
    return { run: (be) => { const { dx, dw, db } = be.layerNormAffineBackward(gr, x, w, D, 1e-5, "float32"); return Float32Array.from([...dx, ...dw, ...db]); }, tol: SUM };
  },
  im2col: () => { const x = view(nchw()), w = window(x.shape[2], x.shape[3]); return { run: (be) => be.im2col(x, w, "float32"), tol: "exact" }; },
  col2im: () => {
    const shape = nchw(), w = window(shape[2], shape[3]), cols = view([shape[1] * w.kh * w.kw, shape[0] * w.ho * w.wo]);
    return { run: (be) => be.col2im(cols, shape, w, "float32"), tol: "exact" };
  },
  maxPool2d: () => { const x = view(nchw(), "special"), w = window(x.shape[2], x.shape[3]); return { run: (be) => be.maxPool2d(x, w, "float32"), tol: "exact" }; },
  maxPool2dBackward: () => {
    const x = view(nchw()), w = window(x.shape[2], x.shape[3]), [N, C] = x.shape;
    const { indices } = jsBackend.maxPool2d(x, w, "float32");
    const gr = view([N, C, w.ho, w.wo]), idx = wrap(indices, [N, C, w.ho * w.wo]);
    return { run: (be) => be.maxPool2dBackward(gr, idx, x.shape, "float32"), tol: "exact" };
  },
  convOutput: () => {
    // runs of L long enough for the TypedArray.set path some of the time
    const O = pick(DIM), N = pick(DIM), L = pick([...DIM, 64, 100]), y = view([O, N * L], "special"), b = chance(0.7) ? view([O], "special") : null;
    return { run: (be) => be.convOutput(y, b, N, "float32"), tol: "exact" };
  },
  conv2d: () => {
    // the batch up to 17 so that a few cases reach the per-image units on both threads
    const shape = [pick(DIM.filter((n) => n > 0)), int(1, 3), int(5, 9), int(5, 9)], w = window(shape[2], shape[3]);
    const x = view(shape), O = pick(DIM), K = shape[1] * w.kh * w.kw, wt = view([O, K]), b = chance(0.7) ? view([O]) : null;
    // matmul's bound (float32 sums against float64), plus the bias add's rounding as in linear
    return { run: (be) => be.conv2d(x, wt, b, w, "float32"), tol: { ulp: 2, abs: 8 * K * 2 ** -24 * 4 + 2 ** -22 } };
  },
  conv2dInput: () => {
    const shape = [pick(DIM.filter((n) => n > 0)), int(1, 3), int(5, 9), int(5, 9)], w = window(shape[2], shape[3]);
    const O = pick(DIM), gr = view([O, shape[0] * w.ho * w.wo]), wt = view([O, shape[1] * w.kh * w.kw]);
    // matmul's bound with an inner size of O, then col2im's float32 sums of up to kh*kw of those
    return { run: (be) => be.conv2dInput(gr, wt, shape, w, "float32"), tol: { ulp: 2, abs: 9 * (8 * O * 2 ** -24 * 4 + 2 ** -21) } };
  },
  conv2dWeight: () => {
    const shape = [pick(DIM.filter((n) => n > 0)), int(1, 3), int(5, 9), int(5, 9)], w = window(shape[2], shape[3]);
    const x = view(shape), NL = shape[0] * w.ho * w.wo, gr = view([pick(DIM), NL]);
    // matmul's bound with an inner size of N*ho*wo
    return { run: (be) => be.conv2dWeight(gr, x, w, "float32"), tol: { ulp: 2, abs: 8 * NL * 2 ** -24 * 4 } };
  },
};

/** float32 steps between a and b (both finite, same sign handling through the ordered integer image). */
const f32bits = new Float32Array(1), i32bits = new Int32Array(f32bits.buffer);
function ordered(v: number): number {
  f32bits[0] = v;
  const i = i32bits[0];
  return i < 0 ? -(i & 0x7fffffff) : i;
}

/** The arrays a kernel result holds (a storage, or maxPool2d's values and indices). */
const parts = (r: unknown): ArrayLike<number>[] =>
  ArrayBuffer.isView(r) ? [r as unknown as ArrayLike<number>] : Object.values(r as object) as ArrayLike<number>[];

interface Stats { cases: number; maxAbs: number; maxUlp: number }

function compare(kernel: Kernel, c: Case, stats: Stats): void {
  const want = parts(c.run(jsBackend)), got = parts(c.run(wasmBackend!));
  assert.equal(got.length, want.length, `${kernel}: result parts`);
  for (let p = 0; p < want.length; p++) {
    const w = want[p], o = got[p];
    assert.equal(o.constructor, w.constructor, `${kernel}: storage type`);
    assert.equal(o.length, w.length, `${kernel}: length`);
    for (let i = 0; i < w.length; i++) {
      const a = o[i], b = w[i];
      if (Object.is(a, b) || (a !== a && b !== b)) continue;
      const ulp = Number.isFinite(a) && Number.isFinite(b) && w instanceof Float32Array ? Math.abs(ordered(a) - ordered(b)) : Infinity;
      const abs = Math.abs(a - b);
      stats.maxAbs = Math.max(stats.maxAbs, abs);
      stats.maxUlp = Math.max(stats.maxUlp, ulp);
      const ok = c.tol !== "exact" && (ulp <= c.tol.ulp || abs <= (c.tol.abs ?? 0));
      assert.ok(ok, `${kernel}: element ${i} wasm ${a} vs js ${b} (${ulp} ulp, |diff| ${abs}), tolerance ${JSON.stringify(c.tol)}`);
    }
  }
}

test("every kernel of the Backend interface has a parity case", () => {
  const missing = Object.keys(jsBackend).filter((k) => k !== "name" && !(k in CASES));
  assert.deepEqual(missing, [], `kernels without a parity case: ${missing.join(", ")}`);
});

const CASES_PER_KERNEL = 100;

test("wasm matches the JS reference on every kernel (thresholds forced to 0, then the defaults)", (t) => {
  assert.ok(wasmBackend, "WebAssembly SIMD missing: Node 20 has it on by default");
  const saved = { ...wasmElementwiseConfig }, savedGemm = { ...wasmGemmConfig }, savedConv = { ...wasmConvConfig };
  const rows: string[] = [];
  try {
    for (const kernel of Object.keys(CASES) as Kernel[]) {
      const stats: Stats = { cases: 0, maxAbs: 0, maxUlp: 0 };
      for (const forced of [true, false]) {
        Object.assign(wasmElementwiseConfig, forced ? { minCheap: 0, minTranscendental: 0, minReduce: 0, minCopy: 0 } : saved);
        Object.assign(wasmGemmConfig, forced ? { minWork: 0 } : savedGemm);
        Object.assign(wasmConvConfig, forced ? { minElements: 0 } : savedConv);
        for (let i = 0; i < CASES_PER_KERNEL; i++, stats.cases++) compare(kernel, CASES[kernel]!(), stats);
      }
      const own = wasmBackend[kernel] !== jsBackend[kernel] ? "wasm" : "js";
      rows.push(`${kernel.padEnd(22)} ${own.padEnd(5)} ${String(stats.cases).padStart(5)} ${stats.maxAbs.toExponential(2).padStart(10)} ${String(stats.maxUlp).padStart(8)}`);
    }
  } finally {
    Object.assign(wasmElementwiseConfig, saved);
    Object.assign(wasmGemmConfig, savedGemm);
    Object.assign(wasmConvConfig, savedConv);
  }
  t.diagnostic(`${"kernel".padEnd(22)} ${"impl".padEnd(5)} ${"cases".padStart(5)} ${"max |diff|".padStart(10)} ${"max ulp".padStart(8)}`);
  for (const row of rows) t.diagnostic(row);
});

test("wasm sums are deterministic and the small-size threshold keeps the seed's 16×10 tensors off the copy path", () => {
  const x = view([513, 67]);
  const a = wasmBackend!.sum(x, [1], "float32"), b = wasmBackend!.sum(x, [1], "float32");
  assert.deepEqual(a, b);
  assert.ok(16 * 10 < wasmElementwiseConfig.minCheap && 16 * 10 < wasmElementwiseConfig.minReduce);
  assert.equal(numelOf([16, 10]) < wasmElementwiseConfig.minTranscendental, true);
});

test("attention with more rows than one packed block (L = 150: ranged tiles over two row blocks) or K blocks (L, S > 256: unskipped) matches the reference, masked, in both layouts", () => {
  for (const [B, H, L, S, E, kind] of [[1, 2, 150, 140, 8, "causal"], [1, 2, 300, 270, 5, "scattered"]] as const) {
    // heads of (B, T, H·E), as MultiheadAttention passes them
    const head = (T: number): View => { const v = view([B, T, H * E]); return { ...v, shape: [B, H, T, E], strides: [v.strides[0], E * v.strides[2], v.strides[1], v.strides[2]] }; };
    const q = head(L), k = head(S), v = head(S), gr = head(L), bias = maskedBias(L, S, kind);
    const tol = { ulp: 4, abs: 8 * Math.max(L, S) * 2 ** -24 * 16 };
    for (const seq of [false, true]) {
      compare("attention", { run: (be) => { const r = be.attention(q, k, v, bias, 0.4, "float32", true, seq); return Float32Array.from([...r.probs!, ...r.out]); }, tol },
        { cases: 0, maxAbs: 0, maxUlp: 0 });
      const probs = wrap(jsBackend.attention(q, k, v, bias, 0.4, "float32", true, false).probs!, [B, H, L, S]);
      compare("attentionBackward", { run: (be) => { const r = be.attentionBackward(gr, q, k, v, probs, bias, 0.4, "float32", [seq, seq, !seq]); return Float32Array.from([...r.dq, ...r.dk, ...r.dv]); }, tol },
        { cases: 0, maxAbs: 0, maxUlp: 0 });
    }
  }
});

test("single-thread elementwise kernels agree with the reference on both of the module's instances (shared memory below 65536 elements, plain memory from it)", () => {
  const dense = (shape: number[]): View => { const buf = allocStorage("float32", numelOf(shape)); fill(buf, "normal"); return wrap(buf, shape); };
  for (const n of [20000, 70001]) {
    const shape = [n], a = dense(shape), b = dense(shape), x2 = dense([n - 1, 1]);
    const stepped: View = { ...dense([2 * n]), shape: [n], strides: [2] };
    compare("add", { run: (be) => be.add(a, b, shape, "float32"), tol: "exact" }, { cases: 0, maxAbs: 0, maxUlp: 0 });
    compare("mul", { run: (be) => be.mul(a, b, shape, "float32"), tol: "exact" }, { cases: 0, maxAbs: 0, maxUlp: 0 });
    compare("relu", { run: (be) => be.relu(a, "float32"), tol: "exact" }, { cases: 0, maxAbs: 0, maxUlp: 0 });
    compare("sum", { run: (be) => be.sum(x2, [0], "float32"), tol: SUM }, { cases: 0, maxAbs: 0, maxUlp: 0 });
    compare("copy", { run: (be) => be.copy(stepped, "float32"), tol: "exact" }, { cases: 0, maxAbs: 0, maxUlp: 0 });
  }
});
