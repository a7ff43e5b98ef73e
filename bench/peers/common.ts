// Shared by the suite's peer processes (bench/peers/*.ts): workload sizes, timing loops, and the result line.
// A peer process runs ONE workload and prints `@@RESULT {json}` on stdout; bench/suite.ts parses that line.

export const WORKLOADS = ["gemm", "seed", "mlp", "cnn", "transformer"] as const;
export type Workload = (typeof WORKLOADS)[number];

export const GEMM_SIZES = [64, 128, 256, 512, 1024, 2048];
export const MLP = { n: 10000, inDim: 784, hidden: 256, classes: 10, batch: 64, lr: 1e-3 };
export const CNN = { n: 1024, batch: 64, lr: 1e-3 }; // 16 distinct random batches, cycled
export const TRANSFORMER = { vocab: 64, ctx: 64, dModel: 128, heads: 4, layers: 2, ff: 512, batch: 32, lr: 3e-4, weightDecay: 0.01, batches: 4 };
export const SEED = { n: 10000, batch: 16, epochs: 10, lr: 1e-3 };

/** Time budget of one measurement (one workload phase of one peer), ms. */
export const BUDGET_MS = Number(process.env.SUITE_BUDGET_MS ?? 3000);
/** A training/inference step slower than this is timed once, cold, and not repeated (keeps the suite near 5 minutes). */
export const SLOW_MS = Number(process.env.SUITE_SLOW_MS ?? 8000);
/** Fewer than minWindows windows are timed (at least one) when the next would take a phase past this, warm-up included. */
export const PHASE_CAP_MS = Number(process.env.SUITE_PHASE_CAP_MS ?? 25000);

