// One gradient rule per primitive, written with Kiln's own ops so that higher-order gradients come free.
// Each rule maps the upstream gradient g (shape of the output) to one gradient per input.
import type { Node } from "./node.js";
import type { Tensor } from "../tensor.js";
import type { Window2d } from "../backend/backend.js";
import * as P from "../ops/primitives.js";
import { gradMode } from "./grad_mode.js";
import { scalarLike, sumToShape, zerosLike } from "../ops/helpers.js";
import { mapDims } from "../shape.js";

type Rule = (g: Tensor, n: Node) => (Tensor | null)[];

const x0 = (n: Node) => n.inputs[0];
const x1 = (n: Node) => n.inputs[1];

/** Gradient of where-style selection: g where mask holds, 0 elsewhere. */
function mask(g: Tensor, m: Tensor): Tensor {
  return P.where(m, g, scalarLike(0, g));
}

function reduceBack(g: Tensor, n: Node): Tensor {
  // g has the reduced shape; put back the reduced dims as size 1 (always a view), then broadcast over the input.
  const x = x0(n);
  const { dims, keepdim } = n.attrs as { dims: number[]; keepdim: boolean };
  if (keepdim) return g;
  const shape: number[] = [], strides: number[] = [];
  for (let d = 0, j = 0; d < x.ndim; d++) {
    const kept = !dims.includes(d);
    shape.push(kept ? g.shape[j] : 1);
    // a size-1 dim never steps; this stride keeps a contiguous g contiguous by any test
    strides.push(kept ? g.strides[j++] : j < g.ndim ? g.strides[j] * g.shape[j] : 1);
  }
  return P.view(g, shape, strides);
}

function extremumBack(g: Tensor, n: Node): (Tensor | null)[] {
  // ties share the gradient evenly, as PyTorch's amax/amin
  const x = x0(n);
  const gk = reduceBack(g, n);
  const ok = reduceBack(n.out, n);
  const m = P.cast(P.eq(x, ok), g.dtype);
  const count = m.sum((n.attrs as { dims: number[] }).dims, { keepdim: true });
  return [gk.mul(m).div(count)];
}

