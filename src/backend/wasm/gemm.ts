// float32 matmul, linear, conv2d and its gradients on the WebAssembly SIMD GEMM (dev/kernels/gemm): operands copied in, output copied out.
import type { Backend, View, Window2d } from "../backend.js";
import { jsBackend } from "../js/js_backend.js";
import { convKernels } from "../js/conv_kernels.js";
import { convKernels as wasmConvKernels } from "./conv.js";
import { align64, loadBest, span } from "./load.js";
import { forEachRow, swapLast } from "../js/strided.js";
import { allocStorageForOverwrite, type DType, type Storage } from "../../dtype.js";
import { numelOf } from "../../shape.js";
import { RELAXED_SIMD, RELAXED_SIMD_SHARED, SIMD, SIMD_SHARED } from "./gemm_wasm.generated.js";
import { CTL, SPLIT, attachPool, getNumThreads, parkWorkers, poolSupported, prepareThreads, runJob } from "./gemm_pool.js";

export interface GemmExports {
  memory: WebAssembly.Memory;
  control(): number;
  arena(bytes: number, threads: number): number;
  kBlock(): number;
  run(t: number, max: number): number;
  finish(): void;
}

export type GemmVariant = "relaxed-simd" | "simd";

const proc = (globalThis as { process?: { env?: Record<string, string | undefined>; getBuiltinModule?(id: string): unknown } }).process;
// NOTE: relaxed SIMD (fused multiply-add: 45 against 31 GFLOP/s in the probe) needs a V8 flag on Node 20; a
// library turning engine flags on by itself would surprise, so KILN_RELAXED_SIMD=1 opts in.
if (proc?.env?.KILN_RELAXED_SIMD === "1") {
  (proc.getBuiltinModule?.("node:v8") as { setFlagsFromString(f: string): void } | undefined)?.setFlagsFromString("--experimental-wasm-relaxed-simd");
}

/**
 * The shared-memory builds where a pool can run, else the plain ones (the module imports its memory either way).
 * NOTE: maximum 65536 pages = 4 GiB, the wasm32 limit, so threading caps no matmul below what the plain build
 * reaches. A shared memory cannot move, so the engine reserves the maximum as address space up front; 64-bit
 * V8 reserves that much (and more, as guard regions) for every WebAssembly memory anyway, so it costs no RAM.
 */
function load() {
  if (poolSupported) {
    try {
      const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
      const w = loadBest<GemmExports, GemmVariant>([["relaxed-simd", RELAXED_SIMD_SHARED], ["simd", SIMD_SHARED]], { env: { memory } });
      if (w) {
        attachPool(w.module, memory, w.ex.control());
        return w;
      }
    } catch {
      // no shared WebAssembly memory here (e.g. a page that is not cross-origin isolated): one thread
    }
  }
  return loadBest<GemmExports, GemmVariant>([["relaxed-simd", RELAXED_SIMD], ["simd", SIMD]], { env: { memory: new WebAssembly.Memory({ initial: 1 }) } });
}

const wasm = load();

type Loaded<E> = { ex: E & { memory: WebAssembly.Memory }; variant: GemmVariant } | null;

/**
 * The loaded kernel module (GEMM, convolution units and the elementwise kernels share it and its memory), or
 * null when SIMD is unavailable. `E` types the exports a caller uses.
 */
export function kernelModule<E>(): Loaded<E> {
  return wasm as unknown as Loaded<E>;
}

/**
 * The module on a plain (not shared) memory of its own, for kernels that run on the calling thread: the pool's
 * instance where its memory is not shared anyway, else a second instance of the plain build, made on first use.
 * NOTE: V8 copies into and out of a shared memory at half the speed (2 MiB: 16–18 against 36 GB/s here), which
 * the copy-bound elementwise kernels (add: ~1 ns/element of copies against ~0.3 of arithmetic) would pay in full.
 * Made at start-up, the second instance slowed the seed program by 5–7%; made by its set-up's 20,000-element ops,
 * 6–8% (so the elementwise kernels ask for it only from 65536 elements).
 */
let local: typeof wasm | undefined;
export function localKernelModule<E>(): Loaded<E> {
  local ??= wasm && wasm.ex.memory.buffer instanceof ArrayBuffer ? wasm :
    wasm && (loadBest<GemmExports, GemmVariant>(wasm.variant === "relaxed-simd" ? [["relaxed-simd", RELAXED_SIMD]] : [["simd", SIMD]],
      { env: { memory: new WebAssembly.Memory({ initial: 1 }) } }) ?? wasm);
  return local as unknown as Loaded<E>;
}

