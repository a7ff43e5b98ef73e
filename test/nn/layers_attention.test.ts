// Attention and Transformer layers: PyTorch fixtures (layers_attention.json), gradchecks, printing, masks and errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { gradcheck } from "../../src/autograd/gradcheck.js";
import { manualSeed, noGrad, randn, setBackend, tensor, zeros } from "../../src/index.js";
import { grad } from "../../src/autograd/functional.js";
import { Tensor } from "../../src/tensor.js";
import type { Module } from "../../src/nn/module.js";
import { LayerNorm } from "../../src/nn/layers/normalization.js";
import { MultiheadAttention } from "../../src/nn/layers/attention.js";
import {
  Transformer, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder, TransformerEncoderLayer,
} from "../../src/nn/layers/transformer.js";
import { SinusoidalPositionalEncoding } from "../../src/nn/layers/positional.js";
import { scaledDotProductAttention } from "../../src/nn/functional_attention.js";
import { closeness, fromFixture, loadFixture, type FixtureTensor } from "../fixture.js";
import { nodeNames } from "../graph.js";
import { active } from "../../src/backend/active.js";
import type { Backend } from "../../src/backend/backend.js";

// ---- PyTorch fixtures --------------------------------------------------------------------------------

interface AttentionCase {
  module: string;
  case: string;
  mode: "train" | "eval";
  args: Record<string, unknown>;
  repr: string;
  stateDict: Record<string, FixtureTensor>;
  inputs: FixtureTensor[];
  roles: number[];
  forward: Record<string, FixtureTensor | boolean | number>;
  output: FixtureTensor;
  weights: FixtureTensor | null;
  gradOutput: FixtureTensor;
  gradWeights: FixtureTensor | null;
  grads: FixtureTensor[];
  paramGrads: Record<string, FixtureTensor>;
}

// float32 results agree to these although Kiln accumulates sums in double and PyTorch in float32
const RTOL = 1e-5, ATOL = 1e-6;
/**
 * NOTE: parameter gradients sum over every (batch, position) row through up to three blocks; PyTorch accumulates
 * in float32 and was off by up to 3.8e-6 absolute (1.26x the default tolerance, TransformerDecoderLayer
 * self_attn.out_proj.weight, |g| ~ 0.2; 1.05x for Transformer). Parameter gradients alone get atol 3e-6.
 */
const PARAM_ATOL = 3e-6;

type Args = Record<string, unknown>;
type Run = (m: Module | null, xs: Tensor[], fwd: Args) => { output: Tensor; weights: Tensor | null };
/** Options go through each constructor's checkOptions, so a fixture arg the mapping does not know fails the case. */
const builders: Record<string, [build: (a: Args) => Module | null, run: Run]> = {
  sdpa: [() => null, (_m, [q, k, v], fwd) => ({ output: scaledDotProductAttention(q, k, v, fwd), weights: null })],
  MultiheadAttention: [
    ({ embedDim, numHeads, ...o }) => new MultiheadAttention(embedDim as number, numHeads as number, o),
    (m, [q, k, v], fwd) => (m as MultiheadAttention).forward(q, k, v, fwd),
  ],
  TransformerEncoderLayer: [
    ({ dModel, nhead, ...o }) => new TransformerEncoderLayer(dModel as number, nhead as number, o),
    (m, [x], fwd) => ({ output: (m as TransformerEncoderLayer).forward(x, fwd), weights: null }),
  ],
  TransformerEncoder: [
    ({ layer, numLayers, norm }) => {
      const { dModel, nhead, ...o } = layer as Args;
      const l = new TransformerEncoderLayer(dModel as number, nhead as number, o);
      return new TransformerEncoder(l, numLayers as number, { norm: norm ? new LayerNorm(dModel as number) : null });
    },
    (m, [x], fwd) => ({ output: (m as TransformerEncoder).forward(x, fwd), weights: null }),
  ],
  TransformerDecoderLayer: [
    ({ dModel, nhead, ...o }) => new TransformerDecoderLayer(dModel as number, nhead as number, o),
    (m, [t, mem], fwd) => ({ output: (m as TransformerDecoderLayer).forward(t, mem, fwd), weights: null }),
  ],
  Transformer: [(a) => new Transformer(a), (m, [s, t], fwd) => ({ output: (m as Transformer).forward(s, t, fwd), weights: null })],
};

