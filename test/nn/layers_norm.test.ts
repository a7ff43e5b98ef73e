// Normalisation, Embedding, Dropout2d, ModuleList and ModuleDict: PyTorch fixtures, gradchecks, values, errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Module } from "../../src/nn/module.js";
import { Linear } from "../../src/nn/layers/linear.js";
import { ReLU } from "../../src/nn/layers/activation.js";
import { Sequential } from "../../src/nn/layers/container.js";
import { BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm, RMSNorm } from "../../src/nn/layers/normalization.js";
import { Embedding } from "../../src/nn/layers/embedding.js";
import { Dropout2d } from "../../src/nn/layers/dropout2d.js";
import { ModuleDict, ModuleList } from "../../src/nn/layers/containers.js";
import * as FN from "../../src/nn/functional_norm.js";
import { gradcheck } from "../../src/autograd/gradcheck.js";
import { Generator, manualSeed, noGrad, ones, randn, tensor, zeros } from "../../src/index.js";
import type { Tensor } from "../../src/tensor.js";
import { closeness, fromFixture, loadFixture, type FixtureTensor } from "../fixture.js";

// ---- PyTorch fixtures --------------------------------------------------------------------------------

interface NormCase {
  module: string;
  case: string;
  mode: "train" | "eval";
  args: Record<string, unknown>;
  repr: string;
  stateDict: Record<string, FixtureTensor>;
  inputs: FixtureTensor[];
  output: FixtureTensor;
  gradOutput: FixtureTensor;
  grads: (FixtureTensor | null)[];
  paramGrads: Record<string, FixtureTensor>;
  stateAfter: Record<string, FixtureTensor>;
}
interface ContainerFixture {
  repr: string;
  stateDictKeys: string[];
  namedParameters: string[];
  namedModules: string[];
  listRepr: string;
  dictRepr: string;
}

// float32 values agree to these tolerances although Kiln accumulates sums in double and PyTorch in float32
const RTOL = 1e-5, ATOL = 1e-6;

type Args = Record<string, unknown>;
/** Options go through each constructor's checkOptions, so a fixture arg the mapping does not know fails the case. */
const builders: Record<string, (a: Args) => Module> = {
  BatchNorm1d: ({ numFeatures, ...o }) => new BatchNorm1d(numFeatures as number, o),
  BatchNorm2d: ({ numFeatures, ...o }) => new BatchNorm2d(numFeatures as number, o),
  LayerNorm: ({ normalizedShape, ...o }) => new LayerNorm(normalizedShape as number[], o),
  GroupNorm: ({ numGroups, numChannels, ...o }) => new GroupNorm(numGroups as number, numChannels as number, o),
  RMSNorm: ({ normalizedShape, ...o }) => new RMSNorm(normalizedShape as number[], o),
  Embedding: ({ numEmbeddings, embeddingDim, ...o }) => new Embedding(numEmbeddings as number, embeddingDim as number, o),
};

function assertClose(what: string, actual: Tensor | null, expected: FixtureTensor): void {
  assert.ok(actual, `${what}: missing (expected shape [${expected.shape.join(", ")}])`);
  assert.equal(actual.dtype, expected.dtype, `${what}: dtype`);
  const c = closeness(actual, fromFixture(expected), RTOL, ATOL);
  assert.ok(c <= 1, `${what}: off by ${c.toFixed(2)}x the tolerance (rtol ${RTOL}, atol ${ATOL})`);
}

const fixture = loadFixture<{ cases: NormCase[]; containers: ContainerFixture }>("layers_norm.json");

test("layers_norm.json covers every layer in train and eval mode", () => {
  for (const name of Object.keys(builders)) {
    for (const mode of ["train", "eval"]) {
      assert.ok(fixture.cases.some((c) => c.module === name && c.mode === mode), `no ${mode} fixture for ${name}`);
    }
  }
});

for (const c of fixture.cases) {
  test(`${c.module} ${c.case} (${c.mode}) matches PyTorch`, () => {
    const build = builders[c.module];
    assert.ok(build, `fixture module '${c.module}' has no Kiln mapping`);
    const mod = build(c.args);
    assert.equal(String(mod), c.repr);
    mod.loadStateDict(Object.fromEntries(Object.entries(c.stateDict).map(([k, v]) => [k, fromFixture(v)])));
    if (c.mode === "eval") mod.eval();
    const inputs = c.inputs.map((t, i) => (c.grads[i] !== null ? fromFixture(t).requiresGrad_() : fromFixture(t)));
    const out = mod.forward(inputs[0]) as Tensor;
    assertClose("output", out, c.output);
    out.backward(fromFixture(c.gradOutput));
    c.grads.forEach((g, i) => {
      if (g === null) assert.equal(inputs[i].grad, null, `input ${i} should get no gradient`);
      else assertClose(`grad of input ${i}`, inputs[i].grad, g);
    });
    const params = Object.fromEntries(mod.namedParameters());
    assert.deepEqual(Object.keys(params), Object.keys(c.paramGrads), "parameter names");
    for (const [k, g] of Object.entries(c.paramGrads)) assertClose(`grad of ${k}`, params[k].grad, g);
    const after = mod.stateDict();
    assert.deepEqual(Object.keys(after), Object.keys(c.stateAfter), "stateDict keys");
    for (const [k, v] of Object.entries(c.stateAfter)) assertClose(`${k} after forward`, after[k], v);
  });
}