/**
 * Reserve `bytes` of the module's arena for a job on `threads` threads (starting the workers it lacks first, as
 * the arena starts after every thread's packing scratch); returns its address.
 */
export function arenaFor(bytes: number, threads: number): number {
  return wasm!.ex.arena(bytes, prepareThreads(threads));
}

/** Op codes of the elementwise row kernels a BY_EW_ROWS job runs (ewUnit in dev/kernels/gemm/gemm.ts). */
export const EW = { GELU: 0, GELU_BACKWARD: 1, SOFTMAX: 2, SOFTMAX_BACKWARD: 3, LAYER_NORM: 4, LAYER_NORM_BACKWARD: 5, LAYER_NORM_AFFINE: 6 } as const;
/** Bytes of a BY_EW_ROWS job's record and unit flags for `units` units (see ewRowsJob). */
export const ewJobBytes = (units: number) => 64 + align64(units * 4);

/**
 * Run elementwise op `op` over rows×cols floats already in the arena (operands at a, b; output at o) on `threads`
 * threads, one block of `width` rows per unit, and copy the output into `out` block by block as units finish.
 * `jobAt` is ewJobBytes(units) of arena reserved with the operands (by arenaFor with the same thread count);
 * `bias`, LAYER_NORM_AFFINE's bias address (its b is the weight), or 0.
 */
export function ewRowsJob(op: number, a: number, b: number, o: number, rows: number, cols: number, flag: number, eps: number,
  width: number, threads: number, jobAt: number, out: Float32Array, bias = 0): void {
  const ex = wasm!.ex, units = Math.ceil(rows / width);
  const words = new Int32Array(ex.memory.buffer, jobAt, 10);
  words[0] = op; words[1] = a; words[2] = b; words[3] = o; words[4] = rows; words[5] = cols; words[6] = flag; words[7] = bias;
  new Float64Array(ex.memory.buffer, jobAt + 32, 1)[0] = eps;
  launch(ex, { units, chunks: units, split: SPLIT.BY_EW_ROWS, width, calls: jobAt, partials: 0, flags: jobAt + 64, conv: 0 }, threads, o, rows, cols, out);
}

/** Which WebAssembly GEMM build runs float32 matmul in the "wasm" backend, or null when SIMD is unavailable. */
export function wasmGemmVariant(): GemmVariant | null {
  return wasm ? wasm.variant : null;
}

/**
 * `minWork`: float32 matmuls with M·N·K below it stay in JS. `minThreadWork`: those with batch·M·N·K below it
 * stay on the calling thread. Tests and benchmarks lower them to reach the WebAssembly path or the pool on tiny
 * shapes.
 * NOTE: below `minWork` the JS kernel wins or ties: copying operands in and the output out, plus call setup,
 * cost as much as the SIMD saves. The measured crossover is M·N·K ≈ 1000–1700 (dev/kernels/gemm/README.md);
 * 4096 leaves a margin, so the seed's 16×10 layers, where either side takes about a microsecond, stay in JS.
 * NOTE: `minThreadWork`: waking a sleeping worker costs 18–99 µs, more than a whole N = 64 matmul (≈ 26 µs);
 * with a free core, splitting paid from N ≈ 96–128 (dev/kernels/gemm/README.md has the measurements).
 */
export const wasmGemmConfig = { minWork: 4096, minThreadWork: 128 * 128 * 128 };

// Units of one call: at least 64 rows or columns each (a thread re-packs the other operand per unit), and
// about four per thread so a worker that wakes late or shares its core still gets a balanced share; two from
// BIG_WORK (M·N·K), where a unit's re-packing costs more than a late wake-up: 2 threads at N = 512–2048 ran
// 3–4% faster (52.7–57.4 against 50.9–54.7 GFLOP/s at N = 512, interleaved), while the MLP's 64×784×256
// products ran 2–3% slower with two.
// MAX_PARTIALS caps the memory of K-block partial products (a split by K; see runGemm).
// MAX_SWAPPED: the largest output computed transposed (see wasmMatmul).
// MIN_COPY_RUN: the narrowest column block copied out row by row while other blocks run; MIN_EARLY: the fewest
// elements of a block worth copying out early (attention's 128 blocks of 64×64 ran 10% slower copied one by one).
const MIN_CHUNK = 64, UNITS_PER_THREAD = 4, BIG_WORK = 1 << 27, BIG_UNITS_PER_THREAD = 2, CALL_WORDS = 11, MAX_PARTIALS = 32 << 20, MAX_SWAPPED = 16384, MIN_COPY_RUN = 256, MIN_EARLY = 16384;

