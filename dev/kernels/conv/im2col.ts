// AssemblyScript im2col, col2im and their window helpers, compiled into both the conv and the GEMM module.
// NOTE: scripts/build_wasm.mjs puts this source in front of conv.ts and of gemm.ts (one source string each): the
// GEMM module runs them per image or K block inside its units, so a convolution's columns never leave its memory.
// Strides and offsets are in elements and may be negative (i32 arithmetic, wrapped into the address).

@inline function at(base: usize, i: i32): usize { return base + (<usize>i << 2); }

/** First output column q whose input column q*sw + shift is >= 0, clamped to wo. */
@inline function firstCol(shift: i32, sw: i32, wo: i32): i32 {
  return min(shift >= 0 ? 0 : (-shift + sw - 1) / sw, wo);
}
/** One past the last output column q whose input column q*sw + shift is < W, clamped to wo. */
@inline function endCol(shift: i32, sw: i32, W: i32, wo: i32): i32 {
  return min(W - 1 - shift < 0 ? 0 : (W - 1 - shift) / sw + 1, wo);
}

/** Zero the floats from..to (exclusive) of the row at o. */
@inline function zero(o: usize, from: i32, to: i32): void {
  let k = from;
  for (; k + 4 <= to; k += 4) v128.store(at(o, k), i32x4.splat(0));
  for (; k < to; k++) store<f32>(at(o, k), 0);
}

/** Lanes (0, 1, 2, 3) as the columns col..col+3 of rows W >= 4 wide, wrapped into [0, W). */
@inline function laneCols(col: i32, W: i32): v128 {
  const c = i32x4.add(i32x4.splat(col), i32x4(0, 1, 2, 3));
  return i32x4.sub(c, v128.and(i32x4.ge_s(c, i32x4.splat(W)), i32x4.splat(W)));
}

/** Lanes whose column lies in [q0, q1), as an all-ones mask. */
@inline function colMask(cols: v128, q0: i32, q1: i32): v128 {
  return v128.and(i32x4.ge_s(cols, i32x4.splat(q0)), i32x4.lt_s(cols, i32x4.splat(q1)));
}

// shiftRange's results (AssemblyScript functions return one value)
let q0g: i32 = 0, q1g: i32 = 0, t0g: i32 = 0, t1g: i32 = 0;

/**
 * For one kernel position, shifted by (rowShift, colShift) over rows of W at stride 1 with ho*W outputs: the
 * output offsets t = r*W + q that read inside x lie in [t0, t1) (empty: t0 == t1), and within that range exactly
 * the columns q outside [q0, q1) read outside x.
 */
@inline function shiftRange(H: i32, W: i32, ho: i32, rowShift: i32, colShift: i32): void {
  q0g = firstCol(colShift, 1, W);
  q1g = max(endCol(colShift, 1, W, W), q0g);
  const r0 = min(max(-rowShift, 0), ho), r1 = max(min(H - rowShift, ho), r0);
  if (r0 == r1 || q0g == q1g) { t0g = 0; t1g = 0; return; }
  t0g = r0 * W + q0g;
  t1g = (r1 - 1) * W + q1g;
}

/**
 * im2col at stride 1 with an output as wide as the input, rows of x contiguous: each column plane (c, i, j, n) is
 * x's plane (n, c) shifted by (i*dh - ph)*W + j*dw - pw, positions outside x zeroed. One pass of vectors per plane
 * instead of a short row at a time.
 */
