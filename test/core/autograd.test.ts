// Autograd engine semantics: accumulation, retained graphs, grad modes, non-scalar seeds, custom Functions.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Tensor, tensor, ones, zeros, noGrad, enableGrad, isGradEnabled, setGradEnabled, autograd,
} from "../../src/index.js";
import type { FunctionCtx } from "../../src/autograd/function.js";

const f64 = { dtype: "float64" as const, requiresGrad: true };
const leaf = (data: number[] | number[][]) => tensor(data as number[], f64);
const list = (t: Tensor | null) => (t === null ? null : t.tolist());

test("gradients accumulate across two backward calls until reset", () => {
  const x = leaf([1, 2]);
  x.mul(3).sum().backward();
  assert.deepEqual(list(x.grad), [3, 3]);
  x.mul(x).sum().backward();
  assert.deepEqual(list(x.grad), [5, 7]);
  x.grad = null;
  x.sum().backward();
  assert.deepEqual(list(x.grad), [1, 1]);
});

test("a second backward without retainGraph throws; with it, gradients add up", () => {
  const x = leaf([0.5, -1]);
  const y = x.exp().mul(x).sum();
  y.backward(undefined, { retainGraph: true });
  const first = x.grad!.tolist() as number[];
  y.backward();
  (x.grad!.tolist() as number[]).forEach((v, i) => assert.ok(Math.abs(v - 2 * first[i]) < 1e-12));
  assert.throws(() => y.backward(), /^Error: \[backward\] trying to backward through the graph a second time/);
  const z = x.square().sum();
  z.backward();
  assert.throws(() => z.backward(), /^Error: \[backward\] trying to backward through the graph a second time/);
  // a new graph that reuses a freed intermediate also fails, as PyTorch
  const h = x.sin();
  h.sum().backward();
  assert.throws(() => h.mul(2).sum().backward(), /^Error: \[backward\] trying to backward through the graph a second time/);
});

test("noGrad records nothing; enableGrad re-enables inside it; modes restore after throws", () => {
  const x = leaf([1, 2]);
  const y = noGrad(() => x.mul(2));
  assert.equal(y.requiresGrad, false);
  assert.equal(y.gradFn, null);
  assert.equal(isGradEnabled(), true);
  const z = noGrad(() => {
    assert.equal(isGradEnabled(), false);
    return enableGrad(() => x.mul(2));
  });
  assert.equal(z.requiresGrad, true);
  assert.throws(() => noGrad(() => { throw new Error("boom"); }), /boom/);
  assert.equal(isGradEnabled(), true);
  setGradEnabled(false);
  try {
    assert.equal(x.add(1).requiresGrad, false);
  } finally {
    setGradEnabled(true);
  }
  // a tensor made under noGrad is a constant in a later graph
  const w = x.mul(y).sum();
  w.backward();
  assert.deepEqual(list(x.grad), [2, 4]);
});

test("detach shares storage and cuts the graph", () => {
  const x = leaf([1, 2, 3]);
  const d = x.detach();
  assert.equal(d.buf, x.buf);
  assert.equal(d.requiresGrad, false);
  assert.equal(d.isLeaf, true);
  x.mul(d).sum().backward(); // d is a constant: d/dx (x * c) = c
  assert.deepEqual(list(x.grad), [1, 2, 3]);
  const y = x.mul(2);
  assert.equal(y.detach().gradFn, null);
  assert.equal(x.data.buf, x.buf);
});

test("requiresGrad_ works on leaves only, and only for floating dtypes", () => {
  const x = tensor([1, 2]).requiresGrad_();
  assert.equal(x.requiresGrad, true);
  const y = x.mul(2);
  assert.equal(y.isLeaf, false);
  assert.throws(() => y.requiresGrad_(), /^Error: \[requiresGrad_\] you can only change requiresGrad flags of leaf tensors/);
  assert.throws(() => y.requiresGrad_(false), /^Error: \[requiresGrad_\]/);
  assert.throws(() => tensor([1, 2], { dtype: "int32" }).requiresGrad_(), /^Error: \[requiresGrad_\] only floating point tensors can require gradients, got int32/);
  assert.throws(() => tensor([1, 2], { dtype: "int32", requiresGrad: true }), /^Error: \[requiresGrad_\].*int32/);
  assert.throws(() => tensor([true]).requiresGrad_(), /got bool/);
  assert.equal(tensor([1]).requiresGrad_(true).requiresGrad_(false).requiresGrad, false);
});

