// float32 fused attention on the WebAssembly GEMM module (dev/kernels/gemm: attentionUnit): one unit per batch element.
import type { Backend, View } from "../backend.js";
import { jsBackend } from "../js/js_backend.js";
import { forEachRow } from "../js/strided.js";
import { align64, span } from "./load.js";
import { kernelModule, launch, wasmGemmConfig, type GemmExports } from "./gemm.js";
import { SPLIT, getNumThreads, prepareThreads } from "./gemm_pool.js";
import { allocStorageForOverwrite } from "../../dtype.js";
import { numelOf } from "../../shape.js";

const wasm = kernelModule<GemmExports>();
const RECORD_WORDS = 17, BACKWARD_WORDS = 22;

/** The views' spans copied into the arena at `at` (each 64-byte aligned); returns where each span starts and the end. */
function copySpans(ex: GemmExports, views: readonly View[], at: number): { starts: number[]; los: number[]; end: number } {
  const heap = new Float32Array(ex.memory.buffer), starts: number[] = [], los: number[] = [];
  for (const x of views) {
    const [lo, hi] = span(x);
    heap.set((x.buf as Float32Array).subarray(lo, hi + 1), at >> 2);
    starts.push(at);
    los.push(lo);
    at += align64((hi - lo + 1) * 4);
  }
  return { starts, los, end: at };
}

/** Bytes of the views' spans as copySpans lays them out. */
const spanBytes = (views: readonly View[]) => views.reduce((s, x) => { const [lo, hi] = span(x); return s + align64((hi - lo + 1) * 4); }, 0);

/** Calls fn with each batch element's offsets into the views (equal batch dims, strides may differ). */
function eachBatch(views: readonly View[], fn: (offsets: number[]) => void): void {
  const nd = views[0].shape.length;
  if (nd === 2) return fn(views.map((x) => x.offset));
  forEachRow(views[0].shape.slice(0, nd - 2), views.map((x) => x.strides.slice(0, nd - 2)), views.map((x) => x.offset), (offs, len, inner) => {
    const o = offs.slice();
    for (let t = 0; t < len; t++, o.forEach((_, i) => { o[i] += inner[i]; })) fn(o);
  });
}

const f32Bits = (x: number) => new Int32Array(new Float32Array([x]).buffer)[0];

/**
 * softmax(q kᵀ · scale + bias) and its product with v, per batch element in one unit: q, k, v spans copied in
 * (views keep their strides, as in matmul), one record per batch element, the bias (L, S) copied in contiguous
 * once; probs and out copied out after the job.
 * NOTE: the composite copied the (..., L, S) scores out and back in three times (after q kᵀ, the bias add and
 * softmax); here they stay in one thread's cache between the two products.
 */
function wasmAttention(ex: GemmExports, q: View, k: View, v: View, bias: View | null, scale: number, withProbs: boolean) {
  const nd = q.shape.length, calls = numelOf(q.shape.slice(0, nd - 2));
  const L = q.shape[nd - 2], E = q.shape[nd - 1], S = k.shape[nd - 2], Ev = v.shape[nd - 1];
  const threads = calls * L * S * (E + Ev) >= wasmGemmConfig.minThreadWork ? getNumThreads() : 1;
  const tBytes = align64(calls * RECORD_WORDS * 4), biasBytes = bias ? align64(L * S * 4) : 0, pBytes = align64(calls * L * S * 4);
  const base = ex.arena(tBytes + spanBytes([q, k, v]) + biasBytes + pBytes + calls * L * Ev * 4, prepareThreads(threads));
  const { starts, los, end } = copySpans(ex, [q, k, v], base + tBytes);
  const biasAt = end, pAt = biasAt + biasBytes, oAt = pAt + pBytes;
  const heap = new Float32Array(ex.memory.buffer), words = new Int32Array(ex.memory.buffer);
  if (bias) {
    const bb = bias.buf, [rs, cs] = bias.strides;
    for (let i = 0, at = biasAt >> 2; i < L; i++) for (let j = 0; j < S; j++) heap[at++] = bb[bias.offset + i * rs + j * cs];
  }
  const st = (x: View, i: number, d: number) => [starts[i] + (d - los[i]) * 4, x.strides[nd - 2], x.strides[nd - 1]];
  let w = base >> 2, n = 0;
  eachBatch([q, k, v], ([qo, ko, vo]) => {
    words.set([...st(q, 0, qo), ...st(k, 1, ko), ...st(v, 2, vo), pAt + n * L * S * 4, oAt + n * L * Ev * 4, L, S, E, Ev, bias ? biasAt : 0, f32Bits(scale)], w);
    w += RECORD_WORDS;
    n++;
  });
  const out = allocStorageForOverwrite("float32", calls * L * Ev) as Float32Array;
  launch(ex, { units: calls, chunks: 1, split: SPLIT.BY_ATTENTION, width: 1, calls: base, partials: 0, flags: 0, conv: 0 }, threads, oAt, L, Ev, out);
  if (!withProbs) return { out, probs: null };
  const probs = allocStorageForOverwrite("float32", calls * L * S);
  probs.set(new Float32Array(ex.memory.buffer, pAt, calls * L * S));
  return { out, probs };
}

