// float32 fused attention on the WebAssembly GEMM module (dev/kernels/gemm: attentionUnit): one unit per batch element.
import type { Backend, View } from "../backend.js";
import { jsBackend } from "../js/js_backend.js";
import { align64 } from "./load.js";
import { kernelModule, launch, placeSpan, spanBytes, wasmGemmConfig, type GemmExports } from "./gemm.js";
import { SPLIT, getNumThreads, prepareThreads } from "./gemm_pool.js";
import { allocStorageForOverwrite } from "../../dtype.js";
import { numelOf } from "../../shape.js";

const wasm = kernelModule<GemmExports>();
const RECORD_WORDS = 19, BACKWARD_WORDS = 26;

/** The views' spans copied into the arena at `at`, one after another; returns where each span starts and the end. */
function copySpans(ex: GemmExports, views: readonly View[], at: number): { starts: number[]; los: number[]; end: number } {
  const starts: number[] = [], los: number[] = [];
  for (const x of views) {
    starts.push(at);
    los.push(placeSpan(ex, x, at));
    at += spanBytes(x);
  }
  return { starts, los, end: at };
}

/** Bytes of the views' spans as copySpans lays them out. */
const spansBytes = (views: readonly View[]) => views.reduce((s, x) => s + spanBytes(x), 0);

/** Each batch element's element offset into x (batch dims row-major; x's last two dims are the matrix). */
function batchOffsets(x: View, calls: number): number[] {
  const nb = x.shape.length - 2, offs: number[] = [];
  for (let n = 0; n < calls; n++) {
    let off = x.offset, rem = n;
    for (let d = nb - 1; d >= 0; d--) {
      const i = rem % x.shape[d];
      off += i * x.strides[d];
      rem = (rem - i) / x.shape[d];
    }
    offs.push(off);
  }
  return offs;
}

/**
 * Writes at word w the address of batch element n's matrix of x, whose span copySpans put at byte `start` (its
 * element lo there), and the matrix's row and column strides (elements); returns the next word.
 */
function putMatrix(words: Int32Array, w: number, x: View, offs: number[], n: number, start: number, lo: number): number {
  const nd = x.shape.length;
  words[w] = start + (offs[n] - lo) * 4;
  words[w + 1] = x.strides[nd - 2];
  words[w + 2] = x.strides[nd - 1];
  return w + 3;
}

const f32Bits = (x: number) => new Int32Array(new Float32Array([x]).buffer)[0];

/**
 * Where batch element n's (rows, D) block of a result starts (bytes from `at`) and its row stride (elements): one
 * block after another, or with `seq` the (...outer, rows, H, D) layout of seqMajorStrides (H the last batch dim).
 */
function blocks(at: number, batch: readonly number[], rows: number, D: number, seq: boolean): { addr: (n: number) => number; rs: number } {
  const H = batch.length > 0 ? batch[batch.length - 1] : 1;
  return seq ? { addr: (n) => at + ((n - (n % H)) * rows * D + (n % H) * D) * 4, rs: H * D } : { addr: (n) => at + n * rows * D * 4, rs: D };
}

/**
 * Whether the units can skip masked tiles: every product of a unit within one K block of the kernel (rangedGemm).
 * Otherwise no ranges are computed (an O(L·S) pass that long sequences would pay for nothing).
 */
const rangedFits = (ex: GemmExports, dims: readonly number[]) => Math.max(...dims) <= ex.kBlock();

/** Bytes of the ranges of a bias (L, S): see putRanges. */
const rangesBytes = (L: number, S: number) => align64((2 * L + 2 * S) * 4);

/** The bias (L, S) copied contiguous to `at`. */
function putBias(ex: GemmExports, bias: View, L: number, S: number, at: number): void {
  const heap = new Float32Array(ex.memory.buffer), bb = bias.buf, [rs, cs] = bias.strides;
  for (let i = 0, o = at >> 2; i < L; i++) for (let j = 0; j < S; j++) heap[o++] = bb[bias.offset + i * rs + j * cs];
}

/**
 * Each row's and column's live range of the bias (L, S) at `at` (i32 rowLo[L], rowHi[L], colLo[S], colHi[S]): an
 * entry is live unless it is -inf, where the probability is exactly 0, and a row with no live entry (its softmax is
 * NaN) is live everywhere. Returns their address, or 0 when every range is whole (nothing for the kernels to skip).
 */