/** About the elements the micro-kernels compute for an M×N product: M to a multiple of 4 rows (its 5- or 6-row panels end in 4-row ones), N to 8 columns. */
const padded = (M: number, N: number) => Math.ceil(M / 4) * 4 * Math.ceil(N / 8) * 8;

/**
 * float32 a (...batch, M, K) @ b (...batch, K, N) (+ bias, N values added to every row), copied out of
 * WebAssembly memory.
 * NOTE: a narrow C (N = 9, 10: conv1's weight gradient, a 10-class head) wastes most of the 8-column tile;
 * Cᵀ = Bᵀ·Aᵀ puts the narrow side in row panels (9 = 5 + 4, 10 = 5 + 5) instead. Each element sums the same products (a·b = b·a exactly)
 * in the same K order, so it is bit-identical; the copy out transposes (and adds the bias: one float32 add, as
 * the kernel's). Only for small outputs, where the JS transpose is cheap.
 */
function wasmMatmul(ex: GemmExports, a: View, b: View, outShape: readonly number[], bias: View | null): Storage {
  const nd = outShape.length, M = outShape[nd - 2], N = outShape[nd - 1], total = numelOf(outShape);
  const out = allocStorageForOverwrite("float32", total) as Float32Array;
  if (total > MAX_SWAPPED || padded(N, M) >= padded(M, N)) {
    runGemm(ex, a, b, outShape, bias, out);
    return out;
  }
  const cAt = runGemm(ex, swapLast(b), swapLast(a), [...outShape.slice(0, nd - 2), N, M], null, null) >> 2;
  const heap = new Float32Array(ex.memory.buffer);
  for (let at = 0; at < total; at += M * N) {
    for (let i = 0; i < M; i++) {
      const o = at + i * N, c = cAt + at + i;
      if (bias) for (let j = 0; j < N; j++) out[o + j] = heap[c + j * M] + bias.buf[bias.offset + j * bias.strides[0]];
      else for (let j = 0; j < N; j++) out[o + j] = heap[c + j * M];
    }
  }
  return out;
}

/** How a product is cut into units, and the arena bytes of its job besides the operands (call table, C, bias, flags, partials). */
export interface GemmPlan {
  threads: number; split: number; width: number; chunks: number; early: boolean;
  tBytes: number; cBytes: number; biasBytes: number; fBytes: number; jobBytes: number;
}

/**
 * The units of a (...batch, M, K) @ b (...batch, K, N) (+ bias) product: row, column or K blocks of each call,
 * about UNITS_PER_THREAD per thread (BIG_UNITS_PER_THREAD for big products); `out` (where C goes) decides whether blocks are copied out as they finish.
 */
export function planGemm(ex: GemmExports, a: View, b: View, outShape: readonly number[], bias: View | null, out: Float32Array | null): GemmPlan {
  const nd = outShape.length;
  const M = outShape[nd - 2], N = outShape[nd - 1], K = a.shape[nd - 1];
  const total = numelOf(outShape), calls = total / (M * N);
  const threads = calls * M * N * K >= wasmGemmConfig.minThreadWork ? getNumThreads() : 1;
  // Column blocks each re-pack all of A, row blocks all of B. NOTE: packing column-major A (Aᵀ) reads 16 bytes
  // per cache line, so its column blocks ran ~8% slower than A·B at N = 512–1024: split its rows instead,
  // unless that side gives fewer blocks than wanted and the other more.
  const ars = a.strides[nd - 2], acs = a.strides[nd - 1];
  const wanted = Math.ceil(((calls * M * N * K >= BIG_WORK ? BIG_UNITS_PER_THREAD : UNITS_PER_THREAD) * threads) / calls), rowUnits = Math.ceil(M / MIN_CHUNK), colUnits = Math.ceil(N / MIN_CHUNK);
  const rowsFirst = ars === 1 && acs !== 1;
  const byRows = rowsFirst ? rowUnits >= Math.min(wanted, colUnits) : colUnits < Math.min(wanted, rowUnits);
  let split: number = byRows ? SPLIT.BY_ROWS : SPLIT.BY_COLS, want = threads === 1 ? 1 : Math.min(wanted, byRows ? rowUnits : colUnits);
  let width = Math.ceil((byRows ? M : N) / want / (byRows ? 4 : 8)) * (byRows ? 4 : 8), chunks = Math.ceil((byRows ? M : N) / width);
  // A small C with a long K (weight gradients: 32×144×12544, 16×9×50176) gives the threads one to three blocks
  // of C: cut K into its blocks instead, each unit packing only its own slice of A and B (bit-identical, see
  // `run` in the kernel).
  const kb = ex.kBlock(), kUnits = Math.ceil(K / kb), partialBytes = calls * (kUnits - 1) * M * N * 4;
  if (threads > 1 && chunks < wanted && kUnits > chunks && partialBytes <= MAX_PARTIALS) {
    split = SPLIT.BY_K; width = kb; chunks = kUnits;
  }
  const tBytes = align64(calls * CALL_WORDS * 4), cBytes = align64(total * 4), biasBytes = bias ? align64(N * 4) : 0;
  // NOTE: copying C out on one thread after the job left the other threads idle for it (7 MiB: 0.7–2.7 ms);
  // with block flags the calling thread copies each finished block (its own while still in cache) between units.
  const units = calls * chunks;
  const blockElems = chunks === 1 ? M * N : split === SPLIT.BY_ROWS ? width * N : M * width;
  const early = out !== null && threads > 1 && units > 1 && blockElems >= MIN_EARLY &&
    (split === SPLIT.BY_ROWS || chunks === 1 || (split === SPLIT.BY_COLS && width >= MIN_COPY_RUN));
  const fBytes = early ? align64(units * 4) : 0;
  return { threads, split, width, chunks, early, tBytes, cBytes, biasBytes, fBytes, jobBytes: tBytes + cBytes + biasBytes + fBytes + (split === SPLIT.BY_K ? partialBytes : 0) };
}

