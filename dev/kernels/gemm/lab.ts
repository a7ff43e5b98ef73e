// GEMM kernel lab: compile an AssemblyScript GEMM, validate it against the JS reference, time the raw kernel.
// Usage: npx tsx dev/kernels/gemm/lab.ts [source.ts] [--relaxed] [--set KC=128 ...] [--sizes 256,512,1024]
// (--relaxed needs `node --experimental-wasm-relaxed-simd --import tsx` on Node 20.) The timing excludes the
// copy-in/out the backend adds, so it measures the kernel alone; bench/gemm.ts measures the whole matmul.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import asc from "assemblyscript/asc";
import { jsBackend } from "../../../src/backend/js/js_backend.js";
import { Generator } from "../../../src/random.js";
import type { View } from "../../../src/backend/backend.js";

const argv = process.argv.slice(2);
const opt = (name: string) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
const relaxed = argv.includes("--relaxed");
const srcPath = argv[0] && !argv[0].startsWith("--") ? argv[0] : fileURLToPath(new URL("gemm.ts", import.meta.url));
const sizes = (opt("--sizes") ?? "256,512,1024").split(",").map(Number);

// --set NAME=VALUE rewrites `@inline const NAME = ...;` so block sizes can be swept without editing the file
// the build puts im2col.ts and elementwise.ts in front of gemm.ts (the convolution, row and attention units call them)
const before = ["../conv/im2col.ts", "../elementwise/elementwise.ts"].map((f) => readFileSync(fileURLToPath(new URL(f, import.meta.url)), "utf8"));
let source = [...before, readFileSync(srcPath, "utf8")].join("\n");
argv.forEach((a, i) => {
  if (a !== "--set") return;
  const [name, value] = argv[i + 1].split("=");
  const re = new RegExp(`(@inline const ${name}(?:: \\w+)? = )[^;]+;`);
  if (!re.test(source)) throw new Error(`[lab] no '@inline const ${name}' in ${srcPath}`);
  source = source.replace(re, `$1${value};`);
});
const r = await asc.compileString(source, { optimizeLevel: 3, runtime: "stub", noAssert: true, enable: relaxed ? ["simd", "relaxed-simd"] : ["simd"] });
if (r.error || !r.binary) throw new Error(`[lab] compile failed: ${r.stderr.toString()}`);
const ex = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(r.binary)), {}).exports as unknown as {
  memory: WebAssembly.Memory; control(): number; arena(bytes: number, threads: number): number; run(t: number, max: number): number;
};

/** One-thread job of one call (the layout src/backend/wasm/gemm.ts writes): the call table at `at`, one unit. */
function job(at: number, a: number, ars: number, acs: number, b: number, brs: number, bcs: number, c: number, M: number, N: number, K: number): () => void {
  const w = new Int32Array(ex.memory.buffer);
  w.set([a, ars, acs, b, brs, bcs, c, M, N, K, 0], at >> 2); // no bias
  const ctl = ex.control() >> 2;
  return () => {
    w.set([0, 0, 1, 1, 0, N, at], ctl + 1); // NEXT, DONE, UNITS, CHUNKS, SPLIT (by columns), WIDTH, CALLS
    ex.run(0, 1);
  };
}

const g = new Generator(7);
/** A (rows × cols) float32 matrix in WASM memory at `at`, row-major or transposed (column-major) storage. */
function operand(at: number, rows: number, cols: number, transposed: boolean): { view: View; ptr: number; rs: number; cs: number } {
  const buf = new Float32Array(rows * cols);
  for (let i = 0; i < buf.length; i++) buf[i] = g.nextDouble() * 2 - 1;
  new Float32Array(ex.memory.buffer).set(buf, at >> 2);
  const [rs, cs] = transposed ? [1, rows] : [cols, 1];
  return { view: { buf, shape: [rows, cols], strides: [rs, cs], offset: 0 }, ptr: at, rs, cs };
}
function setup(M: number, N: number, K: number, ta: boolean, tb: boolean) {
  const base = ex.arena((M * K + K * N + M * N) * 4 + 192, 1) + 64;
  const a = operand(base, M, K, ta), b = operand(base + ((M * K * 4 + 63) & ~63), K, N, tb);
  const c = base + ((M * K * 4 + 63) & ~63) + ((K * N * 4 + 63) & ~63);
  return { a, b, c, call: job(base - 64, a.ptr, a.rs, a.cs, b.ptr, b.rs, b.cs, c, M, N, K) };
}

// validation: odd sizes and both transposes against the float64-accumulating reference
let worst = 0;
for (const [M, N, K] of [[1, 1, 1], [3, 5, 7], [13, 17, 33], [65, 127, 300], [4, 8, 256], [5, 9, 257], [70, 1030, 20]]) {
  for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
    const s = setup(M, N, K, ta, tb);
    s.call();
    const ref = jsBackend.matmul(s.a.view, s.b.view, [M, N], "float64");
    const got = new Float32Array(ex.memory.buffer, s.c, M * N);
    for (let i = 0; i < M * N; i++) worst = Math.max(worst, Math.abs(got[i] - ref[i]) / (K * 2 ** -23 * Math.sqrt(K) + 1e-30));
  }
}
if (worst > 1) throw new Error(`[lab] mismatch: worst error ${worst.toFixed(2)} × (K·ε·√K)`);
console.log(`valid (worst error ${worst.toFixed(3)} of K·ε·√K); ${relaxed ? "relaxed SIMD" : "SIMD"}; ${argv.filter((a, i) => argv[i - 1] === "--set").join(" ") || "defaults"}`);

for (const n of sizes) {
  const line = [`N=${n}`];
  for (const [name, ta, tb] of [["A·B", false, false], ["Aᵀ·B", true, false], ["A·Bᵀ", false, true]] as const) {
    const s = setup(n, n, n, ta, tb);
    s.call(); s.call();
    const ms: number[] = [];
    for (let i = 0; i < Math.max(3, Math.min(20, Math.floor(3e8 / n ** 3))); i++) {
      const t0 = performance.now(); s.call(); ms.push(performance.now() - t0);
    }
    ms.sort((x, y) => x - y);
    line.push(`${name} ${((2 * n ** 3) / (ms[ms.length >> 1] * 1e6)).toFixed(1)}`);
  }
  console.log(line.join("  "));
}