/**
 * attention's gradients per batch element in one unit: g, q, k, v spans and the contiguous probs copied in, one
 * record per batch element, each with its own (L, S) block for ds; dq, dk, dv copied out after the job.
 */
function wasmAttentionBackward(ex: GemmExports, g: View, q: View, k: View, v: View, probs: View, scale: number) {
  const nd = q.shape.length, calls = numelOf(q.shape.slice(0, nd - 2));
  const L = q.shape[nd - 2], E = q.shape[nd - 1], S = k.shape[nd - 2], Ev = v.shape[nd - 1];
  const threads = 2 * calls * L * S * (E + Ev) >= wasmGemmConfig.minThreadWork ? getNumThreads() : 1;
  const tBytes = align64(calls * BACKWARD_WORDS * 4), sBytes = align64(calls * L * S * 4);
  const dqBytes = align64(calls * L * E * 4), dkBytes = align64(calls * S * E * 4);
  const base = ex.arena(tBytes + spanBytes([g, q, k, v, probs]) + sBytes + dqBytes + dkBytes + calls * S * Ev * 4, prepareThreads(threads));
  const { starts, los, end } = copySpans(ex, [g, q, k, v, probs], base + tBytes);
  const dsAt = end, dqAt = dsAt + sBytes, dkAt = dqAt + dqBytes, dvAt = dkAt + dkBytes;
  const words = new Int32Array(ex.memory.buffer);
  const st = (x: View, i: number, d: number) => [starts[i] + (d - los[i]) * 4, x.strides[nd - 2], x.strides[nd - 1]];
  let w = base >> 2, n = 0;
  eachBatch([g, q, k, v, probs], ([go, qo, ko, vo, po]) => {
    words.set([...st(g, 0, go), ...st(q, 1, qo), ...st(k, 2, ko), ...st(v, 3, vo), starts[4] + (po - los[4]) * 4, dsAt + n * L * S * 4,
      dqAt + n * L * E * 4, dkAt + n * S * E * 4, dvAt + n * S * Ev * 4, L, S, E, Ev, f32Bits(scale)], w);
    w += BACKWARD_WORDS;
    n++;
  });
  launch(ex, { units: calls, chunks: 1, split: SPLIT.BY_ATTENTION_BACKWARD, width: 1, calls: base, partials: 0, flags: 0, conv: 0 }, threads, 0, 0, 0, null);
  const take = (at: number, count: number) => {
    const o = allocStorageForOverwrite("float32", count);
    o.set(new Float32Array(ex.memory.buffer, at, count));
    return o;
  };
  return { dq: take(dqAt, calls * L * E), dk: take(dkAt, calls * S * E), dv: take(dvAt, calls * S * Ev) };
}

/** Whether an attention of these views runs in WebAssembly: float32, no empty dim (its products need K ≥ 1), above minWork. */
function onWasm(views: readonly (View | null)[], dtype: string, q: View, k: View, v: View): boolean {
  const nd = q.shape.length, calls = numelOf(q.shape.slice(0, nd - 2));
  const L = q.shape[nd - 2], E = q.shape[nd - 1], S = k.shape[nd - 2], Ev = v.shape[nd - 1];
  return dtype === "float32" && views.every((x) => !x || x.buf instanceof Float32Array) && calls * L * S * E * Ev !== 0 &&
    calls * L * S * (E + Ev) >= wasmGemmConfig.minWork;
}

/** The attention kernels of the "wasm" backend, or null when this runtime lacks WebAssembly SIMD. */
export const attentionKernels: Pick<Backend, "attention" | "attentionBackward"> | null = wasm ? {
  attention(q, k, v, bias, scale, dtype, withProbs) {
    if (!onWasm([q, k, v, bias], dtype, q, k, v)) return jsBackend.attention(q, k, v, bias, scale, dtype, withProbs);
    return wasmAttention(wasm.ex, q, k, v, bias, scale, withProbs);
  },
  attentionBackward(g, q, k, v, probs, scale, dtype) {
    if (!onWasm([g, q, k, v, probs], dtype, q, k, v)) return jsBackend.attentionBackward(g, q, k, v, probs, scale, dtype);
    return wasmAttentionBackward(wasm.ex, g, q, k, v, probs, scale);
  },
} : null;
