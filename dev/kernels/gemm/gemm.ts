// AssemblyScript f32 GEMM (BLAS-style packing, 5×8 or 6×8 and 4×8 f32x4 micro-kernels), compiled by scripts/build_wasm.mjs.
// NOTE: this file is AssemblyScript, not TypeScript; it lives outside src/ because `tsc` type-checks all of
// src/. Built four times: plain SIMD and relaxed SIMD (ASC_FEATURE_RELAXED_SIMD folds to true), each on a
// plain imported memory and on a shared one with the threads feature (ASC_FEATURE_THREADS) for the pool.

// NOTE: the tall tile: MR×8 = 10 (plain) or 12 (relaxed) f32x4 accumulators + 2 B vectors + 1 A splat (+ 1
// product without fma), 14 or 15 of the 15 xmm registers V8 allocates. 4×8 left the loop bound by instructions
// per k (plain) and by the fma latency (relaxed: 8 chains of 5-cycle fmas); 6×8 spills in the plain build, 7×8
// in both (dev/kernels/gemm/README.md, version 9, `tiles.ts`). Blocks of rows are cut into MR-row panels and then
// 4-row ones (MR·a + 4b = mc wherever that has a solution), so small row counts (conv's 16 and 32 filters) waste
// no row. KC = 256 keeps one A sliver (5–6 KiB) and one B sliver (8 KiB) in L1; MC×KC of packed A (80–96 KiB)
// stays in L2 while the micro-kernels sweep it once per B sliver.
@inline const MR: i32 = ASC_FEATURE_RELAXED_SIMD ? 6 : 5;
@inline const NR = 8;
@inline const KC = 256;
@inline const MC: i32 = MR * 16;
@inline const NC = 1024;

// Memory: the control words of the current job, then one packing scratch per thread (packed A block, packed B
// block, one C tile for edges), then the arena that holds the job's call table, operands and output.
// NOTE: per-thread scratch instead of static buffers: every thread packs its own panels, nothing mutable is shared.
// a block whose rows are not MR·a + 4b ends in a partial panel: up to 3 padded rows
@inline const BP_AT: usize = <usize>(MC + 3) * KC * 4;
@inline const TILE_AT: usize = BP_AT + KC * NC * 4;
@inline const SCRATCH_BYTES: usize = TILE_AT + MR * NR * 4;
const CTL: usize = (__heap_base + 63) & ~63;
const SCRATCH0: usize = CTL + 64;

// Control words (i32 at CTL + 4·index). JS writes the job; `run` reads it. GEN is bumped by JS to wake workers.
@inline const GEN = 0;
@inline const NEXT = 4; // next unit to take (atomic counter)
@inline const DONE = 8; // units finished (atomic counter; the one finishing the last notifies)
@inline const UNITS = 12; // calls × chunks
@inline const CHUNKS = 16; // chunks per call
@inline const SPLIT = 20; // how a call is cut into chunks: BY_COLS, BY_ROWS, BY_K, ... (the BY_ constants below)
@inline const WIDTH = 24; // columns, rows or K elements per chunk
@inline const CALLS = 28; // address of the call table: per call a, ars, acs, b, brs, bcs, c, M, N, K, bias (i32)
@inline const PARTIALS = 44; // BY_K: address of the partial products of chunks 1.. (M×N each, call by call)
@inline const FLAGS = 48; // 0, or the address of one i32 per unit, set to 1 when the unit's block of C is final
@inline const CONV = 52; // the convolution splits: address of the convolution's words (see convUnit)
@inline const CALL_BYTES = 44;
@inline const BY_COLS = 0;
@inline const BY_ROWS = 1;
@inline const BY_K = 2;
@inline const BY_IMAGE = 3;
@inline const BY_K_IM2COL = 4;
@inline const BY_IMAGE_COL2IM = 5;
@inline const BY_EW_ROWS = 6;
@inline const BY_ATTENTION = 7;
@inline const ATT_BYTES = 76;
@inline const BY_ATTENTION_BACKWARD = 8;
@inline const ATT_BACKWARD_BYTES = 104;

/** Address of the control words, for the JS side. */
export function control(): usize {
  return CTL;
}

/** The K block, the width of a BY_K chunk, for the JS side. */
export function kBlock(): i32 {
  return KC;
}

/** Grow memory so `threads` scratch regions and then `bytes` fit; returns the arena's address (64-byte aligned). */
export function arena(bytes: usize, threads: i32): usize {
  const at = SCRATCH0 + <usize>threads * SCRATCH_BYTES;
  const end = at + bytes;
  const have = <usize>memory.size() << 16;
  if (end > have) {
    if (memory.grow(<i32>((end - have + 0xffff) >> 16)) < 0) unreachable();
  }
  return at;
}

/** Store the transpose of the 4×4 block whose rows are r0..r3 as 4 vectors at d, d + step, d + 2·step, d + 3·step. */
@inline function storeT4(d: usize, step: usize, r0: v128, r1: v128, r2: v128, r3: v128): void {
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5), t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  v128.store(d, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
  v128.store(d + step, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
  v128.store(d + 2 * step, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5));
  v128.store(d + 3 * step, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7));
}

/**
 * How many MR-row panels start an mc-row block; 4-row panels follow. The most MR-row panels that leave a multiple
 * of 4 rows; where none does, as many as fit whole and then one partial panel (4 rows, or MR when more remain).
 */
function talls(mc: i32): i32 {
  for (let a = mc / MR; a >= 0; a--) if ((mc - a * MR) % 4 == 0) return a;
  const a = mc / MR;
  return mc - a * MR > 4 ? a + 1 : a;
}