function putRanges(ex: GemmExports, bias: View, L: number, S: number, at: number): number {
  const words = new Int32Array(ex.memory.buffer), bb = bias.buf, [rs, cs] = bias.strides, r = at >> 2;
  const rowLo = r, rowHi = r + L, colLo = rowHi + L, colHi = colLo + S;
  words.fill(L, colLo, colLo + S);
  words.fill(0, colHi, colHi + S);
  let whole = true;
  for (let i = 0; i < L; i++) {
    const row = bias.offset + i * rs;
    let lo = S, hi = 0;
    for (let j = 0; j < S; j++) {
      if (bb[row + j * cs] === -Infinity) continue;
      if (lo === S) lo = j;
      hi = j + 1;
    }
    const dead = hi === 0;
    if (dead) [lo, hi] = [0, S];
    words[rowLo + i] = lo;
    words[rowHi + i] = hi;
    if (lo > 0 || hi < S) whole = false;
    for (let j = lo; j < hi; j++) {
      if (!dead && bb[row + j * cs] === -Infinity) continue;
      if (words[colLo + j] === L) words[colLo + j] = i;
      words[colHi + j] = i + 1;
    }
  }
  for (let j = 0; whole && j < S; j++) if (words[colLo + j] > 0 || words[colHi + j] < L) whole = false;
  return whole ? 0 : at;
}

/**
 * softmax(q kᵀ · scale + bias) and its product with v, per batch element in one unit: q, k, v spans copied in
 * (views keep their strides, as in matmul), one record per batch element, the bias (L, S) copied in contiguous
 * once with its masked ranges (tiles a causal mask hides are skipped); probs and out copied out after the job.
 * NOTE: the composite copied the (..., L, S) scores out and back in three times (after q kᵀ, the bias add and
 * softmax); here they stay in one thread's cache between the two products.
 */
function wasmAttention(ex: GemmExports, q: View, k: View, v: View, bias: View | null, scale: number, withProbs: boolean, seq: boolean) {
  const nd = q.shape.length, batch = q.shape.slice(0, nd - 2), calls = numelOf(batch);
  const L = q.shape[nd - 2], E = q.shape[nd - 1], S = k.shape[nd - 2], Ev = v.shape[nd - 1];
  const threads = calls * L * S * (E + Ev) >= wasmGemmConfig.minThreadWork ? getNumThreads() : 1;
  const ranged = bias !== null && rangedFits(ex, [L, S, E, Ev]);
  const tBytes = align64(calls * RECORD_WORDS * 4), bBytes = bias ? align64(L * S * 4) + (ranged ? rangesBytes(L, S) : 0) : 0, pBytes = align64(calls * L * S * 4);
  const base = ex.arena(tBytes + spansBytes([q, k, v]) + bBytes + pBytes + calls * L * Ev * 4, prepareThreads(threads));
  const { starts, los, end } = copySpans(ex, [q, k, v], base + tBytes);
  const biasAt = end, pAt = biasAt + bBytes, oAt = pAt + pBytes;
  if (bias) putBias(ex, bias, L, S, biasAt);
  const ranges = ranged ? putRanges(ex, bias!, L, S, biasAt + align64(L * S * 4)) : 0, o = blocks(oAt, batch, L, Ev, seq);
  const words = new Int32Array(ex.memory.buffer), sb = f32Bits(scale);
  const qo = batchOffsets(q, calls), ko = batchOffsets(k, calls), vo = batchOffsets(v, calls);
  for (let n = 0, w = base >> 2; n < calls; n++, w += RECORD_WORDS) {
    let at = putMatrix(words, w, q, qo, n, starts[0], los[0]);
    at = putMatrix(words, at, k, ko, n, starts[1], los[1]);
    at = putMatrix(words, at, v, vo, n, starts[2], los[2]);
    words[at] = pAt + n * L * S * 4; words[at + 1] = o.addr(n); words[at + 2] = L; words[at + 3] = S; words[at + 4] = E; words[at + 5] = Ev;
    words[at + 6] = bias ? biasAt : 0; words[at + 7] = sb; words[at + 8] = o.rs; words[at + 9] = ranges;
  }
  const out = allocStorageForOverwrite("float32", calls * L * Ev) as Float32Array;
  launch(ex, { units: calls, chunks: 1, split: SPLIT.BY_ATTENTION, width: 1, calls: base, partials: 0, flags: 0, conv: 0 }, threads, oAt, L, Ev, out);
  if (!withProbs) return { out, probs: null };
  const probs = allocStorageForOverwrite("float32", calls * L * S);
  probs.set(new Float32Array(ex.memory.buffer, pAt, calls * L * S));
  return { out, probs };
}

