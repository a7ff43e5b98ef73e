// A backward pass reuses the storage of its own dead gradients: the gradients must be bit-identical to a pass that
// does not, whatever holds a gradient (a leaf, retainGrad, autograd.grad, a custom Function's backward, two inputs).
import { test, afterEach } from "node:test";
import assert from "node:assert/strict";
import { nn, randn, manualSeed, autograd, backend, type Tensor } from "../../src/index.js";
import type { FunctionCtx } from "../../src/autograd/function.js";
import { recycleConfig, recycleStats } from "../../src/dtype.js";

afterEach(() => { recycleConfig.enabled = true; });

/** Run f twice from the same seed, recycling and not; returns both results and the bytes reused by the first. */
function both<T>(f: () => T): { on: T; off: T; reused: number } {
  manualSeed(3);
  const before = recycleStats.reusedBytes;
  const on = f();
  const reused = recycleStats.reusedBytes - before;
  recycleConfig.enabled = false;
  manualSeed(3);
  const off = f();
  recycleConfig.enabled = true;
  return { on, off, reused };
}

const bits = (ts: (Tensor | null)[]) => ts.map((t) => (t === null ? null : Array.from(new Uint32Array(Float32Array.from(t.toTypedArray() as Float32Array).buffer))));

/** The kernels that recycle are the wasm backend's (its big outputs); the js backend's allocate zeroed storage. */
const recycles = backend() === "wasm";

test("an MLP with layer norm, GELU and residual adds: same gradients, and storage is reused", () => {
  const { on, off, reused } = both(() => {
    const body = new nn.Sequential(new nn.Linear(96, 256), new nn.GELU(), new nn.Linear(256, 96));
    const norm = new nn.LayerNorm(96), head = new nn.Linear(96, 10);
    const x = randn(512, 96).requiresGrad_();
    const h = x.add(body.forward(norm.forward(x))); // the add's rule hands one gradient to both inputs
    const h2 = h.add(body.forward(norm.forward(h)));
    head.forward(h2).reshape(512 * 10).square().mean().backward();
    return bits([x.grad, ...body.parameters().map((p) => p.grad), ...norm.parameters().map((p) => p.grad)]);
  });
  assert.deepEqual(on, off);
  if (recycles) assert.ok(reused > 0, "the pass must reuse storage");
});

test("a transformer encoder layer and a convolution: same gradients", () => {
  const { on, off, reused } = both(() => {
    const layer = new nn.TransformerEncoderLayer(64, 4, { dimFeedforward: 256, dropout: 0, batchFirst: true, normFirst: true });
    const conv = new nn.Conv2d(3, 16, 3, { padding: 1 });
    const x = randn(8, 32, 64).requiresGrad_(), img = randn(8, 3, 20, 20).requiresGrad_();
    layer.forward(x, { isCausal: true, srcMask: nn.Transformer.generateSquareSubsequentMask(32) }).sum().add(conv.forward(img).relu().sum()).backward();
    return bits([x.grad, img.grad, ...layer.parameters().map((p) => p.grad), ...conv.parameters().map((p) => p.grad)]);
  });
  assert.deepEqual(on, off);
  if (recycles) assert.ok(reused > 0);
});

test("retained grads, autograd.grad results and what a custom backward keeps are never reused", () => {
  const kept: Tensor[] = [];
  class Keep extends autograd.Function {
    static override forward(_ctx: FunctionCtx, x: Tensor) { return x.mul(1); }
    static override backward(_ctx: FunctionCtx, g: Tensor) { const r = g.mul(2); kept.push(g, r); return [r]; }
  }
  const { on, off } = both(() => {
    kept.length = 0;
    const l1 = new nn.Linear(128, 128), l2 = new nn.Linear(128, 128), l3 = new nn.Linear(128, 128);
    const x = randn(256, 128).requiresGrad_();
    const a = l1.forward(x).tanh();
    a.retainGrad();
    const b = Keep.apply(l2.forward(a)) as Tensor;
    const c = l3.forward(b).sigmoid();
    const [ga, gb] = autograd.grad(c.sum(), [a, b], { retainGraph: true });
    c.square().sum().backward();
    // everything read after both passes: a reused buffer would show here
    return bits([ga, gb, a.grad, x.grad, ...kept, ...l1.parameters().map((p) => p.grad)]);
  });
  assert.deepEqual(on, off);
});

test("a double backward (createGraph) gives the same first and second derivatives", () => {
  const { on, off } = both(() => {
    const l = new nn.Linear(64, 64);
    const x = randn(300, 64).requiresGrad_();
    const [gx] = autograd.grad(l.forward(x).tanh().square().sum(), [x], { createGraph: true });
    gx!.square().sum().backward();
    return bits([gx, x.grad, ...l.parameters().map((p) => p.grad)]);
  });
  assert.deepEqual(on, off);
});

test("the allocator reuses only storage it made during the pass, and only during it", async () => {
  const { allocStorageForOverwrite, beginRecycling, endRecycling, bornInPass, recycle } = await import("../../src/dtype.js");
  const outer = beginRecycling(true);
  try {
    const a = allocStorageForOverwrite("float32", 5000) as Float32Array, mine = new Float32Array(5000);
    assert.equal(bornInPass(a), true);
    assert.equal(bornInPass(mine), false);
    assert.equal(bornInPass(allocStorageForOverwrite("float32", 100)), false, "slab storage is not pooled");
    recycle(a);
    assert.equal(allocStorageForOverwrite("float32", 4999) === a, false, "lengths must match");
    assert.equal(allocStorageForOverwrite("float32", 5000), a);
    assert.equal(allocStorageForOverwrite("float32", 5000) === a, false, "handed out once");
    recycle(a);
  } finally {
    endRecycling(outer);
  }
  assert.equal(bornInPass(allocStorageForOverwrite("float32", 5000)), false, "no pass, no pool");
});