function im2colShift(x: usize, sN: i32, sC: i32, N: i32, C: i32, H: i32, W: i32,
  kh: i32, kw: i32, dh: i32, dw: i32, ph: i32, pw: i32, ho: i32, out: usize): void {
  const L = ho * W;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          const rowShift = i * dh - ph, colShift = j * dw - pw;
          shiftRange(H, W, ho, rowShift, colShift);
          const q0 = q0g, q1 = q1g, t0 = t0g, t1 = t1g;
          const o = at(out, (((c * kh + i) * kw + j) * N + n) * L);
          const s = at(x, n * sN + c * sC + rowShift * W + colShift); // x's element for t = 0
          zero(o, 0, t0);
          zero(o, t1, L);
          let t = t0;
          if (q0 == 0 && q1 == W) {
            for (; t + 4 <= t1; t += 4) v128.store(at(o, t), v128.load(at(s, t)));
            for (; t < t1; t++) store<f32>(at(o, t), load<f32>(at(s, t)));
            continue;
          }
          let col = q0;
          for (; t + 4 <= t1; t += 4) {
            v128.store(at(o, t), v128.and(v128.load(at(s, t)), colMask(laneCols(col, W), q0, q1)));
            col += 4;
            if (col >= W) col -= W;
          }
          for (; t < t1; t++) {
            store<f32>(at(o, t), col >= q0 && col < q1 ? load<f32>(at(s, t)) : 0);
            if (++col == W) col = 0;
          }
        }
      }
    }
  }
}

/** x (N, C, H, W) at strides sN..sW → columns (C*kh*kw, N*ho*wo) at out, zeros outside x. */
function im2colAt(x: usize, sN: i32, sC: i32, sH: i32, sW: i32, N: i32, C: i32, H: i32, W: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32, ph: i32, pw: i32, ho: i32, wo: i32, out: usize): void {
  if (sh == 1 && sw == 1 && sW == 1 && sH == W && wo == W && W >= 4) {
    im2colShift(x, sN, sC, N, C, H, W, kh, kw, dh, dw, ph, pw, ho, out);
    return;
  }
  const rowBytes = <usize>wo << 2;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const base = n * sN + c * sC;
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          const shift = j * dw - pw;
          const q0 = firstCol(shift, sw, wo), q1 = max(endCol(shift, sw, W, wo), q0);
          let o = at(out, (((c * kh + i) * kw + j) * N + n) * ho * wo);
          // NOTE: plain loops, not memory.fill/copy: rows are short (14-28 floats) and each bulk call costs ~20 ns
          for (let r = 0; r < ho; r++, o += rowBytes) {
            const h = r * sh - ph + i * dh;
            if (h < 0 || h >= H) { zero(o, 0, wo); continue; }
            zero(o, 0, q0);
            zero(o, q1, wo);
            const src = base + h * sH + (shift + q0 * sw) * sW;
            const step = sw * sW;
            if (step == 1) {
              const d = at(o, q0), sp = at(x, src), len = q1 - q0;
              let k = 0;
              for (; k + 4 <= len; k += 4) v128.store(d + (<usize>k << 2), v128.load(sp + (<usize>k << 2)));
              for (; k < len; k++) store<f32>(d + (<usize>k << 2), load<f32>(sp + (<usize>k << 2)));
            } else {
              for (let q = q0, xi = src; q < q1; q++, xi += step) store<f32>(at(o, q), load<f32>(at(x, xi)));
            }
          }
        }
      }
    }
  }
}

/**
 * Columns lo..hi-1 (of N*ho*wo) of x's im2col, as a (C*kh*kw, hi - lo) block at out: what a weight gradient's K
 * block multiplies. Walks each row's output positions a run of one output row (n, r) at a time.
 */
function im2colRange(x: usize, sN: i32, sC: i32, sH: i32, sW: i32, C: i32, H: i32, W: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32, ph: i32, pw: i32, ho: i32, wo: i32, lo: i32, hi: i32, out: usize): void {
  const L = ho * wo, len = hi - lo;
  let o = out;
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const shift = j * dw - pw;
        const q0 = firstCol(shift, sw, wo), q1 = max(endCol(shift, sw, W, wo), q0);
        for (let p = lo; p < hi;) {
          const n = p / L, rem = p - n * L, r = rem / wo, qa = rem - r * wo, qb = min(wo, qa + hi - p);
          const h = r * sh - ph + i * dh;
          const d = at(o, p - lo - qa);
          if (h < 0 || h >= H) zero(d, qa, qb);
          else {
            const a = min(max(q0, qa), qb), b = max(min(q1, qb), a);
            zero(d, qa, a);
            zero(d, b, qb);
            const src = n * sN + c * sC + h * sH + shift * sW, step = sw * sW;
            for (let q = a, xi = src + a * step; q < b; q++, xi += step) store<f32>(at(d, q), load<f32>(at(x, xi)));
          }
          p += qb - qa;
        }
        o = at(o, len);
      }
    }
  }
}