/**
 * Pack the mc×kc block of A at `a` (strides rs, cs in elements) into panels, `tall` of MR rows then 4-row ones,
 * each k-major (h floats per k), zero-padded.
 */
function packA(dst: usize, a: usize, rs: i32, cs: i32, mc: i32, kc: i32, tall: i32): void {
  for (let i0 = 0; i0 < mc;) {
    const h = i0 < tall * MR ? MR : 4, mr = min(h, mc - i0), hb = <usize>(h * 4);
    const src = a + <usize>(i0 * rs) * 4;
    if (rs == 1 && mr == h) {
      // Aᵀ (column-major A): the panel's values for one k are adjacent
      for (let k = 0; k < kc; k++) {
        const s = src + <usize>(k * cs) * 4, d = dst + <usize>k * hb;
        v128.store(d, v128.load(s));
        for (let i = 4; i < h; i++) store<f32>(d + <usize>(i * 4), load<f32>(s + <usize>(i * 4)));
      }
    } else if (cs == 1 && mr == h) {
      // row-major A: 4×4 blocks transposed in registers, the rows past 4 scattered by lane. NOTE: the scalar walk
      // cost ~1 ns an element, which made the column blocks of a threaded GEMM (each re-packs A) 15% dearer.
      const r = <usize>rs * 4;
      let k = 0;
      for (; k + 4 <= kc; k += 4) {
        const s = src + <usize>k * 4, d = dst + <usize>k * hb;
        storeT4(d, hb, v128.load(s), v128.load(s + r), v128.load(s + 2 * r), v128.load(s + 3 * r));
        for (let i = 4; i < h; i++) {
          const v = v128.load(s + <usize>i * r), e = d + <usize>(i * 4);
          v128.store32_lane(e, v, 0);
          v128.store32_lane(e + hb, v, 1);
          v128.store32_lane(e + 2 * hb, v, 2);
          v128.store32_lane(e + 3 * hb, v, 3);
        }
      }
      for (; k < kc; k++) {
        for (let i = 0; i < h; i++) store<f32>(dst + <usize>k * hb + <usize>(i * 4), load<f32>(src + <usize>i * r + <usize>k * 4));
      }
    } else {
      for (let i = 0; i < mr; i++) {
        let s = src + <usize>(i * rs) * 4, d = dst + <usize>(i * 4);
        for (let k = 0; k < kc; k++, s += <usize>cs * 4, d += hb) store<f32>(d, load<f32>(s));
      }
      for (let i = mr; i < h; i++) {
        let d = dst + <usize>(i * 4);
        for (let k = 0; k < kc; k++, d += hb) store<f32>(d, 0);
      }
    }
    dst += <usize>kc * hb;
    i0 += h;
  }
}

/** Pack the kc×nc block of B at `b` into `dst` (strides rs, cs in elements) into NR-column panels, k-major, zero-padded. */
function packB(dst: usize, b: usize, rs: i32, cs: i32, kc: i32, nc: i32): void {
  for (let j0 = 0; j0 < nc; j0 += NR) {
    const nr = min(NR, nc - j0);
    const src = b + <usize>(j0 * cs) * 4;
    if (cs == 1 && nr == NR) {
      // row-major B: the panel's 8 values for one k are adjacent
      for (let k = 0; k < kc; k++) {
        const s = src + <usize>(k * rs) * 4, d = dst + <usize>(k * 32);
        v128.store(d, v128.load(s));
        v128.store(d, v128.load(s, 16), 16);
      }
    } else if (rs == 1 && nr == NR) {
      // Bᵀ (column-major B): two 4×4 blocks (k × columns) per 4 k, transposed in registers
      const c = <usize>cs * 4;
      let k = 0;
      for (; k + 4 <= kc; k += 4) {
        const s = src + <usize>k * 4, d = dst + <usize>(k * 32);
        storeT4(d, 32, v128.load(s), v128.load(s + c), v128.load(s + 2 * c), v128.load(s + 3 * c));
        storeT4(d + 16, 32, v128.load(s + 4 * c), v128.load(s + 5 * c), v128.load(s + 6 * c), v128.load(s + 7 * c));
      }
      for (; k < kc; k++) {
        for (let j = 0; j < NR; j++) store<f32>(dst + <usize>(k * 32 + j * 4), load<f32>(src + <usize>j * c + <usize>k * 4));
      }
    } else {
      // strided B reads each column along k
      for (let j = 0; j < nr; j++) {
        let s = src + <usize>(j * cs) * 4, d = dst + <usize>(j * 4);
        for (let k = 0; k < kc; k++, s += <usize>rs * 4, d += 32) store<f32>(d, load<f32>(s));
      }
      for (let j = nr; j < NR; j++) {
        let d = dst + <usize>(j * 4);
        for (let k = 0; k < kc; k++, d += 32) store<f32>(d, 0);
      }
    }
    dst += <usize>(kc * NR * 4);
  }
}

// NOTE: relaxed_madd lets V8 emit one fused multiply-add (45 against 31 GFLOP/s in the probe); plain SIMD
// has no fma, so it is mul then add.
@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

/** Row r of a full tile: C[r][0..8) = x0, x1, or += them when `acc`. */
@inline function put(r: usize, acc: bool, x0: v128, x1: v128): void {
  if (acc) {
    x0 = f32x4.add(v128.load(r), x0);
    x1 = f32x4.add(v128.load(r, 16), x1);
  }
  v128.store(r, x0);
  v128.store(r, x1, 16);
}

