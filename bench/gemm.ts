// float32 GEMM GFLOP/s: JS reference vs WebAssembly SIMD vs relaxed SIMD, on one thread and on all threads, plain and transposed.
// Usage: npx tsx bench/gemm.ts [sizes...]   (default 64 128 256 512 1024 2048; JS runs up to 512)
// NOTE: relaxed SIMD is opt-in (KILN_RELAXED_SIMD=1 turns on V8's flag before the module compiles), so this
// re-runs itself with it in a child process for those columns (the child prints JSON rows on stdout).
import { spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { randn, getNumThreads, setNumThreads, type Tensor } from "../src/index.js";
import { jsBackend } from "../src/backend/js/js_backend.js";
import { wasmBackend, wasmGemmVariant } from "../src/backend/wasm/wasm_backend.js";
import type { Backend } from "../src/backend/backend.js";

const child = process.argv.includes("--child");
const sizes = process.argv.slice(2).filter((a) => /^\d+$/.test(a)).map(Number);
if (sizes.length === 0) sizes.push(64, 128, 256, 512, 1024, 2048);
const CASES = ["A·B", "Aᵀ·B", "A·Bᵀ"] as const;
type Case = (typeof CASES)[number];
const ALL = getNumThreads();

/** Operands for `c`: the transposed one is a permuted view of a contiguous tensor (no copy). */
function operands(n: number, c: Case): [Tensor, Tensor] {
  const a = c === "Aᵀ·B" ? randn([n, n]).T : randn([n, n]);
  const b = c === "A·Bᵀ" ? randn([n, n]).T : randn([n, n]);
  return [a, b];
}

/**
 * GFLOP/s of be.matmul on `threads` threads after warm-up (V8 starts in its baseline tier): the median and the
 * best of about `budgetMs` of runs. NOTE: the machine is shared, so the best is what the code does with its cores.
 */
function gflops(be: Backend, n: number, c: Case, threads: number, budgetMs = 800): { med: number; best: number } {
  setNumThreads(threads);
  const [a, b] = operands(n, c);
  const run = () => {
    const t0 = performance.now();
    be.matmul(a, b, [n, n], "float32");
    return performance.now() - t0;
  };
  // a second warm-up only when runs are short: the JS kernel takes seconds at N = 1024
  const first = run();
  if (first < 100) run();
  const reps = Math.max(3, Math.min(200, Math.floor(budgetMs / Math.max(first, 1e-3))));
  const ms = Array.from({ length: reps }, run).sort((x, y) => x - y);
  const rate = (t: number) => (2 * n * n * n) / (t * 1e6);
  return { med: rate(ms[reps >> 1]), best: rate(ms[0]) };
}

type Rate = { med: number; best: number };
type Row = { n: number; c: Case; js?: Rate; one?: Rate; all?: Rate };

function measure(withJs: boolean): Row[] {
  const rows: Row[] = [];
  for (const n of sizes) {
    for (const c of CASES) {
      rows.push({ n, c, js: withJs && n <= 512 ? gflops(jsBackend, n, c, 1, 300) : undefined, one: gflops(wasmBackend!, n, c, 1), all: gflops(wasmBackend!, n, c, ALL) });
    }
  }
  return rows;
}

if (child) {
  if (wasmGemmVariant() !== "relaxed-simd" || !wasmBackend) process.exit(3);
  console.log(JSON.stringify(measure(false)));
} else {
  if (!wasmBackend) throw new Error("[bench/gemm] this runtime has no WebAssembly SIMD");
  if (wasmGemmVariant() !== "simd") throw new Error("[bench/gemm] run without KILN_RELAXED_SIMD: the child process measures relaxed SIMD");
  const load0 = loadavg()[0];
  const rows = measure(true);
  const r = spawnSync(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--child", ...sizes.map(String)], { encoding: "utf8", env: { ...process.env, KILN_RELAXED_SIMD: "1" } });
  const relaxed: Row[] = r.status === 0 ? JSON.parse(r.stdout) : [];
  if (r.status !== 0) console.log(`(relaxed SIMD unavailable: ${r.stderr.trim().split("\n").pop() ?? `exit ${r.status}`})`);
  const fmt = (v?: Rate) => (v === undefined ? "—" : `${v.best.toFixed(1)} (${v.med.toFixed(1)})`).padStart(13);
  console.log(`float32 GEMM, GFLOP/s: best (median) of the timed runs; all = ${ALL} threads; Node ${process.version}; load average ${load0.toFixed(1)} → ${loadavg()[0].toFixed(1)}`);
  console.log(`${"N".padStart(5)}  ${"case".padEnd(6)}${"JS".padStart(13)}${"SIMD 1".padStart(13)}${"SIMD all".padStart(13)}${"relaxed 1".padStart(13)}${"relaxed all".padStart(13)}`);
  for (const row of rows) {
    const rel = relaxed.find((x) => x.n === row.n && x.c === row.c);
    console.log(`${String(row.n).padStart(5)}  ${row.c.padEnd(6)}${fmt(row.js)}${fmt(row.one)}${fmt(row.all)}${fmt(rel?.one)}${fmt(rel?.all)}`);
  }
}
