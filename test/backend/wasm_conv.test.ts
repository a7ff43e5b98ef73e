// The "wasm" backend's im2col, col2im, max-pooling, output-reorder and conv2d kernels against the JS reference: random windows, odd sizes, strided views.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Generator, randn, setBackend, backend, nn, optim, getNumThreads, setNumThreads, type Tensor } from "../../src/index.js";
import type { View, Window2d } from "../../src/backend/backend.js";
import { convKernels as js } from "../../src/backend/js/conv_kernels.js";
import { convKernels as wasm, wasmConvConfig } from "../../src/backend/wasm/conv.js";
import { jsBackend } from "../../src/backend/js/js_backend.js";
import { wasmBackend, wasmGemmConfig } from "../../src/backend/wasm/wasm_backend.js";
import { workerUnits } from "../../src/backend/wasm/gemm_pool.js";

const g = new Generator(77);
const int = (lo: number, hi: number) => lo + g.nextInt(hi - lo + 1);
const pick = <T>(xs: readonly T[]): T => xs[g.nextInt(xs.length)];

/** Run fn with every float32 kernel on the WebAssembly path, however small. */
function forced(fn: () => void): void {
  const saved = wasmConvConfig.minElements;
  wasmConvConfig.minElements = 0;
  try { fn(); } finally { wasmConvConfig.minElements = saved; }
}

/** A float32 (N, C, H, W) view: contiguous, with H and W swapped, narrowed out of a bigger tensor, or stepped. */
function randomInput(N: number, C: number, H: number, W: number): Tensor {
  switch (pick(["contiguous", "transposed", "narrowed", "stepped"] as const)) {
    case "contiguous": return randn([N, C, H, W], { generator: g });
    case "transposed": return randn([N, C, W, H], { generator: g }).transpose(2, 3);
    case "narrowed": return randn([N + 1, C + 2, H + 1, W + 3], { generator: g }).narrow(1, 1, C).narrow(3, 2, W).narrow(0, 1, N).narrow(2, 0, H);
    case "stepped": return randn([N, C, H, 2 * W + 1], { generator: g }).slice(3, 1, null, 2).narrow(3, 0, W);
  }
}

/** A random window over (H, W) with its output size, as the conv and pooling layers make them (padding may crop). */
function randomWindow(H: number, W: number): Window2d {
  const dims = [H, W].map((n) => {
    const k = int(1, 4), s = int(1, 3), d = int(1, 2), p = int(-1, 2);
    const span = n + 2 * p - d * (k - 1) - 1;
    return { k, s, d, p, o: span < 0 ? 0 : Math.floor(span / s) + 1 + int(0, 1) };
  });
  return { kh: dims[0].k, kw: dims[1].k, sh: dims[0].s, sw: dims[1].s, dh: dims[0].d, dw: dims[1].d, ph: dims[0].p, pw: dims[1].p, ho: dims[0].o, wo: dims[1].o };
}

/** Bitwise equality (NaN equals NaN): copies, maxima and same-order float32 sums are exact. */
function assertSame(got: ArrayLike<number>, want: ArrayLike<number>, label: string): void {
  assert.equal(got.length, want.length, label);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) assert.fail(`${label}: element ${i} is ${got[i]}, reference ${want[i]}`);
  }
}

test("this runtime has WebAssembly SIMD, so the wasm conv kernels exist", () => {
  assert.ok(wasm, "WebAssembly SIMD missing: Node 20 has it on by default");
});

