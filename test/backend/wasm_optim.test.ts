// The WebAssembly SIMD optimizer updates against the JS loops, bit for bit: odd sizes, every option, many steps.
import { test, afterEach } from "node:test";
import assert from "node:assert/strict";
import { Tensor, setBackend, backend } from "../../src/index.js";
import { Adagrad, Adam, AdamW, RMSprop, SGD, type Optimizer } from "../../src/optim/index.js";
import { adagradUpdate, adamUpdate, rmspropUpdate, sgdUpdate } from "../../src/optim/kernels.js";
import { wasmOptimAvailable, wasmOptimConfig } from "../../src/backend/wasm/optim.js";

const SIZES = [1, 2, 3, 4, 5, 7, 8, 9, 17, 63, 1023, 4097, 16384 + 5] as const;
const STEPS = 12;
const defaults = { ...wasmOptimConfig };
const defaultBackend = backend();
afterEach(() => {
  Object.assign(wasmOptimConfig, defaults);
  setBackend(defaultBackend);
});

// mulberry32: a fixed stream, independent of the library's generator
let seed = 12345;
function rand(): number {
  let t = (seed = (seed + 0x6d2b79f5) | 0);
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/**
 * float32 values over many magnitudes, with exact zeros, negative zeros and subnormals, plus `extra` trailing
 * elements past n that an update must leave alone.
 */
function values(n: number, extra = 3): Float32Array {
  const a = new Float32Array(n + extra);
  for (let i = 0; i < a.length; i++) {
    const r = rand();
    if (r < 0.05) a[i] = 0;
    else if (r < 0.08) a[i] = -0;
    else if (r < 0.1) a[i] = (rand() - 0.5) * 1e-40;
    else a[i] = (rand() - 0.5) * 2 ** Math.floor(rand() * 30 - 20);
  }
  return a;
}

/** Equal bit patterns, except that any NaN equals any NaN (wasm and JS may differ only in NaN payloads). */
function assertSameBits(got: Float32Array, want: Float32Array, label: string): void {
  const gb = new Uint32Array(got.buffer, got.byteOffset, got.length), wb = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < want.length; i++) {
    if (gb[i] !== wb[i] && !(Number.isNaN(got[i]) && Number.isNaN(want[i]))) {
      assert.fail(`${label}: element ${i} of ${want.length}: wasm ${got[i]} (0x${gb[i].toString(16)}) vs js ${want[i]} (0x${wb[i].toString(16)})`);
    }
  }
}

/**
 * Run `update(arrays, step)` STEPS times on two copies of the same arrays, the JS loop on one and the
 * WebAssembly kernel (threshold lowered to 1) on the other, with a fresh gradient (arrays[1]) each step, and
 * compare every array bit for bit after each step. Odd steps below the default chunk size update in chunks of 5
 * elements, so chunk edges fall inside f32x4 lanes.
 */
function compare(label: string, n: number, count: number, update: (a: Float32Array[], step: number) => void): void {
  const js = Array.from({ length: count }, (_, k) => (k === 0 ? values(n) : new Float32Array(n + 3)));
  const wa = js.map((a) => a.slice());
  for (let step = 1; step <= STEPS; step++) {
    js[1] = values(n);
    wa[1] = js[1].slice();
    setBackend("js");
    update(js, step);
    setBackend("wasm");
    wasmOptimConfig.minN = 1;
    wasmOptimConfig.chunk = step % 2 === 1 && n < defaults.chunk ? 5 : defaults.chunk;
    update(wa, step);
    Object.assign(wasmOptimConfig, defaults);
    for (let k = 0; k < count; k++) assertSameBits(wa[k], js[k], `${label} n=${n} step ${step} array ${k}`);
  }
}

const bools = [false, true] as const;

test("WebAssembly optimizer kernels load where SIMD runs", () => {
  assert.ok(wasmOptimAvailable, "WebAssembly SIMD missing: Node 20 has it on by default");
});

