// float32 optimizer updates on the WebAssembly SIMD kernels (dev/kernels/optim): arrays copied in, updated ones out.
import { align64, loadBest } from "./load.js";
import { SIMD } from "./optim_wasm.generated.js";

interface OptimExports {
  memory: WebAssembly.Memory;
  arena(bytes: number): number;
  adam(p: number, g: number, m: number, v: number, vMax: number, bytes: number,
    negStepSize: number, bcs: number, eps: number, b1: number, b2: number, omb1: number, omb2: number, wd: number, decay: number, flags: number): void;
  sgd(p: number, g: number, buf: number, bytes: number, negLr: number, wd: number, mom: number, keep: number, flags: number): void;
  rmsprop(p: number, g: number, sq: number, ga: number, buf: number, bytes: number,
    negLr: number, a: number, oma: number, eps: number, wd: number, mom: number, flags: number): void;
  adagrad(p: number, g: number, sum: number, bytes: number, negClr: number, eps: number, wd: number, flags: number): void;
}

const wasm = loadBest<OptimExports, "simd">([["simd", SIMD]]);

// The kernels' flag bits (dev/kernels/optim/optim.ts).
const MAXIMIZE = 1, WEIGHT_DECAY = 2, DECOUPLED = 4, AMSGRAD = 8, MOMENTUM = 16, FIRST = 32, NESTEROV = 64, CENTERED = 128;

/**
 * `minN`: float32 parameters with fewer elements stay in the JS loop. `chunk`: larger ones are updated this
 * many elements at a time. Tests lower both to reach the WebAssembly path and chunk edges on tiny sizes.
 * NOTE: a call costs ~0.8 µs fixed, so below ~64 elements (SGD: ~100) the JS loop wins
 * (dev/kernels/optim/README.md); 128 leaves a margin. Chunking bounds the wasm memory the updates keep
 * (it never shrinks) to 320 KiB whatever the largest parameter; 16384-element chunks measured as fast as
 * one whole 200k-element call, 2048 about 9% slower.
 */
export const wasmOptimConfig = { minN: 128, chunk: 16384 };

/** True when the WebAssembly optimizer kernels run in this runtime (WebAssembly SIMD validates). */
export const wasmOptimAvailable = wasm !== null;

// NOTE: the view is remade only when arena() has grown memory (which detaches the old buffer).
let heap = new Float32Array(0);

/**
 * Reserve `count` regions of n float32 each in WebAssembly memory; returns the first region's byte address,
 * the stride between regions in bytes, and the bytes a kernel sweeps (n rounded up to whole f32x4 lanes).
 */
function regions(ex: OptimExports, n: number, count: number): [number, number, number] {
  const stride = align64(n * 4);
  const at = ex.arena(stride * count);
  if (heap.buffer !== ex.memory.buffer) heap = new Float32Array(ex.memory.buffer);
  return [at, stride, Math.ceil(n / 4) * 16];
}

/** Copy elements [c, c + len) of `a` to byte address `at`. */
function put(a: Float32Array, c: number, len: number, at: number): void {
  heap.set(a.subarray(c, c + len), at >> 2);
}

/** Copy `len` elements at byte address `at` back to elements [c, c + len) of `a`. */
function get(a: Float32Array, c: number, len: number, at: number): void {
  a.set(heap.subarray(at >> 2, (at >> 2) + len), c);
}

function instance(op: string): OptimExports {
  if (wasm === null) throw new Error(`[${op}] WebAssembly SIMD is not available in this runtime`);
  return wasm.ex;
}

/** adamUpdate (src/optim/kernels.ts) on float32 arrays, given its float32-rounded scalars. */
export function wasmAdam(
  p: Float32Array, g: Float32Array, n: number, m: Float32Array, v: Float32Array, vMax: Float32Array | null,
  negStepSize: number, bcs: number, e: number, b1: number, b2: number, omb1: number, omb2: number, wd: number, decay: number,
  decoupled: boolean, l2: boolean, maximize: boolean,
): void {
  const ex = instance("wasmAdam");
  const flags = (maximize ? MAXIMIZE : 0) | (decoupled ? DECOUPLED : 0) | (l2 ? WEIGHT_DECAY : 0) | (vMax !== null ? AMSGRAD : 0);
  const chunk = wasmOptimConfig.chunk;
  for (let c = 0; c < n; c += chunk) {
    const len = Math.min(chunk, n - c);
    const [at, s, bytes] = regions(ex, len, vMax === null ? 4 : 5);
    put(p, c, len, at); put(g, c, len, at + s); put(m, c, len, at + 2 * s); put(v, c, len, at + 3 * s);
    if (vMax !== null) put(vMax, c, len, at + 4 * s);
    ex.adam(at, at + s, at + 2 * s, at + 3 * s, at + 4 * s, bytes, negStepSize, bcs, e, b1, b2, omb1, omb2, wd, decay, flags);
    get(p, c, len, at); get(m, c, len, at + 2 * s); get(v, c, len, at + 3 * s);
    if (vMax !== null) get(vMax, c, len, at + 4 * s);
  }
}