test("im2col, col2im, maxPool2d and maxPool2dBackward match the reference on random windows and strided views", () => forced(() => {
  for (let t = 0; t < 150; t++) {
    const N = int(1, 3), C = int(1, 5), H = int(1, 9), W = int(1, 11);
    const win = randomWindow(H, W);
    const x = randomInput(N, C, H, W);
    const label = `case ${t}: x ${x.shape} strides ${x.strides}, window ${JSON.stringify(win)}`;
    assertSame(wasm!.im2col(x, win, "float32"), js.im2col(x, win, "float32"), `im2col ${label}`);
    const L = win.ho * win.wo, K = C * win.kh * win.kw;
    // columns (K, N*L) as the conv backward passes them: contiguous, or transposed out of an (N*L, K) buffer
    const cols: View = pick([true, false]) ? randn([K, N * L], { generator: g }) : randn([N * L, K], { generator: g }).transpose(0, 1);
    assertSame(wasm!.col2im(cols, [N, C, H, W], win, "float32"), js.col2im(cols, [N, C, H, W], win, "float32"), `col2im ${label}`);
    if (L === 0 || win.ph > Math.floor(win.kh / 2) || win.pw > Math.floor(win.kw / 2) || win.ph < 0 || win.pw < 0) continue;
    // pooling windows as poolImpl makes them: padding at most half the kernel, so no window is empty
    const xp = x.clone();
    if (t % 3 === 0) (xp.buf as Float32Array)[g.nextInt(xp.numel())] = NaN;
    const a = wasm!.maxPool2d(xp, win, "float32"), b = js.maxPool2d(xp, win, "float32");
    assertSame(a.values, b.values, `maxPool2d values ${label}`);
    assertSame(a.indices, b.indices, `maxPool2d indices ${label}`);
    const gr = randn([N, C, win.ho, win.wo], { generator: g });
    const idx = { buf: b.indices, shape: [N, C, L], strides: [C * L, L, 1], offset: 0 };
    assertSame(wasm!.maxPool2dBackward(gr, idx, [N, C, H, W], "float32"), js.maxPool2dBackward(gr, idx, [N, C, H, W], "float32"), `maxPool2dBackward ${label}`);
  }
}));

test("ties go to the first maximum, NaN wins, and an all -inf window points at its first in-bounds element", () => forced(() => {
  const x = { buf: new Float32Array([1, 3, 3, NaN, 2, NaN, -Infinity, -Infinity]), shape: [1, 1, 2, 4], strides: [8, 8, 4, 1], offset: 0 };
  const win: Window2d = { kh: 1, kw: 4, sh: 1, sw: 4, dh: 1, dw: 1, ph: 0, pw: 0, ho: 2, wo: 1 };
  for (const k of [js, wasm!]) {
    const { values, indices } = k.maxPool2d({ ...x, buf: new Float32Array([1, 3, 3, 0, 2, 2, -1, 0]) }, win, "float32");
    assert.deepEqual([...values, ...indices], [3, 2, 1, 4]);
    const withNaN = k.maxPool2d(x, win, "float32");
    assert.deepEqual([...withNaN.indices], [3, 5]); // PyTorch: the last NaN in the window
    const neg = k.maxPool2d({ ...x, buf: new Float32Array(8).fill(-Infinity) }, { ...win, kw: 3, pw: 1, sw: 2, wo: 2, ho: 1 }, "float32");
    assert.deepEqual([...neg.indices], [0, 1]);
  }
}));

test("stride-1 windows as wide as the input (the plane-shift path) match the reference", () => forced(() => {
  for (let t = 0; t < 60; t++) {
    const N = int(1, 3), C = int(1, 4), H = int(1, 9), W = int(4, 13);
    // 'same' convolutions and their dilated, even-sized and cropping relatives: output width W at stride 1
    const kh = int(1, 5), kw = int(1, 5), dh = int(1, 2), dw = int(1, 2);
    const ph = int(-1, dh * (kh - 1)), pw = pick([Math.floor(dw * (kw - 1) / 2), int(-1, dw * (kw - 1))]);
    const win: Window2d = { kh, kw, sh: 1, sw: 1, dh, dw, ph, pw, ho: int(0, H + 2), wo: W };
    const x = pick([true, false]) ? randn([N, C, H, W], { generator: g }) : randn([N + 1, C + 1, H, W], { generator: g }).narrow(1, 1, C).narrow(0, 0, N);
    const label = `case ${t}: x ${x.shape} strides ${x.strides}, window ${JSON.stringify(win)}`;
    assertSame(wasm!.im2col(x, win, "float32"), js.im2col(x, win, "float32"), `im2col ${label}`);
    const cols = randn([C * kh * kw, N * win.ho * W], { generator: g });
    if (t % 4 === 0 && cols.numel() > 0) (cols.buf as Float32Array)[g.nextInt(cols.numel())] = pick([NaN, -0, Infinity]);
    assertSame(wasm!.col2im(cols, [N, C, H, W], win, "float32"), js.col2im(cols, [N, C, H, W], win, "float32"), `col2im ${label}`);
  }
}));

