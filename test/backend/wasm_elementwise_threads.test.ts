// The elementwise row kernels on the pool (GELU, softmax, layer norm (with its affine map) and their backward): bit-identical for any thread count, close to the JS reference.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Generator, randn, setNumThreads, getNumThreads, type Tensor } from "../../src/index.js";
import { jsBackend } from "../../src/backend/js/js_backend.js";
import { wasmBackend } from "../../src/backend/wasm/wasm_backend.js";
import { wasmElementwiseConfig } from "../../src/backend/wasm/elementwise.js";
import { workerUnits } from "../../src/backend/wasm/gemm_pool.js";
import type { Backend } from "../../src/backend/backend.js";

const g = new Generator(91);
const be = wasmBackend!;

type Case = { name: string; run: (b: Backend) => Float32Array; tol: number };

/** Each row kernel on (rows, cols) operands; the tolerances are those of the parity suite's single-thread runs. */
function cases(rows: number, cols: number): Case[] {
  const x = randn([rows, cols], { generator: g }), gr = randn([rows, cols], { generator: g });
  const y = x.softmax(-1), ly = x.logSoftmax(-1), w = randn([cols], { generator: g }), bias = randn([cols], { generator: g });
  const f = (fn: (b: Backend) => unknown) => (b: Backend) => fn(b) as Float32Array;
  return [
    { name: "gelu", run: f((b) => b.gelu(x, false, "float32")), tol: 1e-6 },
    { name: "gelu tanh", run: f((b) => b.gelu(x, true, "float32")), tol: 1e-6 },
    { name: "geluBackward", run: f((b) => b.geluBackward(gr, x, false, "float32")), tol: 1e-6 },
    { name: "geluBackward tanh", run: f((b) => b.geluBackward(gr, x, true, "float32")), tol: 1e-6 },
    { name: "softmax", run: f((b) => b.softmax(x, 1, false, "float32")), tol: 1e-6 },
    { name: "logSoftmax", run: f((b) => b.softmax(x, 1, true, "float32")), tol: 1e-5 },
    { name: "softmaxBackward", run: f((b) => b.softmaxBackward(gr, y, 1, false, "float32")), tol: 1e-5 },
    { name: "logSoftmaxBackward", run: f((b) => b.softmaxBackward(gr, ly, 1, true, "float32")), tol: 1e-5 },
    { name: "layerNorm", run: f((b) => b.layerNorm(x, cols, 1e-5, "float32")), tol: 1e-5 },
    { name: "layerNormBackward", run: f((b) => b.layerNormBackward(gr, x, cols, 1e-5, "float32")), tol: 1e-4 },
    { name: "layerNormAffine", run: f((b) => b.layerNormAffine(x, w, bias, cols, 1e-5, "float32")), tol: 1e-5 },
  ];
}

const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

function withThreads(fn: () => void): void {
  const saved = { ...wasmElementwiseConfig }, threads = getNumThreads();
  wasmElementwiseConfig.minThreaded = 0;
  wasmElementwiseConfig.minTranscendental = 0;
  try { fn(); } finally { Object.assign(wasmElementwiseConfig, saved); setNumThreads(threads); }
}

test("row kernels on 1–4 threads give the same bits, and match the JS reference: odd rows and columns, flat GELU tails", () => withThreads(() => {
  const before = workerUnits();
  // (rows, cols): units cut rows; GELU runs flat, cut at multiples of 8 elements (n = 1001, 37·19, 3·5 leave tails)
  for (const [rows, cols] of [[1001, 1], [37, 19], [3, 5], [256, 64], [130, 128], [9, 1000]]) {
    for (const c of cases(rows, cols)) {
      setNumThreads(1);
      const one = c.run(be), ref = c.run(jsBackend);
      let worst = 0;
      for (let i = 0; i < one.length; i++) worst = Math.max(worst, Math.abs(one[i] - ref[i]) / Math.max(1, Math.abs(ref[i])));
      assert.ok(worst <= c.tol, `${c.name} (${rows}, ${cols}): ${worst} from the reference`);
      for (const threads of [2, 3, 4]) {
        setNumThreads(threads);
        const got = bits(c.run(be)), i = got.findIndex((v, j) => v !== bits(one)[j]);
        assert.equal(i, -1, `${c.name} (${rows}, ${cols}) on ${threads} threads: element ${i} differs from one thread`);
      }
    }
  }
  // workers wake in 20–100 µs: repeat a kernel big enough to span that until they have taken some units
  const x = randn([512, 512], { generator: g });
  setNumThreads(2);
  for (let i = 0; i < 200 && workerUnits() === before; i++) be.gelu(x, false, "float32");
  assert.ok(workerUnits() > before, "no worker ever took a unit: the kernels above ran on the calling thread only");
}));

test("below minThreaded a row kernel runs on the calling thread", () => {
  setNumThreads(2);
  const x = randn([64, 64], { generator: g }); // 4096 elements, under the default 65536
  be.gelu(x, false, "float32"); // warm: starts nothing by itself
  const before = workerUnits();
  for (let i = 0; i < 50; i++) be.softmax(x, 1, false, "float32");
  assert.equal(workerUnits(), before);
});