function assertClose(what: string, actual: Tensor | null, expected: FixtureTensor, rtol = RTOL, atol = ATOL): void {
  assert.ok(actual, `${what}: missing (expected shape [${expected.shape.join(", ")}])`);
  assert.equal(actual.dtype, expected.dtype, `${what}: dtype`);
  const c = closeness(actual, fromFixture(expected), rtol, atol);
  assert.ok(c <= 1, `${what}: off by ${c.toFixed(2)}x the tolerance (rtol ${rtol}, atol ${atol})`);
}

const isFixtureTensor = (v: unknown): v is FixtureTensor => typeof v === "object" && v !== null && "shape" in v && "data" in v;
const fixture = loadFixture<{ cases: AttentionCase[] }>("layers_attention.json");

test("layers_attention.json covers every module in train and eval mode", () => {
  for (const name of Object.keys(builders)) {
    for (const mode of ["train", "eval"]) {
      assert.ok(fixture.cases.some((c) => c.module === name && c.mode === mode), `no ${mode} fixture for ${name}`);
    }
  }
});

for (const c of fixture.cases) {
  test(`${c.module} ${c.case} (${c.mode}) matches PyTorch after loading its state dict`, () => {
    const entry = builders[c.module];
    assert.ok(entry, `fixture module '${c.module}' has no Kiln mapping`);
    const [build, run] = entry;
    const mod = build(c.args);
    if (mod) {
      assert.equal(String(mod), c.repr);
      assert.deepEqual(Object.keys(mod.stateDict()), Object.keys(c.stateDict), "stateDict keys");
      mod.loadStateDict(Object.fromEntries(Object.entries(c.stateDict).map(([k, v]) => [k, fromFixture(v)])));
      if (c.mode === "eval") mod.eval();
    }
    const inputs = c.inputs.map((t) => fromFixture(t).requiresGrad_());
    const fwd = Object.fromEntries(Object.entries(c.forward).map(([k, v]) => [k, isFixtureTensor(v) ? fromFixture(v) : v]));
    const { output, weights } = run(mod, c.roles.map((r) => inputs[r]), fwd);
    assertClose("output", output, c.output);
    if (c.weights === null) assert.equal(weights, null, "weights");
    else assertClose("attention weights", weights, c.weights);
    let loss = output.mul(fromFixture(c.gradOutput)).sum();
    if (weights && c.gradWeights) loss = loss.add(weights.mul(fromFixture(c.gradWeights)).sum());
    loss.backward();
    c.grads.forEach((g, i) => assertClose(`grad of input ${i}`, inputs[i].grad, g));
    if (mod) {
      const params = Object.fromEntries(mod.namedParameters());
      assert.deepEqual(Object.keys(params), Object.keys(c.paramGrads), "parameter names");
      for (const [k, g] of Object.entries(c.paramGrads)) assertClose(`grad of ${k}`, params[k].grad, g, RTOL, PARAM_ATOL);
    }
  });
}

// ---- gradchecks (float64, tiny sizes) ----------------------------------------------------------------

const f64 = { dtype: "float64" as const };
const input = (...shape: number[]) => randn(shape, f64).requiresGrad_();

/** Biases and norm weights off their zeros/ones init, in float64. */
function perturb<M extends Module>(m: M): M {
  m.double();
  noGrad(() => { for (const p of m.parameters()) p.add_(randn(p.shape, f64).mul(0.2)); });
  return m;
}

test("gradcheck: scaledDotProductAttention with bool, float and causal masks and a custom scale", () => {
  manualSeed(1);
  const bool = tensor([[true, false, true], [true, true, false]]);
  assert.ok(gradcheck((q, k, v) => scaledDotProductAttention(q, k, v), [input(2, 2, 3), input(2, 3, 3), input(2, 3, 2)]));
  assert.ok(gradcheck((q, k, v) => scaledDotProductAttention(q, k, v, { attnMask: bool }), [input(1, 2, 3), input(1, 3, 3), input(1, 3, 2)]));
  assert.ok(gradcheck((q, k, v, m) => scaledDotProductAttention(q, k, v, { attnMask: m, scale: 0.7 }), [input(2, 2, 3), input(2, 3, 3), input(2, 3, 2), input(2, 3)]));
  assert.ok(gradcheck((q, k, v) => scaledDotProductAttention(q, k, v, { isCausal: true }), [input(3, 2), input(3, 2), input(3, 2)]));
});