class ContainerNet extends Module {
  embed = new Embedding(10, 4, { paddingIdx: 0 });
  layers = new ModuleList([new Linear(4, 4), new LayerNorm(4), new Linear(4, 2, { bias: false })]);
  heads = new ModuleDict({ cls: new Linear(2, 3), norm: new BatchNorm1d(2) });
  empty = new ModuleList();
  out = new GroupNorm(1, 3);

  forward(idx: Tensor): Tensor {
    let x = this.embed.forward(idx);
    for (const layer of this.layers) x = layer.forward(x);
    return this.out.forward(this.heads.get("cls").forward(this.heads.get("norm").forward(x)));
  }
}

test("ModuleList and ModuleDict inside a model: toString, stateDict, parameter and module names match PyTorch", () => {
  manualSeed(9);
  const want = fixture.containers;
  const m = new ContainerNet();
  assert.equal(String(m), want.repr);
  assert.equal(String(m.layers), want.listRepr);
  assert.equal(String(m.heads), want.dictRepr);
  assert.deepEqual(Object.keys(m.stateDict()), want.stateDictKeys);
  assert.deepEqual(m.namedParameters().map(([k]) => k), want.namedParameters);
  assert.deepEqual(m.namedModules().map(([k]) => k), want.namedModules);
  // the containers carry the model end to end: (2, 5) indices → (2, 5, 4) → ... → (2, 3) after the heads
  const y = m.forward(tensor([1, 2], { dtype: "int32" }));
  assert.deepEqual(y.shape, [2, 3]);
  y.sum().backward();
  assert.ok(m.layers.at(0).parameters().every((p) => p.grad !== null));
});

// ---- gradchecks (float64) ----------------------------------------------------------------------------

const f64 = { dtype: "float64" as const };
const input = (...shape: number[]) => randn(shape, f64).mul(1.5).add(0.3).requiresGrad_();

/** Give affine parameters and running stats values other than their ones/zeros init, in float64. */
function perturb<M extends Module>(m: M): M {
  m.double();
  noGrad(() => {
    for (const p of m.parameters()) p.add_(randn(p.shape, f64).mul(0.3));
    for (const [k, b] of m.namedBuffers()) {
      if (k.endsWith("running_mean")) b.copy_(randn(b.shape, f64).mul(0.5));
      if (k.endsWith("running_var")) b.copy_(randn(b.shape, f64).abs().add(0.5));
    }
  });
  return m;
}

test("gradcheck: BatchNorm1d / BatchNorm2d in train and eval mode, every option", () => {
  manualSeed(1);
  const cases: [Module, number[]][] = [
    [new BatchNorm1d(3), [4, 3]], [new BatchNorm1d(3), [4, 3, 5]], [new BatchNorm1d(2, { momentum: null }), [3, 2, 2]],
    [new BatchNorm1d(3, { affine: false }), [5, 3]], [new BatchNorm1d(3, { trackRunningStats: false }), [2, 3, 3]],
    [new BatchNorm2d(3), [2, 3, 3, 3]], [new BatchNorm2d(2, { affine: false, eps: 1e-3 }), [2, 2, 3, 2]],
  ];
  for (const [m, shape] of cases) {
    perturb(m);
    for (const mode of [true, false]) {
      m.train(mode);
      assert.ok(gradcheck((x) => m.forward(x), [input(...shape), ...m.parameters()]), `${String(m)} training=${mode}`);
    }
  }
});

test("gradcheck: LayerNorm, GroupNorm and RMSNorm in train and eval mode", () => {
  manualSeed(2);
  const cases: [Module, number[]][] = [
    [new LayerNorm(4), [3, 4]], [new LayerNorm([2, 3]), [2, 2, 3]], [new LayerNorm(3, { elementwiseAffine: false }), [2, 3]],
    [new LayerNorm(5, { bias: false, eps: 1e-3 }), [2, 5]],
    [new GroupNorm(2, 4), [2, 4, 3]], [new GroupNorm(3, 3), [2, 3, 2, 2]], [new GroupNorm(1, 4, { affine: false }), [3, 4]],
    [new RMSNorm(4), [3, 4]], [new RMSNorm([2, 3], { eps: 1e-6 }), [2, 2, 3]], [new RMSNorm(3, { elementwiseAffine: false }), [2, 3]],
  ];
  for (const [m, shape] of cases) {
    perturb(m);
    for (const mode of [true, false]) {
      m.train(mode);
      assert.ok(gradcheck((x) => m.forward(x), [input(...shape), ...m.parameters()]), `${String(m)} training=${mode}`);
    }
  }
});