/** sgdUpdate on float32 arrays, given its float32-rounded scalars. */
export function wasmSgd(
  p: Float32Array, g: Float32Array, n: number, buf: Float32Array | null, first: boolean,
  negLr: number, wd: number, mom: number, keep: number, weightDecay: boolean, nesterov: boolean, maximize: boolean,
): void {
  const ex = instance("wasmSgd");
  const flags = (maximize ? MAXIMIZE : 0) | (weightDecay ? WEIGHT_DECAY : 0) | (buf !== null ? MOMENTUM : 0) | (first ? FIRST : 0) | (nesterov ? NESTEROV : 0);
  const chunk = wasmOptimConfig.chunk;
  for (let c = 0; c < n; c += chunk) {
    const len = Math.min(chunk, n - c);
    const [at, s, bytes] = regions(ex, len, buf === null ? 2 : 3);
    put(p, c, len, at); put(g, c, len, at + s);
    if (buf !== null && !first) put(buf, c, len, at + 2 * s);
    ex.sgd(at, at + s, at + 2 * s, bytes, negLr, wd, mom, keep, flags);
    get(p, c, len, at);
    if (buf !== null) get(buf, c, len, at + 2 * s);
  }
}

/** rmspropUpdate on float32 arrays, given its float32-rounded scalars. */
export function wasmRmsprop(
  p: Float32Array, g: Float32Array, n: number, sq: Float32Array, ga: Float32Array | null, buf: Float32Array | null,
  negLr: number, a: number, oma: number, e: number, wd: number, mom: number, weightDecay: boolean, maximize: boolean,
): void {
  const ex = instance("wasmRmsprop");
  const flags = (maximize ? MAXIMIZE : 0) | (weightDecay ? WEIGHT_DECAY : 0) | (ga !== null ? CENTERED : 0) | (buf !== null ? MOMENTUM : 0);
  const chunk = wasmOptimConfig.chunk;
  for (let c = 0; c < n; c += chunk) {
    const len = Math.min(chunk, n - c);
    const [at, s, bytes] = regions(ex, len, 5);
    put(p, c, len, at); put(g, c, len, at + s); put(sq, c, len, at + 2 * s);
    if (ga !== null) put(ga, c, len, at + 3 * s);
    if (buf !== null) put(buf, c, len, at + 4 * s);
    ex.rmsprop(at, at + s, at + 2 * s, at + 3 * s, at + 4 * s, bytes, negLr, a, oma, e, wd, mom, flags);
    get(p, c, len, at); get(sq, c, len, at + 2 * s);
    if (ga !== null) get(ga, c, len, at + 3 * s);
    if (buf !== null) get(buf, c, len, at + 4 * s);
  }
}

/** adagradUpdate on float32 arrays, given its float32-rounded scalars. */
export function wasmAdagrad(
  p: Float32Array, g: Float32Array, n: number, sum: Float32Array, negClr: number, e: number, wd: number, weightDecay: boolean, maximize: boolean,
): void {
  const ex = instance("wasmAdagrad");
  const flags = (maximize ? MAXIMIZE : 0) | (weightDecay ? WEIGHT_DECAY : 0);
  const chunk = wasmOptimConfig.chunk;
  for (let c = 0; c < n; c += chunk) {
    const len = Math.min(chunk, n - c);
    const [at, s, bytes] = regions(ex, len, 3);
    put(p, c, len, at); put(g, c, len, at + s); put(sum, c, len, at + 2 * s);
    ex.adagrad(at, at + s, at + 2 * s, bytes, negClr, e, wd, flags);
    get(p, c, len, at); get(sum, c, len, at + 2 * s);
  }
}
