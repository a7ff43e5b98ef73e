// Elementwise kernel lab: max ulp error of the SIMD transcendentals against float64 JS, and ns/element JS vs wasm.
// Usage: npx tsx dev/kernels/elementwise/lab.ts [--ulp] [--bench] [--sizes 256,4096,65536] [--ops exp,add]
//        npx tsx dev/kernels/elementwise/lab.ts --raw [--src other.ts] [--sd 0.58]
// --ulp compiles elementwise.ts (this directory) fresh, so an edited kernel is measured without a build; --bench
// times whole backend kernels (copies included) from the built module, with the size thresholds forced to 0;
// --raw times the exact GELU kernels (x ~ N(0, sd²)) and softmax rows (64, causal and not) of a fresh compile of
// --src (default elementwise.ts) inside WebAssembly memory, without copies: versions compared side by side.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import asc from "assemblyscript/asc";
import { jsBackend } from "../../../src/backend/js/js_backend.js";
import { erf } from "../../../src/backend/js/special.js";
import { wasmBackend } from "../../../src/backend/wasm/wasm_backend.js";
import { wasmElementwiseConfig } from "../../../src/backend/wasm/elementwise.js";
import { Generator } from "../../../src/random.js";
import type { Backend, View } from "../../../src/backend/backend.js";

const argv = process.argv.slice(2);
const opt = (name: string) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
const doRaw = argv.includes("--raw");
const doUlp = argv.includes("--ulp") || (!argv.includes("--bench") && !doRaw);
const doBench = argv.includes("--bench") || (!argv.includes("--ulp") && !doRaw);
const g = new Generator(11);

async function compile(path: string): Promise<WebAssembly.Exports> {
  // the build puts the shared arena in front of the kernels
  const source = readFileSync(fileURLToPath(new URL("../common/arena.ts", import.meta.url)), "utf8") + "\n" + readFileSync(path, "utf8");
  const r = await asc.compileString(source, { optimizeLevel: 3, runtime: "stub", noAssert: true, enable: ["simd"] });
  if (r.error || !r.binary) throw new Error(`[lab] compile failed: ${r.stderr.toString()}`);
  return new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(r.binary)), {}).exports;
}
const here = (name: string) => fileURLToPath(new URL(name, import.meta.url));

if (doRaw) {
  const ex = await compile(opt("--src") ?? here("elementwise.ts")) as unknown as {
    memory: WebAssembly.Memory; arena(bytes: number): number; gelu(x: number, o: number, n: number, tanh: number): void;
    gelu_backward(g: number, x: number, o: number, n: number, tanh: number): void; softmax_last(x: number, o: number, rows: number, cols: number, log: number): void };
  const N = 1 << 20, sd = Number(opt("--sd") ?? 1);
  const at = ex.arena(N * 12), x = at, gr = at + N * 4, o = at + N * 8;
  const normal = () => Math.sqrt(-2 * Math.log(1 - g.nextDouble())) * Math.cos(2 * Math.PI * g.nextDouble());
  const mem = new Float32Array(ex.memory.buffer);
  for (let i = 0; i < N; i++) { mem[(x >> 2) + i] = normal() * sd; mem[(gr >> 2) + i] = normal(); }
  // attention scores of (64, 64) rows: -inf above the diagonal (causal) or not
  const scores = (causal: boolean) => Float32Array.from({ length: N }, (_, i) => (causal && (i & 63) > ((i >> 6) & 63) ? -Infinity : normal() * 2));
  const time = (name: string, f: () => void, before = () => {}) => {
    const runs: number[] = [];
    for (let k = 0; k < 15; k++) { before(); const t0 = performance.now(); f(); runs.push(performance.now() - t0); }
    console.log(`| ${name} | ${((runs.sort((p, q) => p - q)[3] * 1e6) / N).toFixed(2)} |`);
  };
  console.log(`raw ns/element, ${N} elements, x ~ N(0, ${sd}²) for GELU\n| kernel | ns/element |\n|---|---|`);
  time("gelu", () => ex.gelu(x, o, N, 0));
  time("geluBackward", () => ex.gelu_backward(gr, x, o, N, 0));
  for (const causal of [true, false]) {
    const s = scores(causal);
    time(`softmax (64, 64)${causal ? " causal" : ""}`, () => ex.softmax_last(x, o, N / 64, 64, 0), () => mem.set(s, x >> 2));
  }
}

/** Distance in float32 units in the last place from got to the float64 reference (subnormal spacing below 2^-126). */
function ulpErr(got: number, ref: number): number {
  if (ref !== ref) return got !== got ? 0 : Infinity;
  if (!Number.isFinite(ref) || got === 0 && ref === 0) return Object.is(got, ref) || got === ref ? 0 : Infinity;
  if (!Number.isFinite(got)) return Math.abs(Math.fround(ref)) === Infinity && got === Math.fround(ref) ? 0 : Infinity;
  const e = Math.max(Math.floor(Math.log2(Math.abs(ref))), -126);
  return Math.abs(got - ref) / 2 ** (e - 23);
}