/** An edge tile: the valid mr×nr part of `tile` (the accumulators, NR floats a row) into C (row stride ld bytes). */
function putEdge(tile: usize, c: usize, ld: usize, acc: bool, mr: i32, nr: i32): void {
  for (let i = 0; i < mr; i++) {
    const r = c + <usize>i * ld, t = tile + <usize>(i * NR * 4);
    for (let j = 0; j < nr; j++) {
      const p = r + <usize>(j * 4), v = load<f32>(t + <usize>(j * 4));
      store<f32>(p, acc ? load<f32>(p) + v : v);
    }
  }
}

/**
 * C tile (mr×nr at c, row stride ldc elements) = (or +=, when `acc`) a packed `rows`-row A panel × packed B sliver
 * over kc. Full tiles store straight to C; edge tiles go through `tile` (MR×8 scratch) and copy their valid part.
 * `rows` (4, 5 or 6) is a constant at each use, so the rows past it fold away.
 */
@inline function microRows(rows: i32, kc: i32, ap: usize, bp: usize, c: usize, ldc: i32, acc: bool, mr: i32, nr: i32, tile: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let c40 = f32x4.splat(0), c41 = f32x4.splat(0), c50 = f32x4.splat(0), c51 = f32x4.splat(0);
  // NOTE: one pointer compare per k and no unrolling: unrolled by 2 this loop ran at 0.6× (relaxed), V8 spills
  const end = ap + <usize>(kc * rows * 4);
  while (ap < end) {
    const b0 = v128.load(bp), b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = madd(a, b0, c00); c01 = madd(a, b1, c01);
    a = v128.load32_splat(ap, 4);
    c10 = madd(a, b0, c10); c11 = madd(a, b1, c11);
    a = v128.load32_splat(ap, 8);
    c20 = madd(a, b0, c20); c21 = madd(a, b1, c21);
    a = v128.load32_splat(ap, 12);
    c30 = madd(a, b0, c30); c31 = madd(a, b1, c31);
    if (rows > 4) {
      a = v128.load32_splat(ap, 16);
      c40 = madd(a, b0, c40); c41 = madd(a, b1, c41);
    }
    if (rows > 5) {
      a = v128.load32_splat(ap, 20);
      c50 = madd(a, b0, c50); c51 = madd(a, b1, c51);
    }
    ap += rows * 4;
    bp += 32;
  }
  const ld = <usize>ldc * 4;
  if (mr == rows && nr == NR) {
    put(c, acc, c00, c01);
    put(c + ld, acc, c10, c11);
    put(c + 2 * ld, acc, c20, c21);
    put(c + 3 * ld, acc, c30, c31);
    if (rows > 4) put(c + 4 * ld, acc, c40, c41);
    if (rows > 5) put(c + 5 * ld, acc, c50, c51);
    return;
  }
  v128.store(tile, c00); v128.store(tile, c01, 16);
  v128.store(tile, c10, 32); v128.store(tile, c11, 48);
  v128.store(tile, c20, 64); v128.store(tile, c21, 80);
  v128.store(tile, c30, 96); v128.store(tile, c31, 112);
  if (rows > 4) {
    v128.store(tile, c40, 128); v128.store(tile, c41, 144);
  }
  if (rows > 5) {
    v128.store(tile, c50, 160); v128.store(tile, c51, 176);
  }
  putEdge(tile, c, ld, acc, mr, nr);
}

/** The micro-kernel of an MR-row panel. */
function microTall(kc: i32, ap: usize, bp: usize, c: usize, ldc: i32, acc: bool, mr: i32, nr: i32, tile: usize): void {
  microRows(MR, kc, ap, bp, c, ldc, acc, mr, nr, tile);
}

/** The micro-kernel of a 4-row panel (the ends of row blocks that are not a multiple of MR). */
function micro4(kc: i32, ap: usize, bp: usize, c: usize, ldc: i32, acc: bool, mr: i32, nr: i32, tile: usize): void {
  microRows(4, kc, ap, bp, c, ldc, acc, mr, nr, tile);
}

/**
 * C (M×N, row stride ldc) = A (M×K) @ B (K×N), packing through the scratch region at `scratch`. A and B are f32
 * at byte addresses a and b, read through element strides (ars, acs) and (brs, bcs), so transposed and strided
 * operands cost only their packing. K ≥ 1.
 * NOTE: every C element is summed over the same KC blocks in the same order wherever its block of rows or
 * columns starts, so any split of C over threads gives bit-identical results.
 */
function gemm(scratch: usize, a: usize, ars: i32, acs: i32, b: usize, brs: i32, bcs: i32, c: usize, ldc: i32, M: i32, N: i32, K: i32): void {
  const ap0 = scratch, bp0 = scratch + BP_AT, tile = scratch + TILE_AT;
  for (let jc = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      packB(bp0, b + <usize>(pc * brs + jc * bcs) * 4, brs, bcs, kc, nc);
      for (let ic = 0; ic < M; ic += MC) {
        const mc = min(MC, M - ic);
        const tall = talls(mc);
        packA(ap0, a + <usize>(ic * ars + pc * acs) * 4, ars, acs, mc, kc, tall);
        for (let jr = 0; jr < nc; jr += NR) {
          const bp = bp0 + <usize>(jr * kc * 4), nr = min(NR, nc - jr);
          const cj = c + <usize>((ic * ldc) + jc + jr) * 4;
          let ap = ap0;
          for (let ir = 0; ir < mc;) {
            const h = ir < tall * MR ? MR : 4, ci = cj + <usize>(ir * ldc) * 4, mr = min(h, mc - ir);
            if (h == MR) microTall(kc, ap, bp, ci, ldc, pc > 0, mr, nr, tile);
            else micro4(kc, ap, bp, ci, ldc, pc > 0, mr, nr, tile);
            ap += <usize>(kc * h * 4);
            ir += h;
          }
        }
      }
    }
  }
}