export const rules = {
  // d/dx exp(x) = exp(x)
  exp: (g, n) => [g.mul(n.out)],
  // d/dx log(x) = 1/x
  log: (g, n) => [g.div(x0(n))],
  // d/dx log(1+x) = 1/(1+x)
  log1p: (g, n) => [g.div(x0(n).add(1))],
  // d/dx sqrt(x) = 1/(2 sqrt(x))
  sqrt: (g, n) => [g.div(n.out.mul(2))],
  sin: (g, n) => [g.mul(x0(n).cos())],
  cos: (g, n) => [g.mul(x0(n).sin()).neg()],
  // d/dx tanh(x) = 1 - tanh(x)^2
  tanh: (g, n) => [g.mul(n.out.mul(n.out).rsub(1))],
  // d/dx sigmoid(x) = s (1 - s)
  sigmoid: (g, n) => [g.mul(n.out.mul(n.out.rsub(1)))],
  // d/dx erf(x) = 2/sqrt(pi) exp(-x^2)
  erf: (g, n) => [g.mul(x0(n).square().neg().exp().mul(1.1283791670955126))],
  neg: (g) => [g.neg()],
  abs: (g, n) => [g.mul(x0(n).sign())],
  sign: (g) => [zerosLike(g)],
  floor: (g) => [zerosLike(g)],
  round: (g) => [zerosLike(g)],
  // relu passes g where the output is positive (PyTorch's threshold_backward)
  relu: (g, n) => [P.reluBackward(g, n.out)],
  // reluBackward(g, y) is linear in g with the same mask; y only selects, so it gets no gradient
  reluBackward: (g, n) => [P.reluBackward(g, x1(n)), null],

  add: (g) => [g, g],
  // NOTE: a broadcast subtrahend (x - mean) is reduced before negating: neg then runs on the small shape
  sub: (g, n) => [g, n.inputs[1].requiresGrad ? sumToShape(g, x1(n).shape).neg() : null],
  mul: (g, n) => [n.inputs[0].requiresGrad ? g.mul(x1(n)) : null, n.inputs[1].requiresGrad ? g.mul(x0(n)) : null],
  // d/da a/b = 1/b; d/db a/b = -a/b^2
  div: (g, n) => [
    n.inputs[0].requiresGrad ? g.div(x1(n)) : null,
    n.inputs[1].requiresGrad ? g.neg().mul(x0(n)).div(x1(n).square()) : null,
  ],
  // d/da a^b = b a^(b-1) (0 where b == 0); d/db a^b = a^b log(a) (0 where a == 0 and b >= 0)
  pow: (g, n) => {
    const a = x0(n), b = x1(n);
    const ga = a.requiresGrad ? mask(g.mul(b).mul(a.pow(b.sub(1))), b.ne(0)) : null;
    const gb = b.requiresGrad ? mask(g.mul(n.out).mul(a.log()), a.ne(0).logicalOr(b.lt(0))) : null;
    return [ga, gb];
  },
  // ties split the gradient in half, as PyTorch's maximum/minimum
  maximum: (g, n) => {
    const a = x0(n), b = x1(n);
    const half = P.where(a.eq(b), g.div(2), g);
    return [mask(half, a.ge(b)), mask(half, b.ge(a))];
  },
  minimum: (g, n) => {
    const a = x0(n), b = x1(n);
    const half = P.where(a.eq(b), g.div(2), g);
    return [mask(half, a.le(b)), mask(half, b.le(a))];
  },
  eq: () => [null, null],
  ne: () => [null, null],
  lt: () => [null, null],
  le: () => [null, null],
  gt: () => [null, null],
  ge: () => [null, null],
  where: (g, n) => {
    const c = x0(n);
    return [null, mask(g, c), mask(g, c.logicalNot())];
  },

  // the primitive expand: the input's shape needs none of the public op's checks
  sum: (g, n) => [P.expand(reduceBack(g, n), x0(n).shape.slice())],
  // d/dx_i mean(x) = 1/count
  mean: (g, n) => [P.expand(P.div(reduceBack(g, n), scalarLike((n.attrs as { count: number }).count, g)), x0(n).shape.slice())],
  // d/dx_i prod(x) = prod of the others; computed without dividing by zero
  prod: (g, n) => {
    const x = x0(n);
    const dims = (n.attrs as { dims: number[] }).dims;
    const gk = reduceBack(g, n);
    const isZero = x.eq(0);
    const zeros = P.cast(isZero, "int32").sum(dims, { keepdim: true });
    const nonZeroProd = P.where(isZero, scalarLike(1, x), x).prod(dims, { keepdim: true });
    const out = reduceBack(n.out, n);
    const noZero = out.div(P.where(isZero, scalarLike(1, x), x));
    const grad = P.where(zeros.eq(0), noZero, P.where(isZero.logicalAnd(zeros.eq(1)), nonZeroProd, scalarLike(0, x)));
    return [gk.mul(grad)];
  },
  max: extremumBack,
  min: extremumBack,

  cast: (g, n) => [P.cast(g, x0(n).dtype)],
  clone: (g) => [g],
  view: (g, n) => [g.reshape(x0(n).shape)],
  permute: (g, n) => {
    const perm = n.attrs as number[];
    const inv = mapDims(perm, () => 0);
    perm.forEach((p, i) => (inv[p] = i));
    return [g.permute(inv)];
  },
  expand: (g, n) => [sumToShape(g, x0(n).shape)],
  region: (g, n) => [P.pad(g, x0(n).shape, n.attrs.start, n.attrs.step, 0)],
  pad: (g, n) => [P.region(g, n.attrs.start, n.attrs.step, x0(n).shape)],
  cat: (g, n) => {
    const dim = n.attrs as number;
    let at = 0;
    return n.inputs.map((x) => {
      const piece = g.narrow(dim, at, x.shape[dim]);
      at += x.shape[dim];
      return piece;
    });
  },
  gather: (g, n) => {
    const x = x0(n);
    return [P.scatterAdd(zerosLike(x, g.dtype), n.attrs as number, x1(n), g), null];
  },
  // src may be larger than index; its elements outside index's extent were never added: zero gradient
  scatterAdd: (g, n) => {
    const src = n.inputs[2];
    const gs = P.gather(g, n.attrs as number, x1(n));
    return [g, null, gs.shape.every((s, d) => s === src.shape[d]) ? gs : P.pad(gs, src.shape, mapDims(src.shape, () => 0), mapDims(src.shape, () => 1), 0)];
  },
  // d/da (a @ b) = g @ b^T; d/db = a^T @ g
  matmul: (g, n) => [
    n.inputs[0].requiresGrad ? P.matmul(g, x1(n).mT) : null,
    n.inputs[1].requiresGrad ? P.matmul(x0(n).mT, g) : null,
  ],
  // y = p v with p = softmax(q kᵀ · scale + bias): dv = pᵀ g; ds = softmaxBackward(g vᵀ, p); dq = ds k · scale,
  // dk = dsᵀ q · scale, dbias = ds summed over the batch dims. NOTE: p is the node's (no history); when this rule
  // itself builds a graph (createGraph) p is recomputed from q, k and the bias, so second derivatives flow through it.
  // Building no graph and with no bias gradient to sum, one kernel gives all three.
  attention: (g, n) => {
    const [q, k, v] = n.inputs, bias = n.inputs[3] ?? null;
    const { scale } = n.attrs as { scale: number };
    let p = (n.attrs as { probs: Tensor }).probs;
    if (!gradMode.enabled && !bias?.requiresGrad) {
      const [dq, dk, dv] = P.attentionGrads(g, q, k, v, p, bias, scale);
      return [q.requiresGrad ? dq : null, k.requiresGrad ? dk : null, v.requiresGrad ? dv : null, null];
    }
    if (gradMode.enabled) {
      let s = P.matmul(q, k.mT);
      if (scale !== 1) s = P.mul(s, scalarLike(scale, s));
      p = P.softmax(bias ? P.add(s, bias) : s, s.ndim - 1, false);
    }
    const ds = P.softmaxBackward(P.matmul(g, v.mT), p, p.ndim - 1, false); // (...batch, L, S)
    const dss = scale !== 1 ? P.mul(ds, scalarLike(scale, ds)) : ds;
    return [
      q.requiresGrad ? P.matmul(dss, k) : null,
      k.requiresGrad ? P.matmul(dss.mT, q) : null,
      v.requiresGrad ? P.matmul(p.mT, g) : null,
      bias?.requiresGrad ? sumToShape(ds, bias.shape) : null,
    ];
  },
  // y = x w^T + b: dx = g w, dw = g^T x (over all leading dims), db = sum of g over leading dims
  linear: (g, n) => {
    const [x, w] = n.inputs;
    // explicit row count: reshape(-1, 0) is ambiguous when a feature dim is empty
    const flat = x.ndim === 2;
    const rows = flat ? x.shape[0] : x.shape.slice(0, -1).reduce((p, s) => p * s, 1);
    const g2 = flat ? g : g.reshape(rows, w.shape[0]);
    const need = [x.requiresGrad, w.requiresGrad, n.inputs.length > 2 && n.inputs[2].requiresGrad] as const;
    // building no graph, one kernel gives all three (g copied in once)
    if (!gradMode.enabled && g.dtype === x.dtype && g.dtype === w.dtype) {
      const [dx, dw, db] = P.linearGrads(g2, flat ? x : x.reshape(rows, w.shape[1]), w, need);
      return [dx && !flat ? dx.reshape(x.shape) : dx, dw, db];
    }
    return [
      x.requiresGrad ? (flat ? P.matmul(g2, w) : P.matmul(g2, w).reshape(x.shape)) : null,
      w.requiresGrad ? P.matmul(P.permute(g2, [1, 0]), flat ? x : x.reshape(rows, w.shape[1])) : null,
      n.inputs.length > 2 && n.inputs[2].requiresGrad ? P.sum(g2, [0], false) : null,
    ];
  },
  // L = (1 - y) x + softplus(-x): dL/dx = sigmoid(x) - y, dL/dy = -x
  bceWithLogits: (g, n) => {
    const [x, y] = n.inputs;
    return [x.requiresGrad ? P.bceWithLogitsBackward(g, x, y) : null, y.requiresGrad ? g.mul(x).neg() : null];
  },
  // b = g (s - y) with s = sigmoid(x): db/dg = s - y, db/dx = g s (1 - s), db/dy = -g
  bceWithLogitsBackward: (gb, n) => {
    const [g, x, y] = n.inputs;
    const s = g.requiresGrad || x.requiresGrad ? x.sigmoid() : null;
    return [
      g.requiresGrad ? gb.mul(s!.sub(y)) : null,
      x.requiresGrad ? gb.mul(g).mul(s!).mul(s!.rsub(1)) : null,
      y.requiresGrad ? gb.mul(g).neg() : null,
    ];
  },
  // softmax: y (g - Σ g y); log-softmax: g - exp(y) Σ g, from the output y
  softmax: (g, n) => [P.softmaxBackward(g, n.out, n.attrs.dim, n.attrs.log)],
  // b = y (g - Σ g y): db/dg = softmaxBackward; db/dy = h (g - Σ g y) - g Σ h y.
  // b = g - e Σ g with e = exp(y): db/dg = h - Σ h e; db/dy = -h e Σ g.
  softmaxBackward: (h, n) => {
    const [g, y] = n.inputs;
    const { dim, log } = n.attrs as { dim: number; log: boolean };
    if (log) {
      const e = y.exp();
      return [
        g.requiresGrad ? h.sub(P.sum(h.mul(e), [dim], true)) : null,
        y.requiresGrad ? h.mul(e).mul(P.sum(g, [dim], true)).neg() : null,
      ];
    }
    return [
      g.requiresGrad ? P.softmaxBackward(h, y, dim, false) : null,
      y.requiresGrad ? h.mul(g.sub(P.sum(g.mul(y), [dim], true))).sub(g.mul(P.sum(h.mul(y), [dim], true))) : null,
    ];
  },
  gelu: (g, n) => [P.geluBackward(g, x0(n), n.attrs.tanh)],
  // b = g gelu'(x): db/dg = gelu'(x), db/dx = g gelu''(x)
  geluBackward: (h, n) => {
    const [g, x] = n.inputs;
    const tanh = n.attrs.tanh as boolean;
    return [g.requiresGrad ? P.geluBackward(h, x, tanh) : null, x.requiresGrad ? h.mul(g).mul(geluSecond(x, tanh)) : null];
  },
  // im2col and col2im are adjoint linear maps, so each one's gradient is the other
  im2col: (g, n) => [P.col2im(g, x0(n).shape, n.attrs)],
  col2im: (g, n) => [P.im2col(g, n.attrs)],
  // each window's gradient goes to its argmax (flat per (n, c) plane), summed where windows overlap
  maxPool2d: (g, n) => [P.maxPool2dBackward(g, n.attrs.indices, x0(n).shape)],
  // linear in g: its adjoint reads each window's argmax back out of the gradient h (N, C, H, W)
  maxPool2dBackward: (h, n) => {
    const idx = n.attrs as Tensor; // (N, C, ho*wo)
    const [N, C, H, W] = h.shape;
    return [P.gather(h.reshape([N, C, H * W]), 2, idx).reshape(x0(n).shape)];
  },
  layerNorm: (g, n) => [P.layerNormBackward(g, x0(n), n.attrs.D, n.attrs.eps)],
  // y = x̂ w + b, x̂ = layerNorm(x): dx = layerNormBackward(g w, x), dw = Σ_rows g x̂, db = Σ_rows g; one kernel when
  // this rule builds no graph, else those primitives (so second derivatives flow)
  layerNormAffine: (g, n) => {
    const [x, w] = n.inputs, b = n.inputs[2] ?? null;
    const { D, eps } = n.attrs as { D: number; eps: number };
    if (!gradMode.enabled) {
      const [dx, dw, db] = P.layerNormAffineGrads(g, x, w, D, eps);
      return [x.requiresGrad ? dx : null, w.requiresGrad ? dw : null, b?.requiresGrad ? db : null];
    }
    const rows = [x.shape.reduce((p, s) => p * s, 1) / D, D], gr = g.reshape(rows); // (R, D)
    return [
      x.requiresGrad ? P.layerNormBackward(P.mul(gr, w).reshape(x.shape), x, D, eps) : null,
      w.requiresGrad ? P.sum(P.mul(gr, P.layerNorm(x, D, eps).reshape(rows)), [0], false) : null,
      b?.requiresGrad ? P.sum(gr, [0], false) : null,
    ];
  },
  layerNormBackward: (h, n) => {
    const [g, x] = n.inputs;
    const { D, eps } = n.attrs as { D: number; eps: number };
    return [g.requiresGrad ? P.layerNormBackward(h, x, D, eps) : null, x.requiresGrad ? layerNormSecond(h, g, x, D, eps) : null];
  },
  // the reorder's gradient is the inverse reorder (N, O, L) -> (O, N*L); the bias gradient sums it over N*L
  convOutput: (g, n) => {
    const y = x0(n), b = n.inputs[1];
    const gy = g.permute([1, 0, 2]).reshape(y.shape);
    return [y.requiresGrad ? gy : null, b?.requiresGrad ? P.sum(gy, [1], false) : null];
  },
  // y = convOutput(w @ cols + b) with cols = im2col(x): the gradients of those three (col2im(wᵀ @ gy), gy @ colsᵀ
  // with the columns recomputed, the sum of gy), each one primitive
  conv2d: (g, n) => {
    const [x, w] = n.inputs, b = n.inputs[2], win = n.attrs as Window2d;
    const [N, O] = g.shape, L = win.ho * win.wo;
    const gy = g.reshape([N, O, L]).permute([1, 0, 2]).reshape([O, N * L]); // (O, N*L)
    return [
      x.requiresGrad ? P.conv2dInput(gy, w, x.shape, win) : null,
      w.requiresGrad ? P.conv2dWeight(gy, x, win) : null,
      b?.requiresGrad ? P.sum(gy, [1], false) : null,
    ];
  },
  // dX = col2im(wᵀ @ g) is bilinear: d/dg = w @ im2col(h), d/dw = g @ im2col(h)ᵀ
  conv2dInput: (h, n) => {
    const [g, w] = n.inputs, win = n.attrs as Window2d;
    return [g.requiresGrad ? P.matmul(w, P.im2col(h, win)) : null, w.requiresGrad ? P.conv2dWeight(g, h, win) : null];
  },
  // dW = g @ im2col(x)ᵀ is bilinear: d/dg = h @ im2col(x), d/dx = col2im(hᵀ @ g)
  conv2dWeight: (h, n) => {
    const [g, x] = n.inputs, win = n.attrs as Window2d;
    return [
      g.requiresGrad ? P.matmul(h, P.im2col(x, win)) : null,
      x.requiresGrad ? P.col2im(P.matmul(h.mT, g), x.shape, win) : null,
    ];
  },
} satisfies Record<string, Rule>;

