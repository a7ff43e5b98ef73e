// Every op in fixtures/torch/ops.json (PyTorch 1.13 reference): forward values and input gradients.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import {
  Tensor, tensor, autograd, cat, stack, where, pad, oneHot, type DType,
} from "../../src/index.js";

interface FT { shape: number[]; dtype: DType; data: (number | boolean)[] }
interface Case {
  op: string; case: string; inputs: FT[]; args: Record<string, unknown>;
  output: FT | FT[]; gradOutput: FT | FT[] | null; grads: (FT | null)[];
}

const FIXTURE = new URL("../../fixtures/torch/ops.json", import.meta.url);

/** A fixture tensor as a Kiln tensor; float32 data holds shortest round-trip decimals, so it is exact. */
function decode(t: FT): Tensor {
  const flat = t.data.map((v) => (typeof v === "boolean" ? (v ? 1 : 0) : v));
  const typed = t.dtype === "float64" ? Float64Array.from(flat) : t.dtype === "int32" ? Int32Array.from(flat)
    : t.dtype === "bool" ? Uint8Array.from(flat) : Float32Array.from(flat);
  return tensor(typed, { shape: t.shape, dtype: t.dtype });
}

type A = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type OpFn = (xs: Tensor[], a: A) => Tensor | Tensor[];
const dimOf = (a: A) => (a.dim === null || a.dim === undefined ? undefined : a.dim);
const red = (name: "sum" | "mean" | "prod" | "amax" | "amin" | "logsumexp"): OpFn => ([x], a) => x[name](dimOf(a), { keepdim: a.keepdim ?? false });
const un = (f: (x: Tensor) => Tensor): OpFn => ([x]) => f(x);
const bin = (f: (x: Tensor, y: Tensor) => Tensor): OpFn => ([x, y]) => f(x, y);