test("gradcheck: Embedding (with and without paddingIdx) and Dropout2d in train and eval mode", () => {
  manualSeed(3);
  const idx = tensor([[0, 2, 2], [4, 0, 1]], { dtype: "int32" });
  const plain = new Embedding(5, 3, f64);
  for (const mode of [true, false]) {
    plain.train(mode);
    assert.ok(gradcheck(() => plain.forward(idx), [plain.weight]));
    assert.ok(gradcheck((w) => FN.embedding(idx, w), [plain.weight]));
  }
  // the padding row's values reach the output but by design get no gradient, so finite differences are
  // checked on the other positions only (rows of output (6, 3) whose index is not paddingIdx 2)
  const padded = new Embedding(5, 3, { paddingIdx: 2, dtype: "float64" });
  const kept = tensor([0, 3, 4, 5], { dtype: "int32" });
  for (const mode of [true, false]) {
    padded.train(mode);
    assert.ok(gradcheck(() => padded.forward(idx).reshape([6, 3]).indexSelect(0, kept), [padded.weight]));
    assert.ok(gradcheck((w) => FN.embedding(idx, w, { paddingIdx: -3 }).reshape([6, 3]).indexSelect(0, kept), [padded.weight]));
  }
  const drop = new Dropout2d(0.4);
  for (const mode of [true, false]) {
    drop.train(mode);
    assert.ok(gradcheck((x) => { manualSeed(7); return drop.forward(x); }, [input(2, 3, 2, 2)]));
    assert.ok(gradcheck((x) => { manualSeed(7); return drop.forward(x); }, [input(3, 2, 2)]));
  }
});

test("gradcheck: the functional forms with weight and bias as inputs (training and not)", () => {
  manualSeed(4);
  const C = 3;
  const w = () => randn([C], f64).add(1).requiresGrad_(), b = () => randn([C], f64).requiresGrad_();
  for (const training of [true, false]) {
    const rm = randn([C], f64), rv = randn([C], f64).abs().add(0.5);
    assert.ok(gradcheck((x, wt, bs) => FN.batchNorm(x, rm, rv, { weight: wt, bias: bs, training }), [input(4, C, 2), w(), b()]));
    assert.ok(gradcheck((x, wt, bs) => FN.layerNorm(x, [C], { weight: wt, bias: bs }), [input(2, 2, C), w(), b()]));
    assert.ok(gradcheck((x, wt, bs) => FN.groupNorm(x, 3, { weight: wt, bias: bs, eps: 1e-3 }), [input(2, C, 4), w(), b()]));
    assert.ok(gradcheck((x, wt) => FN.rmsNorm(x, C, { weight: wt }), [input(2, C), w()]));
    assert.ok(gradcheck((x) => FN.dropout2d(x, { p: 0.5, training, generator: new Generator(11) }), [input(2, 4, 2, 2)]));
  }
  assert.ok(gradcheck((x) => FN.batchNorm(x, null, null, { training: true }), [input(5, C)]));
});

// ---- values and state --------------------------------------------------------------------------------

function close(a: Tensor, b: number[], tol = 1e-6): void {
  const x = Array.from(a.toTypedArray());
  assert.equal(x.length, b.length);
  x.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= tol * (1 + Math.abs(b[i])), `element ${i}: ${v} vs ${b[i]}`));
}

test("BatchNorm1d updates running stats with momentum (unbiased variance) and counts batches; eval uses them", () => {
  const bn = new BatchNorm1d(1);
  const x = tensor([[1], [3], [5], [7]]); // mean 4, biased var 5, unbiased var 20/3
  close(bn.forward(x), [1, 3, 5, 7].map((v) => (v - 4) / Math.sqrt(5 + 1e-5)));
  close(bn.running_mean!, [0.4]);
  close(bn.running_var!, [0.9 + 0.1 * 20 / 3]);
  assert.equal(bn.num_batches_tracked!.item(), 1);
  bn.eval();
  const before = [bn.running_mean!.tolist(), bn.running_var!.tolist()];
  close(bn.forward(tensor([[2]])), [(2 - 0.4) / Math.sqrt(0.9 + 2 / 3 + 1e-5)]);
  assert.equal(bn.num_batches_tracked!.item(), 1, "eval mode does not count batches");
  assert.deepEqual([bn.running_mean!.tolist(), bn.running_var!.tolist()], before, "eval mode leaves the running stats");
  // momentum null: the cumulative average, so two batches give the mean of their means
  const cum = new BatchNorm1d(1, { momentum: null });
  cum.forward(x);
  cum.forward(tensor([[0], [2]]));
  close(cum.running_mean!, [(4 + 1) / 2]);
  close(cum.running_var!, [(20 / 3 + 2) / 2]);
  assert.equal(cum.num_batches_tracked!.item(), 2);
});

