// Loss functions and modules: PyTorch values at the edges (float64 references), gradchecks of every option
// variant, and validation errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as nn from "../../src/nn/index.js";
import { gradcheck, gradgradcheck } from "../../src/autograd/gradcheck.js";
import { manualSeed, rand, randint, randn, tensor } from "../../src/index.js";
import type { Tensor } from "../../src/tensor.js";

const { F } = nn;
const f64 = { dtype: "float64" as const };
const i32 = { dtype: "int32" as const };
const REDUCTIONS: nn.Reduction[] = ["mean", "sum", "none"];

function close(a: Tensor | null, b: number[], tol = 1e-9): void {
  assert.ok(a, "missing tensor");
  const x = a.toTypedArray();
  assert.equal(x.length, b.length, `length ${x.length} vs ${b.length}`);
  x.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= tol * (1 + Math.abs(b[i])), `element ${i}: ${v} vs ${b[i]}`));
}

const grad = (...shape: number[]) => randn(shape, f64).requiresGrad_();
const prob = (...shape: number[]) => rand(shape, f64).mul(0.8).add(0.1).requiresGrad_();

// ---- binary cross-entropy ------------------------------------------------------------------------

test("binaryCrossEntropyWithLogits is finite and exact for extreme logits (PyTorch float64 and float32)", () => {
  const x = tensor([-100, 100, 0, -30, 30], f64).requiresGrad_();
  const loss = F.binaryCrossEntropyWithLogits(x, tensor([0, 1, 0.5, 1, 0], f64), { reduction: "none" });
  close(loss, [0, 0, 0.6931471805599453, 30.000000000000092, 30.000000000000092], 1e-12);
  loss.sum().backward();
  close(x.grad, [3.7200759760208356e-44, 0, 0, -0.9999999999999064, 0.9999999999999065], 1e-12);
  const x32 = tensor([-100, 100, 0]).requiresGrad_();
  const l32 = F.binaryCrossEntropyWithLogits(x32, tensor([1, 0, 1]), { reduction: "sum" });
  close(l32, [200.69314575195312], 1e-7);
  l32.backward();
  close(x32.grad, [-1, 1, -0.5]);
});

test("binaryCrossEntropyWithLogits: the gradient at logit 0 is sigmoid(0) - t", () => {
  const x = tensor([0, 0, 0], f64).requiresGrad_();
  F.binaryCrossEntropyWithLogits(x, tensor([0, 1, 0.25], f64), { reduction: "sum" }).backward();
  close(x.grad, [0.5, -0.5, 0.25]);
});

test("binaryCrossEntropyWithLogits with posWeight and weight matches PyTorch", () => {
  const x = tensor([[0.5, -1], [2, 0]], f64).requiresGrad_();
  const loss = F.binaryCrossEntropyWithLogits(x, tensor([[1, 0], [0, 1]], f64), { posWeight: tensor([3, 0.5], f64), weight: tensor([[2], [0.5]], f64) });
  close(loss, [1.1769340201946394]);
  loss.backward();
  close(x.grad, [-0.566311003197218, 0.13447071068499755, 0.11009963474723529, -0.03125]);
});

test("binaryCrossEntropy keeps saturated probabilities finite with PyTorch's gradients", () => {
  const x = tensor([0, 1, 0.5, 1, 0], f64).requiresGrad_();
  const loss = F.binaryCrossEntropy(x, tensor([1, 0, 0.5, 1, 0], f64), { reduction: "none" });
  close(loss, [100, 100, 0.6931471805599453, 0, 0]);
  loss.sum().backward();
  // PyTorch divides by max(x (1 - x), 1e-12); its float constant makes that 1.000000004e12
  close(x.grad, [-1e12, 1e12, 0, 0, 0], 1e-8);
  assert.ok(F.binaryCrossEntropy(tensor([0.9, 0.2]), tensor([1, 0])).item() - 0.16425204 < 1e-6);
});