/** Bytes of a view's touched span in the arena (64-byte aligned). */
export const spanBytes = (x: View): number => { const [lo, hi] = span(x); return align64((hi - lo + 1) * 4); };

/** Copy x's touched span to byte address `at` of the arena; returns the span's first element (where `at` holds it). */
export function placeSpan(ex: GemmExports, x: View, at: number): number {
  const [lo, hi] = span(x);
  new Float32Array(ex.memory.buffer).set((x.buf as Float32Array).subarray(lo, hi + 1), at >> 2);
  return lo;
}

/**
 * Run a planned product whose operands' spans are in the arena (a's element alo at byte aAt, b's blo at bAt), with
 * the job's bytes at jobAt: lists one call per batch with its offsets and the original strides, and launches the
 * units; returns the address of C there, and copies C into `out` when given.
 */
export function execGemm(ex: GemmExports, p: GemmPlan, a: View, aAt: number, alo: number, b: View, bAt: number, blo: number,
  outShape: readonly number[], bias: View | null, out: Float32Array | null, jobAt: number): number {
  const nd = outShape.length;
  const M = outShape[nd - 2], N = outShape[nd - 1], K = a.shape[nd - 1], units = (numelOf(outShape) / (M * N)) * p.chunks;
  const ars = a.strides[nd - 2], acs = a.strides[nd - 1], brs = b.strides[nd - 2], bcs = b.strides[nd - 1];
  const tAt = jobAt, cAt = tAt + p.tBytes, biasAt = bias ? cAt + p.cBytes : 0;
  const fAt = p.early ? cAt + p.cBytes + p.biasBytes : 0, pAt = cAt + p.cBytes + p.biasBytes + p.fBytes;
  // memory.buffer changes when arena() grows memory: take the views after it
  const heap = new Float32Array(ex.memory.buffer), words = new Int32Array(ex.memory.buffer);
  if (bias) {
    const bb = bias.buf as Float32Array, bs = bias.strides[0];
    if (bs === 1) heap.set(bb.subarray(bias.offset, bias.offset + N), biasAt >> 2);
    else for (let j = 0, at = biasAt >> 2; j < N; j++) heap[at + j] = bb[bias.offset + j * bs];
  }
  let w = tAt >> 2, c = cAt;
  const call = (ao: number, bo: number) => {
    words[w] = aAt + (ao - alo) * 4; words[w + 1] = ars; words[w + 2] = acs;
    words[w + 3] = bAt + (bo - blo) * 4; words[w + 4] = brs; words[w + 5] = bcs;
    words[w + 6] = c; words[w + 7] = M; words[w + 8] = N; words[w + 9] = K; words[w + 10] = biasAt;
    w += CALL_WORDS;
    c += M * N * 4;
  };
  if (nd === 2) call(a.offset, b.offset);
  else {
    forEachRow(outShape.slice(0, nd - 2), [a.strides.slice(0, nd - 2), b.strides.slice(0, nd - 2)], [a.offset, b.offset], (offs, len, inner) => {
      for (let t = 0, ao = offs[0], bo = offs[1]; t < len; t++, ao += inner[0], bo += inner[1]) call(ao, bo);
    });
  }
  launch(ex, { units, chunks: p.chunks, split: p.split, width: p.width, calls: tAt, partials: pAt, flags: fAt, conv: 0 }, p.threads, cAt, M, N, out);
  return cAt;
}

