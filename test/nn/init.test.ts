// nn.init: gains, fans, and the statistics of every initialiser on large tensors.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as nn from "../../src/nn/index.js";
import { Generator, empty, manualSeed, zeros } from "../../src/index.js";
import type { Tensor } from "../../src/tensor.js";

const { init } = nn;

function stats(t: Tensor): { mean: number; std: number; min: number; max: number } {
  const a = t.toTypedArray();
  let s = 0, min = Infinity, max = -Infinity;
  for (const v of a) { s += v; min = Math.min(min, v); max = Math.max(max, v); }
  const mean = s / a.length;
  let ss = 0;
  for (const v of a) ss += (v - mean) ** 2;
  return { mean, std: Math.sqrt(ss / a.length), min, max };
}

/** A (256, 1024) parameter: fanIn 1024, fanOut 256, 262144 samples (std estimates within ~0.3%). */
const big = () => nn.Parameter(empty([256, 1024]));

function assertUniform(t: Tensor, bound: number): void {
  const s = stats(t);
  assert.ok(s.min >= -bound && s.max <= bound, `range [${s.min}, ${s.max}] exceeds ±${bound}`);
  assert.ok(s.max > 0.99 * bound && s.min < -0.99 * bound, `range [${s.min}, ${s.max}] does not reach ±${bound}`);
  assert.ok(Math.abs(s.std / (bound / Math.sqrt(3)) - 1) < 0.02, `std ${s.std} vs ${bound / Math.sqrt(3)}`);
  assert.ok(Math.abs(s.mean) < 0.01 * bound);
}

function assertNormal(t: Tensor, std: number): void {
  const s = stats(t);
  assert.ok(Math.abs(s.std / std - 1) < 0.02, `std ${s.std} vs ${std}`);
  assert.ok(Math.abs(s.mean) < 0.01 * std, `mean ${s.mean}`);
}

test("calculateGain matches torch.nn.init.calculate_gain", () => {
  assert.equal(init.calculateGain("linear"), 1);
  assert.equal(init.calculateGain("conv2d"), 1);
  assert.equal(init.calculateGain("conv_transpose1d"), 1);
  assert.equal(init.calculateGain("sigmoid"), 1);
  assert.equal(init.calculateGain("tanh"), 5 / 3);
  assert.equal(init.calculateGain("relu"), Math.SQRT2);
  assert.equal(init.calculateGain("selu"), 0.75);
  assert.ok(Math.abs(init.calculateGain("leaky_relu") - Math.sqrt(2 / (1 + 0.01 ** 2))) < 1e-15);
  assert.ok(Math.abs(init.calculateGain("leaky_relu", Math.sqrt(5)) - 0.5773502691896257) < 1e-15);
  assert.equal(init.calculateGain("leakyRelu", 0), Math.SQRT2);
  assert.throws(() => init.calculateGain("swish" as nn.init.Nonlinearity), /^Error: \[calculateGain\] unsupported nonlinearity "swish"/);
});

test("_calculateFanInAndFanOut uses size(1), size(0) and the receptive field", () => {
  assert.deepEqual(init._calculateFanInAndFanOut(zeros(10, 3)), [3, 10]);
  assert.deepEqual(init._calculateFanInAndFanOut(zeros(16, 8, 3, 3)), [72, 144]);
  assert.throws(() => init._calculateFanInAndFanOut(zeros(5)),
    /^Error: \[init\] fan in and fan out can not be computed for tensor with fewer than 2 dimensions \(shape \[5\]\)/);
});

test("kaimingUniform_: bound gain * sqrt(3 / fan) for each mode and slope", () => {
  manualSeed(0);
  const w = big();
  init.kaimingUniform_(w);
  assertUniform(w, Math.sqrt(6 / 1024));
  init.kaimingUniform_(w, { a: Math.sqrt(5) });
  assertUniform(w, 1 / Math.sqrt(1024));
  init.kaimingUniform_(w, { mode: "fan_out", nonlinearity: "relu" });
  assertUniform(w, Math.sqrt(6 / 256));
  init.kaimingUniform_(w, { mode: "fanOut", nonlinearity: "tanh" });
  assertUniform(w, (5 / 3) * Math.sqrt(3 / 256));
  assert.ok(w.requiresGrad && w.isLeaf && w.grad === null);
});