if (doUlp) {
  const ex = await compile(here("elementwise.ts")) as unknown as
    { memory: WebAssembly.Memory; arena(bytes: number): number; gelu(x: number, o: number, n: number, tanh: number): void;
      gelu_backward(g: number, x: number, o: number, n: number, tanh: number): void } & Record<string, (x: number, o: number, n: number) => void>;
  const refs: Record<string, (x: number) => number> = {
    exp: Math.exp, log: Math.log, log1p: Math.log1p, tanh: Math.tanh, sigmoid: (v) => 1 / (1 + Math.exp(-v)), erf,
    sqrt: Math.sqrt, neg: (v) => -v, abs: Math.abs, relu: (v) => (v > 0 || v !== v ? v : 0),
  };
  // edge values, then every exponent's range by random bit patterns, then the ranges that matter most
  const edge = [0, -0, Infinity, -Infinity, NaN, 1, -1, 1e-45, -1e-45, 1e-40, 1.1754942e-38, 1.1754944e-38, 3.4028235e38, -3.4028235e38,
    88.72283, 88.72284, 89, -87.33654, -103.2789, -103.97, -104, 0.84375, 1.25, 2.857142857, 4, 6, -0.999999, -0.5, 0.625, -0.625, 1e-8];
  const N = 1 << 20;
  const xs = new Float32Array(N);
  xs.set(edge);
  const bits = new Uint32Array(xs.buffer);
  for (let i = edge.length; i < N / 2; i++) bits[i] = g.nextUint32();
  for (let i = N / 2; i < N; i++) xs[i] = (g.nextDouble() * 2 - 1) * [1, 4, 20, 100][i & 3];
  const at = ex.arena(N * 8);
  console.log(`max ulp error against float64 JS, ${N} inputs (${edge.length} edge values, half random bit patterns, half in ±1..±100)`);
  console.log("| op | max ulp | at x | mean ulp |\n|---|---|---|---|");
  for (const [op, f] of Object.entries(refs)) {
    new Float32Array(ex.memory.buffer).set(xs, at >> 2);
    ex[`u_${op}`](at, at + N * 4, N);
    const got = new Float32Array(ex.memory.buffer, at + N * 4, N);
    let worst = 0, worstX = 0, sum = 0, finite = 0;
    for (let i = 0; i < N; i++) {
      const e = ulpErr(got[i], f(xs[i]));
      if (e > worst) { worst = e; worstX = xs[i]; }
      if (Number.isFinite(e)) { sum += e; finite++; }
    }
    console.log(`| ${op} | ${worst.toFixed(2)} | ${worstX} | ${(sum / finite).toFixed(3)} |`);
  }
  // GELU forward and backward (g = 1) against the reference's float64 formulas; below x = -5 the reference's own
  // 1 + erf cancels (it is 0 from x ≈ -8.3 on, where the true value is ~1e-16 x), so there only |error| counts
  const B = 0.7978845608028654, K = 0.044715, R2 = Math.SQRT1_2, IS2PI = 0.3989422804014327;
  // the derivatives are a sum of two terms that cancel near x = -0.75: their ulp is of the larger term there
  const tanhTerms = (v: number): [number, number] => { const t = Math.tanh(B * (v + K * v * v * v)); return [0.5 * (1 + t), 0.5 * v * (1 - t * t) * B * (1 + 3 * K * v * v)]; };
  const erfTerms = (v: number): [number, number] => [0.5 * (1 + erf(v * R2)), v * Math.exp(-0.5 * v * v) * IS2PI];
  const gelus: [string, (v: number) => [number, number], (x: number, o: number) => void][] = [
    ["gelu", (v) => [0.5 * v * (1 + erf(v * R2)), 0], (x, o) => ex.gelu(x, o, N, 0)],
    ["gelu tanh", (v) => [0.5 * v * (1 + Math.tanh(B * (v + K * v * v * v))), 0], (x, o) => ex.gelu(x, o, N, 1)],
    ["geluBackward", erfTerms, (x, o) => ex.gelu_backward(o, x, o, N, 0)],
    ["geluBackward tanh", tanhTerms, (x, o) => ex.gelu_backward(o, x, o, N, 1)],
  ];
  console.log("\n| op | max ulp (x ≥ -5; derivatives: ulp of the larger term) | at x | max abs error (x < -5) |\n|---|---|---|---|");
  for (const [op, f, run] of gelus) {
    const mem = new Float32Array(ex.memory.buffer);
    mem.set(xs, at >> 2);
    mem.fill(1, (at >> 2) + N, (at >> 2) + 2 * N);
    run(at, at + N * 4);
    const got = new Float32Array(ex.memory.buffer, at + N * 4, N);
    let worst = 0, worstX = 0, tail = 0;
    for (let i = 0; i < N; i++) {
      const [t1, t2] = f(xs[i]), ref = t1 + t2;
      if (xs[i] < -5) { if (Number.isFinite(ref)) tail = Math.max(tail, Math.abs(got[i] - ref)); continue; }
      const big = Math.max(Math.abs(t1), Math.abs(t2));
      const e = Number.isFinite(ref) && Math.abs(ref) < big ? Math.abs(got[i] - ref) / 2 ** (Math.floor(Math.log2(big)) - 23) : ulpErr(got[i], ref);
      if (e > worst) { worst = e; worstX = xs[i]; }
    }
    console.log(`| ${op} | ${worst.toFixed(2)} | ${worstX} | ${tail.toExponential(1)} |`);
  }
}