/**
 * d/dx of Σ h · layerNormBackward(g, x) per row of D. With c = x - mean(x), r = (mean(c²) + eps)^-1/2 and
 * row sums Σ, that sum is F = r (Σhg - mean(g) Σh) - r³ P Q with P = mean(g c), Q = Σ h c; then
 * dF/dc = -r³ c (Σhg - mean(g) Σh) / D + 3 r⁵ c P Q / D - r³ Q g / D - r³ P h, and dF/dx = dF/dc - mean(dF/dc)
 * because c is x minus its mean.
 */
function layerNormSecond(h: Tensor, g: Tensor, x: Tensor, D: number, eps: number): Tensor {
  const shape = x.shape.slice();
  const rows = D === 0 ? 0 : x.numel() / D;
  const [h2, g2, x2] = [h, g, x].map((t) => t.reshape(rows, D)); // (R, D)
  const rowSum = (t: Tensor) => P.sum(t, [1], true); // (R, 1)
  const c = x2.sub(P.mean(x2, [1], true));
  const r = P.mean(c.square(), [1], true).add(eps).sqrt().reciprocal();
  const r3 = r.pow(3), r5 = r.pow(5);
  const P_ = P.mean(g2.mul(c), [1], true), Q = rowSum(h2.mul(c));
  const t = r3.mul(rowSum(h2.mul(g2)).sub(P.mean(g2, [1], true).mul(rowSum(h2)))).neg().add(r5.mul(P_).mul(Q).mul(3)).div(D);
  const dc = c.mul(t).sub(r3.mul(Q).div(D).mul(g2)).sub(r3.mul(P_).mul(h2));
  return dc.sub(P.mean(dc, [1], true)).reshape(shape);
}

/**
 * gelu''(x): exactly φ(x) (2 - x²) with φ the standard normal density; for the tanh form, with t = tanh(u),
 * u = β (x + κx³): (1 - t²) (u' - x t u'² + x u'' / 2), u' = β (1 + 3κx²), u'' = 6βκx.
 */
function geluSecond(x: Tensor, tanh: boolean): Tensor {
  const x2 = x.square();
  if (!tanh) return x2.mul(-0.5).exp().mul(0.3989422804014327).mul(x2.rsub(2));
  const beta = 0.7978845608028654, kappa = 0.044715;
  const t = x.add(x2.mul(x).mul(kappa)).mul(beta).tanh();
  const u1 = x2.mul(3 * kappa).add(1).mul(beta);
  return t.square().rsub(1).mul(u1.sub(x.mul(t).mul(u1.square())).add(x2.mul(3 * beta * kappa)));
}
