// AssemblyScript float32 kernels for convolution and pooling windows (im2col, col2im, max pooling, output reorder), compiled by scripts/build_wasm.mjs.
// NOTE: this file is AssemblyScript, not TypeScript; it lives outside src/ because `tsc` type-checks all of src/.
// Strides and offsets are in elements and may be negative (i32 arithmetic, wrapped into the address): the glue
// copies each view's touched span into the arena and passes the address of its element (0, 0, 0, 0).
// Results are bitwise equal to the JS reference: copies and maxima are exact, and col2im adds in the same order
// (a float32 sum rounded from double, as JS stores it, equals the float32 sum).

// `arena(bytes)` comes from dev/kernels/common/arena.ts (the build puts it first).

/** x (N, C, H, W) at strides sN..sW → columns (C*kh*kw, N*ho*wo) at out, zeros outside x (im2col.ts). */
export function im2col(x: usize, sN: i32, sC: i32, sH: i32, sW: i32, N: i32, C: i32, H: i32, W: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32, ph: i32, pw: i32, ho: i32, wo: i32, out: usize): void {
  im2colAt(x, sN, sC, sH, sW, N, C, H, W, kh, kw, sh, sw, dh, dw, ph, pw, ho, wo, out);
}

/** The adjoint of im2col: columns (C*kh*kw, N*ho*wo) at strides cK, cL summed into out (N, C, H, W), contiguous (im2col.ts). */
export function col2im(cols: usize, cK: i32, cL: i32, N: i32, C: i32, H: i32, W: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32, ph: i32, pw: i32, ho: i32, wo: i32, out: usize): void {
  col2imAt(cols, cK, cL, N, C, H, W, kh, kw, sh, sw, dh, dw, ph, pw, ho, wo, out);
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
 * Four 2x2 stride-2 windows, q..q+3, whose top-left elements are x[p + 2l] (rows sH apart, columns contiguous) and
 * h*W + w = e + 2l: poolBlock's steps with the four elements deinterleaved from two loads per row. The first
 * element always becomes the running max (a -inf one leaves best at -inf and the index there).
 */
@inline function pool2x2Block(x: usize, p: i32, sH: i32, W: i32, e: i32, out: usize, idx: usize): void {
  const a = v128.load(at(x, p)), b = v128.load(at(x, p + 4)), c = v128.load(at(x, p + sH)), d = v128.load(at(x, p + sH + 4));
  let best = v128.shuffle<f32>(a, b, 0, 2, 4, 6);
  let arg = i32x4.splat(0);
  const v01 = v128.shuffle<f32>(a, b, 1, 3, 5, 7), v10 = v128.shuffle<f32>(c, d, 0, 2, 4, 6), v11 = v128.shuffle<f32>(c, d, 1, 3, 5, 7);
  let take = v128.or(f32x4.gt(v01, best), f32x4.ne(v01, v01));
  best = v128.bitselect(v01, best, take);
  arg = v128.bitselect(i32x4.splat(1), arg, take);
  take = v128.or(f32x4.gt(v10, best), f32x4.ne(v10, v10));
  best = v128.bitselect(v10, best, take);
  arg = v128.bitselect(i32x4.splat(W), arg, take);
  take = v128.or(f32x4.gt(v11, best), f32x4.ne(v11, v11));
  best = v128.bitselect(v11, best, take);
  arg = v128.bitselect(i32x4.splat(W + 1), arg, take);
  v128.store(out, best);
  v128.store(idx, i32x4.add(arg, i32x4.add(i32x4.splat(e), i32x4(0, 2, 4, 6))));
}

/** maxPool2d with 2x2 stride-2 windows inside x (no padding or dilation), columns contiguous, wo >= 4. */
function maxPool2x2(x: usize, sN: i32, sC: i32, sH: i32, N: i32, C: i32, W: i32, ho: i32, wo: i32, values: usize, idx: usize): void {
  let o: i32 = 0;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let r = 0; r < ho; r++, o += wo) {
        const p = n * sN + c * sC + 2 * r * sH, e = 2 * r * W;
        let q = 0;
        for (; q + 4 <= wo; q += 4) pool2x2Block(x, p + 2 * q, sH, W, e + 2 * q, at(values, o + q), at(idx, o + q));
        // the last windows as a block overlapping the previous one (it stores the same results again)
        if (q < wo) pool2x2Block(x, p + 2 * (wo - 4), sH, W, e + 2 * (wo - 4), at(values, o + wo - 4), at(idx, o + wo - 4));
      }
    }
  }
}

/**
 * Max over each window of x (N, C, H, W) into values (N, C, ho, wo) and the flat h*W + w index of the first
 * maximum into idx, as PyTorch: start at -inf on the first in-bounds element, take a greater value or any NaN.
 * Four windows at once where they lie inside the input's columns (lane l is window q + l, the same steps as scalar).
 */