test("gradcheck: MultiheadAttention (self and cross attention, kdim/vdim, masks, per-head weights) in train and eval mode", () => {
  manualSeed(2);
  const floatMask = randn([2, 3], f64);
  const cases: [MultiheadAttention, (m: MultiheadAttention, q: Tensor, k: Tensor) => Tensor[], Tensor[]][] = [
    [new MultiheadAttention(4, 2), (m, q) => { const r = m.forward(q, q, q, { isCausal: true }); return [r.output, r.weights!]; }, [input(3, 1, 4)]],
    [new MultiheadAttention(4, 2, { batchFirst: true, kdim: 3, vdim: 2 }), (m, q, k) => {
      const r = m.forward(q, k, k.narrow(2, 0, 2), { keyPaddingMask: tensor([[false, true, false]]), averageAttnWeights: false });
      return [r.output, r.weights!];
    }, [input(1, 2, 4), input(1, 3, 3)]],
    [new MultiheadAttention(2, 1, { bias: false }), (m, q, k) => [m.forward(q, k, k, { attnMask: floatMask, needWeights: false }).output], [input(2, 2), input(3, 2)]],
  ];
  for (const [m, f, xs] of cases) {
    perturb(m);
    for (const mode of [true, false]) {
      m.train(mode);
      assert.ok(gradcheck((...a) => f(m, a[0], xs.length > 1 ? a[1] : a[0]), [...xs, ...m.parameters()]), `${String(m)} training=${mode}`);
    }
  }
});

test("gradcheck: TransformerEncoderLayer and TransformerDecoderLayer, post-norm and pre-norm, relu and gelu", () => {
  manualSeed(3);
  const opts = { dimFeedforward: 3, dropout: 0, dtype: "float64" as const };
  for (const o of [{ ...opts }, { ...opts, normFirst: true, activation: "gelu" as const }]) {
    const enc = perturb(new TransformerEncoderLayer(4, 2, o));
    assert.ok(gradcheck((x) => enc.forward(x, { isCausal: true }), [input(2, 1, 4), ...enc.parameters()]), `encoder ${JSON.stringify(o)}`);
    const dec = perturb(new TransformerDecoderLayer(4, 2, o));
    assert.ok(gradcheck((t, mem) => dec.forward(t, mem, { tgtIsCausal: true, memoryKeyPaddingMask: tensor([[false, true, false]]) }),
      [input(2, 1, 4), input(3, 1, 4), ...dec.parameters()]), `decoder ${JSON.stringify(o)}`);
  }
});

// ---- masks, init, copies, positional encoding ---------------------------------------------------------

function assertAllClose(a: Tensor, b: Tensor, tol = 1e-6): void {
  assert.deepEqual(a.shape, b.shape);
  const x = a.toTypedArray(), y = b.toTypedArray();
  for (let i = 0; i < x.length; i++) assert.ok(Math.abs(x[i] - y[i]) <= tol * (1 + Math.abs(y[i])), `element ${i}: ${x[i]} vs ${y[i]}`);
}

test("masks: generateSquareSubsequentMask, isCausal, bool and float forms agree; SDPA's bool mask means attend", () => {
  manualSeed(4);
  const causal = Transformer.generateSquareSubsequentMask(3);
  assert.deepEqual(causal.tolist(), [[0, -Infinity, -Infinity], [0, 0, -Infinity], [0, 0, 0]]);
  assert.equal(Transformer.generateSquareSubsequentMask(2, { dtype: "float64" }).dtype, "float64");
  const mha = new MultiheadAttention(6, 2);
  const x = randn(3, 2, 6);
  const ref = mha.forward(x, x, x, { attnMask: causal });
  const boolCausal = tensor([[false, true, true], [false, false, true], [false, false, false]]);
  for (const r of [mha.forward(x, x, x, { isCausal: true }), mha.forward(x, x, x, { attnMask: boolCausal }), mha.forward(x, x, x, { attnMask: causal, isCausal: true })]) {
    assertAllClose(r.output, ref.output);
    assertAllClose(r.weights!, ref.weights!);
  }
  assert.equal((ref.weights!.tolist() as number[][][])[0][0][1], 0, "no weight above the diagonal");
  const kpm = tensor([[false, false, true], [false, true, false]]);
  const floatKpm = zeros(2, 3).maskedFill(kpm, -Infinity);
  assertAllClose(mha.forward(x, x, x, { keyPaddingMask: floatKpm }).output, mha.forward(x, x, x, { keyPaddingMask: kpm }).output);
  const [q, k, v] = [randn(2, 3, 4), randn(2, 5, 4), randn(2, 5, 4)];
  const attend = tensor([[true, false, true, true, false], [true, true, true, false, false], [false, false, true, true, true]]);
  assertAllClose(scaledDotProductAttention(q, k, v, { attnMask: attend }), scaledDotProductAttention(q, k, v, { attnMask: zeros(3, 5).maskedFill(attend.logicalNot(), -Infinity) }));
  assertAllClose(scaledDotProductAttention(q, k, v, { isCausal: true }), scaledDotProductAttention(q, k, v, { attnMask: tensor([[1, 0, 0, 0, 0], [1, 1, 0, 0, 0], [1, 1, 1, 0, 0]]).bool() }));
  // dropoutP 1 zeroes every weight, so the output is zero
  assert.ok(scaledDotProductAttention(q, k, v, { dropoutP: 1 }).toTypedArray().every((e) => e === 0));
});