export const median = (xs: number[]) => {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export interface Windows {
  /** ms per step, one entry per timed window (a window = `perWindow` consecutive steps, GC pauses included). */
  msPerStep: number[];
  perWindow: number;
  warmupSteps: number;
  timedSteps: number;
  /** the first step took over SLOW_MS, so it was timed alone, cold (V8 baseline tier, first allocations) */
  coldOnly?: boolean;
}

/**
 * Warm up (`warmup` steps), time one step to size the windows, then time windows of consecutive steps until
 * `minWindows` windows and `budgetMs` have passed (at most `maxWindows`). `step(i)` gets a running step index.
 */
export function timeWindows(step: (i: number) => void, o: { warmup: number; budgetMs?: number; minWindows?: number; maxWindows?: number } ): Windows {
  const budgetMs = o.budgetMs ?? BUDGET_MS, minWindows = o.minWindows ?? 3, maxWindows = o.maxWindows ?? 7;
  let i = 0;
  // warm-up: `warmup` steps, fewer when they already took the whole budget (slow steps: JIT warm-up is a small share)
  const w0 = performance.now();
  let warmupSteps = 0;
  while (warmupSteps < Math.max(1, o.warmup) && (warmupSteps === 0 || performance.now() - w0 < budgetMs)) { step(i++); warmupSteps++; }
  const cold = performance.now() - w0;
  // a step slower than SLOW_MS is not repeated: the one cold step is all that is reported
  if (warmupSteps === 1 && cold > SLOW_MS) return { msPerStep: [cold], perWindow: 1, warmupSteps: 0, timedSteps: 1, coldOnly: true };
  // a one-step probe sizes the windows; it counts as the first window when windows are one step long
  let t0 = performance.now();
  step(i++);
  const one = performance.now() - t0;
  const perWindow = Math.max(1, Math.floor(budgetMs / maxWindows / Math.max(one, 1e-3)));
  const msPerStep: number[] = perWindow === 1 ? [one] : [];
  if (perWindow > 1) warmupSteps++;
  const start = performance.now();
  const capped = () => performance.now() - w0 + perWindow * one > PHASE_CAP_MS; // the next window would pass the cap
  while (msPerStep.length < maxWindows && (msPerStep.length < minWindows || performance.now() - start < budgetMs) && !(msPerStep.length >= 1 && capped())) {
    t0 = performance.now();
    for (let k = 0; k < perWindow; k++) step(i++);
    msPerStep.push((performance.now() - t0) / perWindow);
  }
  return { msPerStep, perWindow, warmupSteps, timedSteps: msPerStep.length * perWindow };
}

/** GFLOP/s of an N×N·N×N product: warm-up calls at each size (~50 ms of them when calls are short), then the median of at least 3 timed calls within the budget; a call over 1 s (warm from the smaller sizes) is itself timed, with more runs only while within the budget. */
export function gemmRates(mm: (n: number) => () => void, sizes = GEMM_SIZES, budgetMs = Math.min(BUDGET_MS, 2000)): Record<number, { gflops: number; reps: number }> {
  const out: Record<number, { gflops: number; reps: number }> = {};
  for (const n of sizes) {
    const run = mm(n);
    const time = () => { const t0 = performance.now(); run(); return performance.now() - t0; };
    let first = time();
    // NOTE: JS engines start in a baseline tier; a single warm-up call left Kiln and tfjs-wasm at a third of their
    // speed at the first size (N = 64), so short calls get ~50 ms of warm-up
    for (let i = 0; first < 50 && i < 50 / first && i < 200; i++) first = Math.min(first, time());
    // over 1 s a call is its own warm-up's successor (the kernel ran at the smaller sizes): keep it, add runs within the budget
    const ms: number[] = first > 1000 ? [first] : [];
    const start = performance.now();
    const minReps = first > 1000 ? 1 : 3;
    while (ms.length < minReps || (ms.length < 30 && performance.now() - start + (first > 1000 ? first : 0) < budgetMs)) ms.push(time());
    out[n] = { gflops: (2 * n ** 3) / (median(ms) * 1e6), reps: ms.length };
  }
  return out;
}

/** Peak resident set size of this process so far, MiB (Linux reports maxRSS in KiB). */
export const maxRssMiB = () => process.resourceUsage().maxRSS / 1024;

export function emit(result: Record<string, unknown>): void {
  console.log(`@@RESULT ${JSON.stringify({ ...result, maxRssMiB: maxRssMiB() })}`);
}

/** Mulberry32: a small seeded PRNG for peers without a seeded generator of their own. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n standard normals (Box–Muller) from `rand`. */
export function normals(n: number, rand: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - rand())), th = 2 * Math.PI * rand();
    out[i] = r * Math.cos(th);
    if (i + 1 < n) out[i + 1] = r * Math.sin(th);
  }
  return out;
}

/** The seed program's data: two Gaussian blobs (scale 8, 5; centres (50, 30), (70, 45)), z-scored; x (n·2), y (n). */
export function seedData(n: number, rand: () => number): { x: Float32Array; y: Float32Array } {
  const z = normals(2 * n, rand), x = new Float32Array(2 * n), y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const second = i >= n / 2;
    x[2 * i] = z[2 * i] * 8 + (second ? 70 : 50);
    x[2 * i + 1] = z[2 * i + 1] * 5 + (second ? 45 : 30);
    y[i] = second ? 1 : 0;
  }
  for (const c of [0, 1]) {
    let m = 0, v = 0;
    for (let i = 0; i < n; i++) m += x[2 * i + c];
    m /= n;
    for (let i = 0; i < n; i++) v += (x[2 * i + c] - m) ** 2;
    const sd = Math.sqrt(v / n);
    for (let i = 0; i < n; i++) x[2 * i + c] = (x[2 * i + c] - m) / sd;
  }
  return { x, y };
}

export function workloadArg(argv: string[]): Workload {
  const w = argv.find((a) => (WORKLOADS as readonly string[]).includes(a));
  if (!w) throw new Error(`[bench/peers] name a workload: ${WORKLOADS.join(" | ")}`);
  return w as Workload;
}