test("backward(gradient) for non-scalars, and the implicit-seed error", () => {
  const x = leaf([[1, 2], [3, 4]]);
  const y = x.mul(3);
  assert.throws(() => y.backward(), /^Error: \[backward\] grad can be implicitly created only for scalar outputs; got shape \[2, 2\]/);
  assert.throws(() => y.backward(tensor([1, 2], f64)), /^Error: \[backward\] gradient shape \[2\] does not match tensor shape \[2, 2\]/);
  y.backward(tensor([[1, 10], [100, 1000]], { dtype: "float64" }));
  assert.deepEqual(list(x.grad), [[3, 30], [300, 3000]]);
  // a one-element non-0-d output may seed implicitly, as PyTorch
  const z = leaf([2]);
  z.square().backward();
  assert.deepEqual(list(z.grad), [4]);
  // backward on something that does not require grad
  assert.throws(() => tensor([1]).sum().backward(), /^Error: \[backward\] element 0 of tensors does not require grad/);
});

test("retainGrad keeps a non-leaf's gradient; others are not stored", () => {
  const x = leaf([1, 2]);
  const y = x.mul(2);
  const u = x.mul(5);
  y.retainGrad();
  y.square().add(u).sum().backward();
  assert.deepEqual(list(y.grad), [4, 8]); // d/dy y^2 = 2y
  assert.equal(u.grad, null);
  assert.deepEqual(list(x.grad), [13, 21]); // 2y * 2 + 5
  assert.throws(() => tensor([1]).retainGrad(), /^Error: \[retainGrad\]/);
});

test("a diamond graph sums both paths", () => {
  const x = leaf([0.3, -0.7]);
  const a = x.mul(2);
  const d = a.exp().add(a.sin());
  d.sum().backward();
  const want = [0.3, -0.7].map((v) => 2 * (Math.exp(2 * v) + Math.cos(2 * v)));
  (x.grad!.tolist() as number[]).forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-12));
});

test("the same tensor used twice: x*x and x+x", () => {
  const x = leaf([3, -2]);
  x.mul(x).sum().backward();
  assert.deepEqual(list(x.grad), [6, -4]);
  const y = leaf([3, -2]);
  y.add(y).sum().backward();
  assert.deepEqual(list(y.grad), [2, 2]);
  const z = leaf([1.5]);
  z.mul(z).mul(z).sum().backward();
  assert.deepEqual(list(z.grad), [6.75]);
});

test("in-place ops: forbidden on leaves that require grad and on graph tensors, allowed under noGrad", () => {
  const w = leaf([1, 2]);
  assert.throws(() => w.add_(1), /^Error: \[add_\] a leaf tensor that requires grad is being used in an in-place operation/);
  assert.throws(() => w.mul_(2), /^Error: \[mul_\]/);
  assert.throws(() => w.copy_(tensor([0, 0])), /^Error: \[copy_\]/);
  assert.throws(() => w.zero_(), /^Error: \[fill_\]/);
  const y = w.mul(2);
  assert.throws(() => y.sub_(1), /^Error: \[sub_\] in-place operations are not recorded by autograd/);
  assert.throws(() => zeros(2).add_(w), /^Error: \[add_\]/);
  noGrad(() => w.sub_(tensor([0.5, 0.5]), { alpha: 2 }));
  assert.deepEqual(w.tolist(), [0, 1]);
  assert.equal(w.requiresGrad, true);
  assert.equal(w.isLeaf, true);
  // in-place ops on plain tensors need no noGrad
  const p = ones(2);
  p.mul_(3).add_(1).clamp_(0, 3.5).div_(2);
  assert.deepEqual(p.tolist(), [1.75, 1.75]);
});

test("the engine reduces broadcast gradients and casts them to the input dtype", () => {
  const b = leaf([1, 2, 3]);
  const m = leaf([[1, 1, 1], [2, 2, 2]]);
  m.mul(b).sum().backward();
  assert.deepEqual(list(b.grad), [3, 3, 3]);
  assert.deepEqual(list(m.grad), [[1, 2, 3], [1, 2, 3]]);
  const s = tensor(2, { requiresGrad: true }); // float32 0-d
  const v = tensor([1, 2, 3], { dtype: "float64" });
  const out = s.mul(v);
  assert.equal(out.dtype, "float64");
  out.sum().backward();
  assert.equal(s.grad!.dtype, "float32");
  assert.deepEqual(s.grad!.shape, []);
  assert.equal(s.grad!.item(), 6);
});

test("leaf gradients never alias each other or a graph tensor", () => {
  // add's rule hands the same tensor to both inputs; each leaf must still own its buffer
  const a = leaf([1, 2]), b = leaf([3, 4]);
  a.add(b).sum().backward();
  assert.notEqual(a.grad!.buf, b.grad!.buf);
  noGrad(() => a.grad!.mul_(10));
  assert.deepEqual(list(b.grad), [1, 1]);
});