/** How many times fn calls the active backend's kernel `name`. */
function countKernel(name: keyof Backend, fn: () => void): number {
  const saved = active.b;
  let n = 0;
  active.b = { ...saved, [name]: (...args: unknown[]) => { n++; return (saved[name] as (...a: unknown[]) => unknown)(...args); } };
  try {
    fn();
  } finally {
    active.b = saved;
  }
  return n;
}

test("the fused attention path (no weights, no dropout) matches the composite, with and without gradients, on both backends", () => {
  for (const be of ["js", "wasm"]) {
    setBackend(be);
    try {
      manualSeed(6);
      const mha = new MultiheadAttention(8, 2, { batchFirst: true });
      const x = randn(3, 5, 8, { requiresGrad: true }), causal = Transformer.generateSquareSubsequentMask(5);
      const fused = mha.forward(x, x, x, { attnMask: causal, needWeights: false }).output; // the attention primitive
      const composite = mha.forward(x, x, x, { attnMask: causal }).output; // weights asked for: matmul, softmax, matmul
      assert.ok(nodeNames(fused).has("attention") && !nodeNames(fused).has("softmax"), "needWeights: false runs the attention primitive");
      assert.ok(nodeNames(composite).has("softmax") && !nodeNames(composite).has("attention"), "weights asked for run the composite");
      assertAllClose(fused, composite);
      // the output comes laid out as (N, L, heads, hs), so the heads merge by a view, and the gradients likewise
      assert.ok(!nodeNames(fused).has("clone"), "the heads of the fused output merge without a copy");
      const copies = countKernel("copy", () => grad(fused.square().sum(), x, { retainGraph: true }));
      assert.equal(copies, 0, "the fused path's backward splits dq, dk, dv into heads without a copy");
      const [gFused] = grad(fused.square().sum(), x), [gComposite] = grad(composite.square().sum(), x);
      assertAllClose(gFused!, gComposite!, 1e-5);
      // without gradients the kernel skips the probabilities; the output is the same
      const inference = noGrad(() => mha.forward(x, x, x, { attnMask: causal, needWeights: false }).output);
      assert.equal(inference.gradFn, null);
      assert.deepEqual(inference.tolist(), fused.tolist());
    } finally {
      setBackend("wasm");
    }
  }
});

test("MultiheadAttention: PyTorch's init, parameter names with and without kdim/vdim, bias false, dropout only in training", () => {
  manualSeed(5);
  const mha = new MultiheadAttention(12, 3);
  assert.deepEqual(Object.keys(mha.stateDict()), ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]);
  const bound = Math.sqrt(6 / (12 + 36)); // xavier_uniform_ on (3E, E)
  const w = Array.from(mha.in_proj_weight!.toTypedArray());
  assert.ok(w.every((e) => Math.abs(e) <= bound) && Math.max(...w.map(Math.abs)) > 0.9 * bound);
  assert.ok(mha.in_proj_bias!.toTypedArray().every((e) => e === 0) && mha.out_proj.bias!.toTypedArray().every((e) => e === 0));
  assert.equal(String(mha), "MultiheadAttention(\n  (out_proj): NonDynamicallyQuantizableLinear(in_features=12, out_features=12, bias=True)\n)");
  const kv = new MultiheadAttention(12, 3, { kdim: 5, vdim: 7 });
  assert.deepEqual(kv.namedParameters().map(([k, p]) => `${k} ${p.shape.join("x")}`),
    ["q_proj_weight 12x12", "k_proj_weight 12x5", "v_proj_weight 12x7", "in_proj_bias 36", "out_proj.weight 12x12", "out_proj.bias 12"]);
  assert.deepEqual(new MultiheadAttention(4, 2, { bias: false }).namedParameters().map(([k]) => k), ["in_proj_weight", "out_proj.weight"]);
  const drop = new MultiheadAttention(4, 2, { dropout: 0.5 });
  const x = randn(3, 4);
  assert.notDeepEqual(drop.forward(x, x, x).output.tolist(), drop.forward(x, x, x).output.tolist(), "training mode drops weights");
  drop.eval();
  assert.deepEqual(drop.forward(x, x, x).output.tolist(), drop.forward(x, x, x).output.tolist(), "eval mode does not");
});