test("BatchNorm buffers: PyTorch names, dtype casting, trackRunningStats false, resetRunningStats", () => {
  const bn = new BatchNorm2d(3);
  assert.deepEqual(Object.keys(bn.stateDict()), ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]);
  assert.deepEqual(bn.namedBuffers().map(([k]) => k), ["running_mean", "running_var", "num_batches_tracked"]);
  assert.equal(bn.num_batches_tracked!.dtype, "int32");
  bn.double();
  assert.equal(bn.running_var!.dtype, "float64");
  assert.equal(bn.num_batches_tracked!.dtype, "int32", "the counter stays an integer");
  bn.forward(randn([2, 3, 4, 4], f64));
  assert.notDeepEqual(bn.running_mean!.tolist(), [0, 0, 0]);
  bn.resetRunningStats();
  assert.deepEqual(bn.running_mean!.tolist(), [0, 0, 0]);
  assert.deepEqual(bn.running_var!.tolist(), [1, 1, 1]);
  assert.equal(bn.num_batches_tracked!.item(), 0);
  const free = new BatchNorm1d(2, { trackRunningStats: false, affine: false });
  assert.deepEqual(Object.keys(free.stateDict()), []);
  assert.equal(free.running_mean, null);
  // without running stats eval mode still normalises with the batch statistics
  const [s0, s1] = [Math.sqrt(1 + 1e-5), Math.sqrt(100 + 1e-5)]; // channel means 2 and 20, biased variances 1 and 100
  close(free.eval().forward(tensor([[1, 10], [3, 30]])), [-1 / s0, -10 / s1, 1 / s0, 10 / s1]);
  assert.equal(String(new BatchNorm1d(4, { momentum: null, affine: false })), "BatchNorm1d(4, eps=1e-05, momentum=None, affine=False, track_running_stats=True)");
});

test("F.batchNorm updates the running stats it is given only when training", () => {
  const rm = zeros(2), rv = ones(2);
  const x = tensor([[1, 2], [3, 6]]);
  FN.batchNorm(x, rm, rv);
  assert.deepEqual(rm.tolist(), [0, 0]);
  const y = FN.batchNorm(x, rm, rv, { training: true, momentum: 0.5 });
  close(rm, [1, 2]);
  close(rv, [0.5 + 0.5 * 2, 0.5 + 0.5 * 8]);
  const bn = new BatchNorm1d(2, { momentum: 0.5 });
  close(bn.forward(x), Array.from(y.toTypedArray()));
  close(bn.running_var!, Array.from(rv.toTypedArray()));
});

test("LayerNorm, GroupNorm and RMSNorm values; functional forms equal the layers", () => {
  manualSeed(8);
  close(new LayerNorm(4).forward(tensor([[1, 2, 3, 4]])), [-1.5, -0.5, 0.5, 1.5].map((v) => v / Math.sqrt(1.25 + 1e-5)));
  close(new RMSNorm(2).forward(tensor([[3, 4]])), [3, 4].map((v) => v / Math.sqrt(12.5 + 2 ** -23)));
  close(new RMSNorm(2, { dtype: "float64" }).forward(tensor([[3, 4]], f64)), [3, 4].map((v) => v / Math.sqrt(12.5 + 2 ** -52)), 1e-15);
  close(FN.rmsNorm(tensor([[3, 4]]), 2, { eps: 0.5 }), [3, 4].map((v) => v / Math.sqrt(13)));
  const x = randn(3, 4, 5);
  const ln = perturb(new LayerNorm([4, 5])).float();
  close(ln.forward(x), Array.from(FN.layerNorm(x, [4, 5], { weight: ln.weight, bias: ln.bias }).toTypedArray()), 0);
  // one group is a layer norm over (C, *); C groups normalise each channel on its own
  close(new GroupNorm(1, 4).forward(x), Array.from(FN.layerNorm(x, [4, 5]).toTypedArray()), 1e-6);
  const perChannel = new GroupNorm(4, 4).forward(x);
  close(perChannel.mean(2), new Array(12).fill(0), 1e-6);
  // the normalised variance is v / (v + eps) for a channel of variance v
  const v = Array.from(x.var(2, { correction: 0 }).toTypedArray());
  close(perChannel.var(2, { correction: 0 }), v.map((vi) => vi / (vi + 1e-5)), 1e-5);
  const gn = perturb(new GroupNorm(2, 4)).float();
  close(gn.forward(x), Array.from(FN.groupNorm(x, 2, { weight: gn.weight, bias: gn.bias }).toTypedArray()), 0);
  const rms = perturb(new RMSNorm(5)).float();
  close(rms.forward(x), Array.from(FN.rmsNorm(x, [5], { weight: rms.weight }).toTypedArray()), 0);
  assert.deepEqual(new LayerNorm(3, { bias: false }).namedParameters().map(([k]) => k), ["weight"]);
  assert.deepEqual(new LayerNorm(3, { elementwiseAffine: false }).namedParameters(), []);
  assert.equal(String(new LayerNorm([2, 3], { eps: 1e-3 })), "LayerNorm((2, 3), eps=0.001, elementwise_affine=True)");
  assert.equal(String(new GroupNorm(2, 4, { affine: false })), "GroupNorm(2, 4, eps=1e-05, affine=False)");
  assert.equal(String(new RMSNorm([4], { eps: 1e-6 })), "RMSNorm((4,), eps=1e-06, elementwise_affine=True)");
});

