// float32 matmul on the WebAssembly SIMD GEMM (dev/kernels/gemm): operands copied in, output copied out.
import type { Backend, View } from "../backend.js";
import { jsBackend } from "../js/js_backend.js";
import { align64, loadBest, span } from "./load.js";
import { forEachRow } from "../js/strided.js";
import { allocStorage, type Storage } from "../../dtype.js";
import { numelOf } from "../../shape.js";
import { RELAXED_SIMD, SIMD } from "./gemm_wasm.generated.js";

interface GemmExports {
  memory: WebAssembly.Memory;
  arena(bytes: number): number;
  gemm(a: number, ars: number, acs: number, b: number, brs: number, bcs: number, c: number, M: number, N: number, K: number): void;
}

export type GemmVariant = "relaxed-simd" | "simd";

const wasm = loadBest<GemmExports, GemmVariant>([["relaxed-simd", RELAXED_SIMD], ["simd", SIMD]]);

/** Which WebAssembly GEMM build runs float32 matmul in the "wasm" backend, or null when SIMD is unavailable. */
export function wasmGemmVariant(): GemmVariant | null {
  return wasm ? wasm.variant : null;
}

/**
 * `minWork`: float32 matmuls with M·N·K below it stay in JS. Tests and benchmarks lower it to reach the
 * WebAssembly path on tiny shapes.
 * NOTE: below the default the JS kernel wins or ties: copying operands in and the output out, plus call setup,
 * cost as much as the SIMD saves. The measured crossover is M·N·K ≈ 1000–1700 (dev/kernels/gemm/README.md);
 * 4096 leaves a margin, so the seed's 16×10 layers, where either side takes about a microsecond, stay in JS.
 */
export const wasmGemmConfig = { minWork: 4096 };

/**
 * float32 a (...batch, M, K) @ b (...batch, K, N) in WebAssembly memory: copy each operand's touched span
 * in (contiguous for plain tensors, so one memcpy), run the packed GEMM per batch through the original
 * strides, copy the output out.
 * NOTE: copying the span instead of gathering the view keeps transposes and broadcast batches free; a narrow
 * slice of a much larger storage copies the whole span between its first and last element.
 */
function wasmMatmul(ex: GemmExports, a: View, b: View, outShape: readonly number[]): Storage {
  const nd = outShape.length;
  const M = outShape[nd - 2], N = outShape[nd - 1], K = a.shape[nd - 1];
  const total = numelOf(outShape);
  const out = allocStorage("float32", total);
  const [alo, ahi] = span(a), [blo, bhi] = span(b);
  const aBytes = align64((ahi - alo + 1) * 4), bBytes = align64((bhi - blo + 1) * 4);
  // NOTE: WebAssembly memory only grows, so the largest matmul so far stays reserved (3 × 16 MiB at N = 2048);
  // RSS stays flat across calls of the same size, which is what training loops do.
  const base = ex.arena(aBytes + bBytes + total * 4);
  const aAt = base, bAt = base + aBytes, cAt = base + aBytes + bBytes;
  // memory.buffer changes when arena() grows memory: take the view after it
  const heap = new Float32Array(ex.memory.buffer);
  heap.set((a.buf as Float32Array).subarray(alo, ahi + 1), aAt >> 2);
  heap.set((b.buf as Float32Array).subarray(blo, bhi + 1), bAt >> 2);
  const ars = a.strides[nd - 2], acs = a.strides[nd - 1], brs = b.strides[nd - 2], bcs = b.strides[nd - 1];
  if (nd === 2) {
    ex.gemm(aAt + (a.offset - alo) * 4, ars, acs, bAt + (b.offset - blo) * 4, brs, bcs, cAt, M, N, K);
  } else {
    let c = cAt;
    forEachRow(outShape.slice(0, nd - 2), [a.strides.slice(0, nd - 2), b.strides.slice(0, nd - 2)], [a.offset, b.offset], (offs, len, inner) => {
      for (let t = 0, ao = offs[0], bo = offs[1]; t < len; t++, ao += inner[0], bo += inner[1], c += M * N * 4) {
        ex.gemm(aAt + (ao - alo) * 4, ars, acs, bAt + (bo - blo) * 4, brs, bcs, c, M, N, K);
      }
    });
  }
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
