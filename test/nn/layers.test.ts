// nn layers: Linear, Sequential, activations, Dropout, Flatten, Identity: shapes, values, errors and gradchecks.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as nn from "../../src/nn/index.js";
import { gradcheck } from "../../src/autograd/gradcheck.js";
import { Generator, manualSeed, noGrad, ones, randn, tensor } from "../../src/index.js";
import type { Tensor } from "../../src/tensor.js";

const { F } = nn;
const f64 = { dtype: "float64" as const };
/** float64 input requiring grad, values kept away from activation kinks at 0. */
const input = (...shape: number[]) => randn(shape, f64).add(0.05).mul(1.5).requiresGrad_();

function close(a: Tensor, b: number[] | Tensor, tol = 1e-6): void {
  const x = a.toTypedArray(), y = Array.isArray(b) ? b : Array.from(b.toTypedArray());
  assert.equal(x.length, y.length);
  x.forEach((v, i) => assert.ok(Math.abs(v - y[i]) <= tol * (1 + Math.abs(y[i])), `element ${i}: ${v} vs ${y[i]}`));
}

test("Linear maps (..., in) to (..., out) for 1-D, 2-D and batched inputs", () => {
  manualSeed(0);
  const fc = new nn.Linear(3, 4);
  assert.deepEqual(fc.forward(randn(5, 3)).shape, [5, 4]);
  assert.deepEqual(fc.forward(randn(2, 5, 3)).shape, [2, 5, 4]);
  assert.deepEqual(fc.forward(randn(3)).shape, [4]);
  // a non-contiguous batched input (transposed view) gives the same values as its contiguous copy
  const x = randn(5, 2, 3).transpose(0, 1);
  close(fc.forward(x), fc.forward(x.contiguous()));
  const y = fc.forward(tensor([[1, 2, 3]]));
  const w = fc.weight.tolist() as number[][], b = fc.bias!.tolist() as number[];
  close(y, w.map((row, j) => row[0] + 2 * row[1] + 3 * row[2] + b[j]), 1e-6);
});

test("Linear options, printing and errors", () => {
  const fc = new nn.Linear(2, 3, { bias: false, dtype: "float64" });
  assert.equal(fc.bias, null);
  assert.equal(fc.weight.dtype, "float64");
  assert.deepEqual(fc.namedParameters().map(([k]) => k), ["weight"]);
  assert.equal(String(fc), "Linear(in_features=2, out_features=3, bias=False)");
  assert.throws(() => new nn.Linear(2, 10).forward(randn(16, 3)), /^Error: \[Linear\] expected input with last dim 2, got shape \[16, 3\]$/);
  assert.throws(() => new nn.Linear(2, 10).forward(tensor(1)), /^Error: \[Linear\] expected input with last dim 2, got shape \[\]$/);
  assert.throws(() => new nn.Linear(2.5, 3), /^Error: \[Linear\] inFeatures must be a non-negative integer, got 2.5/);
  assert.throws(() => new nn.Linear(2, 3, { bais: false } as never), /^Error: \[Linear\] unknown option 'bais'; expected one of bias, dtype, generator/);
  assert.throws(() => F.linear(randn(4, 5), randn(3, 2)), /^Error: \[linear\] expected input with last dim 2, got shape \[4, 5\]$/);
});

test("gradcheck: Linear w.r.t. input, weight and bias (2-D, batched, 1-D, no bias)", () => {
  const fc = new nn.Linear(3, 2, f64);
  gradcheck((x) => fc.forward(x), [input(4, 3), fc.weight, fc.bias!]);
  gradcheck((x) => fc.forward(x), [input(2, 3, 3), fc.weight, fc.bias!]);
  gradcheck((x) => fc.forward(x), [input(3), fc.weight, fc.bias!]);
  const nb = new nn.Linear(3, 2, { bias: false, dtype: "float64" });
  gradcheck((x) => nb.forward(x), [input(4, 3), nb.weight]);
  gradcheck((x, w, b) => F.linear(x, w, b), [input(4, 3), input(2, 3), input(2)]);
});