test("Embedding: N(0, 1) init, zeroed padding row without gradient, any index shape, accumulated gradients", () => {
  manualSeed(5);
  const emb = new Embedding(200, 50, { paddingIdx: -3 });
  assert.equal(emb.paddingIdx, 197);
  assert.equal(String(emb), "Embedding(200, 50, padding_idx=197)");
  assert.equal(String(new Embedding(4, 2)), "Embedding(4, 2)");
  const w = Array.from(emb.weight.toTypedArray());
  assert.ok(w.slice(197 * 50, 198 * 50).every((v) => v === 0), "padding row zeroed");
  const others = w.filter((_, i) => i < 197 * 50 || i >= 198 * 50);
  const mean = others.reduce((a, v) => a + v, 0) / others.length;
  const std = Math.sqrt(others.reduce((a, v) => a + (v - mean) ** 2, 0) / others.length);
  assert.ok(Math.abs(mean) < 0.03 && Math.abs(std - 1) < 0.03, `mean ${mean}, std ${std}`);
  const idx = tensor([[197, 3, 3], [0, 197, 3]], { dtype: "int32" });
  const y = emb.forward(idx);
  assert.deepEqual(y.shape, [2, 3, 50]);
  assert.deepEqual(emb.forward(tensor(3, { dtype: "int32" })).shape, [50]);
  y.sum().backward();
  const g = emb.weight.grad!;
  close(g.select(0, 3), new Array(50).fill(3));
  close(g.select(0, 0), new Array(50).fill(1));
  close(g.select(0, 197), new Array(50).fill(0), 0);
  close(g.select(0, 1), new Array(50).fill(0), 0);
  // a padding row set to non-zero values is still looked up as it is
  noGrad(() => emb.weight.select(0, 197).fill_(2));
  close(emb.forward(tensor([197], { dtype: "int32" })), new Array(50).fill(2));
});

test("Dropout2d zeroes whole channels of (N, C, H, W) and (C, H, W), scales the rest, and is the identity in eval", () => {
  manualSeed(6);
  const y = new Dropout2d(0.3).forward(ones(40, 100, 2, 3));
  let dropped = 0;
  for (const plane of (y.reshape([4000, 6]).tolist() as number[][])) {
    assert.ok(plane.every((v) => v === plane[0]), "a channel is dropped or kept as a whole");
    if (plane[0] === 0) dropped++;
    else assert.equal(plane[0], Math.fround(1 / 0.7));
  }
  assert.ok(Math.abs(dropped / 4000 - 0.3) < 0.03, `dropped fraction ${dropped / 4000}`);
  const z = FN.dropout2d(ones(6, 4, 4), { generator: new Generator(2) });
  for (const plane of (z.reshape([6, 16]).tolist() as number[][])) assert.ok(plane.every((v) => v === plane[0] && (v === 0 || v === 2)));
  const x = randn(2, 3, 4, 4);
  assert.equal(new Dropout2d().eval().forward(x), x);
  assert.equal(new Dropout2d(0).forward(x), x);
  assert.ok(new Dropout2d(1).forward(x).toTypedArray().every((v) => v === 0));
  assert.equal(String(new Dropout2d(0.2)), "Dropout2d(p=0.2, inplace=False)");
  const a = FN.dropout2d(ones(3, 8, 2, 2), { generator: new Generator(4) });
  const b = FN.dropout2d(ones(3, 8, 2, 2), { generator: new Generator(4) });
  assert.deepEqual(a.tolist(), b.tolist());
});