test("BCE losses: modules equal functions, buffers use PyTorch's keys, errors name shapes", () => {
  manualSeed(0);
  const x = randn(4, 3), t = rand(4, 3), w = rand(3), pw = rand(3).add(0.5);
  const crit = new nn.BCEWithLogitsLoss({ weight: w, posWeight: pw, reduction: "sum" });
  assert.equal(crit.forward(x, t).item(), F.binaryCrossEntropyWithLogits(x, t, { weight: w, posWeight: pw, reduction: "sum" }).item());
  assert.deepEqual(Object.keys(crit.stateDict()), ["weight", "pos_weight"]);
  assert.equal(crit.posWeight, pw);
  assert.equal(String(crit), "BCEWithLogitsLoss()");
  const p = x.sigmoid();
  assert.equal(new nn.BCELoss({ weight: w }).forward(p, t).item(), F.binaryCrossEntropy(p, t, { weight: w }).item());
  assert.throws(() => new nn.BCEWithLogitsLoss().forward(randn(16, 1), rand(16)),
    /^Error: \[BCEWithLogitsLoss\] target shape \[16\] does not match input shape \[16, 1\]$/);
  assert.throws(() => F.binaryCrossEntropyWithLogits(x, t, { posWeight: rand(4) }),
    /^Error: \[binaryCrossEntropyWithLogits\] posWeight shape \[4\] cannot be broadcast to input shape \[4, 3\]$/);
  assert.throws(() => F.binaryCrossEntropy(p, t, { weight: rand(2, 1, 1) }),
    /^Error: \[binaryCrossEntropy\] weight shape \[2, 1, 1\] cannot be broadcast to input shape \[4, 3\]$/);
  assert.throws(() => F.binaryCrossEntropy(tensor([1], i32), tensor([1], i32)), /^Error: \[binaryCrossEntropy\] expected a floating point input, got int32$/);
  assert.throws(() => new nn.BCELoss({ reduction: "avg" as nn.Reduction }), /^Error: \[BCELoss\] reduction must be 'mean', 'sum' or 'none', got "avg"$/);
  assert.throws(() => new nn.BCEWithLogitsLoss({ pos_weight: pw } as never), /^Error: \[BCEWithLogitsLoss\] unknown option 'pos_weight'; expected one of reduction, weight, posWeight$/);
});

test("gradcheck: binaryCrossEntropyWithLogits w.r.t. input, target, weight and posWeight", () => {
  for (const reduction of REDUCTIONS) {
    gradcheck((x, t) => F.binaryCrossEntropyWithLogits(x, t, { reduction }), [grad(3, 2), prob(3, 2)]);
    gradcheck((x, t, w) => F.binaryCrossEntropyWithLogits(x, t, { weight: w, reduction }), [grad(3, 2), prob(3, 2), prob(2)]);
    gradcheck((x, t, pw) => F.binaryCrossEntropyWithLogits(x, t, { posWeight: pw, reduction }), [grad(3, 2), prob(3, 2), prob(2)]);
    gradcheck((x, t, w, pw) => new nn.BCEWithLogitsLoss({ weight: w, posWeight: pw, reduction }).forward(x, t),
      [grad(3, 2), prob(3, 2), prob(3, 1), prob(2)]);
  }
});

test("gradcheck: binaryCrossEntropy w.r.t. input, target and weight", () => {
  for (const reduction of REDUCTIONS) {
    gradcheck((x, t) => F.binaryCrossEntropy(x, t, { reduction }), [prob(3, 2), prob(3, 2)]);
    gradcheck((x, t, w) => new nn.BCELoss({ weight: w, reduction }).forward(x, t), [prob(3, 2), prob(3, 2), prob(2)]);
  }
});

// ---- cross-entropy and NLL ------------------------------------------------------------------------

const logits = () => tensor([[0.3, -1.2, 2.0], [1.0, 0.1, -0.5]], f64).requiresGrad_();

test("crossEntropy with label smoothing and class weights matches PyTorch", () => {
  const x = logits();
  const loss = F.crossEntropy(x, tensor([2, 0], i32), { labelSmoothing: 0.3, weight: tensor([1, 2, 3], f64) });
  close(loss, [0.6548567377847612]);
  loss.backward();
  close(x.grad, [0.07579023197378902, -0.027510659398291063, -0.048279572575497996, -0.0005767712350056043, 0.03107943426335542, -0.030502663028349846]);
});

test("crossEntropy on an unbatched (C) input, with an index or probability target", () => {
  const x = tensor([0.3, -1.2, 2.0], f64).requiresGrad_();
  const a = F.crossEntropy(x, tensor(1, i32));
  assert.deepEqual(a.shape, []);
  close(a, [3.401671244952791]);
  a.backward();
  close(x.grad, [0.1493188621833912, -0.9666824583678386, 0.8173635961844474]);
  x.grad = null;
  const b = F.crossEntropy(x, tensor([0.2, 0.5, 0.3], f64), { reduction: "none" });
  assert.deepEqual(b.shape, []);
  close(b, [2.141671244952791]);
  b.backward();
  close(x.grad, [-0.05068113781660882, -0.4666824583678386, 0.5173635961844474]);
  assert.deepEqual(F.crossEntropy(x, tensor(1, i32), { reduction: "none" }).shape, []);
});