/**
 * Run a (...batch, M, K) @ b (...batch, K, N) (+ bias) in WebAssembly memory; returns the address of C there,
 * and copies C into `out` when given. Copies each operand's touched span in (contiguous for plain tensors, so
 * one memcpy), then runs the planned units (planGemm, execGemm).
 * NOTE: copying the span instead of gathering the view keeps transposes and broadcast batches free; a narrow
 * slice of a much larger storage copies the whole span between its first and last element.
 * NOTE: WebAssembly memory only grows, so the largest matmul so far stays reserved (3 × 16 MiB at N = 2048);
 * RSS stays flat across calls of the same size, which is what training loops do.
 */
function runGemm(ex: GemmExports, a: View, b: View, outShape: readonly number[], bias: View | null, out: Float32Array | null): number {
  const p = planGemm(ex, a, b, outShape, bias, out), aBytes = spanBytes(a), bBytes = spanBytes(b);
  const base = ex.arena(aBytes + bBytes + p.jobBytes, prepareThreads(p.threads));
  const alo = placeSpan(ex, a, base), blo = placeSpan(ex, b, base + aBytes);
  return execGemm(ex, p, a, base, alo, b, base + aBytes, blo, outShape, bias, out, base + aBytes + bBytes);
}

/** A job's control words (see dev/kernels/gemm/gemm.ts): units = calls × chunks; flags 0 unless C is copied out early. */
export interface Job { units: number; chunks: number; split: number; width: number; calls: number; partials: number; flags: number; conv: number }

/**
 * Publish `job` and run it on `threads` threads; then copy the calls' M×N blocks of C (at cAt, one after the
 * other) into `out` when given, each block as soon as its flag says it is final when the job has flags.
 */
export function launch(ex: GemmExports, job: Job, threads: number, cAt: number, M: number, N: number, out: Float32Array | null): void {
  const { units, chunks, split, width, flags: fAt } = job;
  const heap = new Float32Array(ex.memory.buffer), words = new Int32Array(ex.memory.buffer);
  const ctl = new Int32Array(ex.memory.buffer, ex.control(), 16);
  parkWorkers(ctl);
  ctl[CTL.UNITS] = units; ctl[CTL.CHUNKS] = chunks; ctl[CTL.SPLIT] = split; ctl[CTL.WIDTH] = width; ctl[CTL.CALLS] = job.calls;
  ctl[CTL.PARTIALS] = job.partials; ctl[CTL.FLAGS] = fAt; ctl[CTL.CONV] = job.conv;
  let drain: (() => void) | null = null;
  if (fAt !== 0) {
    const flags = words.subarray(fAt >> 2, (fAt >> 2) + units), copied = new Uint8Array(units), c0 = cAt >> 2;
    const rows = split === SPLIT.BY_ROWS || split === SPLIT.BY_EW_ROWS;
    flags.fill(0);
    let first = 0;
    drain = () => {
      for (let u = first, end = Math.min(units, Atomics.load(ctl, CTL.NEXT)); u < end; u++) {
        if (copied[u] || Atomics.load(flags, u) === 0) continue;
        copied[u] = 1;
        const at = Math.floor(u / chunks) * M * N, lo = (u % chunks) * width;
        if (chunks === 1) out!.set(heap.subarray(c0 + at, c0 + at + M * N), at);
        else if (rows) out!.set(heap.subarray(c0 + at + lo * N, c0 + at + Math.min(M, lo + width) * N), at + lo * N);
        else {
          const hi = Math.min(N, lo + width);
          for (let i = 0, o = at + lo; i < M; i++, o += N) out!.set(heap.subarray(c0 + o, c0 + o - lo + hi), o);
        }
      }
      while (first < units && copied[first]) first++;
    };
  }
  Atomics.store(ctl, CTL.DONE, 0);
  Atomics.store(ctl, CTL.NEXT, 0);
  // one unit (C at most 64 wide both ways, one call) leaves nothing to share: waking workers would only cost
  runJob(ex.run, ctl, units > 1 ? threads : 1, drain);
  if (split === SPLIT.BY_K || split === SPLIT.BY_K_IM2COL) ex.finish();
  if (drain) drain();
  else if (out) out.set(heap.subarray(cAt >> 2, (cAt >> 2) + (units / chunks) * M * N));
}

// The words at CONV that convUnit reads (dev/kernels/gemm/gemm.ts).
const CONV_WORDS = 20;