// ---- containers ----------------------------------------------------------------------------------------

test("ModuleList: append, extend, insert, pop, set, at, length, iteration and renumbered children", () => {
  const [a, b, c, d] = [new Linear(2, 2), new ReLU(), new Linear(2, 3), new LayerNorm(3)];
  const list = new ModuleList([a]);
  list.append(b).extend([c]);
  assert.equal(list.length, 3);
  assert.deepEqual([...list], [a, b, c]);
  assert.equal(list.at(-1), c);
  assert.equal(list[1], b);
  list.insert(1, d); // a d b c
  assert.deepEqual([...list], [a, d, b, c]);
  assert.deepEqual(list.namedChildren().map(([k, m]) => [k, m]), [["0", a], ["1", d], ["2", b], ["3", c]]);
  assert.deepEqual(Object.keys(list.stateDict()), ["0.weight", "0.bias", "1.weight", "1.bias", "3.weight", "3.bias"]);
  assert.equal(list.pop(1), d);
  assert.deepEqual([...list], [a, b, c]);
  assert.equal(list.pop(), c);
  assert.deepEqual(list.namedChildren().map(([k]) => k), ["0", "1"]);
  list.insert(-10, c).insert(99, d); // clamped to the ends, as Python's list.insert
  assert.deepEqual([...list], [c, a, b, d]);
  list.set(2, new ReLU());
  assert.ok(list.at(2) instanceof ReLU && list.at(2) !== b);
  list.extend(list); // extending with itself terminates and doubles
  assert.equal(list.length, 8);
  assert.equal(new ModuleList(new Sequential(a, b)).length, 2);
  assert.equal(String(new ModuleList([b])), "ModuleList(\n  (0): ReLU()\n)");
  assert.equal(String(new ModuleList()), "ModuleList()");
});

test("a ModuleList field names parameters layers.i.* exactly as the plain-array field the Module walk supports", () => {
  class WithList extends Module {
    layers = new ModuleList([new Linear(3, 3), new Linear(3, 1)]);
    forward(x: Tensor): Tensor { for (const l of this.layers) x = l.forward(x); return x; }
  }
  class WithArray extends Module {
    layers = [new Linear(3, 3), new Linear(3, 1)];
    forward(x: Tensor): Tensor { for (const l of this.layers) x = l.forward(x); return x; }
  }
  const m = new WithList(), arr = new WithArray();
  assert.deepEqual(Object.keys(m.stateDict()), ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]);
  assert.deepEqual(Object.keys(m.stateDict()), Object.keys(arr.stateDict()));
  assert.equal(String(m).replace("WithList", "WithArray"), String(arr));
  m.loadStateDict(arr.stateDict());
  const x = randn(4, 3);
  assert.deepEqual(m.forward(x).tolist(), arr.forward(x).tolist());
  m.eval();
  assert.equal(m.layers.at(1).training, false, "train/eval reach modules inside the list");
  assert.equal(m.parameters().length, 4);
});

test("ModuleDict: insertion order, get/set/has/pop/update/clear, keys as child names", () => {
  const [a, b, c] = [new Linear(2, 2), new ReLU(), new LayerNorm(2)];
  const d = new ModuleDict([["zeta", a], ["alpha", b]]);
  d.set("mid", c);
  assert.deepEqual(d.keys(), ["zeta", "alpha", "mid"]);
  assert.deepEqual([...d], ["zeta", "alpha", "mid"]);
  assert.deepEqual(d.values(), [a, b, c]);
  assert.deepEqual(d.namedChildren().map(([k]) => k), ["zeta", "alpha", "mid"]);
  assert.deepEqual(Object.keys(d.stateDict()), ["zeta.weight", "zeta.bias", "mid.weight", "mid.bias"]);
  assert.equal(String(d), "ModuleDict(\n  (zeta): Linear(in_features=2, out_features=2, bias=True)\n  (alpha): ReLU()\n  (mid): LayerNorm((2,), eps=1e-05, elementwise_affine=True)\n)");
  const r = new ReLU();
  d.set("zeta", r); // replacing keeps the place
  assert.deepEqual(d.items(), [["zeta", r], ["alpha", b], ["mid", c]]);
  assert.equal(d.pop("alpha"), b);
  assert.equal(d.has("alpha"), false);
  d.update({ alpha: b });
  assert.deepEqual(d.keys(), ["zeta", "mid", "alpha"]);
  d.update(new ModuleDict({ extra: new ReLU() }));
  assert.equal(d.size, 4);
  assert.equal(d.get("mid"), c);
  d.clear();
  assert.equal(d.size, 0);
  assert.deepEqual(d.namedChildren(), []);
  // integer-like keys keep insertion order when they come in ascending order before any other key
  assert.deepEqual(new ModuleDict({ 0: new ReLU(), 1: new ReLU() }).keys(), ["0", "1"]);
});