test("crossEntropy with (N, C, d) probabilities, weights and label smoothing matches PyTorch", () => {
  const x = tensor(Float64Array.from({ length: 12 }, (_, i) => 2 * Math.sin(i)), { shape: [2, 3, 2] }).requiresGrad_();
  const t = tensor(Float64Array.from({ length: 12 }, (_, i) => Math.cos(i)), { shape: [2, 3, 2] }).softmax(1);
  const loss = F.crossEntropy(x, t, { weight: tensor([0.5, 1, 2], f64), labelSmoothing: 0.2 });
  close(loss, [2.360901253067701]);
  loss.backward();
  close(x.grad, [-0.04890992088206487, 0.16582604669205764, 0.12920065660718663, 0.016878076939094166, -0.08029073572512176, -0.1827041236311518,
    -0.06015620729385459, 0.08613771864898419, 0.12887025841876476, 0.05533040532295667, -0.06871405112491016, -0.14146812397194083]);
});

test("crossEntropy ignoreIndex: ignored positions give 0; all ignored gives PyTorch's NaN mean", () => {
  const x = logits();
  const none = F.crossEntropy(x, tensor([1, -100], i32), { labelSmoothing: 0.1, reduction: "none" });
  close(none, [3.245004578286124, 0]);
  none.sum().backward();
  close(x.grad, [0.11598552885005786, -0.900015791701172, 0.7840302628511141, 0, 0, 0]);
  assert.ok(Number.isNaN(F.crossEntropy(x, tensor([-100, -100], i32)).item()));
  assert.equal(F.crossEntropy(x, tensor([-100, -100], i32), { reduction: "sum" }).item(), 0);
});

test("nllLoss of logSoftmax equals crossEntropy for every option", () => {
  manualSeed(0);
  const x = randn(4, 3, 2, f64), t = randint(0, 3, [4, 2]);
  t.buf[0] = 1;
  t.buf[1] = 1;
  const w = rand(3, f64);
  for (const reduction of REDUCTIONS) {
    for (const opts of [{}, { weight: w }, { ignoreIndex: 1 }, { weight: w, ignoreIndex: 1 }]) {
      close(F.nllLoss(x.logSoftmax(1), t, { ...opts, reduction }), Array.from(F.crossEntropy(x, t, { ...opts, reduction }).toTypedArray()), 1e-12);
    }
  }
  const crit = new nn.NLLLoss({ ignoreIndex: 2 });
  assert.equal(crit.forward(x.logSoftmax(1), t).item(), F.nllLoss(x.logSoftmax(1), t, { ignoreIndex: 2 }).item());
  close(F.nllLoss(tensor([-0.1, -2.5], f64), tensor(0, i32)), [0.1]);
});

test("crossEntropy and nllLoss validation errors name shapes, dtypes and values", () => {
  const x = randn(4, 3);
  assert.throws(() => F.crossEntropy(x, rand(4, 2)), /^Error: \[crossEntropy\] target shape \[4, 2\] does not match input \[4, 3\]$/);
  assert.throws(() => F.crossEntropy(x, randint(0, 3, [4, 2])),
    /^Error: \[crossEntropy\] target shape \[4, 2\] does not match input \[4, 3\]: class-index targets need shape \[4\]$/);
  assert.throws(() => F.crossEntropy(x, tensor([0, 1, 3, 2], i32)), /^Error: \[crossEntropy\] target 3 is out of bounds for 3 classes \(input shape \[4, 3\]\)$/);
  assert.throws(() => F.crossEntropy(x, tensor([0, 1, -1, 2], i32)), /target -1 is out of bounds/);
  assert.throws(() => F.crossEntropy(x, tensor([0, 1, 1, 2], i32), { weight: rand(4) }),
    /^Error: \[crossEntropy\] weight should be a 1D tensor of size 3 \(one per class\), got shape \[4\]$/);
  assert.throws(() => F.crossEntropy(x, x.softmax(1), { ignoreIndex: 0 }), /^Error: \[crossEntropy\] ignoreIndex is not supported for class-probability/);
  assert.throws(() => F.crossEntropy(x, tensor([true, false, true, true])), /^Error: \[crossEntropy\] target must hold int32 class indices or floating point class probabilities, got bool$/);
  assert.throws(() => new nn.CrossEntropyLoss({ labelSmoothing: 1.5 }), /^Error: \[CrossEntropyLoss\] labelSmoothing must be between 0.0 and 1.0, got 1.5$/);
  assert.throws(() => new nn.CrossEntropyLoss({ ignoreIndex: 0.5 }), /^Error: \[CrossEntropyLoss\] ignoreIndex must be an integer, got 0.5$/);
  assert.throws(() => F.crossEntropy(tensor(1), tensor(0, i32)), /^Error: \[crossEntropy\] input must have a class dimension, got shape \[\]$/);
  assert.throws(() => F.crossEntropy(x, tensor([0, 1, 1, 2], i32), { weight: rand(3).requiresGrad_() }),
    /^Error: \[crossEntropy\] gradients with respect to weight are not supported$/);
  assert.throws(() => F.nllLoss(x, rand(4)), /^Error: \[nllLoss\] target must hold int32 class indices, got float32$/);
  assert.throws(() => F.crossEntropy(x, tensor([0, 1, 1, 2], i32), { label_smoothing: 0.1 } as never), /^Error: \[crossEntropy\] unknown option 'label_smoothing'/);
});

