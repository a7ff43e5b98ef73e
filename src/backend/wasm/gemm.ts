// float32 matmul on the WebAssembly SIMD GEMM (dev/kernels/gemm): operands copied in, output copied out.
import type { Backend, View } from "../backend.js";
import { jsBackend } from "../js/js_backend.js";
import { align64, loadBest, span } from "./load.js";
import { forEachRow } from "../js/strided.js";
import { allocStorage, type Storage } from "../../dtype.js";
import { numelOf } from "../../shape.js";
import { RELAXED_SIMD, RELAXED_SIMD_SHARED, SIMD, SIMD_SHARED } from "./gemm_wasm.generated.js";
import { CTL, attachPool, getNumThreads, parkWorkers, poolSupported, prepareThreads, runJob } from "./gemm_pool.js";

interface GemmExports {
  memory: WebAssembly.Memory;
  control(): number;
  arena(bytes: number, threads: number): number;
  run(t: number): number;
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
const MIN_CHUNK = 64, UNITS_PER_THREAD = 4, CALL_WORDS = 10;

/**
 * float32 a (...batch, M, K) @ b (...batch, K, N) in WebAssembly memory: copy each operand's touched span
 * in (contiguous for plain tensors, so one memcpy), list one call per batch with its offsets and the original
 * strides, split the calls' outputs into units (row or column blocks of C) that the threads take, copy C out.
 * NOTE: copying the span instead of gathering the view keeps transposes and broadcast batches free; a narrow
 * slice of a much larger storage copies the whole span between its first and last element.
 */
function wasmMatmul(ex: GemmExports, a: View, b: View, outShape: readonly number[]): Storage {
  const nd = outShape.length;
  const M = outShape[nd - 2], N = outShape[nd - 1], K = a.shape[nd - 1];
  const total = numelOf(outShape), calls = total / (M * N);
  const threads = calls * M * N * K >= wasmGemmConfig.minThreadWork ? getNumThreads() : 1;
  const scratches = prepareThreads(threads);
  const out = allocStorage("float32", total);
  const [alo, ahi] = span(a), [blo, bhi] = span(b);
  const tBytes = align64(calls * CALL_WORDS * 4), aBytes = align64((ahi - alo + 1) * 4), bBytes = align64((bhi - blo + 1) * 4);
  // NOTE: WebAssembly memory only grows, so the largest matmul so far stays reserved (3 × 16 MiB at N = 2048);
  // RSS stays flat across calls of the same size, which is what training loops do.
  const base = ex.arena(tBytes + aBytes + bBytes + total * 4, scratches);
  const tAt = base, aAt = base + tBytes, bAt = aAt + aBytes, cAt = bAt + bBytes;
  // memory.buffer changes when arena() grows memory: take the views after it
  const heap = new Float32Array(ex.memory.buffer), words = new Int32Array(ex.memory.buffer);
  heap.set((a.buf as Float32Array).subarray(alo, ahi + 1), aAt >> 2);
  heap.set((b.buf as Float32Array).subarray(blo, bhi + 1), bAt >> 2);
  const ars = a.strides[nd - 2], acs = a.strides[nd - 1], brs = b.strides[nd - 2], bcs = b.strides[nd - 1];
  let w = tAt >> 2, c = cAt;
  const call = (ao: number, bo: number) => {
    words[w] = aAt + (ao - alo) * 4; words[w + 1] = ars; words[w + 2] = acs;
    words[w + 3] = bAt + (bo - blo) * 4; words[w + 4] = brs; words[w + 5] = bcs;
    words[w + 6] = c; words[w + 7] = M; words[w + 8] = N; words[w + 9] = K;
    w += CALL_WORDS;
    c += M * N * 4;
  };
  if (nd === 2) call(a.offset, b.offset);
  else {
    forEachRow(outShape.slice(0, nd - 2), [a.strides.slice(0, nd - 2), b.strides.slice(0, nd - 2)], [a.offset, b.offset], (offs, len, inner) => {
      for (let t = 0, ao = offs[0], bo = offs[1]; t < len; t++, ao += inner[0], bo += inner[1]) call(ao, bo);
    });
  }
  // Column blocks each re-pack all of A, row blocks all of B. NOTE: packing column-major A (Aᵀ) reads 16 bytes
  // per cache line, so its column blocks ran ~8% slower than A·B at N = 512–1024: split its rows instead,
  // unless that side gives fewer blocks than wanted and the other more.
  const wanted = Math.ceil((UNITS_PER_THREAD * threads) / calls), rowUnits = Math.ceil(M / MIN_CHUNK), colUnits = Math.ceil(N / MIN_CHUNK);
  const rowsFirst = ars === 1 && acs !== 1;
  const byRows = rowsFirst ? rowUnits >= Math.min(wanted, colUnits) : colUnits < Math.min(wanted, rowUnits);
  const dim = byRows ? M : N, step = byRows ? 4 : 8;
  const want = threads === 1 ? 1 : Math.min(wanted, byRows ? rowUnits : colUnits);
  const width = Math.ceil(dim / want / step) * step, chunks = Math.ceil(dim / width);
  const ctl = new Int32Array(ex.memory.buffer, ex.control(), 16);
  parkWorkers(ctl);
  ctl[CTL.UNITS] = calls * chunks; ctl[CTL.CHUNKS] = chunks; ctl[CTL.BY_ROWS] = byRows ? 1 : 0; ctl[CTL.WIDTH] = width; ctl[CTL.CALLS] = tAt;
  Atomics.store(ctl, CTL.DONE, 0);
  Atomics.store(ctl, CTL.NEXT, 0);
  // one unit (C at most 64 wide both ways, one call) leaves nothing to share: waking workers would only cost
  runJob(ex.run, ctl, calls * chunks > 1 ? threads : 1);
  out.set(heap.subarray(cAt >> 2, (cAt >> 2) + total));
  return out;
}

/** The GEMM kernels of the "wasm" backend, or null when this runtime lacks WebAssembly SIMD. */
export const gemmKernels: Pick<Backend, "matmul"> | null = wasm ? {
  matmul(a, b, outShape, dtype) {
    const nd = outShape.length;
    const M = outShape[nd - 2], N = outShape[nd - 1], K = a.shape[nd - 1];
    const work = M * N * K;
    // float64 and integer operands stay exact in JS; an empty dim (K = 0: a zero output) needs no kernel
    if (dtype !== "float32" || !(a.buf instanceof Float32Array) || !(b.buf instanceof Float32Array) || work === 0 || work < wasmGemmConfig.minWork || numelOf(outShape) === 0) {
      return jsBackend.matmul(a, b, outShape, dtype);
    }
    return wasmMatmul(wasm.ex, a, b, outShape);
  },
} : null;