export function maxPool2d(x: usize, sN: i32, sC: i32, sH: i32, sW: i32, N: i32, C: i32, H: i32, W: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32, ph: i32, pw: i32, ho: i32, wo: i32, values: usize, idx: usize): void {
  if (kh == 2 && kw == 2 && sh == 2 && sw == 2 && dh == 1 && dw == 1 && ph == 0 && pw == 0 && sW == 1 && wo >= 4 && 2 * ho <= H && 2 * wo <= W) {
    maxPool2x2(x, sN, sC, sH, N, C, W, ho, wo, values, idx);
    return;
  }
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

/**
 * Four 2x2 tiles of maxPool2dBackward: windows q..q+3 of the row pair at `top` (plane offset p0 of window q's
 * first element), each element 0 + g where the window's index points and 0 elsewhere. Returns the lanes whose
 * index lies outside their tile.
 */
@inline function poolTiles4(g: usize, gi: i32, gW: i32, idx: usize, t: i32, out: usize, top: i32, p0: i32, W: i32): v128 {
  const k = i32x4.sub(v128.load(at(idx, t)), i32x4.add(i32x4.splat(p0), i32x4(0, 2, 4, 6))); // 0, 1, W or W + 1 inside
  const zeros = f32x4.splat(0);
  const gv = f32x4.add(gather(g, gi, gW), zeros); // as the reference's 0 + g: -0 becomes +0
  const m00 = i32x4.eq(k, zeros), m01 = i32x4.eq(k, i32x4.splat(1)), m10 = i32x4.eq(k, i32x4.splat(W)), m11 = i32x4.eq(k, i32x4.splat(W + 1));
  const a = v128.and(gv, m00), b = v128.and(gv, m01), e = v128.and(gv, m10), f = v128.and(gv, m11);
  const o0 = at(out, top), o1 = at(out, top + W);
  v128.store(o0, v128.shuffle<f32>(a, b, 0, 4, 1, 5));
  v128.store(o0 + 16, v128.shuffle<f32>(a, b, 2, 6, 3, 7));
  v128.store(o1, v128.shuffle<f32>(e, f, 0, 4, 1, 5));
  v128.store(o1 + 16, v128.shuffle<f32>(e, f, 2, 6, 3, 7));
  return v128.not(v128.or(v128.or(m00, m01), v128.or(m10, m11)));
}

/**
 * maxPool2dBackward when the input is tiled by 2x2 blocks, one per window (H = 2 ho, W = 2 wo): every output
 * element written once, instead of zeroing the output and scattering. Returns false, having written garbage, when
 * an index lies outside its block (windows that overlap or pad).
 */
function poolBackward2x2(g: usize, gN: i32, gC: i32, gH: i32, gW: i32, idx: usize, N: i32, C: i32, H: i32, W: i32,
  ho: i32, wo: i32, out: usize): bool {
  let bad = i32x4.splat(0);
  let t: i32 = 0;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const plane = (n * C + c) * H * W;
      for (let r = 0; r < ho; r++, t += wo) {
        const p = 2 * r * W, gRow = n * gN + c * gC + r * gH;
        let q = 0;
        for (; q + 4 <= wo; q += 4) bad = v128.or(bad, poolTiles4(g, gRow + q * gW, gW, idx, t + q, out, plane + p + 2 * q, p + 2 * q, W));
        // the last windows as a block overlapping the previous one (it writes the same values again)
        if (q < wo && wo >= 4) {
          q = wo - 4;
          bad = v128.or(bad, poolTiles4(g, gRow + q * gW, gW, idx, t + q, out, plane + p + 2 * q, p + 2 * q, W));
          q = wo;
        }
        for (; q < wo; q++) {
          const e = p + 2 * q, k = load<i32>(at(idx, t + q)) - e;
          if (k != 0 && k != 1 && k != W && k != W + 1) return false;
          const gv = load<f32>(at(g, gRow + q * gW)) + 0;
          const o = at(out, plane + e);
          store<f32>(o, k == 0 ? gv : 0);
          store<f32>(o + 4, k == 1 ? gv : 0);
          store<f32>(at(o, W), k == W ? gv : 0);
          store<f32>(at(o, W + 1), k == W + 1 ? gv : 0);
        }
      }
    }
  }
  return !v128.any_true(bad);
}

/** maxPool2d's input gradient: g (N, C, ho, wo) at strides gN..gW added at idx (contiguous) into out (N, C, H, W). */
export function maxPool2dBackward(g: usize, gN: i32, gC: i32, gH: i32, gW: i32, idx: usize,
  N: i32, C: i32, H: i32, W: i32, ho: i32, wo: i32, out: usize): void {
  if (H == 2 * ho && W == 2 * wo && poolBackward2x2(g, gN, gC, gH, gW, idx, N, C, H, W, ho, wo, out)) return;
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

/** The GEMM result y (O, N*L), contiguous, reordered to (N, O, L) at out with bias[o] added to channel o. */
export function convOutput(y: usize, bias: usize, O: i32, N: i32, L: i32, out: usize): void {
  let d = out;
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++, d += <usize>L << 2) {
      const s = at(y, (o * N + n) * L);
      const bs = load<f32>(at(bias, o)), bv = f32x4.splat(bs);
      let l = 0;
      for (; l + 4 <= L; l += 4) {
        const p = <usize>l << 2;
        v128.store(d + p, f32x4.add(v128.load(s + p), bv));
      }
      for (; l < L; l++) {
        const p = <usize>l << 2;
        store<f32>(d + p, load<f32>(s + p) + bs);
      }
    }
  }
}