test("kaimingNormal_: std gain / sqrt(fan)", () => {
  manualSeed(0);
  const w = big();
  init.kaimingNormal_(w);
  assertNormal(w, Math.SQRT2 / 32);
  init.kaimingNormal_(w, { mode: "fan_out", a: 0.2, nonlinearity: "leaky_relu" });
  assertNormal(w, Math.sqrt(2 / 1.04) / 16);
});

test("xavierUniform_ and xavierNormal_: std gain * sqrt(2 / (fanIn + fanOut))", () => {
  manualSeed(0);
  const w = big();
  const std = Math.sqrt(2 / (1024 + 256));
  init.xavierUniform_(w);
  assertUniform(w, Math.sqrt(3) * std);
  init.xavierUniform_(w, { gain: 2 });
  assertUniform(w, 2 * Math.sqrt(3) * std);
  init.xavierNormal_(w);
  assertNormal(w, std);
  init.xavierNormal_(w, { gain: init.calculateGain("tanh") });
  assertNormal(w, (5 / 3) * std);
});

test("uniform_, normal_, constant_, zeros_, ones_ work on parameters without noGrad", () => {
  manualSeed(0);
  const w = big();
  init.uniform_(w, -0.5, 1.5);
  const s = stats(w);
  assert.ok(s.min >= -0.5 && s.max < 1.5 && Math.abs(s.mean - 0.5) < 0.01);
  init.normal_(w, 3, 0.5);
  const n = stats(w);
  assert.ok(Math.abs(n.mean - 3) < 0.005 && Math.abs(n.std / 0.5 - 1) < 0.02);
  assert.equal(init.constant_(w, 0.25), w);
  assert.ok(w.toTypedArray().every((v) => v === 0.25));
  init.zeros_(w);
  assert.ok(w.toTypedArray().every((v) => v === 0));
  init.ones_(w);
  assert.ok(w.toTypedArray().every((v) => v === 1));
  assert.ok(w.requiresGrad && w.isLeaf);
});

test("initialisers draw from the given generator", () => {
  const a = nn.Parameter(empty([8, 4])), b = nn.Parameter(empty([8, 4]));
  init.kaimingUniform_(a, { generator: new Generator(7) });
  init.kaimingUniform_(b, { generator: new Generator(7) });
  assert.deepEqual(a.tolist(), b.tolist());
  init.xavierNormal_(b, { generator: new Generator(8) });
  assert.notDeepEqual(a.tolist(), b.tolist());
  init.normal_(a, 0, 1, { generator: new Generator(3) });
  init.normal_(b, 0, 1, { generator: new Generator(3) });
  assert.deepEqual(a.tolist(), b.tolist());
});

test("zero-element tensors are left alone; options are checked", () => {
  const e = nn.Parameter(empty([0, 3]));
  assert.equal(init.kaimingUniform_(e), e);
  assert.equal(init.kaimingNormal_(e), e);
  assert.throws(() => init.kaimingUniform_(big(), { mode: "fan_avg" as nn.init.FanMode }), /^Error: \[init\] mode "fan_avg" not supported/);
  assert.throws(() => init.xavierUniform_(big(), { gian: 2 } as never), /^Error: \[xavierUniform_\] unknown option 'gian'; expected one of gain, generator/);
});

test("Linear's default init is U(-1/sqrt(in), 1/sqrt(in)) for weight and bias", () => {
  manualSeed(0);
  const fc = new nn.Linear(400, 300);
  const bound = 1 / 20;
  assertUniform(fc.weight, bound);
  const b = stats(fc.bias!);
  assert.ok(b.min >= -bound && b.max <= bound && b.max - b.min > 1.8 * bound);
  const g1 = new nn.Linear(3, 2, { generator: new Generator(5) }), g2 = new nn.Linear(3, 2, { generator: new Generator(5) });
  assert.deepEqual(g1.weight.tolist(), g2.weight.tolist());
  assert.deepEqual(g1.bias!.tolist(), g2.bias!.tolist());
});