test("TransformerEncoder / Decoder: layers are independent deep copies with PyTorch's keys; clone keeps dtype and mode; bias false", () => {
  manualSeed(6);
  const layer = new TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dtype: "float64" });
  layer.eval();
  const enc = new TransformerEncoder(layer, 3, { norm: new LayerNorm(8, { dtype: "float64" }) });
  assert.equal(enc.layers.length, 3);
  const keys = Object.keys(enc.stateDict());
  assert.equal(keys[0], "layers.0.self_attn.in_proj_weight");
  assert.ok(keys.includes("layers.2.norm2.bias") && keys.at(-1) === "norm.bias");
  const l0 = enc.layers.at(0) as TransformerEncoderLayer, l1 = enc.layers.at(1) as TransformerEncoderLayer;
  assert.equal(l0.linear1.weight.dtype, "float64");
  assert.equal(l0.training, false);
  assert.deepEqual(l0.linear1.weight.tolist(), layer.linear1.weight.tolist());
  noGrad(() => l0.linear1.weight.add_(1));
  assert.notDeepEqual(l0.linear1.weight.tolist(), l1.linear1.weight.tolist(), "copies do not share storage");
  assert.deepEqual(enc.forward(randn([5, 2, 8], f64), { mask: Transformer.generateSquareSubsequentMask(5, f64) }).shape, [5, 2, 8]);
  const dec = new TransformerDecoder(new TransformerDecoderLayer(8, 2, { dimFeedforward: 16, batchFirst: true }), 2);
  assert.deepEqual(dec.forward(randn(2, 5, 8), randn(2, 7, 8), { tgtIsCausal: true }).shape, [2, 5, 8]);
  assert.equal(Object.keys(dec.stateDict())[4], "layers.0.multihead_attn.in_proj_weight");
  const noBias = new TransformerEncoderLayer(8, 2, { dimFeedforward: 16, bias: false });
  assert.deepEqual(noBias.namedParameters().map(([k]) => k),
    ["self_attn.in_proj_weight", "self_attn.out_proj.weight", "linear1.weight", "linear2.weight", "norm1.weight", "norm2.weight"]);
  const custom = new TransformerEncoderLayer(8, 2, { dimFeedforward: 16, activation: (t) => t.tanh() });
  assert.deepEqual(custom.forward(randn(3, 8)).shape, [3, 8], "unbatched input and a function activation");
});

test("SinusoidalPositionalEncoding: the sin/cos table, a non-persistent buffer, batch-first and sequence-first inputs", () => {
  const pos = new SinusoidalPositionalEncoding(5, { maxLen: 10 });
  assert.deepEqual(Object.keys(pos.stateDict()), []);
  assert.deepEqual(pos.namedBuffers().map(([k]) => k), ["pe"]);
  const pe = pos.pe.tolist() as number[][];
  for (const t of [0, 3, 9]) {
    for (let i = 0; i < 5; i++) {
      const angle = t / Math.pow(10000, (i - (i % 2)) / 5);
      assert.ok(Math.abs(pe[t][i] - (i % 2 === 0 ? Math.sin(angle) : Math.cos(angle))) < 1e-7, `pe[${t}][${i}]`);
    }
  }
  const x = randn(2, 4, 5);
  assertAllClose(pos.forward(x), x.add(pos.pe.narrow(0, 0, 4)));
  const seqFirst = new SinusoidalPositionalEncoding(5, { maxLen: 10, batchFirst: false });
  assertAllClose(seqFirst.forward(x.transpose(0, 1)).transpose(0, 1), pos.forward(x));
  assert.equal(pos.double().pe.dtype, "float64");
  assert.equal(String(seqFirst), "SinusoidalPositionalEncoding(5, max_len=10, batch_first=False)");
  assert.throws(() => pos.forward(randn(1, 11, 5)), { message: "[SinusoidalPositionalEncoding] sequence length 11 exceeds maxLen 10 (input [1, 11, 5])" });
});

