// Seeded differential fuzzing of the reference kernels on random strided, sliced and broadcast views.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Tensor, Generator, tensor, cat, where, pad } from "../../src/index.js";
import * as P from "../../src/ops/primitives.js";

// NOTE: every kernel fast path (contiguous, suffix broadcast, adjacent-dim reduction...) must agree with
// plain index arithmetic; odd sizes and views with offsets, steps, permutations and 0-strides reach them all.
const g = new Generator(99);
const int = (lo: number, hi: number) => lo + g.nextInt(hi - lo + 1);
const pick = <T>(xs: readonly T[]): T => xs[g.nextInt(xs.length)];

/** Element idx of a (possibly broadcast) view, read straight through its strides. */
function at(t: Tensor, idx: number[]): number {
  let o = t.offset;
  const off = idx.length - t.ndim;
  for (let d = 0; d < t.ndim; d++) o += (t.shape[d] === 1 ? 0 : idx[d + off]) * t.strides[d];
  return t.buf[o];
}
function* indices(shape: number[]): IterableIterator<number[]> {
  const n = shape.reduce((a, b) => a * b, 1);
  const idx = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    yield idx.slice();
    for (let d = shape.length - 1; d >= 0; d--) { if (++idx[d] < shape[d]) break; idx[d] = 0; }
  }
}
function broadcast(a: number[], b: number[]): number[] {
  const n = Math.max(a.length, b.length);
  return Array.from({ length: n }, (_, i) => {
    const x = a[i - n + a.length] ?? 1, y = b[i - n + b.length] ?? 1;
    return x === 1 ? y : x;
  });
}

/** A random view of `shape` over a bigger random base: permuted, stepped, offset, or expanded from size 1. */
function randomView(shape: number[], dtype: "float64" | "float32" | "int32" = "float64"): Tensor {
  const kind = pick(["contiguous", "permuted", "stepped", "expanded", "narrowed"] as const);
  const base = (s: number[]) => {
    const n = s.reduce((a, b) => a * b, 1);
    // small integers keep sums and products exact, so most comparisons can be exact
    const data = Array.from({ length: n }, () => int(-4, 4));
    return tensor(data, { dtype }).reshape(s);
  };
  if (kind === "contiguous" || shape.length === 0) return base(shape);
  if (kind === "permuted") {
    const perm = shape.map((_, i) => i).sort(() => g.nextDouble() - 0.5);
    const inv = new Array<number>(perm.length);
    perm.forEach((p, i) => (inv[p] = i));
    return base(perm.map((p) => shape[p])).permute(inv);
  }
  const d = int(0, shape.length - 1);
  if (kind === "stepped") {
    const step = int(2, 3), big = shape.slice();
    big[d] = shape[d] * step + 1;
    return base(big).slice(d, 1, null, step).narrow(d, 0, shape[d]);
  }
  if (kind === "expanded") {
    const small = shape.slice();
    small[d] = 1;
    return base(small).expand(shape);
  }
  const big = shape.slice();
  big[d] = shape[d] + 3;
  return base(big).narrow(d, 2, shape[d]);
}
const randShape = (maxNd = 4) => Array.from({ length: int(0, maxNd) }, () => pick([1, 1, 2, 3, 5, 7]));

function expectValues(got: Tensor, shape: number[], ref: (idx: number[]) => number, tol = 0, what = ""): void {
  assert.deepEqual(got.shape, shape, `${what} shape`);
  const flat = got.toTypedArray();
  let k = 0;
  for (const idx of indices(shape)) {
    const want = ref(idx), v = flat[k++];
    const ok = (Number.isNaN(want) && Number.isNaN(v)) || v === want || Math.abs(v - want) <= tol * Math.max(1, Math.abs(want));
    assert.ok(ok, `${what} at [${idx}]: got ${v}, want ${want}`);
  }
}

const ROUNDS = 150;