/**
 * float32 convolution w (O, K = C*kh*kw) @ im2col(x) (K, N*L) + b, as (N, O, L), in one job of N units: each
 * builds its image's columns in its own thread's region of WebAssembly memory and multiplies them there.
 * NOTE: as im2col, matmul and convOutput it wrote 7 MiB of columns into fresh JS storage (page faults), copied
 * them back in, copied C out and reordered it in another module; here only x and w go in and the output comes
 * out, already in (N, O, L) order. Bit-identical to that path (see convUnit).
 */
function wasmConv2d(ex: GemmExports, x: View, w: View, b: View | null, win: Window2d): Storage {
  const N = x.shape[0], O = w.shape[0], K = w.shape[1], L = win.ho * win.wo, total = N * O * L;
  const out = allocStorageForOverwrite("float32", total) as Float32Array;
  const threads = N * O * L * K >= wasmGemmConfig.minThreadWork ? getNumThreads() : 1;
  const scratches = prepareThreads(threads);
  const [xlo, xhi] = span(x), [wlo, whi] = span(w);
  const tBytes = align64(N * CALL_WORDS * 4), dBytes = align64(CONV_WORDS * 4), xBytes = align64((xhi - xlo + 1) * 4), wBytes = align64((whi - wlo + 1) * 4);
  const colBytes = align64(K * L * 4), cBytes = align64(total * 4), biasBytes = b ? align64(O * 4) : 0;
  // an image's block of C is contiguous in the output: copy each one out as it finishes, while the others run
  const early = threads > 1 && N > 1;
  const fBytes = early ? align64(N * 4) : 0;
  const base = ex.arena(tBytes + dBytes + xBytes + wBytes + scratches * colBytes + cBytes + biasBytes + fBytes, scratches);
  const tAt = base, dAt = tAt + tBytes, xAt = dAt + dBytes, wAt = xAt + xBytes, colAt = wAt + wBytes;
  const cAt = colAt + scratches * colBytes, biasAt = b ? cAt + cBytes : 0, fAt = early ? cAt + cBytes + biasBytes : 0;
  const heap = new Float32Array(ex.memory.buffer), words = new Int32Array(ex.memory.buffer);
  heap.set((w.buf as Float32Array).subarray(wlo, whi + 1), wAt >> 2);
  if (b) for (let o = 0, at = biasAt >> 2; o < O; o++) heap[at + o] = b.buf[b.offset + o * b.strides[0]];
  convWords(ex, x, xlo, xhi, xAt, win, dAt, colAt, colBytes);
  const wp = wAt + (w.offset - wlo) * 4;
  for (let n = 0, at = tAt >> 2; n < N; n++, at += CALL_WORDS) {
    words[at] = wp; words[at + 1] = w.strides[0]; words[at + 2] = w.strides[1];
    words[at + 3] = 0; words[at + 4] = 0; words[at + 5] = 0;
    words[at + 6] = cAt + n * O * L * 4; words[at + 7] = O; words[at + 8] = L; words[at + 9] = K; words[at + 10] = biasAt;
  }
  launch(ex, { units: N, chunks: 1, split: SPLIT.BY_IMAGE, width: 1, calls: tAt, partials: 0, flags: fAt, conv: dAt }, threads, cAt, O, L, out);
  return out;
}

/** Copy x's span in at xAt and write the words convUnit and convWeightUnit read at dAt. */
function convWords(ex: GemmExports, x: View, xlo: number, xhi: number, xAt: number, win: Window2d, dAt: number, colAt: number, colBytes: number): void {
  new Float32Array(ex.memory.buffer).set((x.buf as Float32Array).subarray(xlo, xhi + 1), xAt >> 2);
  new Int32Array(ex.memory.buffer).set([xAt + (x.offset - xlo) * 4, x.strides[0], x.strides[1], x.strides[2], x.strides[3], x.shape[1], x.shape[2], x.shape[3],
    win.kh, win.kw, win.sh, win.sw, win.dh, win.dw, win.ph, win.pw, win.ho, win.wo, colAt, colBytes], dAt >> 2);
}

/**
 * float32 weight gradient g (O, N*L) @ im2col(x)ᵀ → (O, K = C*kh*kw), in K blocks of N*L as a split by K: each
 * unit builds its block's columns in its thread's region and multiplies them there; `finish` sums the blocks.
 * Returns null when the partial products would pass MAX_PARTIALS.
 * NOTE: recomputing im2col as a tensor in the backward wrote 7 MiB into fresh JS storage (page faults) and the
 * GEMM copied it back in: ~3.5 ms of the CNN's second layer on one thread. Bit-identical to that product.
 */