test("errors name the op and the shapes", () => {
  const mha = new MultiheadAttention(6, 2, { batchFirst: true });
  const x = randn(2, 3, 6);
  assert.throws(() => new MultiheadAttention(6, 4), { message: "[MultiheadAttention] embedDim 6 must be divisible by numHeads 4" });
  assert.throws(() => new MultiheadAttention(6, 2, { heads: 2 } as never), /\[MultiheadAttention\] unknown option 'heads'/);
  assert.throws(() => mha.forward(randn(2, 3, 5), x, x), {
    message: "[MultiheadAttention] expected query, key and value (N, L, E), (N, S, kdim), (N, S, vdim) with E=6, kdim=6, vdim=6; got [2, 3, 5], [2, 3, 6] and [2, 3, 6]",
  });
  assert.throws(() => mha.forward(x, randn(3, 6), x), /\[MultiheadAttention\] query, key and value must all be 3-D \(batched\) or all 2-D/);
  assert.throws(() => mha.forward(x, x, x, { attnMask: zeros(3, 4) }), {
    message: "[MultiheadAttention] attnMask must have shape (3, 3) or (4, 3, 3) for query length 3, key length 3, batch 2 and 2 heads; got [3, 4]",
  });
  assert.throws(() => mha.forward(x, x, x, { keyPaddingMask: zeros(3, 3).bool() }), {
    message: "[MultiheadAttention] keyPaddingMask must have shape [2, 3] (batch, key length), got [3, 3]",
  });
  assert.throws(() => mha.forward(x, x, x, { attnMask: zeros([3, 3], { dtype: "int32" }) }), {
    message: "[MultiheadAttention] only bool and floating point attnMask are supported, got int32 (shape [3, 3])",
  });
  assert.throws(() => mha.forward(x, x, x, { causal: true } as never), /\[MultiheadAttention.forward\] unknown option 'causal'/);
  const [q, k] = [randn(2, 3, 4), randn(2, 5, 4)];
  assert.throws(() => scaledDotProductAttention(q, k, k, { isCausal: true, attnMask: zeros(3, 5) }), {
    message: "[scaledDotProductAttention] an explicit attnMask (shape [3, 5]) must not be given with isCausal: true",
  });
  assert.throws(() => scaledDotProductAttention(q, randn(2, 5, 3), k), {
    message: "[scaledDotProductAttention] expected query (..., L, E), key (..., S, E) and value (..., S, Ev), got [2, 3, 4], [2, 5, 3] and [2, 5, 4]",
  });
  assert.throws(() => scaledDotProductAttention(q, k, k, { attnMask: zeros(4, 5) }), {
    message: "[scaledDotProductAttention] attnMask of shape [4, 5] does not broadcast to the attention scores [2, 3, 5]",
  });
  assert.throws(() => scaledDotProductAttention(q.int(), k, k), { message: "[scaledDotProductAttention] expected a floating point query, got int32 (shape [2, 3, 4])" });
  assert.throws(() => new TransformerEncoderLayer(6, 2, { activation: "tanh" as never }), {
    message: "[TransformerEncoderLayer] activation should be \"relu\", \"gelu\" or a function, not \"tanh\"",
  });
  assert.throws(() => new TransformerEncoder(new LayerNorm(4) as never, 2), { message: "[TransformerEncoder] encoderLayer must be a TransformerEncoderLayer" });
  const tr = new Transformer({ dModel: 6, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 8 });
  assert.throws(() => tr.forward(randn(4, 2, 6), randn(3, 3, 6)), {
    message: "[Transformer] the batch number of src [4, 2, 6] and tgt [3, 3, 6] must be equal (dim 1)",
  });
  assert.throws(() => tr.forward(randn(4, 2, 6), randn(3, 2, 5)), {
    message: "[Transformer] the feature number of src [4, 2, 6] and tgt [3, 2, 5] must be equal to dModel 6",
  });
});