// Shared builds synchronise threads through these; a plain build has one thread, so ordinary loads and stores do.
@inline function fetchAdd(at: usize, v: i32): i32 {
  if (ASC_FEATURE_THREADS) return atomic.add<i32>(at, v);
  const old = load<i32>(at);
  store<i32>(at, old + v);
  return old;
}

/** C (m×n, row stride ldc) += bias (n floats at `bias`, one per column), f32x4 where 4 columns remain. */
function addBias(c: usize, ldc: i32, bias: usize, m: i32, n: i32): void {
  for (let i = 0; i < m; i++) {
    const r = c + <usize>(i * ldc) * 4;
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const p = r + <usize>j * 4;
      v128.store(p, f32x4.add(v128.load(p), v128.load(bias + <usize>j * 4)));
    }
    for (; j < n; j++) {
      const p = r + <usize>j * 4;
      store<f32>(p, load<f32>(p) + load<f32>(bias + <usize>j * 4));
    }
  }
}

/** C (m×n, row stride ldc) += bias (m floats at `bias`, one per row), f32x4 where 4 columns remain. */
function addRowBias(c: usize, ldc: i32, bias: usize, m: i32, n: i32): void {
  for (let i = 0; i < m; i++) {
    const r = c + <usize>(i * ldc) * 4, bs = load<f32>(bias + <usize>i * 4), bv = f32x4.splat(bs);
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const p = r + <usize>j * 4;
      v128.store(p, f32x4.add(v128.load(p), bv));
    }
    for (; j < n; j++) {
      const p = r + <usize>j * 4;
      store<f32>(p, load<f32>(p) + bs);
    }
  }
}

/** Chunk `chunk` (of `chunks`, `w` rows, columns or K elements wide) of call `ci` at `call`: its block of C. */
function gemmUnit(scratch: usize, call: usize, split: i32, ci: i32, chunk: i32, chunks: i32, w: i32): void {
  const lo = chunk * w;
  let a = <usize>load<u32>(call), b = <usize>load<u32>(call, 12), c = <usize>load<u32>(call, 24), bias = <usize>load<u32>(call, 40);
  const ars = load<i32>(call, 4), acs = load<i32>(call, 8), brs = load<i32>(call, 16), bcs = load<i32>(call, 20);
  let M = load<i32>(call, 28), N = load<i32>(call, 32), K = load<i32>(call, 36);
  const ldc = N;
  if (split == BY_ROWS) {
    M = min(M, lo + w) - lo;
    a += <usize>(lo * ars) * 4;
    c += <usize>(lo * ldc) * 4;
  } else if (split == BY_COLS) {
    N = min(N, lo + w) - lo;
    b += <usize>(lo * bcs) * 4;
    c += <usize>lo * 4;
    if (bias != 0) bias += <usize>lo * 4;
  } else {
    K = min(K, lo + w) - lo;
    a += <usize>(lo * acs) * 4;
    b += <usize>(lo * brs) * 4;
    if (chunk > 0) c = <usize>load<u32>(CTL + PARTIALS) + (<usize>ci * <usize>(chunks - 1) + <usize>(chunk - 1)) * <usize>(M * N) * 4;
  }
  if (M > 0 && N > 0) {
    gemm(scratch, a, ars, acs, b, brs, bcs, c, ldc, M, N, K);
    if (bias != 0 && split != BY_K) addBias(c, ldc, bias, M, N);
  }
}

/**
 * One image of a convolution (a BY_IMAGE unit, call n): im2col of image n into thread t's columns (K×L), then
 * C = W (M×K) @ columns + the bias per row (the call's a, c, M, K and bias), C being image n's (O, L) block of
 * the (N, O, L) output.
 * The words at CONV (i32): x, sN, sC, sH, sW, C, H, W, kh, kw, sh, sw, dh, dw, ph, pw, ho, wo, columns, bytes per thread
 * (x's element (0, 0, 0, 0), its strides and sizes, the window, each thread's region for its columns).
 * NOTE: each C element sums the same products in the same K order as W @ im2col(x) in one GEMM (`gemm` walks
 * K blocks in order wherever a block of columns starts), and the bias is one float32 add: bit-identical to
 * im2col, matmul and convOutput, while the columns stay in this thread's cache instead of 7 MiB of JS memory.
 */
function convUnit(scratch: usize, t: i32, n: i32, call: usize): void {
  const a = <usize>load<u32>(call), ars = load<i32>(call, 4), acs = load<i32>(call, 8), c = <usize>load<u32>(call, 24);
  const M = load<i32>(call, 28), K = load<i32>(call, 36), bias = <usize>load<u32>(call, 40);
  const d = <usize>load<u32>(CTL + CONV);
  const sN = load<i32>(d, 4), ho = load<i32>(d, 64), wo = load<i32>(d, 68), L = ho * wo;
  const cols = <usize>load<u32>(d, 72) + <usize>t * <usize>load<u32>(d, 76);
  im2colAt(<usize>load<u32>(d) + <usize>(n * sN) * 4, sN, load<i32>(d, 8), load<i32>(d, 12), load<i32>(d, 16), 1,
    load<i32>(d, 20), load<i32>(d, 24), load<i32>(d, 28), load<i32>(d, 32), load<i32>(d, 36), load<i32>(d, 40), load<i32>(d, 44),
    load<i32>(d, 48), load<i32>(d, 52), load<i32>(d, 56), load<i32>(d, 60), ho, wo, cols);
  gemm(scratch, a, ars, acs, cols, L, 1, c, L, M, L, K);
  if (bias != 0) addRowBias(c, L, bias, M, L);
}