if (doBench && wasmBackend) {
  const sizes = (opt("--sizes") ?? "64,256,1024,4096,65536,1048576").split(",").map(Number);
  const only = opt("--ops")?.split(",");
  Object.assign(wasmElementwiseConfig, { minCheap: 0, minTranscendental: 0, minReduce: 0, minCopy: 0 });
  const rand = (n: number) => { const b = new Float32Array(n); for (let i = 0; i < n; i++) b[i] = g.nextDouble() * 4 - 2; return b; };
  const view = (buf: Float32Array, shape: number[], strides = [...shape.keys()].map((d) => shape.slice(d + 1).reduce((p, q) => p * q, 1))): View =>
    ({ buf, shape, strides, offset: 0 });
  /** name → per-size call on a backend (C = 64 columns for row layouts, like the transformer's head dim) */
  const cases: Record<string, (n: number) => (be: Backend) => unknown> = {};
  for (const u of ["neg", "relu", "exp", "log", "tanh", "sigmoid", "erf"] as const) {
    cases[u] = (n) => { const x = view(rand(n), [n]); return (be) => be[u](x, "float32"); };
  }
  for (const b of ["add", "mul", "div", "maximum"] as const) {
    cases[b] = (n) => { const x = view(rand(n), [n]), y = view(rand(n), [n]); return (be) => be[b](x, y, [n], "float32"); };
  }
  cases["add bias row"] = (n) => { const x = view(rand(n), [n / 64, 64]), y = view(rand(64), [64]); return (be) => be.add(x, y, [n / 64, 64], "float32"); };
  cases["mul last-dim bcast"] = (n) => { const x = view(rand(n), [n / 64, 64]), y = view(rand(n / 64), [n / 64, 1]); return (be) => be.mul(x, y, [n / 64, 64], "float32"); };
  cases["sum last dim"] = (n) => { const x = view(rand(n), [n / 64, 64]); return (be) => be.sum(x, [1], "float32"); };
  cases["max last dim"] = (n) => { const x = view(rand(n), [n / 64, 64]); return (be) => be.max(x, [1], "float32"); };
  cases["sum lead dims"] = (n) => { const x = view(rand(n), [n / 64, 64]); return (be) => be.sum(x, [0], "float32"); };
  cases["gelu"] = (n) => { const x = view(rand(n), [n]); return (be) => be.gelu(x, false, "float32"); };
  cases["geluBackward"] = (n) => { const x = view(rand(n), [n]), gr = view(rand(n), [n]); return (be) => be.geluBackward(gr, x, false, "float32"); };
  cases["softmax"] = (n) => { const x = view(rand(n), [n / 64, 64]); return (be) => be.softmax(x, 1, false, "float32"); };
  cases["softmaxBackward"] = (n) => { const x = view(rand(n), [n / 64, 64]), y = view(rand(n), [n / 64, 64]); return (be) => be.softmaxBackward(x, y, 1, false, "float32"); };
  cases["layerNorm"] = (n) => { const x = view(rand(n), [n / 64, 64]); return (be) => be.layerNorm(x, 64, 1e-5, "float32"); };
  cases["layerNormBackward"] = (n) => { const x = view(rand(n), [n / 64, 64]), gr = view(rand(n), [n / 64, 64]); return (be) => be.layerNormBackward(gr, x, 64, 1e-5, "float32"); };
  cases["copy transposed"] = (n) => { const x = view(rand(n), [64, n / 64], [1, 64]); return (be) => be.copy(x, "float32"); };
  /** Median ns per element over ~20 ms of calls, after a warm-up (V8's first calls run in the baseline tier). */
  function time(f: () => unknown, n: number): number {
    for (let i = 0; i < 20; i++) f();
    const reps = Math.max(1, Math.round(2e6 / n));
    const runs: number[] = [];
    for (let r = 0; r < 7; r++) {
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) f();
      runs.push(((performance.now() - t0) * 1e6) / (reps * n));
    }
    return runs.sort((p, q) => p - q)[3];
  }
  console.log(`\nns/element, JS → wasm (copies included), sizes ${sizes.join(", ")}`);
  console.log(`| kernel | ${sizes.join(" | ")} |\n|---|${sizes.map(() => "---").join("|")}|`);
  for (const [name, make] of Object.entries(cases)) {
    if (only && !only.some((o) => name.startsWith(o))) continue;
    const cells = sizes.filter((n) => n >= 64).map((n) => {
      const call = make(n);
      return `${time(() => call(jsBackend), n).toFixed(2)} → ${time(() => call(wasmBackend!), n).toFixed(2)}`;
    });
    console.log(`| ${name} | ${cells.join(" | ")} |`);
  }
}