test("gradcheck: Sequential through every parameter", () => {
  const s = new nn.Sequential(new nn.Linear(3, 4, f64), new nn.Tanh(), new nn.Linear(4, 2, f64), new nn.SiLU()).double();
  gradcheck((x) => s.forward(x), [input(5, 3), ...s.parameters()]);
});

test("activation layers match their formulas and the functional forms", () => {
  const x = tensor([-2, -0.5, 0.5, 3]);
  close(new nn.ReLU().forward(x), [0, 0, 0.5, 3]);
  close(new nn.LeakyReLU().forward(x), [-0.02, -0.005, 0.5, 3]);
  close(new nn.LeakyReLU(0.2).forward(x), [-0.4, -0.1, 0.5, 3]);
  close(new nn.Sigmoid().forward(x), [-2, -0.5, 0.5, 3].map((v) => 1 / (1 + Math.exp(-v))));
  close(new nn.Tanh().forward(x), [-2, -0.5, 0.5, 3].map(Math.tanh));
  close(new nn.SiLU().forward(x), [-2, -0.5, 0.5, 3].map((v) => v / (1 + Math.exp(-v))));
  // GELU(x) = x Phi(x); Phi(-2) = 0.02275013194817921, Phi(0.5) = 0.6914624612740131
  close(new nn.GELU().forward(tensor([-2, 0.5])), [-2 * 0.02275013194817921, 0.5 * 0.6914624612740131]);
  const tanhGelu = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
  close(new nn.GELU({ approximate: "tanh" }).forward(x), [-2, -0.5, 0.5, 3].map(tanhGelu));
  close(F.relu(x), new nn.ReLU().forward(x));
  close(F.leakyRelu(x, 0.2), new nn.LeakyReLU(0.2).forward(x));
  close(F.gelu(x, { approximate: "tanh" }), x.gelu({ approximate: "tanh" }));
  close(F.silu(x), x.silu());
  close(F.sigmoid(x), x.sigmoid());
  close(F.tanh(x), x.tanh());
  close(F.softplus(x, { beta: 2 }), [-2, -0.5, 0.5, 3].map((v) => Math.log1p(Math.exp(2 * v)) / 2));
  const z = randn(2, 3);
  const sm = new nn.Softmax(1).forward(z);
  close(sm.sum(1), [1, 1]);
  close(new nn.LogSoftmax(1).forward(z), sm.log(), 1e-6);
  close(F.softmax(z, 0), z.softmax(0));
  close(F.logSoftmax(z, -1), z.logSoftmax(-1));
  assert.equal(String(new nn.Softmax(-1)), "Softmax(dim=-1)");
  assert.equal(String(new nn.LogSoftmax(1)), "LogSoftmax(dim=1)");
  assert.equal(String(new nn.GELU()), "GELU(approximate='none')");
  assert.equal(String(new nn.LeakyReLU(0.2)), "LeakyReLU(negative_slope=0.2)");
  assert.throws(() => new nn.GELU({ approximate: "fast" as "tanh" }), /^Error: \[GELU\] approximate must be 'none' or 'tanh', got "fast"/);
  assert.throws(() => new nn.Softmax(undefined as unknown as number), /^Error: \[Softmax\] dim must be an integer, got undefined/);
});

test("gradcheck: every activation layer", () => {
  const layers: nn.Module[] = [
    new nn.ReLU(), new nn.LeakyReLU(), new nn.LeakyReLU(0.3), new nn.Sigmoid(), new nn.Tanh(), new nn.GELU(),
    new nn.GELU({ approximate: "tanh" }), new nn.SiLU(), new nn.Softmax(1), new nn.Softmax(0), new nn.LogSoftmax(1),
    new nn.LogSoftmax(-1), new nn.Identity(), new nn.Flatten(), new nn.Flatten(0, 1),
  ];
  for (const layer of layers) {
    assert.ok(gradcheck((x) => layer.forward(x), [input(3, 4, 2)]), String(layer));
  }
});