/**
 * attention's gradients per batch element in one unit: g, q, k, v spans and the contiguous probs copied in, the
 * bias's masked ranges (not its values), one record per batch element, each with its own (L, S) block for ds; dq,
 * dk, dv copied out after the job.
 */
function wasmAttentionBackward(ex: GemmExports, g: View, q: View, k: View, v: View, probs: View, bias: View | null, scale: number,
  seq: readonly [boolean, boolean, boolean]) {
  const nd = q.shape.length, batch = q.shape.slice(0, nd - 2), calls = numelOf(batch);
  const L = q.shape[nd - 2], E = q.shape[nd - 1], S = k.shape[nd - 2], Ev = v.shape[nd - 1];
  const threads = 2 * calls * L * S * (E + Ev) >= wasmGemmConfig.minThreadWork ? getNumThreads() : 1;
  const ranged = bias !== null && rangedFits(ex, [L, S, E, Ev]);
  const tBytes = align64(calls * BACKWARD_WORDS * 4), bBytes = ranged ? rangesBytes(L, S) : 0, sBytes = align64(calls * L * S * 4);
  const dqBytes = align64(calls * L * E * 4), dkBytes = align64(calls * S * E * 4);
  const base = ex.arena(tBytes + spansBytes([g, q, k, v, probs]) + bBytes + sBytes + dqBytes + dkBytes + calls * S * Ev * 4, prepareThreads(threads));
  const { starts, los, end } = copySpans(ex, [g, q, k, v, probs], base + tBytes);
  const biasAt = end, dsAt = biasAt + bBytes, dqAt = dsAt + sBytes, dkAt = dqAt + dqBytes, dvAt = dkAt + dkBytes;
  const ranges = ranged ? putRanges(ex, bias!, L, S, biasAt) : 0;
  const dq = blocks(dqAt, batch, L, E, seq[0]), dk = blocks(dkAt, batch, S, E, seq[1]), dv = blocks(dvAt, batch, S, Ev, seq[2]);
  const words = new Int32Array(ex.memory.buffer), sb = f32Bits(scale);
  const go = batchOffsets(g, calls), qo = batchOffsets(q, calls), ko = batchOffsets(k, calls), vo = batchOffsets(v, calls), po = batchOffsets(probs, calls);
  for (let n = 0, w = base >> 2; n < calls; n++, w += BACKWARD_WORDS) {
    let at = putMatrix(words, w, g, go, n, starts[0], los[0]);
    at = putMatrix(words, at, q, qo, n, starts[1], los[1]);
    at = putMatrix(words, at, k, ko, n, starts[2], los[2]);
    at = putMatrix(words, at, v, vo, n, starts[3], los[3]);
    words[at] = starts[4] + (po[n] - los[4]) * 4; words[at + 1] = dsAt + n * L * S * 4;
    words[at + 2] = dq.addr(n); words[at + 3] = dk.addr(n); words[at + 4] = dv.addr(n);
    words[at + 5] = L; words[at + 6] = S; words[at + 7] = E; words[at + 8] = Ev; words[at + 9] = sb;
    words[at + 10] = dq.rs; words[at + 11] = dk.rs; words[at + 12] = dv.rs; words[at + 13] = ranges;
  }
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
  attention(q, k, v, bias, scale, dtype, withProbs, seqMajor) {
    if (!onWasm([q, k, v, bias], dtype, q, k, v)) return jsBackend.attention(q, k, v, bias, scale, dtype, withProbs, seqMajor);
    return wasmAttention(wasm.ex, q, k, v, bias, scale, withProbs, seqMajor);
  },
  attentionBackward(g, q, k, v, probs, bias, scale, dtype, seqMajor) {
    if (!onWasm([g, q, k, v, probs, bias], dtype, q, k, v)) return jsBackend.attentionBackward(g, q, k, v, probs, bias, scale, dtype, seqMajor);
    return wasmAttentionBackward(wasm.ex, g, q, k, v, probs, bias, scale, seqMajor);
  },
} : null;