/** Kiln's call for every fixture op name. PyTorch int64 results (indices, argmax, oneHot) are int32 in Kiln. */
const OPS: Record<string, OpFn> = {
  neg: un((x) => x.neg()), abs: un((x) => x.abs()), exp: un((x) => x.exp()), log: un((x) => x.log()),
  log1p: un((x) => x.log1p()), sqrt: un((x) => x.sqrt()), rsqrt: un((x) => x.rsqrt()), sin: un((x) => x.sin()),
  cos: un((x) => x.cos()), tanh: un((x) => x.tanh()), sigmoid: un((x) => x.sigmoid()), relu: un((x) => x.relu()),
  silu: un((x) => x.silu()), sign: un((x) => x.sign()), floor: un((x) => x.floor()), round: un((x) => x.round()),
  square: un((x) => x.square()), reciprocal: un((x) => x.reciprocal()), erf: un((x) => x.erf()),
  gelu: ([x], a) => x.gelu({ approximate: a.approximate }),
  softplus: ([x], a) => x.softplus({ beta: a.beta, threshold: a.threshold }),
  leakyRelu: ([x], a) => x.leakyRelu(a.negativeSlope),
  add: bin((x, y) => x.add(y)), sub: bin((x, y) => x.sub(y)), mul: bin((x, y) => x.mul(y)), div: bin((x, y) => x.div(y)),
  pow: bin((x, y) => x.pow(y)), maximum: bin((x, y) => x.maximum(y)), minimum: bin((x, y) => x.minimum(y)),
  addScalar: ([x], a) => x.add(a.other), mulScalar: ([x], a) => x.mul(a.other),
  powScalar: ([x], a) => x.pow(a.exponent), rsubScalar: ([x], a) => x.rsub(a.other),
  eq: bin((x, y) => x.eq(y)), ne: bin((x, y) => x.ne(y)), lt: bin((x, y) => x.lt(y)),
  le: bin((x, y) => x.le(y)), gt: bin((x, y) => x.gt(y)), ge: bin((x, y) => x.ge(y)),
  clamp: ([x], a) => x.clamp(a.min, a.max),
  where: ([c, x, y]) => where(c, x, y),
  maskedFill: ([x, m], a) => x.maskedFill(m, a.value),
  sum: red("sum"), mean: red("mean"), prod: red("prod"), amax: red("amax"), amin: red("amin"), logsumexp: red("logsumexp"),
  norm: ([x], a) => x.norm(a.p, dimOf(a), { keepdim: a.keepdim ?? false }),
  var: ([x], a) => x.var(dimOf(a), { correction: a.correction, keepdim: a.keepdim ?? false }),
  std: ([x], a) => x.std(dimOf(a), { correction: a.correction, keepdim: a.keepdim ?? false }),
  maxDim: ([x], a) => { const r = x.max(a.dim, { keepdim: a.keepdim }); return [r.values, r.indices]; },
  minDim: ([x], a) => { const r = x.min(a.dim, { keepdim: a.keepdim }); return [r.values, r.indices]; },
  argmax: ([x], a) => x.argmax(a.dim, { keepdim: a.keepdim ?? false }),
  argmin: ([x], a) => x.argmin(a.dim, { keepdim: a.keepdim ?? false }),
  softmax: ([x], a) => x.softmax(a.dim), logSoftmax: ([x], a) => x.logSoftmax(a.dim),
  reshape: ([x], a) => x.reshape(a.shape), transpose: ([x], a) => x.transpose(a.dim0, a.dim1),
  permute: ([x], a) => x.permute(a.dims), squeeze: ([x], a) => x.squeeze(dimOf(a)),
  unsqueeze: ([x], a) => x.unsqueeze(a.dim), expand: ([x], a) => x.expand(a.shape),
  flatten: ([x], a) => x.flatten(a.startDim, a.endDim), narrow: ([x], a) => x.narrow(a.dim, a.start, a.length),
  select: ([x], a) => x.select(a.dim, a.index), slice: ([x], a) => x.slice(a.dim, a.start, a.end, a.step),
  cat: (xs, a) => cat(xs, a.dim), stack: (xs, a) => stack(xs, a.dim),
  split: ([x], a) => x.split(a.splitSize, a.dim), chunk: ([x], a) => x.chunk(a.chunks, a.dim),
  gather: ([x, i], a) => x.gather(a.dim, i), scatterAdd: ([x, i, s], a) => x.scatterAdd(a.dim, i, s),
  indexSelect: ([x, i], a) => x.indexSelect(a.dim, i),
  tril: ([x], a) => x.tril(a.diagonal), triu: ([x], a) => x.triu(a.diagonal),
  pad: ([x], a) => pad(x, a.pad, { value: a.value }),
  oneHot: ([x], a) => oneHot(x, a.numClasses),
  contiguousT: ([x], a) => x.transpose(a.dim0, a.dim1).contiguous(),
  matmul: bin((x, y) => x.matmul(y)), mm: bin((x, y) => x.mm(y)), bmm: bin((x, y) => x.bmm(y)),
  outer: bin((x, y) => x.outer(y)), t: un((x) => x.t()),
};

// Default tolerance |a - b| <= atol + rtol |b|, loosened per op only with a reason.
// NOTE: no op needs a looser float32 tolerance today: the JS kernels compute each element (and every
// reduction and matmul accumulator) in double and round once, so they sit within an ulp or two of PyTorch's
// float32 results. An op added here must say why (e.g. a float32-accumulating WASM kernel).
const RTOL = 1e-5, ATOL = 1e-6;
const LOOSE: Record<string, { rtol: number; atol: number; why: string }> = {};

/** Largest |a - b| / (atol + rtol |b|); <= 1 is within tolerance. Equal non-finite values count as equal. */
function worst(actual: Tensor, expected: Tensor, rtol: number, atol: number): number {
  const a = actual.toTypedArray(), b = expected.toTypedArray();
  let w = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i] || (Number.isNaN(a[i]) && Number.isNaN(b[i]))) continue;
    w = Math.max(w, Math.abs(a[i] - b[i]) / (atol + rtol * Math.abs(b[i])));
  }
  return w;
}

