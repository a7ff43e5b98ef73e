// Reference kernels for convolution and pooling windows (im2col, col2im, max pooling, the output reorder, conv2d and its gradients) over strided views.
import type { Backend, View, Window2d } from "../backend.js";
import { allocStorage } from "../../dtype.js";
import { COPY_RUN } from "./copy_runs.js";

/** First and one-past-last output column q whose input column q*sw - pw + j*dw lies in [0, W). */
function colRange(win: Window2d, j: number, W: number): [number, number] {
  const shift = j * win.dw - win.pw;
  const q0 = shift >= 0 ? 0 : Math.ceil(-shift / win.sw);
  const q1 = W - 1 - shift < 0 ? 0 : Math.floor((W - 1 - shift) / win.sw) + 1;
  return [Math.min(q0, win.wo), Math.min(q1, win.wo)];
}

export const convKernels: Pick<Backend, "im2col" | "col2im" | "maxPool2d" | "maxPool2dBackward" | "convOutput" | "conv2d" | "conv2dInput" | "conv2dWeight"> = {
  im2col(x, win, dtype) {
    const [N, C, H, W] = x.shape;
    const [sN, sC, sH, sW] = x.strides;
    const { kh, kw, sh, sw, dh, dw, ph, pw, ho, wo } = win;
    const L = ho * wo;
    const out = allocStorage(dtype, N * C * kh * kw * L);
    const xb = x.buf;
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        const base = x.offset + n * sN + c * sC;
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            const [q0, q1] = colRange(win, j, W);
            const colShift = (j * dw - pw) * sW, qs = sw * sW;
            let o = (((c * kh + i) * kw + j) * N + n) * L;
            for (let r = 0; r < ho; r++, o += wo) {
              const h = r * sh - ph + i * dh;
              if (h < 0 || h >= H) continue; // a padding row: the zeros are already there
              for (let q = q0, xi = base + h * sH + colShift + q0 * qs; q < q1; q++, xi += qs) out[o + q] = xb[xi];
            }
          }
        }
      }
    }
    return out;
  },

  col2im(cols, shape, win, dtype) {
    const [N, C, H, W] = shape;
    const { kh, kw, sh, sw, dh, dw, ph, pw, ho, wo } = win;
    const [cK, cL] = cols.strides;
    const cN = ho * wo * cL;
    const out = allocStorage(dtype, N * C * H * W);
    const cb = cols.buf;
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        const base = (n * C + c) * H * W;
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            const [q0, q1] = colRange(win, j, W);
            const row = cols.offset + n * cN + ((c * kh + i) * kw + j) * cK;
            for (let r = 0; r < ho; r++) {
              const h = r * sh - ph + i * dh;
              if (h < 0 || h >= H) continue;
              let oi = base + h * W + j * dw - pw + q0 * sw;
              for (let q = q0, ci = row + (r * wo + q0) * cL; q < q1; q++, ci += cL, oi += sw) out[oi] += cb[ci];
            }
          }
        }
      }
    }
    return out;
  },

  maxPool2d(x, win, dtype) {
    const [N, C, H, W] = x.shape;
    const [sN, sC, sH, sW] = x.strides;
    const { kh, kw, sh, sw, dh, dw, ph, pw, ho, wo } = win;
    const values = allocStorage(dtype, N * C * ho * wo);
    const indices = new Int32Array(N * C * ho * wo);
    const xb = x.buf;
    let o = 0;
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        const base = x.offset + n * sN + c * sC;
        for (let r = 0; r < ho; r++) {
          const h0 = r * sh - ph;
          // the in-bounds rows i0 <= i < i1 and, per window, columns j0 <= j < j1
          // NOTE: divisions only at the edges: they cost more than a small window's compares
          const inside = h0 >= 0 && h0 + (kh - 1) * dh < H;
          const i0 = inside || h0 >= 0 ? 0 : Math.ceil(-h0 / dh);
          const i1 = inside ? kh : Math.min(kh, H - h0 <= 0 ? 0 : Math.floor((H - 1 - h0) / dh) + 1);
          for (let q = 0; q < wo; q++, o++) {
            const w0 = q * sw - pw;
            const within = w0 >= 0 && w0 + (kw - 1) * dw < W;
            const j0 = within || w0 >= 0 ? 0 : Math.ceil(-w0 / dw);
            const j1 = within ? kw : Math.min(kw, W - w0 <= 0 ? 0 : Math.floor((W - 1 - w0) / dw) + 1);
            // as PyTorch: start at -inf on the first in-bounds element, then take a greater value or any NaN;
            // a window with no element in bounds (only a primitive caller can make one) gets index -1, no gradient
            let best = -Infinity, at = i0 < i1 && j0 < j1 ? (h0 + i0 * dh) * W + w0 + j0 * dw : -1;
            for (let i = i0, h = h0 + i0 * dh; i < i1; i++, h += dh) {
              for (let j = j0, w = w0 + j0 * dw, xi = base + h * sH + w * sW; j < j1; j++, w += dw, xi += dw * sW) {
                const v = xb[xi];
                if (v > best || v !== v) { best = v; at = h * W + w; }
              }
            }
            values[o] = best;
            indices[o] = at;
          }
        }
      }
    }
    return { values, indices };
  },

  maxPool2dBackward(g, indices, shape, dtype) {
    const [N, C, H, W] = shape;
    const [gN, gC, gH, gW] = g.strides;
    const ho = g.shape[2], wo = g.shape[3];
    const out = allocStorage(dtype, N * C * H * W);
    const gb = g.buf, ib = indices.buf, HW = H * W;
    let t = indices.offset;
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        const plane = (n * C + c) * H * W;
        for (let r = 0; r < ho; r++) {
          for (let q = 0, gi = g.offset + n * gN + c * gC + r * gH; q < wo; q++, gi += gW, t++) {
            const k = ib[t];
            if (k >= 0 && k < HW) out[plane + k] += gb[gi];
          }
        }
      }
    }
    return out;
  },

  convOutput(y, b, N, dtype) {
    const [O, NL] = y.shape;
    const L = N === 0 ? 0 : NL / N;
    const [sO, sJ] = y.strides;
    const out = allocStorage(dtype, O * NL);
    const yb = y.buf;
    // without a bias the runs of L are plain copies (memcpy when long); adding 0 would turn -0 into +0
    const runs = !b && sJ === 1 && L >= COPY_RUN && out.constructor === yb.constructor;
    for (let n = 0, d = 0; n < N; n++) {
      for (let o = 0; o < O; o++, d += L) {
        const s = y.offset + o * sO + n * L * sJ;
        if (runs) out.set(yb.subarray(s, s + L) as never, d);
        else if (!b) for (let l = 0, si = s; l < L; l++, si += sJ) out[d + l] = yb[si];
        else {
          const bv = b.buf[b.offset + o * b.strides[0]];
          for (let l = 0, si = s; l < L; l++, si += sJ) out[d + l] = yb[si] + bv;
        }
      }
    }
    return out;
  },

  // im2col, then matmul's sums (double, k ascending, rounded on store), then convOutput's bias add: the same numbers
  conv2d(x, w, b, win, dtype) {
    const N = x.shape[0], [O, K] = w.shape, L = win.ho * win.wo, NL = N * L;
    const cols = convKernels.im2col(x, win, dtype); // (K, N*L)
    const out = allocStorage(dtype, N * O * L); // (N, O, L)
    const acc = new Float64Array(NL), wb = w.buf, [wO, wK] = w.strides;
    for (let o = 0; o < O; o++) {
      acc.fill(0);
      for (let k = 0, wi = w.offset + o * wO; k < K; k++, wi += wK) {
        const wv = wb[wi];
        for (let j = 0, ci = k * NL; j < NL; j++, ci++) acc[j] += wv * cols[ci];
      }
      const bv = b ? b.buf[b.offset + o * b.strides[0]] : 0;
      for (let n = 0; n < N; n++) {
        for (let l = 0, d = (n * O + o) * L, j = n * L; l < L; l++, j++) {
          out[d + l] = acc[j];
          if (b) out[d + l] += bv;
        }
      }
    }
    return out;
  },

  // matmul's sums (double, over O in order, rounded on store), then col2im: the same numbers
  conv2dInput(g, w, shape, win, dtype) {
    const [O, NL] = g.shape, K = w.shape[1];
    const cols = allocStorage(dtype, K * NL); // (K, N*L)
    const acc = new Float64Array(NL), gb = g.buf, wb = w.buf, [gO, gJ] = g.strides, [wO, wK] = w.strides;
    for (let k = 0; k < K; k++) {
      acc.fill(0);
      for (let o = 0; o < O; o++) {
        const wv = wb[w.offset + o * wO + k * wK];
        for (let j = 0, gi = g.offset + o * gO; j < NL; j++, gi += gJ) acc[j] += wv * gb[gi];
      }
      cols.set(acc as never, k * NL);
    }
    return convKernels.col2im({ buf: cols, shape: [K, NL], strides: [NL, 1], offset: 0 }, shape, win, dtype);
  },

  // im2col, then matmul's sums (double, along N*ho*wo in order, rounded on store): the same numbers
  conv2dWeight(g, x, win, dtype) {
    const [O, NL] = g.shape, K = x.shape[1] * win.kh * win.kw;
    const cols = convKernels.im2col(x, win, dtype); // (K, N*L)
    const out = allocStorage(dtype, O * K); // (O, K)
    const gb = g.buf, [gO, gJ] = g.strides;
    for (let o = 0; o < O; o++) {
      for (let k = 0; k < K; k++) {
        let s = 0;
        for (let j = 0, gi = g.offset + o * gO, ci = k * NL; j < NL; j++, gi += gJ, ci++) s += gb[gi] * cols[ci];
        out[o * K + k] = s;
      }
    }
    return out;
  },
};