function wasmConv2dWeight(ex: GemmExports, g: View, x: View, win: Window2d): Storage | null {
  const O = g.shape[0], NL = g.shape[1], K = x.shape[1] * win.kh * win.kw;
  const kb = ex.kBlock(), chunks = Math.ceil(NL / kb), partialBytes = (chunks - 1) * O * K * 4;
  if (partialBytes > MAX_PARTIALS) return null;
  const threads = O * K * NL >= wasmGemmConfig.minThreadWork ? getNumThreads() : 1;
  const scratches = prepareThreads(threads);
  const [xlo, xhi] = span(x), [glo, ghi] = span(g);
  const tBytes = align64(CALL_WORDS * 4), dBytes = align64(CONV_WORDS * 4), xBytes = align64((xhi - xlo + 1) * 4), gBytes = align64((ghi - glo + 1) * 4);
  const colBytes = align64(K * kb * 4), cBytes = align64(O * K * 4);
  const base = ex.arena(tBytes + dBytes + xBytes + gBytes + scratches * colBytes + cBytes + partialBytes, scratches);
  const tAt = base, dAt = tAt + tBytes, xAt = dAt + dBytes, gAt = xAt + xBytes, colAt = gAt + gBytes, cAt = colAt + scratches * colBytes, pAt = cAt + cBytes;
  new Float32Array(ex.memory.buffer).set((g.buf as Float32Array).subarray(glo, ghi + 1), gAt >> 2);
  convWords(ex, x, xlo, xhi, xAt, win, dAt, colAt, colBytes);
  new Int32Array(ex.memory.buffer).set([gAt + (g.offset - glo) * 4, g.strides[0], g.strides[1], 0, 0, 0, cAt, O, K, NL, 0], tAt >> 2);
  const out = allocStorageForOverwrite("float32", O * K) as Float32Array;
  launch(ex, { units: chunks, chunks, split: SPLIT.BY_K_IM2COL, width: kb, calls: tAt, partials: pAt, flags: 0, conv: dAt }, threads, cAt, O, K, out);
  return out;
}

/**
 * float32 input gradient col2im(wᵀ (K, O) @ g (O, N*L)) → `shape` (N, C, H, W), in one job of N units: each
 * multiplies its image's slice of g into its thread's region and runs col2im from there into its block of the output.
 * NOTE: as matmul then col2im, 7 MiB of columns went out into fresh JS storage and into the conv module. Bit-identical to that.
 */
function wasmConv2dInput(ex: GemmExports, g: View, w: View, shape: readonly number[], win: Window2d): Storage {
  const [N, C, H, W] = shape, O = w.shape[0], K = w.shape[1], L = win.ho * win.wo, total = N * C * H * W;
  const out = allocStorageForOverwrite("float32", total) as Float32Array;
  const threads = N * O * L * K >= wasmGemmConfig.minThreadWork ? getNumThreads() : 1;
  const scratches = prepareThreads(threads);
  const [glo, ghi] = span(g), [wlo, whi] = span(w);
  const tBytes = align64(N * CALL_WORDS * 4), dBytes = align64(CONV_WORDS * 4), gBytes = align64((ghi - glo + 1) * 4), wBytes = align64((whi - wlo + 1) * 4);
  const colBytes = align64(K * L * 4), cBytes = align64(total * 4);
  const early = threads > 1 && N > 1;
  const fBytes = early ? align64(N * 4) : 0;
  const base = ex.arena(tBytes + dBytes + gBytes + wBytes + scratches * colBytes + cBytes + fBytes, scratches);
  const tAt = base, dAt = tAt + tBytes, gAt = dAt + dBytes, wAt = gAt + gBytes, colAt = wAt + wBytes;
  const cAt = colAt + scratches * colBytes, fAt = early ? cAt + cBytes : 0;
  const heap = new Float32Array(ex.memory.buffer), words = new Int32Array(ex.memory.buffer);
  heap.set((g.buf as Float32Array).subarray(glo, ghi + 1), gAt >> 2);
  heap.set((w.buf as Float32Array).subarray(wlo, whi + 1), wAt >> 2);
  words.set([0, 0, 0, 0, 0, C, H, W, win.kh, win.kw, win.sh, win.sw, win.dh, win.dw, win.ph, win.pw, win.ho, win.wo, colAt, colBytes], dAt >> 2);
  const wp = wAt + (w.offset - wlo) * 4, gp = gAt + (g.offset - glo) * 4, [gO, gJ] = g.strides;
  for (let n = 0, at = tAt >> 2; n < N; n++, at += CALL_WORDS) {
    words[at] = wp; words[at + 1] = w.strides[1]; words[at + 2] = w.strides[0];
    words[at + 3] = gp + n * L * gJ * 4; words[at + 4] = gO; words[at + 5] = gJ;
    words[at + 6] = cAt + n * C * H * W * 4; words[at + 7] = K; words[at + 8] = L; words[at + 9] = O; words[at + 10] = 0;
  }
  launch(ex, { units: N, chunks: 1, split: SPLIT.BY_IMAGE_COL2IM, width: 1, calls: tAt, partials: 0, flags: fAt, conv: dAt }, threads, cAt, C, H * W, out);
  return out;
}