/** Problems with `actual` against the fixture tensor, or "" when it matches in shape, dtype and values. */
function compare(what: string, actual: Tensor | null | undefined, exp: FT, tol: { rtol: number; atol: number }): string {
  if (!actual) return `${what}: missing (expected shape ${JSON.stringify(exp.shape)})`;
  if (actual.shape.join() !== exp.shape.join()) return `${what}: shape ${JSON.stringify(actual.shape)} != ${JSON.stringify(exp.shape)}`;
  if (actual.dtype !== exp.dtype) return `${what}: dtype ${actual.dtype} != ${exp.dtype}`;
  const w = worst(actual, decode(exp), tol.rtol, tol.atol);
  return w <= 1 ? "" : `${what}: off by ${w.toFixed(2)}x the tolerance`;
}

function runCase(c: Case): string[] {
  const fn = OPS[c.op];
  if (!fn) throw new Error(`fixture op '${c.op}' has no Kiln mapping in fixtures_ops.test.ts`);
  const tol = LOOSE[c.op] ?? { rtol: RTOL, atol: ATOL };
  const inputs = c.inputs.map((t) => {
    const x = decode(t);
    return t.dtype === "float32" || t.dtype === "float64" ? x.requiresGrad_() : x;
  });
  const out = fn(inputs, c.args);
  const outs = Array.isArray(out) ? out : [out];
  const expOuts = Array.isArray(c.output) ? c.output : [c.output];
  const problems: string[] = [];
  if (outs.length !== expOuts.length) return [`${outs.length} outputs, expected ${expOuts.length}`];
  outs.forEach((o, i) => { const p = compare(`output ${i}`, o, expOuts[i], tol); if (p) problems.push(p); });
  if (c.gradOutput) {
    // maxDim/minDim: the gradient seeds the values only
    const seeds = Array.isArray(c.gradOutput) ? c.gradOutput : [c.gradOutput];
    const diff = inputs.filter((x) => x.requiresGrad);
    if (diff.length) {
      const gs = autograd.grad(outs.slice(0, seeds.length), diff, { gradOutputs: seeds.map(decode), allowUnused: true });
      let k = 0;
      c.grads.forEach((g, i) => {
        if (g === null) return;
        const got = gs[k++] ?? tensor(new (g.dtype === "float64" ? Float64Array : Float32Array)(g.data.length), { shape: g.shape });
        const p = compare(`grad ${i}`, got, g, tol);
        if (p) problems.push(p);
      });
    }
  }
  return problems;
}

if (!existsSync(FIXTURE)) {
  test("fixtures/torch/ops.json exists", () => {
    assert.fail("fixtures/torch/ops.json is missing: run /usr/bin/python3 scripts/gen_fixtures.py");
  });
} else {
  const cases = JSON.parse(readFileSync(FIXTURE, "utf8")) as Case[];
  const byOp = new Map<string, Case[]>();
  for (const c of cases) byOp.set(c.op, [...(byOp.get(c.op) ?? []), c]);

  test("every fixture op has a Kiln mapping (unmapped ops fail, never skip)", () => {
    assert.ok(cases.length > 0, "ops.json holds no cases");
    const unmapped = [...byOp.keys()].filter((op) => !(op in OPS));
    assert.deepEqual(unmapped, [], `unmapped fixture ops: ${unmapped.join(", ")}`);
  });

  for (const [op, list] of byOp) {
    test(`torch fixture ${op} (${list.length} cases)`, () => {
      const failures: string[] = [];
      for (const c of list) {
        let problems: string[];
        try {
          problems = runCase(c);
        } catch (e) {
          problems = [`threw ${(e as Error).message}`];
        }
        for (const p of problems) failures.push(`${c.case}: ${p}`);
      }
      assert.deepEqual(failures, []);
    });
  }
}