test("2x2 stride-2 pooling (the deinterleaving forward, the one-write backward) matches the reference; overlapping windows fall back", () => forced(() => {
  for (let t = 0; t < 60; t++) {
    const N = int(1, 3), C = int(1, 4), ho = int(1, 9), wo = int(1, 11), H = 2 * ho + int(0, 1), W = 2 * wo + int(0, 1);
    // 2x2 stride 2 windows, an odd last row or column left out; 3x3 stride 2 pad 1 windows overlap their neighbours
    const win: Window2d = t % 3 === 2 ? { kh: 3, kw: 3, sh: 2, sw: 2, dh: 1, dw: 1, ph: 1, pw: 1, ho, wo } : { kh: 2, kw: 2, sh: 2, sw: 2, dh: 1, dw: 1, ph: 0, pw: 0, ho, wo };
    const x = randomInput(N, C, H, W);
    for (let k = 0; k < 3; k++) (x.buf as Float32Array)[g.nextInt(x.buf.length)] = pick([NaN, -Infinity, -0]);
    const { indices } = js.maxPool2d(x, win, "float32");
    const got = wasm!.maxPool2d(x, win, "float32");
    assertSame(got.values, js.maxPool2d(x, win, "float32").values, `maxPool2d values case ${t}: x ${x.shape}, window ${JSON.stringify(win)}`);
    assertSame(got.indices, indices, `maxPool2d indices case ${t}: x ${x.shape}, window ${JSON.stringify(win)}`);
    const idx = { buf: indices, shape: [N, C, ho * wo], strides: [C * ho * wo, ho * wo, 1], offset: 0 };
    const gr = pick([true, false]) ? randn([N, C, ho, wo], { generator: g }) : randn([N, C, wo, ho], { generator: g }).transpose(2, 3);
    if (t % 2 === 0) (gr.buf as Float32Array)[g.nextInt(gr.numel())] = pick([NaN, -0, Infinity]);
    const label = `case ${t}: g ${gr.shape} strides ${gr.strides}, window ${JSON.stringify(win)}`;
    assertSame(wasm!.maxPool2dBackward(gr, idx, [N, C, H, W], "float32"), js.maxPool2dBackward(gr, idx, [N, C, H, W], "float32"), label);
  }
}));

test("copies of views with long contiguous runs (the conv output reorder) are exact on both backends", () => {
  for (let t = 0; t < 20; t++) {
    const A = int(1, 5), B = int(1, 5), L = pick([64, 65, 196, 300]);
    // (B, A, L) storage read as (A, B, L), sometimes narrowed along L or stepped along A
    const base = randn([B, 2 * A, L + 3], { generator: g });
    const v = base.narrow(2, int(0, 3), L).slice(1, 0, null, pick([1, 2])).narrow(1, 0, A).permute(1, 0, 2);
    const want = new Float32Array(A * B * L);
    for (let a = 0, k = 0; a < A; a++) for (let b = 0; b < B; b++) for (let l = 0; l < L; l++, k++) want[k] = v.buf[v.offset + a * v.strides[0] + b * v.strides[1] + l * v.strides[2]];
    assertSame(jsBackend.copy(v, "float32"), want, `js copy case ${t}: ${v.shape} strides ${v.strides}`);
    assertSame(wasmBackend!.copy(v, "float32"), want, `wasm copy case ${t}: ${v.shape} strides ${v.strides}`);
  }
});

