// Worker pool for the WebAssembly GEMM: node:worker_threads workers instantiate the same module on one shared memory.
// NOTE: node:worker_threads and node:os come from process.getBuiltinModule (Node ≥ 20.16), not an import, so
// bundlers and src/browser.ts never see a Node built-in; browsers and older Node run one thread.

interface NodeWorker {
  unref(): void;
  on(event: "error", listener: (e: unknown) => void): void;
}
type NodeProcess = {
  env?: Record<string, string | undefined>;
  getBuiltinModule?(id: string): unknown;
};
const proc = (globalThis as { process?: NodeProcess }).process;
const workerThreads = proc?.getBuiltinModule?.("node:worker_threads") as
  | { Worker: new (src: string, opts: { eval: true; execArgv: string[]; workerData: unknown }) => NodeWorker }
  | undefined;

// Control words shared with dev/kernels/gemm/gemm.ts (i32 index = byte offset / 4). ACTIVE, FAILED and
// INSIDE (workers now inside `run`) are used only by the JS here and in the workers.
export const CTL = { GEN: 0, NEXT: 1, DONE: 2, UNITS: 3, CHUNKS: 4, SPLIT: 5, WIDTH: 6, CALLS: 7, ACTIVE: 8, FAILED: 9, INSIDE: 10, PARTIALS: 11, FLAGS: 12, CONV: 13 } as const;
/**
 * Values of CTL.SPLIT: how each call's work is cut into units. BY_IMAGE: a convolution, one image per call and
 * unit; BY_K_IM2COL: a convolution's weight gradient, one K block per unit, as BY_K; BY_IMAGE_COL2IM: its input
 * gradient, one image per call and unit; BY_EW_ROWS: an elementwise row kernel (GELU, softmax, layer norm), one
 * block of rows per unit; BY_ATTENTION and BY_ATTENTION_BACKWARD: fused attention and its gradients, one batch
 * element per unit (its own record).
 */
export const SPLIT = { BY_COLS: 0, BY_ROWS: 1, BY_K: 2, BY_IMAGE: 3, BY_K_IM2COL: 4, BY_IMAGE_COL2IM: 5, BY_EW_ROWS: 6, BY_ATTENTION: 7, BY_ATTENTION_BACKWARD: 8 } as const;

// NOTE: a futex wake-up cost 18–99 µs here (DESIGN.md §5), so both sides poll before they sleep. An optimised
// Atomics.load poll takes about 9 ns: a worker polls ~40 µs for the next job (a training step issues GEMMs back to
// back), the caller ~200 µs for the workers' last units (it would only sleep through them, and the wake-up is
// on its critical path).
const WORKER_SPIN = 4000, CALLER_SPIN = 20000, ALL_UNITS = 0x7fffffff;

// The worker: wait for a new job generation, run units while any are left, count them, repeat. It never
// returns to its event loop, and the pool unrefs it, so it cannot keep the process alive. It runs with no
// execArgv (no `--import tsx` loader to start) and reads worker_threads the same way whether Node evaluates
// it as a script or, under `--input-type=module`, as a module. The poll is a function so that V8 optimises it.
const WORKER_SRC = `
const { workerData: d } = process.getBuiltinModule("node:worker_threads");
const ex = new WebAssembly.Instance(d.module, { env: { memory: d.memory } }).exports;
const ctl = new Int32Array(d.memory.buffer, d.ctl, 16), stats = new Int32Array(d.stats), failure = new Uint16Array(d.failure);
function poll(seen) {
  let g = seen;
  for (let i = 0; g === seen && i < ${WORKER_SPIN}; i++) g = Atomics.load(ctl, ${CTL.GEN});
  return g;
}
function work() {
  Atomics.add(ctl, ${CTL.INSIDE}, 1);
  try {
    Atomics.add(stats, 0, ex.run(d.t, ${ALL_UNITS}));
  } catch (e) {
    // a trap ends this job, not the thread: the instance stays usable, and the caller throws the message
    const msg = String(e && e.stack || e).slice(0, failure.length - 1);
    for (let i = 0; i < msg.length; i++) failure[i + 1] = msg.charCodeAt(i);
    failure[0] = msg.length;
    Atomics.store(ctl, ${CTL.FAILED}, d.t);
    Atomics.notify(ctl, ${CTL.DONE});
  } finally {
    if (Atomics.sub(ctl, ${CTL.INSIDE}, 1) === 1) Atomics.notify(ctl, ${CTL.INSIDE});
  }
}
for (let seen = d.gen;;) {
  const g = poll(seen);
  if (g === seen) {
    Atomics.wait(ctl, ${CTL.GEN}, seen);
    continue;
  }
  seen = g;
  if (d.t < Atomics.load(ctl, ${CTL.ACTIVE})) work();
}`;

/** Threads from KILN_THREADS, else os.availableParallelism() where workers exist, else 1. */
function initialThreads(): number {
  const env = proc?.env?.KILN_THREADS;
  if (env !== undefined && env !== "") {
    const n = Number(env);
    if (Number.isInteger(n) && n >= 1) return n;
    console.warn(`[KILN_THREADS] expected a positive integer, got '${env}'; using the default`);
  }
  const os = proc?.getBuiltinModule?.("node:os") as { availableParallelism?(): number } | undefined;
  return workerThreads && os?.availableParallelism ? os.availableParallelism() : 1;
}

let requested = initialThreads();
let shared: { module: WebAssembly.Module; memory: WebAssembly.Memory; ctlAt: number; ctl: Int32Array } | null = null;
const workers: NodeWorker[] = [];
const stats = new Int32Array(typeof SharedArrayBuffer === "function" ? new SharedArrayBuffer(4) : new ArrayBuffer(4));
// a failed worker's message: its length, then its UTF-16 code units
const failure = new Uint16Array(typeof SharedArrayBuffer === "function" ? new SharedArrayBuffer(1024) : new ArrayBuffer(1024));