test("Flatten merges startDim..endDim; Identity returns its input", () => {
  const x = randn(2, 3, 4, 5);
  assert.deepEqual(new nn.Flatten().forward(x).shape, [2, 60]);
  assert.deepEqual(new nn.Flatten(1, 2).forward(x).shape, [2, 12, 5]);
  assert.deepEqual(new nn.Flatten(0, -1).forward(x).shape, [120]);
  assert.equal(String(new nn.Flatten()), "Flatten(start_dim=1, end_dim=-1)");
  assert.throws(() => new nn.Flatten(1.5), /^Error: \[Flatten\] startDim must be an integer, got 1.5/);
  assert.equal(new nn.Identity().forward(x), x);
  assert.equal(String(new nn.Identity()), "Identity()");
});

test("Dropout zeroes about p of the elements in training and scales the rest by 1/(1-p)", () => {
  manualSeed(0);
  const drop = new nn.Dropout(0.3);
  const y = drop.forward(ones(200, 500));
  const v = y.toTypedArray();
  let zerosCount = 0;
  for (const e of v) {
    if (e === 0) zerosCount++;
    else assert.equal(e, Math.fround(1 / 0.7));
  }
  assert.ok(Math.abs(zerosCount / v.length - 0.3) < 0.005, `dropped fraction ${zerosCount / v.length}`);
  assert.equal(String(drop), "Dropout(p=0.3, inplace=False)");
  assert.equal(String(new nn.Dropout()), "Dropout(p=0.5, inplace=False)");
});

test("Dropout is the identity in eval mode and for p = 0; p = 1 zeroes everything", () => {
  const x = randn(4, 5);
  const drop = new nn.Dropout(0.5);
  assert.equal(drop.eval().forward(x), x);
  assert.equal(new nn.Dropout(0).forward(x), x);
  assert.ok(new nn.Dropout(1).forward(x).toTypedArray().every((e) => e === 0));
  assert.equal(F.dropout(x, { p: 0.5, training: false }), x);
  assert.throws(() => new nn.Dropout(1.5), /^Error: \[Dropout\] dropout probability has to be between 0 and 1, but got 1.5/);
  assert.throws(() => F.dropout(x, { p: -0.1 }), /^Error: \[dropout\] dropout probability has to be between 0 and 1, but got -0.1/);
  assert.throws(() => new nn.Dropout(0.5).forward(tensor([1, 2], { dtype: "int32" })), /^Error: \[Dropout\] expected a floating point input, got int32/);
});

test("Dropout follows the default generator's seed; F.dropout takes a generator", () => {
  manualSeed(42);
  const a = new nn.Dropout(0.5).forward(ones(64));
  manualSeed(42);
  const b = new nn.Dropout(0.5).forward(ones(64));
  assert.deepEqual(a.tolist(), b.tolist());
  const c = F.dropout(ones(64), { generator: new Generator(1) });
  const d = F.dropout(ones(64), { generator: new Generator(1) });
  assert.deepEqual(c.tolist(), d.tolist());
  assert.ok(c.toTypedArray().every((e) => e === 0 || e === 2));
});

test("Dropout's gradient is its mask (gradcheck with a fixed draw)", () => {
  const drop = new nn.Dropout(0.4);
  gradcheck((x) => { manualSeed(3); return drop.forward(x); }, [input(6, 5)]);
  gradcheck((x) => F.dropout(x, { p: 0.2, generator: new Generator(9) }), [input(10)]);
  const x = ones(3, 3).requiresGrad_();
  manualSeed(5);
  const y = drop.forward(x);
  y.sum().backward();
  assert.deepEqual(x.grad!.tolist(), y.detach().tolist());
});

test("layers run under noGrad without recording", () => {
  const s = new nn.Sequential(new nn.Linear(2, 3), new nn.GELU(), new nn.Dropout(0.1), new nn.Linear(3, 1));
  const y = noGrad(() => s.forward(randn(4, 2)));
  assert.equal(y.requiresGrad, false);
  assert.equal(y.gradFn, null);
});
