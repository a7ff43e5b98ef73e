// linear's three gradients on the WebAssembly GEMM module: g, x and w copied in once for dx = g w, dw = gᵀ x and db = Σ g.
import type { Backend, View } from "../backend.js";
import { jsBackend } from "../js/js_backend.js";
import { isContiguous, swapLast } from "../js/strided.js";
import { align64 } from "./load.js";
import { execGemm, gemmKernels, kernelModule, placeSpan, planGemm, spanBytes, wasmGemmConfig, type GemmExports } from "./gemm.js";
import { elementwiseKernels, wasmElementwiseConfig } from "./elementwise.js";
import { prepareThreads } from "./gemm_pool.js";
import { allocStorageForOverwrite } from "../../dtype.js";

type Exports = GemmExports & { sum_lead(x: number, o: number, acc: number, rows: number, cols: number): void };
const wasm = kernelModule<Exports>();
// the wasm backend's sum (its elementwise kernel where there is one)
const sum = elementwiseKernels?.sum ?? jsBackend.sum;

/**
 * The gradients in one arena: g's span copied once and read by both products (as g and as gᵀ) and by the column
 * sums, x and w after it; the two products run one after the other in the same job region, each copied out as its
 * blocks finish. The same planned units as matmul's and the same sum_lead as sum's, so the same bits.
 * NOTE: apart, the two matmuls and the sum copied g in three times; on the benchmark transformer g is 18.5 MiB a step.
 */
function fused(ex: Exports, g: View, x: View, w: View, need: readonly [boolean, boolean, boolean]) {
  const R = g.shape[0], O = g.shape[1], I = w.shape[1], gt = swapLast(g);
  const dx = need[0] ? allocStorageForOverwrite("float32", R * I) as Float32Array : null;
  const dw = need[1] ? allocStorageForOverwrite("float32", O * I) as Float32Array : null;
  const px = dx && planGemm(ex, g, w, [R, I], null, dx), pw = dw && planGemm(ex, gt, x, [O, I], null, dw);
  const gBytes = spanBytes(g), xBytes = dw ? spanBytes(x) : 0, wBytes = dx ? spanBytes(w) : 0, dbBytes = need[2] ? align64(O * 4) + O * 8 : 0;
  const threads = Math.max(px?.threads ?? 1, pw?.threads ?? 1), jobBytes = Math.max(px?.jobBytes ?? 0, pw?.jobBytes ?? 0);
  const base = ex.arena(gBytes + xBytes + wBytes + dbBytes + jobBytes, prepareThreads(threads));
  const xAt = base + gBytes, wAt = xAt + xBytes, dbAt = wAt + wBytes, jobAt = dbAt + dbBytes;
  const glo = placeSpan(ex, g, base);
  if (px) execGemm(ex, px, g, base, glo, w, wAt, placeSpan(ex, w, wAt), [R, I], null, dx, jobAt);
  if (pw) execGemm(ex, pw, gt, base, glo, x, xAt, placeSpan(ex, x, xAt), [O, I], null, dw, jobAt);
  let db: Float32Array | null = null;
  if (need[2]) {
    ex.sum_lead(base + (g.offset - glo) * 4, dbAt, dbAt + align64(O * 4), R, O);
    db = allocStorageForOverwrite("float32", O) as Float32Array;
    db.set(new Float32Array(ex.memory.buffer, dbAt, O));
  }
  return { dx, dw, db };
}

/** linearBackward of the "wasm" backend, or null when this runtime lacks WebAssembly SIMD. */
export const linearBackwardKernels: Pick<Backend, "linearBackward"> | null = wasm && gemmKernels ? {
  linearBackward(g, x, w, need, dtype) {
    const R = g.shape[0], O = g.shape[1], I = w.shape[1], work = R * O * I;
    // where matmul or sum would not run in WebAssembly, their own kernels (so the same bits as apart)
    if (work < wasmGemmConfig.minWork || work === 0 || dtype !== "float32" || !(g.buf instanceof Float32Array && x.buf instanceof Float32Array && w.buf instanceof Float32Array) ||
      (need[2] && (R * O < wasmElementwiseConfig.minReduce || !isContiguous(g.shape, g.strides)))) {
      return {
        dx: need[0] ? gemmKernels!.matmul(g, w, [R, I], dtype) : null,
        dw: need[1] ? gemmKernels!.matmul(swapLast(g), x, [O, I], dtype) : null,
        db: need[2] ? sum(g, [0], dtype) : null,
      };
    }
    return fused(wasm.ex, g, x, w, need);
  },
} : null;
