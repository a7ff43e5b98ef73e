// float32 matmul and linear on the WebAssembly SIMD GEMM (dev/kernels/gemm): operands copied in, output copied out.
import type { Backend, View } from "../backend.js";
import { jsBackend } from "../js/js_backend.js";
import { align64, loadBest, span } from "./load.js";
import { forEachRow } from "../js/strided.js";
import { allocStorage, type DType, type Storage } from "../../dtype.js";
import { numelOf } from "../../shape.js";
import { RELAXED_SIMD, RELAXED_SIMD_SHARED, SIMD, SIMD_SHARED } from "./gemm_wasm.generated.js";
import { CTL, SPLIT, attachPool, getNumThreads, parkWorkers, poolSupported, prepareThreads, runJob } from "./gemm_pool.js";

interface GemmExports {
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
// about four per thread so a worker that wakes late or shares its core still gets a balanced share.
// MAX_PARTIALS caps the memory of K-block partial products (a split by K; see runGemm).
// MAX_SWAPPED: the largest output computed transposed (see wasmMatmul).
// MIN_COPY_RUN: the narrowest column block copied out row by row while other blocks run; MIN_EARLY: the fewest
// elements of a block worth copying out early (attention's 128 blocks of 64×64 ran 10% slower copied one by one).
const MIN_CHUNK = 64, UNITS_PER_THREAD = 4, CALL_WORDS = 11, MAX_PARTIALS = 32 << 20, MAX_SWAPPED = 16384, MIN_COPY_RUN = 256, MIN_EARLY = 16384;

const nodeBuffer = (globalThis as { Buffer?: { allocUnsafeSlow(bytes: number): Uint8Array } }).Buffer;
/**
 * Storage for a float32 output the caller overwrites whole.
 * NOTE: a fresh zeroed Float32Array of a few MiB cost as much as copying C into it (1.1–2.1 ms against 0.7 ms
 * for 7 MiB here: zeroing plus first-touch page faults); Node's uninitialised allocation reuses freed heap.
 * Outputs of the slab size or less keep allocStorage (slabs are cheaper still).
 */
function outputStorage(n: number): Float32Array {
  if (nodeBuffer && n > 1024) {
    const u = nodeBuffer.allocUnsafeSlow(n * 4);
    return new Float32Array(u.buffer, u.byteOffset, n);
  }
  return allocStorage("float32", n) as Float32Array;
}

/** Elements the micro-kernel computes for an M×N product: M padded to its 4 rows, N to its 8 columns. */
const padded = (M: number, N: number) => Math.ceil(M / 4) * 4 * Math.ceil(N / 8) * 8;
/** The view with its last two dims swapped (a transpose, no copy). */
function swapLast(v: View): View {
  const nd = v.shape.length;
  return { buf: v.buf, shape: [...v.shape.slice(0, nd - 2), v.shape[nd - 1], v.shape[nd - 2]], strides: [...v.strides.slice(0, nd - 2), v.strides[nd - 1], v.strides[nd - 2]], offset: v.offset };
}

/**
 * float32 a (...batch, M, K) @ b (...batch, K, N) (+ bias, N values added to every row), copied out of
 * WebAssembly memory.
 * NOTE: a narrow C (N = 9, 10: conv1's weight gradient, a 10-class head) wastes most of the 8-column tile;
 * Cᵀ = Bᵀ·Aᵀ pads the narrow side to 4 rows instead. Each element sums the same products (a·b = b·a exactly)
 * in the same K order, so it is bit-identical; the copy out transposes (and adds the bias: one float32 add, as
 * the kernel's). Only for small outputs, where the JS transpose is cheap.
 */
function wasmMatmul(ex: GemmExports, a: View, b: View, outShape: readonly number[], bias: View | null): Storage {
  const nd = outShape.length, M = outShape[nd - 2], N = outShape[nd - 1], total = numelOf(outShape);
  const out = outputStorage(total);
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

/**
 * Run a (...batch, M, K) @ b (...batch, K, N) (+ bias) in WebAssembly memory; returns the address of C there,
 * and copies C into `out` when given. Copies each operand's touched span in (contiguous for plain tensors, so
 * one memcpy), lists one call per batch with its offsets and the original strides, splits the calls into
 * units (row, column or K blocks) that the threads take.
 * NOTE: copying the span instead of gathering the view keeps transposes and broadcast batches free; a narrow
 * slice of a much larger storage copies the whole span between its first and last element.
 */
function runGemm(ex: GemmExports, a: View, b: View, outShape: readonly number[], bias: View | null, out: Float32Array | null): number {
  const nd = outShape.length;
  const M = outShape[nd - 2], N = outShape[nd - 1], K = a.shape[nd - 1];
  const total = numelOf(outShape), calls = total / (M * N);
  const threads = calls * M * N * K >= wasmGemmConfig.minThreadWork ? getNumThreads() : 1;
  const scratches = prepareThreads(threads);
  // Column blocks each re-pack all of A, row blocks all of B. NOTE: packing column-major A (Aᵀ) reads 16 bytes
  // per cache line, so its column blocks ran ~8% slower than A·B at N = 512–1024: split its rows instead,
  // unless that side gives fewer blocks than wanted and the other more.
  const ars = a.strides[nd - 2], acs = a.strides[nd - 1], brs = b.strides[nd - 2], bcs = b.strides[nd - 1];
  const wanted = Math.ceil((UNITS_PER_THREAD * threads) / calls), rowUnits = Math.ceil(M / MIN_CHUNK), colUnits = Math.ceil(N / MIN_CHUNK);
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
  const [alo, ahi] = span(a), [blo, bhi] = span(b);
  const tBytes = align64(calls * CALL_WORDS * 4), aBytes = align64((ahi - alo + 1) * 4), bBytes = align64((bhi - blo + 1) * 4);
  const cBytes = align64(total * 4), biasBytes = bias ? align64(N * 4) : 0;
  // NOTE: WebAssembly memory only grows, so the largest matmul so far stays reserved (3 × 16 MiB at N = 2048);
  // RSS stays flat across calls of the same size, which is what training loops do.
  // NOTE: copying C out on one thread after the job left the other threads idle for it (7 MiB: 0.7–2.7 ms);
  // with block flags the calling thread copies each finished block (its own while still in cache) between units.
  const units = calls * chunks;
  const blockElems = chunks === 1 ? M * N : split === SPLIT.BY_ROWS ? width * N : M * width;
  const early = out !== null && threads > 1 && units > 1 && blockElems >= MIN_EARLY &&
    (split === SPLIT.BY_ROWS || chunks === 1 || (split === SPLIT.BY_COLS && width >= MIN_COPY_RUN));
  const fBytes = early ? align64(units * 4) : 0;
  const base = ex.arena(tBytes + aBytes + bBytes + cBytes + biasBytes + fBytes + (split === SPLIT.BY_K ? partialBytes : 0), scratches);
  const tAt = base, aAt = base + tBytes, bAt = aAt + aBytes, cAt = bAt + bBytes, biasAt = bias ? cAt + cBytes : 0;
  const fAt = early ? cAt + cBytes + biasBytes : 0, pAt = cAt + cBytes + biasBytes + fBytes;
  // memory.buffer changes when arena() grows memory: take the views after it
  const heap = new Float32Array(ex.memory.buffer), words = new Int32Array(ex.memory.buffer);
  heap.set((a.buf as Float32Array).subarray(alo, ahi + 1), aAt >> 2);
  heap.set((b.buf as Float32Array).subarray(blo, bhi + 1), bAt >> 2);
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
  const ctl = new Int32Array(ex.memory.buffer, ex.control(), 16);
  parkWorkers(ctl);
  ctl[CTL.UNITS] = units; ctl[CTL.CHUNKS] = chunks; ctl[CTL.SPLIT] = split; ctl[CTL.WIDTH] = width; ctl[CTL.CALLS] = tAt; ctl[CTL.PARTIALS] = pAt;
  ctl[CTL.FLAGS] = fAt;
  let drain: (() => void) | null = null;
  if (early) {
    const flags = words.subarray(fAt >> 2, (fAt >> 2) + units), copied = new Uint8Array(units), c0 = cAt >> 2, rows = split === SPLIT.BY_ROWS;
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
  if (split === SPLIT.BY_K) ex.finish();
  if (drain) drain();
  else if (out) out.set(heap.subarray(cAt >> 2, (cAt >> 2) + total));
  return cAt;
}

/** Whether a float32 product of this size runs in WebAssembly: float64 and integer operands stay exact in JS. */
function onWasm(a: View, b: View, outShape: readonly number[], dtype: DType): boolean {
  const nd = outShape.length;
  const work = outShape[nd - 2] * outShape[nd - 1] * a.shape[nd - 1];
  // an empty dim (K = 0: a zero output) needs no kernel
  return dtype === "float32" && a.buf instanceof Float32Array && b.buf instanceof Float32Array && work !== 0 && work >= wasmGemmConfig.minWork && numelOf(outShape) !== 0;
}

/** The GEMM kernels of the "wasm" backend, or null when this runtime lacks WebAssembly SIMD. */
export const gemmKernels: Pick<Backend, "matmul" | "linear"> | null = wasm ? {
  matmul(a, b, outShape, dtype) {
    return onWasm(a, b, outShape, dtype) ? wasmMatmul(wasm.ex, a, b, outShape, null) : jsBackend.matmul(a, b, outShape, dtype);
  },
  // NOTE: the bias is added in WebAssembly memory by each unit right after its block of C, while the block is
  // in cache and on every thread; the JS loop after the kernel cost ~2.5 ns an element on the calling thread.
  linear(x, wt, b, outShape, dtype) {
    if (!onWasm(x, wt, outShape, dtype) || (b !== null && !(b.buf instanceof Float32Array))) return jsBackend.linear(x, wt, b, outShape, dtype);
    return wasmMatmul(wasm.ex, x, wt, outShape, b);
  },
} : null;
