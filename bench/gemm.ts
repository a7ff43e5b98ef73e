// float32 GEMM GFLOP/s, JS reference vs WebAssembly SIMD vs relaxed SIMD, plain and with transposed operands.
// Usage: npx tsx bench/gemm.ts [sizes...]   (default 128 256 512 1024 2048; JS is skipped above 1024)
// NOTE: relaxed SIMD needs --experimental-wasm-relaxed-simd on Node 20, so this re-runs itself with the flag
// in a child process for that column (the child prints JSON rows on stdout).
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { randn, type Tensor } from "../src/index.js";
import { jsBackend } from "../src/backend/js/js_backend.js";
import { wasmBackend, wasmGemmVariant } from "../src/backend/wasm/wasm_backend.js";
import type { Backend } from "../src/backend/backend.js";

const FLAG = "--experimental-wasm-relaxed-simd";
const child = process.argv.includes("--child");
const sizes = process.argv.slice(2).filter((a) => /^\d+$/.test(a)).map(Number);
if (sizes.length === 0) sizes.push(128, 256, 512, 1024, 2048);
const CASES = ["A·B", "Aᵀ·B", "A·Bᵀ"] as const;
type Case = (typeof CASES)[number];

/** Operands for `c`: the transposed one is a permuted view of a contiguous tensor (no copy). */
function operands(n: number, c: Case): [Tensor, Tensor] {
  const a = c === "Aᵀ·B" ? randn([n, n]).T : randn([n, n]);
  const b = c === "A·Bᵀ" ? randn([n, n]).T : randn([n, n]);
  return [a, b];
}

/** Median GFLOP/s of be.matmul after warm-up (V8 starts in its baseline tier); about `budgetMs` of runs. */
function gflops(be: Backend, n: number, c: Case, budgetMs = 1500): number {
  const [a, b] = operands(n, c);
  const run = () => {
    const t0 = performance.now();
    be.matmul(a, b, [n, n], "float32");
    return performance.now() - t0;
  };
  // a second warm-up only when runs are short: the JS kernel takes seconds at N = 1024
  const first = run();
  if (first < 100) run();
  const reps = Math.max(3, Math.min(50, Math.floor(budgetMs / Math.max(first, 1e-3))));
  const ms = Array.from({ length: reps }, run).sort((x, y) => x - y);
  return (2 * n * n * n) / (ms[reps >> 1] * 1e6);
}

type Row = { n: number; c: Case; js?: number; simd?: number; relaxed?: number };

if (child) {
  if (wasmGemmVariant() !== "relaxed-simd" || !wasmBackend) process.exit(3);
  const rows: Row[] = [];
  for (const n of sizes) for (const c of CASES) rows.push({ n, c, relaxed: gflops(wasmBackend, n, c) });
  console.log(JSON.stringify(rows));
} else {
  if (!wasmBackend) throw new Error("[bench/gemm] this runtime has no WebAssembly SIMD");
  if (wasmGemmVariant() !== "simd") throw new Error(`[bench/gemm] run without ${FLAG}: the child process measures relaxed SIMD`);
  const rows: Row[] = [];
  for (const n of sizes) {
    for (const c of CASES) {
      rows.push({ n, c, js: n <= 1024 ? gflops(jsBackend, n, c, 500) : undefined, simd: gflops(wasmBackend, n, c) });
    }
  }
  const r = spawnSync(process.execPath, [FLAG, "--import", "tsx", fileURLToPath(import.meta.url), "--child", ...sizes.map(String)], { encoding: "utf8" });
  const relaxed: Row[] = r.status === 0 ? JSON.parse(r.stdout) : [];
  if (r.status !== 0) console.log(`(relaxed SIMD unavailable: ${r.stderr.trim().split("\n").pop() ?? `exit ${r.status}`})`);
  const fmt = (v?: number) => (v === undefined ? "—" : v.toFixed(1)).padStart(8);
  console.log(`float32 GEMM, GFLOP/s (median), one thread, Node ${process.version}`);
  console.log(`${"N".padStart(5)}  ${"case".padEnd(6)}${"JS".padStart(8)}${"SIMD".padStart(8)}${"relaxed".padStart(8)}${"SIMD/JS".padStart(9)}`);
  for (const row of rows) {
    const rel = relaxed.find((x) => x.n === row.n && x.c === row.c)?.relaxed;
    const ratio = row.js ? `${(row.simd! / row.js).toFixed(1)}x` : "—";
    console.log(`${String(row.n).padStart(5)}  ${row.c.padEnd(6)}${fmt(row.js)}${fmt(row.simd)}${fmt(rel)}${ratio.padStart(9)}`);
  }
}