/** x as a contiguous view when its span is much larger than itself (a stepped slice of a big storage): the span is what gets copied in. */
function compact(x: View): View {
  const [N, C, H, W] = x.shape, [lo, hi] = span(x);
  return hi - lo + 1 > 4 * N * C * H * W ? { buf: jsBackend.copy(x, "float32"), shape: x.shape, strides: [C * H * W, H * W, W, 1], offset: 0 } : x;
}

/** Whether a float32 product of this size runs in WebAssembly: float64 and integer operands stay exact in JS. */
function onWasm(a: View, b: View, outShape: readonly number[], dtype: DType): boolean {
  const nd = outShape.length;
  const work = outShape[nd - 2] * outShape[nd - 1] * a.shape[nd - 1];
  // an empty dim (K = 0: a zero output) needs no kernel
  // the size first: the seed's tiny products should leave after one compare
  return work >= wasmGemmConfig.minWork && work !== 0 && dtype === "float32" && a.buf instanceof Float32Array && b.buf instanceof Float32Array && numelOf(outShape) !== 0;
}

/** The GEMM kernels of the "wasm" backend, or null when this runtime lacks WebAssembly SIMD. */
export const gemmKernels: Pick<Backend, "matmul" | "linear" | "conv2d" | "conv2dInput" | "conv2dWeight"> | null = wasm ? {
  matmul(a, b, outShape, dtype) {
    return onWasm(a, b, outShape, dtype) ? wasmMatmul(wasm.ex, a, b, outShape, null) : jsBackend.matmul(a, b, outShape, dtype);
  },
  // NOTE: the bias is added in WebAssembly memory by each unit right after its block of C, while the block is
  // in cache and on every thread; the JS loop after the kernel cost ~2.5 ns an element on the calling thread.
  linear(x, wt, b, outShape, dtype) {
    if (!onWasm(x, wt, outShape, dtype) || (b !== null && !(b.buf instanceof Float32Array))) return jsBackend.linear(x, wt, b, outShape, dtype);
    return wasmMatmul(wasm.ex, x, wt, outShape, b);
  },
  // below minWork the reference, whose sums are those of the JS matmul that im2col + matmul ran there
  conv2d(x, w, b, win, dtype) {
    const [N, C, H, W] = x.shape, O = w.shape[0], K = w.shape[1], L = win.ho * win.wo, n = N * C * H * W;
    const f32 = dtype === "float32" && x.buf instanceof Float32Array && w.buf instanceof Float32Array && (!b || b.buf instanceof Float32Array);
    if (!f32 || n === 0 || O * K * L === 0 || N * O * L * K < wasmGemmConfig.minWork) return convKernels.conv2d(x, w, b, win, dtype);
    return wasmConv2d(wasm.ex, compact(x), w, b, win);
  },
  conv2dInput(g, w, shape, win, dtype) {
    const [N, C, H, W] = shape, O = g.shape[0], NL = g.shape[1], K = w.shape[1];
    const f32 = dtype === "float32" && g.buf instanceof Float32Array && w.buf instanceof Float32Array;
    if (!f32 || N * C * H * W === 0 || O * K * NL === 0 || O * K * NL < wasmGemmConfig.minWork) return convKernels.conv2dInput(g, w, shape, win, dtype);
    return wasmConv2dInput(wasm.ex, g, w, shape, win);
  },
  conv2dWeight(g, x, win, dtype) {
    const [N, C, H, W] = x.shape, O = g.shape[0], NL = g.shape[1], K = C * win.kh * win.kw;
    const f32 = dtype === "float32" && x.buf instanceof Float32Array && g.buf instanceof Float32Array;
    if (!f32 || N * C * H * W === 0 || O * K * NL === 0 || O * K * NL < wasmGemmConfig.minWork) return convKernels.conv2dWeight(g, x, win, dtype);
    const xc = compact(x);
    const out = wasmConv2dWeight(wasm.ex, g, xc, win);
    if (out) return out;
    const cols = (wasmConvKernels ?? convKernels).im2col(xc, win, "float32"); // (K, N*L)
    return wasmMatmul(wasm.ex, g, { buf: cols, shape: [NL, K], strides: [1, NL], offset: 0 }, [O, K], null);
  },
} : null;