/** Whether this runtime can run a pool: worker_threads and shared WebAssembly memory. */
export const poolSupported = workerThreads !== undefined && typeof SharedArrayBuffer === "function";

/** Hand the pool the shared-memory GEMM module; until then (and where unsupported) every job runs on one thread. */
export function attachPool(module: WebAssembly.Module, memory: WebAssembly.Memory, ctlAt: number): void {
  shared = { module, memory, ctlAt, ctl: new Int32Array(memory.buffer, ctlAt, 16) };
}

/**
 * Sets how many threads (the calling one included) run large float32 matmuls on the "wasm" backend, like
 * torch.set_num_threads. The default is KILN_THREADS, else os.availableParallelism(). Where there are no
 * worker threads or no shared WebAssembly memory (browsers, Node < 20.16) Kiln uses one thread whatever is set.
 * @example
 * import { setNumThreads, getNumThreads } from "kiln";
 * setNumThreads(1); // deterministic timing in a benchmark
 * getNumThreads(); // 1
 */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`[setNumThreads] expected a positive integer thread count, got ${n}`);
  requested = n;
}

/**
 * The number of threads large float32 matmuls use: what setNumThreads or KILN_THREADS asked for, or 1 where
 * this runtime cannot run a pool.
 * @example
 * import { getNumThreads } from "kiln";
 * console.log(`GEMM on ${getNumThreads()} threads`);
 */
export function getNumThreads(): number {
  return shared && poolSupported ? requested : 1;
}

/** Units of work the workers (not the calling thread) have run since start-up; tests use it to see the pool work. */
export function workerUnits(): number {
  return Atomics.load(stats, 0);
}

/**
 * Start the workers a job on `threads` threads lacks; returns how many packing scratch regions to reserve.
 * NOTE: that is every worker ever started plus the caller, never fewer, so a worker that wakes late for an old
 * job never packs into memory that now holds operands.
 */
export function prepareThreads(threads: number): number {
  if (!shared || !workerThreads) return 1;
  while (workers.length < threads - 1) {
    const w = new workerThreads.Worker(WORKER_SRC, {
      eval: true,
      execArgv: [],
      workerData: { module: shared.module, memory: shared.memory, ctl: shared.ctlAt, stats: stats.buffer, failure: failure.buffer, t: workers.length + 1, gen: Atomics.load(shared.ctl, CTL.GEN) },
    });
    // a worker that dies (it could not even instantiate the module) must not take the process with it: the
    // units it would have run go to the other threads
    w.on("error", (e) => console.warn(`[KILN_THREADS] a worker thread stopped: ${String(e)}; its work goes to the other threads`));
    w.unref();
    workers.push(w);
  }
  return workers.length + 1;
}

/**
 * Make the control words safe to rewrite: park NEXT far past any unit count, then wait until no worker is
 * inside `run`. NOTE: a worker that woke late for the last job may have taken a (spent) unit number just
 * before; it must read that job's words, not half of the next one's, to see that nothing is left. Workers
 * entering `run` after the park take a parked number and leave; resetting NEXT to 0 publishes the next job.
 */
export function parkWorkers(ctl: Int32Array): void {
  Atomics.store(ctl, CTL.NEXT, 1 << 30);
  for (let n = Atomics.load(ctl, CTL.INSIDE), spins = 0; n !== 0; n = Atomics.load(ctl, CTL.INSIDE)) {
    if (++spins > CALLER_SPIN) Atomics.wait(ctl, CTL.INSIDE, n);
  }
  // a failure belongs to the job that threw it; with no worker inside, none can arrive late
  Atomics.store(ctl, CTL.FAILED, 0);
}

/**
 * Run the job in the control words on `threads` threads: wake the workers, take units on this thread too, then
 * wait for the units the workers took. `run` is this thread's instance of the kernel's `run`. With `drain`, this
 * thread takes one unit at a time and calls drain after each and while it waits (to copy out finished blocks).
 * NOTE: the wait runs for one-thread jobs too: a worker woken for an earlier job that reaches `run` only now
 * (descheduled in between, which the loaded 2-core machine does) takes units of this job, and returning
 * before its unit is done read a half-written C (a rare failure of the bit-identity test).
 */
export function runJob(run: (t: number, max: number) => number, ctl: Int32Array, threads: number, drain: (() => void) | null): void {
  const pooled = threads > 1 && shared !== null;
  if (pooled) {
    Atomics.store(ctl, CTL.ACTIVE, threads);
    Atomics.add(ctl, CTL.GEN, 1);
    Atomics.notify(ctl, CTL.GEN, threads - 1);
  }
  if (pooled && drain) while (run(0, 1) === 1) drain();
  else run(0, ALL_UNITS);
  if (!shared) return;
  const units = ctl[CTL.UNITS];
  // drain only when a unit has finished: the poll must stay ~9 ns, or it takes a shared core from the workers
  for (let d = Atomics.load(ctl, CTL.DONE), seen = -1, spins = 0; d !== units; d = Atomics.load(ctl, CTL.DONE)) {
    const failed = Atomics.load(ctl, CTL.FAILED);
    if (failed) throw new Error(`[wasm pool] worker thread ${failed} failed on a kernel job: ${String.fromCharCode(...failure.subarray(1, 1 + failure[0]))}`);
    if (drain && d !== seen) {
      drain();
      seen = d;
    }
    if (++spins > CALLER_SPIN) Atomics.wait(ctl, CTL.DONE, d);
  }
}
