// Gradient clipping: clipGradNorm_ (2, 1 and infinity norms) and clipGradValue_.
import { test } from "node:test";
import assert from "node:assert/strict";
import { tensor, zeros, type Tensor } from "../../src/index.js";
import { clipGradNorm_, clipGradValue_ } from "../../src/optim/index.js";

function withGrad(values: number[] | number[][], dtype: "float32" | "float64" = "float32"): Tensor {
  const g = tensor(values, { dtype });
  const p = zeros(g.shape, { dtype }).requiresGrad_();
  p.grad = g;
  return p;
}
const vals = (t: Tensor) => Array.from(t.toTypedArray());

test("clipGradNorm_ scales all gradients by maxNorm / (total + 1e-6) and returns the total norm", () => {
  const a = withGrad([3, 4]), b = withGrad([12]);
  const total = clipGradNorm_([a, b], 1);
  assert.deepEqual(total.shape, []);
  assert.equal(total.dtype, "float32");
  assert.equal(total.item(), 13);
  const k = Math.fround(Math.fround(1 / Math.fround(13 + Math.fround(1e-6))));
  assert.deepEqual(vals(a.grad!), [Math.fround(3 * k), Math.fround(4 * k)]);
  assert.deepEqual(vals(b.grad!), [Math.fround(12 * k)]);
});

test("clipGradNorm_ leaves gradients below maxNorm unchanged (coefficient clamped to 1)", () => {
  const a = withGrad([3, 4]);
  assert.equal(clipGradNorm_(a, 10).item(), 5);
  assert.deepEqual(vals(a.grad!), [3, 4]);
});

test("clipGradNorm_ with the infinity and 1 norms, float64 gradients and a strided gradient", () => {
  const a = withGrad([3, -4]), b = withGrad([-12]);
  assert.equal(clipGradNorm_([a, b], 100, { normType: Infinity }).item(), 12);
  assert.equal(clipGradNorm_([a, b], 100, { normType: 1 }).item(), 19);
  const d = withGrad([3, 4], "float64");
  const total = clipGradNorm_([d], 1);
  assert.equal(total.dtype, "float64");
  assert.ok(Math.abs(vals(d.grad!)[1] - 0.8) < 1e-6);
  const s = zeros(3, 2).requiresGrad_();
  s.grad = tensor([[3, 0, 0], [4, 0, 0]]).t(); // a strided view
  clipGradNorm_([s], 2.5);
  assert.ok(Math.abs((s.grad.tolist() as number[][])[0][1] - 2) < 1e-5);
});

test("clipGradNorm_ skips parameters without grads; with none it returns 0", () => {
  const p = zeros(2).requiresGrad_();
  assert.equal(clipGradNorm_([p], 1).item(), 0);
  const a = withGrad([3, 4]);
  assert.equal(clipGradNorm_([p, a], 1).item(), 5);
});

test("clipGradNorm_ non-finite totals: an error on request, else scaling anyway", () => {
  const a = withGrad([Infinity, 1]);
  assert.throws(() => clipGradNorm_([a], 1, { errorIfNonfinite: true }), /^Error: \[clipGradNorm_\] the total norm of order 2 for gradients from parameters is non-finite/);
  assert.equal(clipGradNorm_([a], 1).item(), Infinity);
  assert.throws(() => clipGradNorm_([a], 1, { normType: 0 }), /^Error: \[clipGradNorm_\] normType must be > 0 or Infinity, got 0$/);
});

test("clipGradValue_ clamps every gradient to [-clipValue, clipValue] in place", () => {
  const a = withGrad([-3, 0.25, 2, NaN]);
  const g = a.grad!;
  const s = zeros(2, 2).requiresGrad_();
  s.grad = tensor([[5, -5], [0.5, 1]]).t();
  clipGradValue_([a, s, zeros(1).requiresGrad_()], 1);
  assert.equal(a.grad, g);
  assert.deepEqual(vals(g), [-1, 0.25, 1, NaN]);
  assert.deepEqual(s.grad.tolist(), [[1, 0.5], [-1, 1]]);
  assert.throws(() => clipGradValue_(a, -1), /^Error: \[clipGradValue_\] clipValue must be a number >= 0, got -1$/);
});
