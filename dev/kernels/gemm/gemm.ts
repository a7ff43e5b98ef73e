// AssemblyScript f32 GEMM (BLAS-style packing, 4×8 f32x4 micro-kernel), compiled by scripts/build_wasm.mjs.
// NOTE: this file is AssemblyScript, not TypeScript; it lives outside src/ because `tsc` type-checks all of
// src/. Built twice: plain SIMD, and with --enable relaxed-simd (ASC_FEATURE_RELAXED_SIMD folds to true).

// NOTE: 4×8 tile = 8 f32x4 accumulators: the probe measured bigger tiles spilling registers (16–22 GFLOP/s
// against 31). KC = 256 keeps one 4×KC A sliver and an 8×KC B sliver (12 KiB) in L1; MC×KC of packed A
// (64 KiB) stays in L2 while the micro-kernel sweeps it once per B sliver.
@inline const MR = 4;
@inline const NR = 8;
@inline const KC = 256;
@inline const MC = 64;
@inline const NC = 1024;

// Fixed regions above the static data: packed A block, packed B block, one C tile for edges; the arena
// that holds the caller's operands and output follows.
const AP: usize = (__heap_base + 63) & ~63;
const BP: usize = AP + MC * KC * 4;
const TILE: usize = BP + KC * NC * 4;
const ARENA: usize = TILE + MR * NR * 4;

/** Grow memory so `bytes` fit at the arena start; returns the arena's address (64-byte aligned). */
export function arena(bytes: usize): usize {
  const end = ARENA + bytes;
  const have = <usize>memory.size() << 16;
  if (end > have) {
    if (memory.grow(<i32>((end - have + 0xffff) >> 16)) < 0) unreachable();
  }
  return ARENA;
}

/** Pack the mc×kc block of A at `a` (strides rs, cs in elements) into MR-row panels, k-major, zero-padded. */
function packA(a: usize, rs: i32, cs: i32, mc: i32, kc: i32): void {
  let dst = AP;
  for (let i0 = 0; i0 < mc; i0 += MR) {
    const mr = min(MR, mc - i0);
    const src = a + <usize>(i0 * rs) * 4;
    if (rs == 1 && mr == MR) {
      // Aᵀ (column-major A): the panel's 4 values for one k are adjacent
      for (let k = 0; k < kc; k++) v128.store(dst + <usize>(k * 16), v128.load(src + <usize>(k * cs) * 4));
    } else {
      for (let i = 0; i < mr; i++) {
        let s = src + <usize>(i * rs) * 4, d = dst + <usize>(i * 4);
        for (let k = 0; k < kc; k++, s += <usize>cs * 4, d += 16) store<f32>(d, load<f32>(s));
      }
      for (let i = mr; i < MR; i++) {
        let d = dst + <usize>(i * 4);
        for (let k = 0; k < kc; k++, d += 16) store<f32>(d, 0);
      }
    }
    dst += <usize>(kc * MR * 4);
  }
}

/** Pack the kc×nc block of B at `b` (strides rs, cs in elements) into NR-column panels, k-major, zero-padded. */
function packB(b: usize, rs: i32, cs: i32, kc: i32, nc: i32): void {
  let dst = BP;
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
    } else {
      // Bᵀ (column-major B) reads each column along k contiguously
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

/**
 * C tile (mr×nr at c, row stride ldc elements) = (or +=, when `acc`) packed A sliver × packed B sliver over kc.
 * Full tiles store straight to C; edge tiles go through TILE and copy their valid part.
 */
function micro(kc: i32, ap: usize, bp: usize, c: usize, ldc: i32, acc: bool, mr: i32, nr: i32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(bp), b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = madd(a, b0, c00); c01 = madd(a, b1, c01);
    a = v128.load32_splat(ap, 4);
    c10 = madd(a, b0, c10); c11 = madd(a, b1, c11);
    a = v128.load32_splat(ap, 8);
    c20 = madd(a, b0, c20); c21 = madd(a, b1, c21);
    a = v128.load32_splat(ap, 12);
    c30 = madd(a, b0, c30); c31 = madd(a, b1, c31);
    ap += 16;
    bp += 32;
  }
  const ld = <usize>ldc * 4;
  if (mr == MR && nr == NR) {
    let r = c;
    if (acc) {
      v128.store(r, f32x4.add(v128.load(r), c00)); v128.store(r, f32x4.add(v128.load(r, 16), c01), 16); r += ld;
      v128.store(r, f32x4.add(v128.load(r), c10)); v128.store(r, f32x4.add(v128.load(r, 16), c11), 16); r += ld;
      v128.store(r, f32x4.add(v128.load(r), c20)); v128.store(r, f32x4.add(v128.load(r, 16), c21), 16); r += ld;
      v128.store(r, f32x4.add(v128.load(r), c30)); v128.store(r, f32x4.add(v128.load(r, 16), c31), 16);
    } else {
      v128.store(r, c00); v128.store(r, c01, 16); r += ld;
      v128.store(r, c10); v128.store(r, c11, 16); r += ld;
      v128.store(r, c20); v128.store(r, c21, 16); r += ld;
      v128.store(r, c30); v128.store(r, c31, 16);
    }
    return;
  }
  v128.store(TILE, c00); v128.store(TILE, c01, 16);
  v128.store(TILE, c10, 32); v128.store(TILE, c11, 48);
  v128.store(TILE, c20, 64); v128.store(TILE, c21, 80);
  v128.store(TILE, c30, 96); v128.store(TILE, c31, 112);
  for (let i = 0; i < mr; i++) {
    const r = c + <usize>i * ld, t = TILE + <usize>(i * NR * 4);
    for (let j = 0; j < nr; j++) {
      const p = r + <usize>(j * 4), v = load<f32>(t + <usize>(j * 4));
      store<f32>(p, acc ? load<f32>(p) + v : v);
    }
  }
}

/**
 * C (M×N, contiguous) = A (M×K) @ B (K×N). A and B are f32 at byte addresses a and b, read through element
 * strides (ars, acs) and (brs, bcs), so transposed and strided operands cost only their packing. K ≥ 1.
 */
export function gemm(a: usize, ars: i32, acs: i32, b: usize, brs: i32, bcs: i32, c: usize, M: i32, N: i32, K: i32): void {
  for (let jc = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      packB(b + <usize>(pc * brs + jc * bcs) * 4, brs, bcs, kc, nc);
      for (let ic = 0; ic < M; ic += MC) {
        const mc = min(MC, M - ic);
        packA(a + <usize>(ic * ars + pc * acs) * 4, ars, acs, mc, kc);
        for (let jr = 0; jr < nc; jr += NR) {
          const bp = BP + <usize>(jr * kc * 4), nr = min(NR, nc - jr);
          const cj = c + <usize>((ic * N) + jc + jr) * 4;
          for (let ir = 0; ir < mc; ir += MR) {
            micro(kc, AP + <usize>(ir * kc * 4), bp, cj + <usize>(ir * N) * 4, N, pc > 0, min(MR, mc - ir), nr);
          }
        }
      }
    }
  }
}
