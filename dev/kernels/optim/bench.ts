// Optimizer update microbenchmark: ns per element of each update, JS loop vs WebAssembly SIMD (copies included).
// Usage: npx tsx dev/kernels/optim/bench.ts [--sizes 64,128,256,512,1024,200960]
import { setBackend } from "../../../src/backend/active.js";
import { wasmOptimConfig } from "../../../src/backend/wasm/optim.js";
import { adagradUpdate, adamUpdate, rmspropUpdate, sgdUpdate } from "../../../src/optim/kernels.js";

const argv = process.argv.slice(2);
const at = argv.indexOf("--sizes");
const sizes = (at >= 0 ? argv[at + 1] : "64,128,256,512,1024,200960").split(",").map(Number);

function filled(n: number, scale: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (Math.sin(i * 12.9898) * 43758.5453 % 1) * scale;
  return a;
}

const updates: Record<string, (n: number) => (step: number) => void> = {
  adam: (n) => {
    const p = filled(n, 1), g = filled(n, 1e-2), m = new Float32Array(n), v = new Float32Array(n);
    return (s) => adamUpdate(p, g, n, m, v, null, 1e-3, 0.9, 0.999, 1 - 0.9 ** s, Math.sqrt(1 - 0.999 ** s), 1e-8, 0, false, false, true);
  },
  adamw: (n) => {
    const p = filled(n, 1), g = filled(n, 1e-2), m = new Float32Array(n), v = new Float32Array(n);
    return (s) => adamUpdate(p, g, n, m, v, null, 1e-3, 0.9, 0.999, 1 - 0.9 ** s, Math.sqrt(1 - 0.999 ** s), 1e-8, 1e-2, true, false, true);
  },
  "sgd momentum": (n) => {
    const p = filled(n, 1), g = filled(n, 1e-2), buf = new Float32Array(n);
    return (s) => sgdUpdate(p, g, n, buf, s === 1, 1e-2, 0.9, 0, 0, false, false, true);
  },
  rmsprop: (n) => {
    const p = filled(n, 1), g = filled(n, 1e-2), sq = new Float32Array(n);
    return () => rmspropUpdate(p, g, n, sq, null, null, 1e-2, 0.99, 1e-8, 0, 0, false, true);
  },
  adagrad: (n) => {
    const p = filled(n, 1), g = filled(n, 1e-2), sum = new Float32Array(n);
    return (s) => adagradUpdate(p, g, n, sum, 1e-2 / (1 + (s - 1) * 1e-3), 1e-10, 0, false, true);
  },
};

/** Best of 5 rounds of ns per element, each round long enough (~50 ms) to swamp timer noise. */
function time(run: (step: number) => void, n: number): number {
  const reps = Math.max(3, Math.ceil(5e6 / n));
  let step = 1, best = Infinity;
  for (let i = 0; i < reps; i++) run(step++); // warm-up, out of V8's baseline tier
  for (let round = 0; round < 5; round++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) run(step++);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / reps / n);
  }
  return best;
}

console.log(`| update | n | JS ns/elem | wasm ns/elem | speed-up |`);
console.log(`|---|---|---|---|---|`);
wasmOptimConfig.minN = 1;
for (const [name, make] of Object.entries(updates)) {
  for (const n of sizes) {
    setBackend("js");
    const js = time(make(n), n);
    setBackend("wasm");
    const wa = time(make(n), n);
    console.log(`| ${name} | ${n} | ${js.toFixed(2)} | ${wa.toFixed(2)} | ${(js / wa).toFixed(1)}× |`);
  }
}
