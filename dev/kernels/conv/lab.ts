// Conv kernel lab: times the JS reference and the WebAssembly kernels (copies included) on the CNN benchmark's shapes.
// Usage: npx tsx dev/kernels/conv/lab.ts. Validation lives in test/backend/wasm_conv.test.ts (bitwise parity).
import { randn } from "../../../src/index.js";
import type { Window2d } from "../../../src/backend/backend.js";
import { convKernels as js } from "../../../src/backend/js/conv_kernels.js";
import { convKernels as wasm } from "../../../src/backend/wasm/conv.js";

const same3 = (h: number, w: number): Window2d => ({ kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, ph: 1, pw: 1, ho: h, wo: w });
const pool2 = (h: number, w: number): Window2d => ({ kh: 2, kw: 2, sh: 2, sw: 2, dh: 1, dw: 1, ph: 0, pw: 0, ho: h >> 1, wo: w >> 1 });

/** Median milliseconds of `reps` calls after `warm` untimed ones. */
function time(f: () => unknown, reps = 15, warm = 5): number {
  for (let i = 0; i < warm; i++) f();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    f();
    ts.push(performance.now() - t0);
  }
  return ts.sort((a, b) => a - b)[reps >> 1];
}

const cases: [string, number, () => unknown, () => unknown][] = [];
for (const [N, C, H, W] of [[64, 1, 28, 28], [64, 16, 14, 14]]) {
  const x = randn([N, C, H, W]), win = same3(H, W);
  const cols = randn([C * 9, N * H * W]);
  cases.push([`im2col ${N}x${C}x${H}x${W} 3x3 pad 1`, N * C * 9 * H * W, () => js.im2col(x, win, "float32"), () => wasm!.im2col(x, win, "float32")]);
  cases.push([`col2im to ${N}x${C}x${H}x${W} 3x3 pad 1`, N * C * 9 * H * W, () => js.col2im(cols, [N, C, H, W], win, "float32"), () => wasm!.col2im(cols, [N, C, H, W], win, "float32")]);
}
for (const [N, C, H, W] of [[64, 16, 28, 28], [64, 32, 14, 14]]) {
  const x = randn([N, C, H, W]), win = pool2(H, W);
  const { indices } = js.maxPool2d(x, win, "float32");
  const L = win.ho * win.wo;
  const idx = { buf: indices, shape: [N, C, L], strides: [C * L, L, 1], offset: 0 };
  const g = randn([N, C, win.ho, win.wo]);
  cases.push([`maxPool2d ${N}x${C}x${H}x${W} 2x2`, N * C * H * W, () => js.maxPool2d(x, win, "float32"), () => wasm!.maxPool2d(x, win, "float32")]);
  cases.push([`maxPool2dBackward to ${N}x${C}x${H}x${W}`, N * C * H * W, () => js.maxPool2dBackward(g, idx, [N, C, H, W], "float32"), () => wasm!.maxPool2dBackward(g, idx, [N, C, H, W], "float32")]);
}
for (const [O, N, L] of [[16, 64, 784], [32, 64, 196]]) {
  const y = randn([O, N * L]), b = randn([O]);
  cases.push([`convOutput ${O}x(${N}x${L}) + bias`, O * N * L, () => js.convOutput(y, b, N, "float32"), () => wasm!.convOutput(y, b, N, "float32")]);
}
console.log("kernel".padEnd(36), "elements".padStart(9), "js ms".padStart(8), "wasm ms".padStart(8), "js ns/el".padStart(9), "wasm ns/el".padStart(11));
for (const [name, n, fj, fw] of cases) {
  const tj = time(fj), tw = time(fw);
  console.log(name.padEnd(36), String(n).padStart(9), tj.toFixed(2).padStart(8), tw.toFixed(2).padStart(8), (tj * 1e6 / n).toFixed(2).padStart(9), (tw * 1e6 / n).toFixed(2).padStart(11));
}