test("CrossEntropyLoss keeps weight as a buffer and equals the function", () => {
  manualSeed(1);
  const w = rand(3);
  const crit = new nn.CrossEntropyLoss({ weight: w, labelSmoothing: 0.1, ignoreIndex: 0 });
  assert.deepEqual(Object.keys(crit.stateDict()), ["weight"]);
  assert.equal(String(crit), "CrossEntropyLoss()");
  const x = randn(5, 3), t = tensor([0, 1, 2, 2, 1], i32);
  assert.equal(crit.forward(x, t).item(), F.crossEntropy(x, t, { weight: w, labelSmoothing: 0.1, ignoreIndex: 0 }).item());
});

test("gradcheck: crossEntropy over shapes, targets and every option", () => {
  manualSeed(2);
  const w = rand(3, f64).add(0.5);
  const idx2 = tensor([0, 2, 1, 2], i32), idx3 = tensor([[0, 2], [1, 1]], i32), ign = tensor([0, -100, 1, 2], i32);
  for (const reduction of REDUCTIONS) {
    gradcheck((x) => F.crossEntropy(x, idx2, { reduction }), [grad(4, 3)]);
    gradcheck((x) => F.crossEntropy(x, idx3, { reduction, weight: w }), [grad(2, 3, 2)]);
    gradcheck((x) => F.crossEntropy(x, tensor(2, i32), { reduction, labelSmoothing: 0.2 }), [grad(3)]);
    gradcheck((x) => new nn.CrossEntropyLoss({ reduction, weight: w, labelSmoothing: 0.15, ignoreIndex: -100 }).forward(x, ign), [grad(4, 3)]);
    gradcheck((x) => F.crossEntropy(x, tensor([0, 1, 1, 2], i32), { reduction, ignoreIndex: 1, labelSmoothing: 0.1 }), [grad(4, 3)]);
    // probability targets: gradients w.r.t. input, target and class weight
    gradcheck((x, t) => F.crossEntropy(x, t, { reduction }), [grad(4, 3), prob(4, 3)]);
    gradcheck((x, t, cw) => F.crossEntropy(x, t, { reduction, weight: cw, labelSmoothing: 0.3 }), [grad(2, 3, 2), prob(2, 3, 2), prob(3)]);
  }
});

test("gradcheck: nllLoss with weights and ignoreIndex", () => {
  const w = tensor([0.5, 2, 1], f64);
  for (const reduction of REDUCTIONS) {
    gradcheck((x) => F.nllLoss(x, tensor([0, 2, 1, 2], i32), { reduction }), [grad(4, 3)]);
    gradcheck((x) => new nn.NLLLoss({ reduction, weight: w, ignoreIndex: 2 }).forward(x, tensor([[0, 2], [1, 1]], i32)), [grad(2, 3, 2)]);
  }
});

// ---- regression losses ----------------------------------------------------------------------------