test("fuzz: unary kernels and copies on random views", () => {
  for (let r = 0; r < ROUNDS; r++) {
    const s = randShape();
    const x = randomView(s);
    expectValues(P.neg(x), s, (i) => -at(x, i), 0, "neg");
    expectValues(P.exp(x), s, (i) => Math.exp(at(x, i)), 1e-15, "exp");
    expectValues(P.relu(x), s, (i) => Math.max(at(x, i), 0), 0, "relu");
    expectValues(x.contiguous(), s, (i) => at(x, i), 0, "contiguous");
    expectValues(P.cast(x, "int32"), s, (i) => at(x, i), 0, "cast");
    expectValues(x.reshape(-1), [s.reduce((a, b) => a * b, 1)], (i) => x.toTypedArray()[i[0]], 0, "reshape");
  }
});

test("fuzz: broadcasting binary kernels and where", () => {
  for (let r = 0; r < ROUNDS; r++) {
    const out = randShape();
    // each operand drops some leading dims and sets some dims to 1
    const sub = () => { const k = int(0, out.length); return out.slice(out.length - k).map((v) => (g.nextDouble() < 0.3 ? 1 : v)); };
    const sa = sub(), sb = sub();
    const shape = broadcast(sa, sb);
    const a = randomView(sa), b = randomView(sb, pick(["float64", "float32", "int32"] as const));
    expectValues(P.add(a, b), shape, (i) => at(a, i) + at(b, i), 0, `add ${sa} ${sb}`);
    expectValues(P.sub(b, a), shape, (i) => at(b, i) - at(a, i), 0, "sub");
    expectValues(P.mul(a, b), shape, (i) => at(a, i) * at(b, i), 0, "mul");
    expectValues(P.div(a, b), shape, (i) => at(a, i) / at(b, i), 1e-7, "div");
    expectValues(P.maximum(a, b), shape, (i) => Math.max(at(a, i), at(b, i)), 0, "maximum");
    expectValues(P.lt(a, b), shape, (i) => (at(a, i) < at(b, i) ? 1 : 0), 0, "lt");
    const sc = sub();
    const c = P.gt(randomView(sc), tensor(0, { dtype: "float64" }));
    const ws = broadcast(sc, shape);
    expectValues(where(c, a, b), ws, (i) => (at(c, i) ? at(a, i) : at(b, i)), 0, "where");
  }
});

test("fuzz: reductions over random dim subsets, keepdim or not", () => {
  for (let r = 0; r < ROUNDS; r++) {
    const s = randShape();
    if (s.length === 0) continue;
    const x = randomView(s);
    const dims = s.map((_, d) => d).filter(() => g.nextDouble() < 0.5);
    if (dims.length === 0) dims.push(int(0, s.length - 1));
    const keep = g.nextDouble() < 0.5;
    const outShape = keep ? s.map((v, d) => (dims.includes(d) ? 1 : v)) : s.filter((_, d) => !dims.includes(d));
    const fold = (f: (acc: number, v: number) => number, init: number) => (oi: number[]) => {
      const full = keep ? oi : (() => { const r2: number[] = []; let k = 0; for (let d = 0; d < s.length; d++) r2.push(dims.includes(d) ? 0 : oi[k++]); return r2; })();
      let acc = init;
      for (const ri of indices(dims.map((d) => s[d]))) {
        const idx = full.slice();
        dims.forEach((d, j) => (idx[d] = ri[j]));
        acc = f(acc, at(x, idx));
      }
      return acc;
    };
    expectValues(P.sum(x, dims, keep), outShape, fold((a, v) => a + v, 0), 0, `sum ${s} over ${dims}`);
    expectValues(P.prod(x, dims, keep), outShape, fold((a, v) => a * v, 1), 0, "prod");
    expectValues(P.max(x, dims, keep), outShape, fold((a, v) => Math.max(a, v), -Infinity), 0, "max");
    expectValues(P.min(x, dims, keep), outShape, fold((a, v) => Math.min(a, v), Infinity), 0, "min");
    const d = dims[0];
    const am = P.argmax(x, d, true);
    for (const idx of indices(am.shape)) {
      let best = 0;
      for (let k = 1; k < s[d]; k++) { const j = idx.slice(); j[d] = k; const j0 = idx.slice(); j0[d] = best; if (at(x, j) > at(x, j0)) best = k; }
      assert.equal(at(am, idx), best, `argmax ${s} dim ${d}`);
    }
  }
});