test("conv2d, conv2dInput and conv2dWeight equal their im2col/col2im and matmul compositions bit for bit on 1-3 threads; their units run on the workers", () => forced(() => {
  const savedGemm = { ...wasmGemmConfig }, threads = getNumThreads(), units = workerUnits();
  Object.assign(wasmGemmConfig, { minWork: 0, minThreadWork: 0 });
  try {
    const same = (x: Tensor, w: Tensor, b: Tensor | null, win: Window2d, label: string) => {
      const [N] = x.shape, [O, K] = w.shape, L = win.ho * win.wo;
      const cols = { buf: wasmBackend!.im2col(x, win, "float32"), shape: [K, N * L], strides: [N * L, 1], offset: 0 };
      const y = { buf: wasmBackend!.matmul(w, cols, [O, N * L], "float32"), shape: [O, N * L], strides: [N * L, 1], offset: 0 };
      const want = wasmBackend!.convOutput(y, b, N, "float32");
      // the weight gradient of a random output gradient (O, N*L), as the backward multiplied it before
      const gr = pick([true, false]) ? randn([O, N * L], { generator: g }) : randn([N * L, O], { generator: g }).transpose(0, 1);
      const colsT = { ...cols, shape: [N * L, K], strides: [1, N * L] };
      const wantW = wasmBackend!.matmul(gr, colsT, [O, K], "float32");
      const gCols = { buf: wasmBackend!.matmul(w.mT, gr, [K, N * L], "float32"), shape: [K, N * L], strides: [N * L, 1], offset: 0 };
      const wantX = wasmBackend!.col2im(gCols, x.shape, win, "float32");
      for (const n of [1, 2, 3]) {
        setNumThreads(n);
        assertSame(wasmBackend!.conv2d(x, w, b, win, "float32"), want, `conv2d on ${n} threads, ${label}`);
        assertSame(wasmBackend!.conv2dWeight(gr, x, win, "float32"), wantW, `conv2dWeight on ${n} threads, ${label}`);
        assertSame(wasmBackend!.conv2dInput(gr, w, x.shape, win, "float32"), wantX, `conv2dInput on ${n} threads, ${label}`);
      }
    };
    for (let t = 0; t < 60; t++) {
      const N = int(1, 9), C = int(1, 5), H = int(1, 11), W = int(1, 11), O = int(1, 40);
      // 'same' windows (the plane-shift im2col) half the time, random ones otherwise; K past one 256 block sometimes
      const win = t % 2 ? randomWindow(H, W) : { kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, ph: 1, pw: 1, ho: H, wo: W };
      const x = randomInput(N, C, H, W), K = C * win.kh * win.kw;
      const w = pick([true, false]) ? randn([O, K], { generator: g }) : randn([K, O], { generator: g }).transpose(0, 1);
      const b = pick([true, false]) ? randn([O], { generator: g }) : null;
      if (win.ho * win.wo === 0) continue;
      same(x, w, b, win, `case ${t}: x ${x.shape} strides ${x.strides}, w ${w.shape} strides ${w.strides}, bias ${b !== null}, window ${JSON.stringify(win)}`);
    }
    // workers wake in 20–100 µs: repeat the CNN's second layer until they have taken some images
    const x = randn([64, 16, 14, 14], { generator: g }), w = randn([32, 144], { generator: g }), b = randn([32], { generator: g });
    const win: Window2d = { kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, ph: 1, pw: 1, ho: 14, wo: 14 };
    for (let i = 0; i < 50 && workerUnits() === units; i++) same(x, w, b, win, "the CNN's second layer");
  } finally {
    Object.assign(wasmGemmConfig, savedGemm);
    setNumThreads(threads);
  }
  assert.ok(workerUnits() > units, "no conv2d unit ran on a worker");
}));

test("a CNN's training step agrees between the wasm and js backends", () => {
  const run = (name: string) => {
    setBackend(name);
    const gen = new Generator(5);
    const model = new nn.Sequential(
      new nn.Conv2d(3, 8, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2, { ceilMode: true }),
      new nn.Conv2d(8, 4, [2, 3], { stride: [1, 2], dilation: [2, 1] }), new nn.ReLU(), new nn.AvgPool2d(2), new nn.Flatten(),
    );
    for (const p of model.parameters()) p.data.copy_(randn(p.shape, { generator: gen }).mul(0.3));
    const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
    const x = randn([4, 3, 13, 15], { generator: gen });
    const loss = model.forward(x).square().mean();
    loss.backward();
    opt.step();
    return [loss.item(), ...model.parameters().flatMap((p) => [...(p.toTypedArray() as Float32Array)])];
  };
  const before = backend();
  try {
    const a = run("js"), b = run("wasm");
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= 1e-5 * (1 + Math.abs(v)), `value ${i}: js ${v}, wasm ${b[i]}`));
  } finally {
    setBackend(before);
  }
});