test("container errors name the container, the key or index, and the problem", () => {
  const list = new ModuleList([new ReLU()]);
  assert.throws(() => list.at(1), /^Error: \[ModuleList\.at\] index 1 is out of range for 1 modules$/);
  assert.throws(() => list.pop(-2), /^Error: \[ModuleList\.pop\] index -2 is out of range for 1 modules$/);
  assert.throws(() => list.append(3 as never), /^Error: \[ModuleList\.append\] expected a Module, got number$/);
  assert.throws(() => list.extend(null as never), /^Error: \[ModuleList\.extend\] expected an iterable of Modules, got null$/);
  assert.throws(() => list.insert(0.5, new ReLU()), /^Error: \[ModuleList\.insert\] index must be an integer, got 0.5$/);
  assert.throws(() => list.forward(), /^Error: \[ModuleList\] a ModuleList has no forward/);
  const d = new ModuleDict({ a: new ReLU() });
  assert.throws(() => d.get("b"), /^Error: \[ModuleDict\.get\] no module under key "b"; keys are \["a"\]$/);
  assert.throws(() => d.set("a.b", new ReLU()), /^Error: \[ModuleDict\.set\] key must be a non-empty string without "\.", got "a\.b"$/);
  assert.throws(() => d.set("training", new ReLU()), /^Error: \[ModuleDict\.set\] attribute 'training' already exists; choose another key$/);
  assert.throws(() => d.set("forward", new ReLU()), /^Error: \[ModuleDict\.set\] attribute 'forward' already exists/);
  assert.throws(() => d.set("7", new ReLU()), /^Error: \[ModuleDict\.set\] key '7' is integer-like, and JS orders such keys before the existing ones \["a"\]/);
  assert.equal(d.has("7"), false, "a rejected key leaves no child behind");
  assert.deepEqual(d.namedChildren().map(([k]) => k), ["a"]);
  assert.throws(() => d.set("x", {} as never), /^Error: \[ModuleDict\.set\] expected a Module, got Object$/);
  assert.throws(() => d.forward(), /^Error: \[ModuleDict\] a ModuleDict has no forward/);
});

// ---- errors --------------------------------------------------------------------------------------------

test("normalisation errors name the layer, the shapes and the options", () => {
  assert.throws(() => new BatchNorm1d(3).forward(randn(2, 3, 4, 5)), /^Error: \[BatchNorm1d\] expected a 2-D \(N, C\) or 3-D \(N, C, L\) input, got \[2, 3, 4, 5\]$/);
  assert.throws(() => new BatchNorm2d(3).forward(randn(2, 3, 4)), /^Error: \[BatchNorm2d\] expected a 4-D \(N, C, H, W\) input, got \[2, 3, 4\]$/);
  assert.throws(() => new BatchNorm1d(3).forward(randn(2, 4)), /^Error: \[BatchNorm1d\] runningMean must have shape \[4\] for input \[2, 4\], got \[3\]$/);
  assert.throws(() => new BatchNorm1d(3).forward(randn(1, 3)), /^Error: \[BatchNorm1d\] expected more than 1 value per channel when training, got input shape \[1, 3\]$/);
  assert.equal(new BatchNorm1d(3).eval().forward(randn(1, 3)).shape[0], 1, "one sample is fine in eval mode");
  assert.throws(() => new BatchNorm1d(3).forward(tensor([[1, 2, 3]], { dtype: "int32" })), /^Error: \[BatchNorm1d\] expected a floating point input, got int32 \(shape \[1, 3\]\)$/);
  assert.throws(() => new BatchNorm1d(0), /^Error: \[BatchNorm1d\] numFeatures must be a positive integer, got 0$/);
  assert.throws(() => new BatchNorm1d(3, { momentum: 2 }), /^Error: \[BatchNorm1d\] momentum must be a number in \[0, 1\] or null, got 2$/);
  assert.throws(() => new BatchNorm2d(3, { track: false } as never), /^Error: \[BatchNorm2d\] unknown option 'track'; expected one of eps, momentum, affine, trackRunningStats, dtype$/);
  assert.throws(() => FN.batchNorm(randn(4, 3), null, null), /^Error: \[batchNorm\] runningMean and runningVar are required when not training \(input \[4, 3\]\)$/);
  assert.throws(() => FN.batchNorm(randn(4, 3), null, null, { training: true, weight: ones(2) }), /^Error: \[batchNorm\] weight must have shape \[3\] for input \[4, 3\], got \[2\]$/);
  assert.throws(() => FN.batchNorm(randn(4), null, null, { training: true }), /^Error: \[batchNorm\] expected an input of shape \(N, C, \*\), got \[4\]$/);
  assert.throws(() => new LayerNorm(4).forward(randn(2, 3)), /^Error: \[LayerNorm\] expected input with shape \[\*, 4\], got \[2, 3\] \(normalizedShape \[4\]\)$/);
  assert.throws(() => FN.layerNorm(randn(2, 3), [3], { weight: ones(4) }), /^Error: \[layerNorm\] weight must have shape \[3\], got \[4\]$/);
  assert.throws(() => new LayerNorm([]), /^Error: \[LayerNorm\] normalizedShape must be a non-negative integer or a non-empty list of them, got \[\]$/);
  assert.throws(() => new GroupNorm(4, 6), /^Error: \[GroupNorm\] numChannels 6 must be divisible by numGroups 4$/);
  assert.throws(() => new GroupNorm(2, 6).forward(randn(2, 4, 3)), /^Error: \[GroupNorm\] expected input with 6 channels \(N, 6, \*\), got \[2, 4, 3\]$/);
  assert.throws(() => FN.groupNorm(randn(2, 5, 3), 2), /^Error: \[groupNorm\] expected the number of channels in input \[2, 5, 3\] to be divisible by numGroups 2$/);
  assert.throws(() => FN.groupNorm(randn(2, 4), 0), /^Error: \[groupNorm\] numGroups must be a positive integer, got 0$/);
  assert.throws(() => new RMSNorm(3).forward(randn(3, 2)), /^Error: \[RMSNorm\] expected input with shape \[\*, 3\], got \[3, 2\] \(normalizedShape \[3\]\)$/);
  assert.throws(() => new RMSNorm(3, { eps: -1 }), /^Error: \[RMSNorm\] eps must be a number >= 0, got -1$/);
});