/**
 * K block `chunk` (w wide) of a convolution's weight gradient (a BY_K_IM2COL unit): the call's A is the output
 * gradient (M×K, K = N*L), B the transposed columns of x, built here for this block only (C*kh*kw × kc in
 * thread t's region); stored like a BY_K chunk (into C or a partial), for `finish` to sum in block order.
 * NOTE: the same K blocks, each summed from zero, added in the same order as g @ im2col(x)ᵀ in one GEMM:
 * bit-identical to it for any thread count, and the columns never leave this thread's cache.
 */
function convWeightUnit(scratch: usize, t: i32, chunk: i32, w: i32, call: usize): void {
  const lo = chunk * w, ars = load<i32>(call, 4), acs = load<i32>(call, 8);
  const M = load<i32>(call, 28), N = load<i32>(call, 32), kc = min(load<i32>(call, 36), lo + w) - lo;
  const c = chunk == 0 ? <usize>load<u32>(call, 24) : <usize>load<u32>(CTL + PARTIALS) + <usize>(chunk - 1) * <usize>(M * N) * 4;
  const d = <usize>load<u32>(CTL + CONV);
  const cols = <usize>load<u32>(d, 72) + <usize>t * <usize>load<u32>(d, 76);
  im2colRange(<usize>load<u32>(d), load<i32>(d, 4), load<i32>(d, 8), load<i32>(d, 12), load<i32>(d, 16),
    load<i32>(d, 20), load<i32>(d, 24), load<i32>(d, 28), load<i32>(d, 32), load<i32>(d, 36), load<i32>(d, 40), load<i32>(d, 44),
    load<i32>(d, 48), load<i32>(d, 52), load<i32>(d, 56), load<i32>(d, 60), load<i32>(d, 64), load<i32>(d, 68), lo, lo + kc, cols);
  gemm(scratch, <usize>load<u32>(call) + <usize>(lo * acs) * 4, ars, acs, cols, 1, kc, c, N, M, N, kc);
}

/**
 * One image of a convolution's input gradient (a BY_IMAGE_COL2IM unit, call n): columns = Wᵀ (K×O) @ g_n (O×L)
 * (the call's a, b, M = K, N = L, K = O) into thread t's region, then col2im of them into image n's (C, H, W)
 * block of the input gradient at the call's c.
 * NOTE: the same sums as Wᵀ @ g in one GEMM, and col2im adds each image's planes in the same order whether it runs
 * on one image or all: bit-identical to matmul then col2im, without 7 MiB of columns leaving this module.
 */
function convInputUnit(scratch: usize, t: i32, call: usize): void {
  const M = load<i32>(call, 28), N = load<i32>(call, 32), K = load<i32>(call, 36);
  const d = <usize>load<u32>(CTL + CONV);
  const cols = <usize>load<u32>(d, 72) + <usize>t * <usize>load<u32>(d, 76);
  gemm(scratch, <usize>load<u32>(call), load<i32>(call, 4), load<i32>(call, 8), <usize>load<u32>(call, 12), load<i32>(call, 16), load<i32>(call, 20), cols, N, M, N, K);
  col2imAt(cols, N, 1, 1, load<i32>(d, 20), load<i32>(d, 24), load<i32>(d, 28), load<i32>(d, 32), load<i32>(d, 36), load<i32>(d, 40),
    load<i32>(d, 44), load<i32>(d, 48), load<i32>(d, 52), load<i32>(d, 56), load<i32>(d, 60), load<i32>(d, 64), load<i32>(d, 68), <usize>load<u32>(call, 24));
}

// The elementwise kernels a BY_EW_ROWS job runs (elementwise.ts, built into this module), by op code.
@inline const EW_GELU = 0;
@inline const EW_GELU_BACKWARD = 1;
@inline const EW_SOFTMAX = 2;
@inline const EW_SOFTMAX_BACKWARD = 3;
@inline const EW_LAYER_NORM = 4;
@inline const EW_LAYER_NORM_BACKWARD = 5;
@inline const EW_LAYER_NORM_AFFINE = 6;

/**
 * Rows lo..hi of an elementwise job (a BY_EW_ROWS unit). The job's record at CALLS: op, a, b, o (addresses), rows,
 * cols, flag (i32; tanh or log), the bias address (LAYER_NORM_AFFINE, whose b is its weight), eps (f64 at 32). The flat kernels (GELU) see one column; JS cuts them at multiples
 * of 8 elements, so each unit groups lanes into vectors as one call over all of them would: rows are independent
 * and a GELU element depends only on its vector, so any cut gives the bits of one call.
 */
function ewUnit(call: usize, lo: i32, hi: i32): void {
  const op = load<i32>(call), cols = load<i32>(call, 20), flag = load<i32>(call, 24), eps = load<f64>(call, 32);
  const off = <usize>lo * <usize>cols * 4, rows = hi - lo;
  const a = <usize>load<u32>(call, 4) + off, b = <usize>load<u32>(call, 8) + (op == EW_LAYER_NORM_AFFINE ? 0 : off), o = <usize>load<u32>(call, 12) + off;
  if (op == EW_GELU) gelu(a, o, rows * cols, flag);
  else if (op == EW_GELU_BACKWARD) gelu_backward(a, b, o, rows * cols, flag);
  else if (op == EW_SOFTMAX) softmax_last(a, o, rows, cols, flag);
  else if (op == EW_SOFTMAX_BACKWARD) softmax_backward_last(a, b, o, rows, cols, flag);
  else if (op == EW_LAYER_NORM) layer_norm(a, o, rows, cols, eps);
  else if (op == EW_LAYER_NORM_AFFINE) layer_norm_affine(a, o, rows, cols, eps, <usize>load<u32>(call, 8), <usize>load<u32>(call, 28));
  else layer_norm_backward(a, b, o, rows, cols, eps);
}

