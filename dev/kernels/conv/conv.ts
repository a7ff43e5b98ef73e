// AssemblyScript float32 kernels for convolution and pooling windows (im2col, col2im, max pooling), compiled by scripts/build_wasm.mjs.
// NOTE: this file is AssemblyScript, not TypeScript; it lives outside src/ because `tsc` type-checks all of src/.
// Strides and offsets are in elements and may be negative (i32 arithmetic, wrapped into the address): the glue
// copies each view's touched span into the arena and passes the address of its element (0, 0, 0, 0).
// Results are bitwise equal to the JS reference: copies and maxima are exact, and col2im adds in the same order
// (a float32 sum rounded from double, as JS stores it, equals the float32 sum).

const ARENA: usize = (__heap_base + 63) & ~63;

/** Grow memory so `bytes` fit at the arena start; returns the arena's address (64-byte aligned). */
export function arena(bytes: usize): usize {
  const end = ARENA + bytes;
  const have = <usize>memory.size() << 16;
  if (end > have) {
    if (memory.grow(<i32>((end - have + 0xffff) >> 16)) < 0) unreachable();
  }
  return ARENA;
}

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

/** x (N, C, H, W) at strides sN..sW → columns (C*kh*kw, N*ho*wo) at out, zeros outside x. */
export function im2col(x: usize, sN: i32, sC: i32, sH: i32, sW: i32, N: i32, C: i32, H: i32, W: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32, ph: i32, pw: i32, ho: i32, wo: i32, out: usize): void {
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

/** The adjoint of im2col: columns (C*kh*kw, N*ho*wo) at strides cK, cL summed into out (N, C, H, W), contiguous. */
export function col2im(cols: usize, cK: i32, cL: i32, N: i32, C: i32, H: i32, W: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32, ph: i32, pw: i32, ho: i32, wo: i32, out: usize): void {
  memory.fill(out, 0, <usize>(N * C * H * W) << 2);
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

/**
 * One window of maxPool2d, scalar: rows i0 <= i < i1 are in bounds; stores the max and its flat h*W + w index.
 * NOTE: selects instead of branches: on random data "v > best" is a coin flip, and mispredictions cost more
 * than the comparisons. Divisions only at the edges: two i32 divisions cost more than a 2x2 window's compares.
 */
@inline function poolWindow(x: usize, base: i32, sH: i32, sW: i32, W: i32, kw: i32, dw: i32, h0: i32, dh: i32, i0: i32, i1: i32,
  w0: i32, out: usize, idx: usize): void {
  const within = w0 >= 0 && w0 + (kw - 1) * dw < W;
  const j0 = within || w0 >= 0 ? 0 : (-w0 + dw - 1) / dw;
  const j1 = within ? kw : min(kw, W - w0 <= 0 ? 0 : (W - 1 - w0) / dw + 1);
  let best: f32 = -Infinity;
  let arg: i32 = i0 < i1 && j0 < j1 ? (h0 + i0 * dh) * W + w0 + j0 * dw : -1;
  for (let i = i0; i < i1; i++) {
    const h = h0 + i * dh;
    for (let j = j0; j < j1; j++) {
      const w = w0 + j * dw;
      const v = load<f32>(at(x, base + h * sH + w * sW));
      const take = v > best || v != v;
      best = select<f32>(v, best, take);
      arg = select<i32>(h * W + w, arg, take);
    }
  }
  store<f32>(out, best);
  store<i32>(idx, arg);
}

/** Elements x[p], x[p + s], x[p + 2s], x[p + 3s] (s in elements) as one vector. */
@inline function gather(x: usize, p: i32, s: i32): v128 {
  if (s == 1) return v128.load(at(x, p));
  if (s == 2) return v128.shuffle<f32>(v128.load(at(x, p)), v128.load(at(x, p + 4)), 0, 2, 4, 6);
  let v = f32x4.splat(load<f32>(at(x, p)));
  v = f32x4.replace_lane(v, 1, load<f32>(at(x, p + s)));
  v = f32x4.replace_lane(v, 2, load<f32>(at(x, p + 2 * s)));
  return f32x4.replace_lane(v, 3, load<f32>(at(x, p + 3 * s)));
}

/** Four windows of maxPool2d starting at column w0 (lane l at w0 + l*sw), all inside the input's columns. */
@inline function poolBlock(x: usize, base: i32, sH: i32, sW: i32, W: i32, kw: i32, sw: i32, dw: i32, h0: i32, dh: i32, i0: i32, i1: i32,
  w0: i32, lanes: v128, out: usize, idx: usize): void {
  let best = f32x4.splat(-Infinity);
  let arg = i0 < i1 ? i32x4.add(i32x4.splat((h0 + i0 * dh) * W + w0), lanes) : i32x4.splat(-1);
  for (let i = i0; i < i1; i++) {
    const h = h0 + i * dh;
    for (let j = 0; j < kw; j++) {
      const w = w0 + j * dw;
      const v = gather(x, base + h * sH + w * sW, sw * sW);
      const take = v128.or(f32x4.gt(v, best), f32x4.ne(v, v));
      best = v128.bitselect(v, best, take);
      arg = v128.bitselect(i32x4.add(i32x4.splat(h * W + w), lanes), arg, take);
    }
  }
  v128.store(out, best);
  v128.store(idx, arg);
}

/**
 * Max over each window of x (N, C, H, W) into values (N, C, ho, wo) and the flat h*W + w index of the first
 * maximum into idx, as PyTorch: start at -inf on the first in-bounds element, take a greater value or any NaN.
 * Four windows at once where they lie inside the input's columns (lane l is window q + l, the same steps as scalar).
 */
export function maxPool2d(x: usize, sN: i32, sC: i32, sH: i32, sW: i32, N: i32, C: i32, H: i32, W: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32, ph: i32, pw: i32, ho: i32, wo: i32, values: usize, idx: usize): void {
  // windows qa <= q < qb lie inside the columns
  const qa = min(pw <= 0 ? 0 : (pw + sw - 1) / sw, wo);
  const lastStart = W - 1 - (kw - 1) * dw + pw;
  const qb = max(min(lastStart < 0 ? 0 : lastStart / sw + 1, wo), qa);
  const lanes = i32x4(0, sw, 2 * sw, 3 * sw);
  let o: i32 = 0;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const base = n * sN + c * sC;
      for (let r = 0; r < ho; r++, o += wo) {
        const h0 = r * sh - ph;
        // the in-bounds rows i0 <= i < i1
        const inside = h0 >= 0 && h0 + (kh - 1) * dh < H;
        const i0 = inside || h0 >= 0 ? 0 : (-h0 + dh - 1) / dh;
        const i1 = inside ? kh : min(kh, H - h0 <= 0 ? 0 : (H - 1 - h0) / dh + 1);
        let q = 0;
        for (; q < qa; q++) poolWindow(x, base, sH, sW, W, kw, dw, h0, dh, i0, i1, q * sw - pw, at(values, o + q), at(idx, o + q));
        for (; q + 4 <= qb; q += 4) poolBlock(x, base, sH, sW, W, kw, sw, dw, h0, dh, i0, i1, q * sw - pw, lanes, at(values, o + q), at(idx, o + q));
        // the last interior windows as a block overlapping the previous one (it stores the same results again)
        if (q < qb && qb - qa >= 4) {
          poolBlock(x, base, sH, sW, W, kw, sw, dw, h0, dh, i0, i1, (qb - 4) * sw - pw, lanes, at(values, o + qb - 4), at(idx, o + qb - 4));
          q = qb;
        }
        for (; q < wo; q++) poolWindow(x, base, sH, sW, W, kw, dw, h0, dh, i0, i1, q * sw - pw, at(values, o + q), at(idx, o + q));
      }
    }
  }
}

/** maxPool2d's input gradient: g (N, C, ho, wo) at strides gN..gW added at idx (contiguous) into out (N, C, H, W). */
export function maxPool2dBackward(g: usize, gN: i32, gC: i32, gH: i32, gW: i32, idx: usize,
  N: i32, C: i32, H: i32, W: i32, ho: i32, wo: i32, out: usize): void {
  memory.fill(out, 0, <usize>(N * C * H * W) << 2);
  let t: i32 = 0;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const plane = (n * C + c) * H * W;
      for (let r = 0; r < ho; r++) {
        for (let q = 0, gi = n * gN + c * gC + r * gH; q < wo; q++, gi += gW, t++) {
          const k = load<i32>(at(idx, t));
          if (<u32>k >= <u32>(H * W)) continue; // -1: a window with nothing in bounds
          const d = at(out, plane + k);
          store<f32>(d, load<f32>(d) + load<f32>(at(g, gi)));
        }
      }
    }
  }
}