test("Adam/AdamW: wasm equals the JS loop bit for bit", () => {
  for (const n of SIZES) for (const decoupled of bools) for (const amsgrad of bools) for (const maximize of bools) for (const wdv of [0, 0.01]) {
    const label = `adam decoupled=${decoupled} amsgrad=${amsgrad} maximize=${maximize} wd=${wdv}`;
    compare(label, n, amsgrad ? 5 : 4, ([p, g, m, v, vMax], step) => {
      const b1 = 0.9, b2 = 0.999;
      adamUpdate(p, g, n, m, v, amsgrad ? vMax : null, 1e-2, b1, b2, 1 - b1 ** step, Math.sqrt(1 - b2 ** step), 1e-8, wdv, decoupled, maximize, true);
    });
  }
});

test("SGD: wasm equals the JS loop bit for bit", () => {
  for (const n of SIZES) for (const momentum of [0, 0.9]) for (const nesterov of bools) for (const maximize of bools) for (const wdv of [0, 0.05]) {
    if (nesterov && momentum === 0) continue;
    compare(`sgd momentum=${momentum} nesterov=${nesterov} maximize=${maximize} wd=${wdv}`, n, 3, ([p, g, buf], step) => {
      sgdUpdate(p, g, n, momentum === 0 ? null : buf, step === 1, 0.1, momentum, 0.1, wdv, nesterov, maximize, true);
    });
  }
});

test("RMSprop: wasm equals the JS loop bit for bit", () => {
  for (const n of SIZES) for (const centered of bools) for (const momentum of [0, 0.9]) for (const maximize of bools) for (const wdv of [0, 0.05]) {
    compare(`rmsprop centered=${centered} momentum=${momentum} maximize=${maximize} wd=${wdv}`, n, 5, ([p, g, sq, ga, buf]) => {
      rmspropUpdate(p, g, n, sq, centered ? ga : null, momentum === 0 ? null : buf, 1e-2, 0.99, 1e-8, wdv, momentum, maximize, true);
    });
  }
});

test("Adagrad: wasm equals the JS loop bit for bit", () => {
  for (const n of SIZES) for (const maximize of bools) for (const wdv of [0, 0.05]) {
    compare(`adagrad maximize=${maximize} wd=${wdv}`, n, 3, ([p, g, sum], step) => {
      adagradUpdate(p, g, n, sum, 1e-2 / (1 + (step - 1) * 1e-3), 1e-10, wdv, maximize, true);
    });
  }
});

/** Train a (rows, cols) parameter for 30 steps on a fixed gradient stream with a fresh optimizer under `name`. */
function train(name: string, make: (ps: Tensor[]) => Optimizer, rows: number, cols: number): Float32Array[] {
  setBackend(name);
  seed = 777;
  const ps = [Tensor.fromStorage(values(rows * cols, 0), [rows, cols]), Tensor.fromStorage(values(cols, 0), [cols])];
  for (const p of ps) p.requiresGrad = true;
  const opt = make(ps);
  for (let s = 0; s < 30; s++) {
    for (const p of ps) p.grad = Tensor.fromStorage(values(p.numel(), 0), p.shape.slice());
    opt.step();
  }
  return ps.map((p) => p.buf as Float32Array);
}

test("optimizers train a large float32 parameter identically on the wasm and js backends", () => {
  const makers: [string, (ps: Tensor[]) => Optimizer][] = [
    ["Adam", (ps) => new Adam(ps, { lr: 1e-2 })],
    ["AdamW amsgrad", (ps) => new AdamW(ps, { lr: 1e-2, amsgrad: true })],
    ["SGD nesterov", (ps) => new SGD(ps, { lr: 1e-2, momentum: 0.9, nesterov: true, weightDecay: 1e-3 })],
    ["RMSprop centered", (ps) => new RMSprop(ps, { lr: 1e-3, centered: true, momentum: 0.5 })],
    ["Adagrad", (ps) => new Adagrad(ps, { lr: 1e-2, lrDecay: 1e-3 })],
  ];
  for (const [label, make] of makers) {
    const want = train("js", make, 37, 29), got = train("wasm", make, 37, 29);
    want.forEach((w, k) => assertSameBits(got[k], w, `${label} param ${k}`));
  }
});