test("regression losses match their definitions", () => {
  const x = tensor([0, 0, 0, 0], f64), t = tensor([0.5, -3, 1, 0.2], f64);
  close(F.mseLoss(x, t), [(0.25 + 9 + 1 + 0.04) / 4]);
  close(F.l1Loss(x, t, { reduction: "sum" }), [4.7]);
  close(F.smoothL1Loss(x, t, { reduction: "none" }), [0.125, 2.5, 0.5, 0.02]);
  close(F.smoothL1Loss(x, t, { beta: 2, reduction: "none" }), [0.0625, 2, 0.25, 0.01]);
  close(F.smoothL1Loss(x, t, { beta: 0, reduction: "none" }), [0.5, 3, 1, 0.2]);
  close(F.huberLoss(x, t, { reduction: "none" }), [0.125, 2.5, 0.5, 0.02]);
  close(F.huberLoss(x, t, { delta: 2, reduction: "none" }), [0.125, 4, 0.5, 0.02]);
  // huber(delta) = delta * smoothL1(beta = delta)
  close(F.huberLoss(x, t, { delta: 0.7 }), [0.7 * F.smoothL1Loss(x, t, { beta: 0.7 }).item()]);
  assert.equal(new nn.MSELoss({ reduction: "sum" }).forward(x, t).item(), F.mseLoss(x, t, { reduction: "sum" }).item());
  assert.equal(new nn.L1Loss().forward(x, t).item(), F.l1Loss(x, t).item());
  assert.equal(new nn.SmoothL1Loss({ beta: 0.5 }).forward(x, t).item(), F.smoothL1Loss(x, t, { beta: 0.5 }).item());
  assert.equal(new nn.HuberLoss({ delta: 2 }).forward(x, t).item(), F.huberLoss(x, t, { delta: 2 }).item());
  assert.equal(String(new nn.HuberLoss()), "HuberLoss()");
});

test("regression losses reject mismatched shapes and bad options", () => {
  assert.throws(() => F.mseLoss(randn(16, 1), randn(16)), /^Error: \[mseLoss\] target shape \[16\] does not match input shape \[16, 1\]$/);
  assert.throws(() => new nn.L1Loss().forward(randn(3), randn(4)), /^Error: \[L1Loss\] target shape \[4\] does not match input shape \[3\]$/);
  assert.throws(() => new nn.SmoothL1Loss({ beta: -1 }), /^Error: \[SmoothL1Loss\] beta must be a number >= 0, got -1$/);
  assert.throws(() => F.huberLoss(randn(2), randn(2), { delta: 0 }), /^Error: \[huberLoss\] delta must be a number > 0, got 0$/);
  assert.throws(() => F.mseLoss(tensor([1], i32), tensor([1], i32)), /^Error: \[mseLoss\] expected a floating point input, got int32$/);
  assert.throws(() => new nn.MSELoss({ reduction: "elementwise_mean" as nn.Reduction }), /^Error: \[MSELoss\] reduction must be 'mean', 'sum' or 'none'/);
});

test("gradcheck: mse, l1, smoothL1 and huber w.r.t. input and target", () => {
  for (const reduction of REDUCTIONS) {
    gradcheck((x, t) => F.mseLoss(x, t, { reduction }), [grad(3, 4), grad(3, 4)]);
    gradcheck((x, t) => new nn.L1Loss({ reduction }).forward(x, t), [grad(3, 4), grad(3, 4)]);
    for (const beta of [1, 0.5, 0]) gradcheck((x, t) => F.smoothL1Loss(x, t, { reduction, beta }), [grad(3, 4), grad(3, 4)]);
    for (const delta of [1, 2]) gradcheck((x, t) => new nn.HuberLoss({ reduction, delta }).forward(x, t), [grad(3, 4), grad(3, 4)]);
  }
});

test("gradgradcheck: second derivatives through the BCE, cross-entropy and Huber losses", () => {
  gradgradcheck((x, t) => F.binaryCrossEntropyWithLogits(x, t, { reduction: "none" }), [grad(3, 2), prob(3, 2)]);
  gradgradcheck((x, t, pw) => F.binaryCrossEntropyWithLogits(x, t, { posWeight: pw }), [grad(3, 2), prob(3, 2), prob(2)]);
  gradgradcheck((x, t, w) => F.binaryCrossEntropy(x, t, { weight: w, reduction: "none" }), [prob(3, 2), prob(3, 2), prob(2)]);
  gradgradcheck((x) => F.crossEntropy(x, tensor([0, 2, 1], i32), { labelSmoothing: 0.1 }), [grad(3, 3)]);
  gradgradcheck((x, t) => F.huberLoss(x, t), [grad(3, 2), grad(3, 2)]);
});