/** p[i] = p[i] · scale (skipped when scale is 1), then + add[i] when add is not 0: each rounded once, f32x4. */
function scaleAdd(p: usize, add: usize, scale: f32, n: i32): void {
  const sv = f32x4.splat(scale);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const at = p + <usize>i * 4;
    let x = v128.load(at);
    if (scale != 1) x = f32x4.mul(x, sv);
    if (add != 0) x = f32x4.add(x, v128.load(add + <usize>i * 4));
    v128.store(at, x);
  }
  for (; i < n; i++) {
    const at = p + <usize>i * 4;
    let x = load<f32>(at);
    if (scale != 1) x *= scale;
    if (add != 0) x += load<f32>(add + <usize>i * 4);
    store<f32>(at, x);
  }
}

/**
 * softmax of each of the L rows of S floats at p, in place, in float32: e^(x - max) (vexp on normal results; below
 * e^-87 it is 0, as softmax_last), their sum, one multiply by its reciprocal. NaN rows (all -inf: masked out) stay
 * NaN, as PyTorch's.
 * NOTE: softmax_last's float64 sums and error-corrected exps cost ~5 ns an element, 40% of an attention unit of
 * 64×64 scores; this is within a few float32 ulp of it (the parity suite bounds it against the JS reference).
 */