/**
 * col2im for the shapes of im2colShift, columns contiguous along N*ho*wo: each column plane is added to x's plane
 * shifted, positions outside x adding +0 (the sums are never -0, so that changes nothing), in the reference's order.
 */
function col2imShift(cols: usize, cK: i32, N: i32, C: i32, H: i32, W: i32,
  kh: i32, kw: i32, dh: i32, dw: i32, ph: i32, pw: i32, ho: i32, out: usize): void {
  const L = ho * W;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          const rowShift = i * dh - ph, colShift = j * dw - pw;
          shiftRange(H, W, ho, rowShift, colShift);
          const q0 = q0g, q1 = q1g, t0 = t0g, t1 = t1g;
          // NOTE: t + shift stays inside the plane for t0 <= t < t1, so masked lanes add 0 to elements of it
          const d = at(out, (n * C + c) * H * W + rowShift * W + colShift);
          const s = at(cols, n * L + ((c * kh + i) * kw + j) * cK);
          let t = t0;
          if (q0 == 0 && q1 == W) {
            for (; t + 4 <= t1; t += 4) v128.store(at(d, t), f32x4.add(v128.load(at(d, t)), v128.load(at(s, t))));
            for (; t < t1; t++) store<f32>(at(d, t), load<f32>(at(d, t)) + load<f32>(at(s, t)));
            continue;
          }
          let col = q0;
          for (; t + 4 <= t1; t += 4) {
            const v = v128.and(v128.load(at(s, t)), colMask(laneCols(col, W), q0, q1));
            v128.store(at(d, t), f32x4.add(v128.load(at(d, t)), v));
            col += 4;
            if (col >= W) col -= W;
          }
          for (; t < t1; t++) {
            if (col >= q0 && col < q1) store<f32>(at(d, t), load<f32>(at(d, t)) + load<f32>(at(s, t)));
            if (++col == W) col = 0;
          }
        }
      }
    }
  }
}

/** The adjoint of im2col: columns (C*kh*kw, N*ho*wo) at strides cK, cL summed into out (N, C, H, W), contiguous. */
function col2imAt(cols: usize, cK: i32, cL: i32, N: i32, C: i32, H: i32, W: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32, ph: i32, pw: i32, ho: i32, wo: i32, out: usize): void {
  memory.fill(out, 0, <usize>(N * C * H * W) << 2);
  if (sh == 1 && sw == 1 && cL == 1 && wo == W && W >= 4) {
    col2imShift(cols, cK, N, C, H, W, kh, kw, dh, dw, ph, pw, ho, out);
    return;
  }
  const cN = ho * wo * cL;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const plane = (n * C + c) * H * W;
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          const shift = j * dw - pw;
          const q0 = firstCol(shift, sw, wo), q1 = max(endCol(shift, sw, W, wo), q0);
          const row = n * cN + ((c * kh + i) * kw + j) * cK;
          for (let r = 0; r < ho; r++) {
            const h = r * sh - ph + i * dh;
            if (h < 0 || h >= H) continue;
            const oi = plane + h * W + shift + q0 * sw, ci = row + (r * wo + q0) * cL;
            const len = q1 - q0;
            if (sw == 1 && cL == 1) {
              const d = at(out, oi), s = at(cols, ci);
              let q = 0;
              for (; q + 4 <= len; q += 4) {
                const p = <usize>q << 2;
                v128.store(d + p, f32x4.add(v128.load(d + p), v128.load(s + p)));
              }
              for (; q < len; q++) {
                const p = <usize>q << 2;
                store<f32>(d + p, load<f32>(d + p) + load<f32>(s + p));
              }
            } else {
              for (let q = 0, dq = oi, sq = ci; q < len; q++, dq += sw, sq += cL) {
                store<f32>(at(out, dq), load<f32>(at(out, dq)) + load<f32>(at(cols, sq)));
              }
            }
          }
        }
      }
    }
  }
}