test("Embedding errors: non-int32 indices, out-of-range indices and paddingIdx", () => {
  const emb = new Embedding(5, 2);
  assert.throws(() => emb.forward(tensor([1, 2])), /^Error: \[Embedding\] indices must be an int32 tensor, got float32 \(shape \[2\]\)$/);
  assert.throws(() => emb.forward(tensor([true])), /^Error: \[Embedding\] indices must be an int32 tensor, got bool \(shape \[1\]\)$/);
  assert.throws(() => emb.forward(tensor([[0, 5]], { dtype: "int32" })), /^Error: \[Embedding\] index 5 is out of range for 5 embeddings \(indices shape \[1, 2\], weight \[5, 2\]\)$/);
  assert.throws(() => emb.forward(tensor([-1], { dtype: "int32" })), /^Error: \[Embedding\] index -1 is out of range for 5 embeddings/);
  assert.throws(() => new Embedding(5, 2, { paddingIdx: 5 }), /^Error: \[Embedding\] paddingIdx must be an integer within numEmbeddings 5, got 5$/);
  assert.throws(() => new Embedding(5, 2, { paddingIdx: -6 }), /^Error: \[Embedding\] paddingIdx must be an integer within numEmbeddings 5, got -6$/);
  assert.throws(() => new Embedding(5, 0), /^Error: \[Embedding\] embeddingDim must be a positive integer, got 0$/);
  assert.throws(() => FN.embedding(tensor([0], { dtype: "int32" }), randn(5)), /^Error: \[embedding\] weight must be a 2-D tensor \(numEmbeddings, embeddingDim\), got \[5\]$/);
  assert.throws(() => FN.embedding(tensor([9], { dtype: "int32" }), randn(5, 2)), /^Error: \[embedding\] index 9 is out of range for 5 embeddings/);
});

test("Dropout2d errors: probability, rank and dtype", () => {
  assert.throws(() => new Dropout2d(1.5), /^Error: \[Dropout2d\] dropout probability has to be between 0 and 1, but got 1.5$/);
  assert.throws(() => new Dropout2d().forward(randn(2, 3)), /^Error: \[Dropout2d\] expected a 3-D \(C, H, W\) or 4-D \(N, C, H, W\) input, got \[2, 3\]$/);
  assert.throws(() => new Dropout2d().eval().forward(randn(2, 3, 4, 5, 6)), /^Error: \[Dropout2d\] expected a 3-D \(C, H, W\) or 4-D \(N, C, H, W\) input, got \[2, 3, 4, 5, 6\]$/);
  assert.throws(() => FN.dropout2d(ones([2, 2, 2], { dtype: "int32" })), /^Error: \[dropout2d\] expected a floating point input, got int32 \(shape \[2, 2, 2\]\)$/);
  assert.throws(() => FN.dropout2d(randn(2, 2, 2), { q: 1 } as never), /^Error: \[dropout2d\] unknown option 'q'; expected one of p, training, generator$/);
});