test("autograd.grad returns gradients without touching .grad", () => {
  const x = leaf([1, 2]), y = leaf([3, 4]);
  const out = x.mul(y).sum();
  const [gx, gy] = autograd.grad(out, [x, y], { retainGraph: true });
  assert.deepEqual(list(gx), [3, 4]);
  assert.deepEqual(list(gy), [1, 2]);
  assert.equal(x.grad, null);
  // several outputs with their gradOutputs add up
  const v = x.mul(2);
  const [g2] = autograd.grad([v, x.square().sum()], [x], { gradOutputs: [tensor([1, 1], { dtype: "float64" }), tensor(1, { dtype: "float64" })] });
  assert.deepEqual(list(g2), [4, 6]);
  // gradient w.r.t. a non-leaf
  const h = x.mul(3);
  const [gh] = autograd.grad(h.square().sum(), [h]);
  assert.deepEqual(list(gh), [6, 12]);
  const unused = leaf([0]);
  assert.throws(() => autograd.grad(x.sum(), [unused]), /^Error: \[grad\] input 0 \(shape \[1\]\) was not used in the graph/);
  assert.deepEqual(autograd.grad(x.sum(), [unused], { allowUnused: true }), [null]);
  assert.throws(() => autograd.grad(x.mul(2), [x]), /^Error: \[grad\] grad can be implicitly created only for scalar outputs/);
  assert.throws(() => autograd.grad(x.sum(), [tensor([1])]), /^Error: \[grad\] input 0 does not require grad/);
});

test("backward with createGraph makes .grad differentiable", () => {
  const x = leaf([2]);
  x.pow(3).sum().backward(undefined, { createGraph: true });
  assert.deepEqual(list(x.grad), [12]);
  assert.equal(x.grad!.requiresGrad, true);
  const [g2] = autograd.grad(x.grad!.sum(), [x]);
  assert.deepEqual(list(g2), [12]); // d/dx 3x^2 = 6x
});

test("custom autograd.Function: forward runs without recording, backward gets ctx and needsInputGrad", () => {
  let sawGradMode: boolean | null = null;
  let needs: boolean[] = [];
  class ScaledExp extends autograd.Function {
    static override forward(ctx: FunctionCtx, x: Tensor, y: Tensor, k: number): Tensor {
      sawGradMode = isGradEnabled();
      needs = ctx.needsInputGrad;
      const e = x.exp().mul(k);
      ctx.saveForBackward(e, y);
      return e.mul(y);
    }
    static override backward(ctx: FunctionCtx, g: Tensor): (Tensor | null)[] {
      const [e, y] = ctx.savedTensors;
      return [g.mul(e).mul(y), g.mul(e), null];
    }
  }
  const x = leaf([0, 1]);
  const y = tensor([2, 3], { dtype: "float64" });
  const out = ScaledExp.apply(x, y, 2);
  assert.equal(sawGradMode, false);
  assert.deepEqual(needs, [true, false, false]);
  assert.equal(out.gradFn!.name, "ScaledExp");
  const node = out.gradFn!;
  out.sum().backward();
  (x.grad!.tolist() as number[]).forEach((v, i) => assert.ok(Math.abs(v - 2 * [2, 3][i] * Math.exp(i)) < 1e-12));
  // backward without retainGraph releases the ctx and so its saved tensors
  assert.equal(node.attrs, null);
  // no input requires grad: a plain tensor
  assert.equal(ScaledExp.apply(tensor([1], { dtype: "float64" }), y.narrow(0, 0, 1), 1).gradFn, null);
  class Bad extends autograd.Function {
    static override forward(_ctx: FunctionCtx, x: Tensor): Tensor { return x.clone(); }
    static override backward(_ctx: FunctionCtx, g: Tensor): (Tensor | null)[] { return [g, g]; }
  }
  assert.throws(() => Bad.apply(leaf([1])).sum().backward(), /^Error: \[Function\] Bad.backward returned 2 gradients, expected 1/);
});

test("gradient flows through views into the base leaf", () => {
  const x = leaf([[1, 2, 3], [4, 5, 6]]);
  const v = x.t().select(0, 1); // elements 2 and 5
  v.mul(tensor([10, 20], { dtype: "float64" })).sum().backward();
  assert.deepEqual(list(x.grad), [[0, 10, 0], [0, 20, 0]]);
});

test("ops on tensors that require grad record their primitive name", () => {
  const x = leaf([1, 2]);
  assert.equal(x.exp().gradFn!.name, "exp");
  assert.equal(x.t(), x); // 1-D t() is the identity, as torch
  assert.equal(x.reshape(2, 1).gradFn!.name, "view");
  assert.equal(x.sum().gradFn!.name, "sum");
  assert.equal(x.gt(0).requiresGrad, false);
  assert.equal(x.argmax().requiresGrad, false);
});