test("fuzz: matmul on strided and broadcast-batch operands", () => {
  for (let r = 0; r < ROUNDS; r++) {
    const M = int(1, 6), K = int(0, 7), N = int(1, 6);
    const batch = Array.from({ length: int(0, 2) }, () => pick([1, 2, 3]));
    const a = randomView([...batch, M, K]);
    const bb = batch.map((v) => (g.nextDouble() < 0.3 ? 1 : v));
    const b = randomView([...bb, K, N], pick(["float64", "float32"] as const));
    const shape = [...batch, M, N];
    const y = a.matmul(b);
    expectValues(y, shape, (i) => {
      let acc = 0;
      for (let k = 0; k < K; k++) {
        const ai = [...i.slice(0, -2), i[i.length - 2], k], bi = [...i.slice(0, -2), k, i[i.length - 1]];
        acc += at(a, ai) * at(b, bi);
      }
      return acc;
    }, 0, `matmul ${a.shape} @ ${b.shape}`);
  }
});

test("fuzz: cat, pad, gather and scatterAdd on views", () => {
  for (let r = 0; r < ROUNDS; r++) {
    const s = randShape(3);
    if (s.length === 0) continue;
    const d = int(0, s.length - 1);
    const s2 = s.slice();
    s2[d] = int(0, 4);
    const a = randomView(s), b = randomView(s2);
    const cs = s.slice();
    cs[d] += s2[d];
    expectValues(cat([a, b], d), cs, (i) => (i[d] < s[d] ? at(a, i) : at(b, i.map((v, k) => (k === d ? v - s[d] : v)))), 0, "cat");
    // pads (before, after) from the last dim, possibly negative
    const pads: number[] = [];
    for (let k = 0; k < int(1, s.length); k++) pads.push(int(-1, 2), int(-1, 2));
    const nP = pads.length / 2;
    // pads[2j], pads[2j + 1] apply to dim (ndim - 1 - j)
    const padOf = (dd: number): [number, number] => { const j = s.length - 1 - dd; return j < nP ? [pads[2 * j], pads[2 * j + 1]] : [0, 0]; };
    const ps = s.map((v, dd) => v + padOf(dd)[0] + padOf(dd)[1]);
    if (ps.some((v) => v < 0)) {
      assert.throws(() => pad(a, pads), /^Error: \[pad\]/);
    } else {
      expectValues(pad(a, pads, { value: 9 }), ps, (i) => {
        const src = i.map((v, dd) => v - padOf(dd)[0]);
        return src.every((v, dd) => v >= 0 && v < s[dd]) ? at(a, src) : 9;
      }, 0, `pad ${s} by ${pads}`);
    }
    // gather / scatterAdd along d with an index no larger than the input
    const is = s.map((v, k) => (k === d ? int(1, 4) : int(1, v)));
    let index = tensor(Array.from({ length: is.reduce((p, q) => p * q, 1) }, () => int(0, s[d] - 1)), { dtype: "int32" }).reshape(is);
    // half the time one index per row, broadcast along the last dim (stride 0): the kernels' whole-row paths
    if (int(0, 1) === 1) index = index.narrow(is.length - 1, 0, 1).expand(is);
    expectValues(a.gather(d, index), is, (i) => at(a, i.map((v, k) => (k === d ? at(index, i) : v))), 0, "gather");
    const src = randomView(is);
    const want = new Map<string, number>();
    for (const i of indices(is)) {
      const key = i.map((v, k) => (k === d ? at(index, i) : v)).join();
      want.set(key, (want.get(key) ?? 0) + at(src, i));
    }
    expectValues(a.scatterAdd(d, index, src), s, (i) => at(a, i) + (want.get(i.join()) ?? 0), 0, "scatterAdd");
  }
});