function attentionSoftmax(p: usize, L: i32, S: i32): void {
  const n4 = S & ~3;
  for (let r = 0; r < L; r++) {
    const row = p + <usize>(r * S) * 4;
    let mv = f32x4.splat(-Infinity);
    for (let i = 0; i < n4; i += 4) mv = f32x4.max(mv, v128.load(row + <usize>i * 4));
    let m = max<f32>(max<f32>(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max<f32>(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
    for (let i = n4; i < S; i++) m = max<f32>(m, load<f32>(row + <usize>i * 4));
    const ms = f32x4.splat(m), lo = f32x4.splat(-87);
    let sv = f32x4.splat(0);
    for (let i = 0; i < n4; i += 4) {
      const at = row + <usize>i * 4, d = f32x4.sub(v128.load(at), ms);
      const e = v128.andnot(vexp(f32x4.pmax(d, lo), true), f32x4.lt(d, lo));
      v128.store(at, e);
      sv = f32x4.add(sv, e);
    }
    let sum = f32x4.extract_lane(sv, 0) + f32x4.extract_lane(sv, 1) + (f32x4.extract_lane(sv, 2) + f32x4.extract_lane(sv, 3));
    for (let i = n4; i < S; i++) {
      const at = row + <usize>i * 4, d = load<f32>(at) - m;
      const e = d < -87 ? <f32>0 : f32x4.extract_lane(vexp(f32x4.splat(max<f32>(d, -87)), true), 0);
      store<f32>(at, e);
      sum += e;
    }
    const rs = f32x4.splat(1 / sum);
    for (let i = 0; i < n4; i += 4) {
      const at = row + <usize>i * 4;
      v128.store(at, f32x4.mul(v128.load(at), rs));
    }
    for (let i = n4; i < S; i++) {
      const at = row + <usize>i * 4;
      store<f32>(at, load<f32>(at) * f32x4.extract_lane(rs, 0));
    }
  }
}

// How `rangedGemm` uses each row panel's range [lo, hi): the columns of C it computes, or the k it sums.
@inline const N_RANGE = 0;
@inline const K_RANGE = 1;

/** Zero the mr×nr block of C at c (row stride ld bytes). */
function zeroBlock(c: usize, ld: usize, mr: i32, nr: i32): void {
  for (let i = 0; i < mr; i++) memory.fill(c + <usize>i * ld, 0, <usize>(nr * 4));
}

/**
 * C (M×N, row stride ldc) = A (M×K) @ B (K×N) for K ≤ KC and N ≤ NC (one block of each), where every row i of A
 * carries a range [lo[i], hi[i]) (i32 arrays): with N_RANGE, C[i][j] is known to be masked out for j outside it,
 * so a tile whose columns miss the union of its rows' ranges is set to 0 instead of computed; with K_RANGE, A[i][k]
 * is 0 for k outside it, so each panel sums only the k of its rows' union.
 * NOTE: attention's causal mask makes half the (L, S) scores -inf and half the probabilities 0: this skips their
 * tiles. A skipped term is an exact 0 in the full sum (0 · x = 0 for finite x), and the sums keep their k order,
 * so the results are those of `gemm` (up to the sign of an all-zero sum, and where a skipped A or B value is not
 * finite: the full product would have put NaN there).
 */
function rangedGemm(scratch: usize, a: usize, ars: i32, acs: i32, b: usize, brs: i32, bcs: i32, c: usize, ldc: i32,
  M: i32, N: i32, K: i32, lo: usize, hi: usize, mode: i32): void {
  const ap0 = scratch, bp0 = scratch + BP_AT, tile = scratch + TILE_AT, ld = <usize>ldc * 4;
  packB(bp0, b, brs, bcs, K, N);
  for (let ic = 0; ic < M; ic += MC) {
    const mc = min(MC, M - ic), tall = talls(mc);
    packA(ap0, a + <usize>(ic * ars) * 4, ars, acs, mc, K, tall);
    let ap = ap0;
    for (let ir = 0; ir < mc;) {
      const h = ir < tall * MR ? MR : 4, mr = min(h, mc - ir), ci = c + <usize>((ic + ir) * ldc) * 4;
      let rl = load<i32>(lo + <usize>(ic + ir) * 4), rh = load<i32>(hi + <usize>(ic + ir) * 4);
      for (let i = ic + ir + 1; i < ic + ir + mr; i++) {
        rl = min(rl, load<i32>(lo + <usize>i * 4));
        rh = max(rh, load<i32>(hi + <usize>i * 4));
      }
      for (let jr = 0; jr < N; jr += NR) {
        const nr = min(NR, N - jr), cij = ci + <usize>jr * 4;
        let bp = bp0 + <usize>(jr * K * 4), apk = ap, kc = K;
        if (mode == K_RANGE) {
          bp += <usize>(rl * NR * 4);
          apk += <usize>(rl * h * 4);
          kc = rh - rl;
        }
        if (kc <= 0 || (mode == N_RANGE && (jr + nr <= rl || jr >= rh))) zeroBlock(cij, ld, mr, nr);
        else if (h == MR) microTall(kc, apk, bp, cij, ldc, false, mr, nr, tile);
        else micro4(kc, apk, bp, cij, ldc, false, mr, nr, tile);
      }
      ap += <usize>(K * h * 4);
      ir += h;
    }
  }
}

/**
 * One batch element of an attention (a BY_ATTENTION unit) from its record at r (i32 words): q, qrs, qcs, k, krs, kcs,
 * v, vrs, vcs (addresses and element strides), p and o (its probs (L, S) and out (L, Ev) blocks), L, S, E, Ev, bias
 * ((L, S) contiguous, or 0), scale (f32), o's row stride (elements), ranges (0, or the bias's live columns of each row
 * and live rows of each column: rowLo[L], rowHi[L], colLo[S], colHi[S], i32; given only when L, S, E and Ev are at
 * most KC, so each product is one K and N block for rangedGemm). The scores are computed in p (k's
 * strides swapped make kᵀ), scaled and biased there, turned into probabilities row by row, then multiplied by v into
 * o: the (L, S) block stays in this thread's cache from the first product to the second. With ranges, tiles the bias
 * masks out are skipped in both products.
 */
function attentionUnit(scratch: usize, r: usize): void {
  const p = <usize>load<u32>(r, 36), o = <usize>load<u32>(r, 40), L = load<i32>(r, 44), S = load<i32>(r, 48), E = load<i32>(r, 52), Ev = load<i32>(r, 56);
  const bias = <usize>load<u32>(r, 60), scale = load<f32>(r, 64), ors = load<i32>(r, 68), ranges = <usize>load<u32>(r, 72);
  const q = <usize>load<u32>(r), qrs = load<i32>(r, 4), qcs = load<i32>(r, 8), k = <usize>load<u32>(r, 12), krs = load<i32>(r, 16), kcs = load<i32>(r, 20);
  const v = <usize>load<u32>(r, 24), vrs = load<i32>(r, 28), vcs = load<i32>(r, 32);
  const rowLo = ranges, rowHi = ranges + <usize>L * 4;
  if (ranges != 0) rangedGemm(scratch, q, qrs, qcs, k, kcs, krs, p, S, L, S, E, rowLo, rowHi, N_RANGE);
  else gemm(scratch, q, qrs, qcs, k, kcs, krs, p, S, L, S, E);
  if (scale != 1 || bias != 0) scaleAdd(p, bias, scale, L * S);
  attentionSoftmax(p, L, S);
  if (ranges != 0) rangedGemm(scratch, p, S, 1, v, vrs, vcs, o, ors, L, Ev, S, rowLo, rowHi, K_RANGE);
  else gemm(scratch, p, S, 1, v, vrs, vcs, o, ors, L, Ev, S);
}

/**
 * One batch element of attention's gradients (a BY_ATTENTION_BACKWARD unit) from its record at r (i32 words): g, grs,
 * gcs, q, qrs, qcs, k, krs, kcs, v, vrs, vcs (addresses and element strides), p (its probs (L, S), contiguous), ds
 * (its (L, S) scratch block), dq, dk, dv (its (L, E), (S, E), (S, Ev) output blocks), L, S, E, Ev, scale (f32), the
 * row strides of dq, dk and dv (elements), ranges (as attentionUnit's).
 * dv = pᵀ g, ds = softmaxBackward(g vᵀ, p) · scale, dq = ds k, dk = dsᵀ q: the products of the rule's composite,
 * with p and ds in this thread's cache from the first product to the last; with ranges, the tiles of masked scores
 * (p = 0, so ds = 0) are skipped in all four.
 */
function attentionBackwardUnit(scratch: usize, r: usize): void {
  const g = <usize>load<u32>(r), grs = load<i32>(r, 4), gcs = load<i32>(r, 8);
  const q = <usize>load<u32>(r, 12), qrs = load<i32>(r, 16), qcs = load<i32>(r, 20), k = <usize>load<u32>(r, 24), krs = load<i32>(r, 28), kcs = load<i32>(r, 32);
  const v = <usize>load<u32>(r, 36), vrs = load<i32>(r, 40), vcs = load<i32>(r, 44);
  const p = <usize>load<u32>(r, 48), ds = <usize>load<u32>(r, 52), dq = <usize>load<u32>(r, 56), dk = <usize>load<u32>(r, 60), dv = <usize>load<u32>(r, 64);
  const L = load<i32>(r, 68), S = load<i32>(r, 72), E = load<i32>(r, 76), Ev = load<i32>(r, 80), scale = load<f32>(r, 84);
  const dqrs = load<i32>(r, 88), dkrs = load<i32>(r, 92), dvrs = load<i32>(r, 96), ranges = <usize>load<u32>(r, 100);
  const rowLo = ranges, rowHi = ranges + <usize>L * 4, colLo = rowHi + <usize>L * 4, colHi = colLo + <usize>S * 4;
  if (ranges != 0) {
    rangedGemm(scratch, p, 1, S, g, grs, gcs, dv, dvrs, S, Ev, L, colLo, colHi, K_RANGE);
    rangedGemm(scratch, g, grs, gcs, v, vcs, vrs, ds, S, L, S, Ev, rowLo, rowHi, N_RANGE);
  } else {
    gemm(scratch, p, 1, S, g, grs, gcs, dv, dvrs, S, Ev, L);
    gemm(scratch, g, grs, gcs, v, vcs, vrs, ds, S, L, S, Ev);
  }
  softmax_backward_last(ds, p, ds, L, S, 0);
  if (scale != 1) scaleAdd(ds, 0, scale, L * S);
  if (ranges != 0) {
    rangedGemm(scratch, ds, S, 1, k, krs, kcs, dq, dqrs, L, E, S, rowLo, rowHi, K_RANGE);
    rangedGemm(scratch, ds, 1, S, q, qrs, qcs, dk, dkrs, S, E, L, colLo, colHi, K_RANGE);
  } else {
    gemm(scratch, ds, S, 1, k, krs, kcs, dq, dqrs, L, E, S);
    gemm(scratch, ds, 1, S, q, qrs, qcs, dk, dkrs, S, E, L);
  }
}

/**
 * Thread `t`'s share of the job in the control words: take units (one chunk of one call) from the NEXT counter
 * until none is left or `max` have run, each with thread t's own scratch. Returns how many units this thread ran.
 * NOTE: units are handed out dynamically, so a worker that wakes late (futex wake-ups took 18–99 µs here)
 * just takes fewer; which thread runs a unit never changes its result.
 * NOTE: a BY_K chunk is exactly one K block, summed from zero like every block of `gemm`; chunk 0 stores into
 * C and the others into partials that `finish` adds to C in block order, the very additions `gemm` makes on
 * one thread. So splitting K (for small C with a long K: weight gradients) changes no bit either.
 */
export function run(t: i32, max: i32): i32 {
  const scratch = SCRATCH0 + <usize>t * SCRATCH_BYTES;
  let ran = 0;
  // the job's words are read after taking a unit: JS writes them, with no worker inside run, before it resets NEXT to 0
  while (ran < max) {
    const u = fetchAdd(CTL + NEXT, 1);
    if (u >= load<i32>(CTL + UNITS)) break;
    const chunks = load<i32>(CTL + CHUNKS), w = load<i32>(CTL + WIDTH), split = load<i32>(CTL + SPLIT);
    const ci = u / chunks, call = <usize>load<u32>(CTL + CALLS) + <usize>ci * CALL_BYTES;
    if (split == BY_IMAGE) convUnit(scratch, t, ci, call);
    else if (split == BY_K_IM2COL) convWeightUnit(scratch, t, u, w, call);
    else if (split == BY_IMAGE_COL2IM) convInputUnit(scratch, t, call);
    else if (split == BY_EW_ROWS) ewUnit(call, u * w, min(u * w + w, load<i32>(call, 16)));
    else if (split == BY_ATTENTION) attentionUnit(scratch, <usize>load<u32>(CTL + CALLS) + <usize>u * ATT_BYTES);
    else if (split == BY_ATTENTION_BACKWARD) attentionBackwardUnit(scratch, <usize>load<u32>(CTL + CALLS) + <usize>u * ATT_BACKWARD_BYTES);
    else gemmUnit(scratch, call, split, ci, u % chunks, chunks, w);
    ran++;
    const flags = <usize>load<u32>(CTL + FLAGS);
    if (flags != 0) {
      if (ASC_FEATURE_THREADS) atomic.store<i32>(flags + <usize>u * 4, 1);
      else store<i32>(flags + <usize>u * 4, 1);
    }
    const done = fetchAdd(CTL + DONE, 1) + 1;
    if (ASC_FEATURE_THREADS) {
      if (done == load<i32>(CTL + UNITS)) atomic.notify(CTL + DONE, 1);
    }
  }
  return ran;
}

/** After a BY_K or BY_K_IM2COL job: add each call's partials to its C in K-block order, then its bias. */
export function finish(): void {
  const chunks = load<i32>(CTL + CHUNKS), calls = load<i32>(CTL + UNITS) / chunks;
  let p = <usize>load<u32>(CTL + PARTIALS);
  for (let ci = 0; ci < calls; ci++) {
    const call = <usize>load<u32>(CTL + CALLS) + <usize>ci * CALL_BYTES;
    const c = <usize>load<u32>(call, 24), bias = <usize>load<u32>(call, 40), M = load<i32>(call, 28), N = load<i32>(call, 32);
    const n = M * N;
    for (let s = 1; s < chunks; s++, p += <usize>n * 4) scaleAdd(c, p, 1, n);
    if (bias != 0) addBias(c, N, bias, M, N);
  }
}
