// RNN, LSTM, GRU and their cells: PyTorch fixtures, float64 gradchecks, dropout, printing and errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Module } from "../../src/nn/module.js";
import { GRU, GRUCell, LSTM, LSTMCell, RNN, RNNCell } from "../../src/nn/layers/recurrent.js";
import * as F from "../../src/nn/functional.js";
import { gradcheck } from "../../src/autograd/gradcheck.js";
import { cat, Generator, manualSeed, noGrad, randn, stack, zeros } from "../../src/index.js";
import type { Tensor } from "../../src/tensor.js";
import { closeness, fromFixture, loadFixture, type FixtureTensor } from "../fixture.js";

// ---- PyTorch fixtures --------------------------------------------------------------------------------

interface RecurrentCase {
  module: string;
  case: string;
  mode: "train" | "eval";
  args: Record<string, unknown>;
  repr: string;
  stateDict: Record<string, FixtureTensor>;
  inputs: Record<string, FixtureTensor>;
  outputs: Record<string, FixtureTensor>;
  gradOutputs: Record<string, FixtureTensor>;
  grads: Record<string, FixtureTensor>;
  paramGrads: Record<string, FixtureTensor>;
}

// float32 values agree to these tolerances although Kiln accumulates sums in double and PyTorch in float32
const RTOL = 1e-5, ATOL = 1e-6;

type Args = Record<string, unknown>;
type Run = (m: Module, inputs: Record<string, Tensor>) => Record<string, Tensor>;

/** Build each module from the fixture's args (unknown options fail in checkOptions) and name its outputs as the fixture does. */
const builders: Record<string, { build: (a: Args) => Module; run: Run }> = {
  RNN: {
    build: ({ inputSize, hiddenSize, ...o }) => new RNN(inputSize as number, hiddenSize as number, o),
    run: (m, i) => { const r = (m as RNN).forward(i.input, i.h0); return { output: r.output, hN: r.hN }; },
  },
  GRU: {
    build: ({ inputSize, hiddenSize, ...o }) => new GRU(inputSize as number, hiddenSize as number, o),
    run: (m, i) => { const r = (m as GRU).forward(i.input, i.h0); return { output: r.output, hN: r.hN }; },
  },
  LSTM: {
    build: ({ inputSize, hiddenSize, ...o }) => new LSTM(inputSize as number, hiddenSize as number, o),
    run: (m, i) => {
      const r = (m as LSTM).forward(i.input, i.h0 ? [i.h0, i.c0] : undefined);
      return { output: r.output, hN: r.hN, cN: r.cN };
    },
  },
  RNNCell: {
    build: ({ inputSize, hiddenSize, ...o }) => new RNNCell(inputSize as number, hiddenSize as number, o),
    run: (m, i) => ({ h: (m as RNNCell).forward(i.input, i.h0) }),
  },
  GRUCell: {
    build: ({ inputSize, hiddenSize, ...o }) => new GRUCell(inputSize as number, hiddenSize as number, o),
    run: (m, i) => ({ h: (m as GRUCell).forward(i.input, i.h0) }),
  },
  LSTMCell: {
    build: ({ inputSize, hiddenSize, ...o }) => new LSTMCell(inputSize as number, hiddenSize as number, o),
    run: (m, i) => {
      const [h, c] = (m as LSTMCell).forward(i.input, i.h0 ? [i.h0, i.c0] : undefined);
      return { h, c };
    },
  },
};

function assertClose(what: string, actual: Tensor | null, expected: FixtureTensor): void {
  assert.ok(actual, `${what}: missing (expected shape [${expected.shape.join(", ")}])`);
  assert.equal(actual.dtype, expected.dtype, `${what}: dtype`);
  const c = closeness(actual, fromFixture(expected), RTOL, ATOL);
  assert.ok(c <= 1, `${what}: off by ${c.toFixed(2)}x the tolerance (rtol ${RTOL}, atol ${ATOL})`);
}

const fixture = loadFixture<{ cases: RecurrentCase[] }>("layers_recurrent.json");

test("layers_recurrent.json covers every class", () => {
  for (const name of Object.keys(builders)) assert.ok(fixture.cases.some((c) => c.module === name), `no fixture for ${name}`);
});

for (const c of fixture.cases) {
  test(`${c.module} ${c.case} (${c.mode}) matches PyTorch`, () => {
    const spec = builders[c.module];
    assert.ok(spec, `fixture module '${c.module}' has no Kiln mapping`);
    const mod = spec.build(c.args);
    assert.equal(String(mod), c.repr);
    assert.deepEqual(Object.keys(mod.stateDict()), Object.keys(c.stateDict), "stateDict keys and order");
    mod.loadStateDict(Object.fromEntries(Object.entries(c.stateDict).map(([k, v]) => [k, fromFixture(v)])));
    mod.train(c.mode === "train");
    const inputs = Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, fromFixture(v).requiresGrad_()]));
    const outs = spec.run(mod, inputs);
    assert.deepEqual(Object.keys(outs), Object.keys(c.outputs), "outputs");
    for (const [k, v] of Object.entries(c.outputs)) assertClose(k, outs[k], v);
    // one backward through the sum of <output, gradOutput> over every output, as the generator does
    let loss: Tensor | null = null;
    for (const [k, g] of Object.entries(c.gradOutputs)) {
      const term = outs[k].mul(fromFixture(g)).sum();
      loss = loss ? loss.add(term) : term;
    }
    loss!.backward();
    for (const [k, g] of Object.entries(c.grads)) assertClose(`grad of ${k}`, inputs[k].grad, g);
    const params = Object.fromEntries(mod.namedParameters());
    assert.deepEqual(Object.keys(params), Object.keys(c.paramGrads), "parameter names");
    for (const [k, g] of Object.entries(c.paramGrads)) assertClose(`grad of ${k}`, params[k].grad, g);
  });
}

// ---- gradchecks (float64, tiny sizes) ------------------------------------------------------------------

const f64 = { dtype: "float64" as const };
const t64 = (...shape: number[]) => randn(shape, f64).requiresGrad_();

test("gradcheck: RNN (tanh, relu), LSTM and GRU: layers, bidirectional, batchFirst, no bias, unbatched", () => {
  manualSeed(1);
  type Family = [string, (o: Args) => RNN | LSTM | GRU];
  const families: Family[] = [
    ["RNN", (o) => new RNN(2, 3, { ...o, dtype: "float64" })],
    // relu's kink is away from the sample points: the pre-activations here are not near zero
    ["RNN relu", (o) => new RNN(2, 3, { ...o, nonlinearity: "relu", dtype: "float64" })],
    ["LSTM", (o) => new LSTM(2, 3, { ...o, dtype: "float64" })],
    ["GRU", (o) => new GRU(2, 3, { ...o, dtype: "float64" })],
  ];
  const variants: [Args, number[], number[]][] = [
    [{}, [3, 2, 2], [1, 2, 3]],
    [{ numLayers: 2, bidirectional: true, batchFirst: true }, [2, 3, 2], [4, 2, 3]],
    [{ bias: false }, [2, 1, 2], [1, 1, 3]],
    [{ bidirectional: true }, [3, 2], [2, 3]], // unbatched
    [{ numLayers: 2 }, [1, 2, 2], [2, 2, 3]], // a single time step
  ];
  for (const [name, make] of families) {
    for (const [opts, xShape, hShape] of variants) {
      const m = make(opts);
      const lstm = m instanceof LSTM;
      const ins = [t64(...xShape), t64(...hShape), ...(lstm ? [t64(...hShape)] : []), ...m.parameters()];
      const fn = (x: Tensor, h: Tensor, c: Tensor): Tensor[] => {
        if (m instanceof LSTM) { const r = m.forward(x, [h, c]); return [r.output, r.hN, r.cN]; }
        const r = m.forward(x, h);
        return [r.output, r.hN];
      };
      assert.ok(gradcheck(fn, ins), `${name} ${JSON.stringify(opts)}`);
    }
  }
});

test("gradcheck: RNNCell (tanh, relu), LSTMCell and GRUCell, batched and unbatched", () => {
  manualSeed(2);
  for (const batch of [[2], []]) {
    const rnn = new RNNCell(2, 3, f64), relu = new RNNCell(2, 3, { nonlinearity: "relu", bias: false, dtype: "float64" });
    for (const cell of [rnn, relu]) assert.ok(gradcheck((x, h) => cell.forward(x, h), [t64(...batch, 2), t64(...batch, 3), ...cell.parameters()]));
    const gru = new GRUCell(2, 3, f64);
    assert.ok(gradcheck((x, h) => gru.forward(x, h), [t64(...batch, 2), t64(...batch, 3), ...gru.parameters()]));
    const lstm = new LSTMCell(2, 3, f64);
    assert.ok(gradcheck((x, h, c) => lstm.forward(x, [h, c]), [t64(...batch, 2), t64(...batch, 3), t64(...batch, 3), ...lstm.parameters()]));
  }
});

test("gradcheck: inter-layer dropout in training mode (same mask on every evaluation)", () => {
  const m = new GRU(2, 3, { numLayers: 2, dropout: 0.4, dtype: "float64" });
  assert.ok(gradcheck((x) => { manualSeed(7); return m.forward(x).output; }, [t64(3, 2, 2), ...m.parameters()]));
});

// ---- semantics -----------------------------------------------------------------------------------------

function same(a: Tensor, b: Tensor, tol = 0): void {
  assert.deepEqual(a.shape, b.shape);
  const x = a.toTypedArray(), y = b.toTypedArray();
  for (let i = 0; i < x.length; i++) assert.ok(Math.abs(x[i] - y[i]) <= tol, `element ${i}: ${x[i]} vs ${y[i]}`);
}

test("a sequence layer equals its cell stepped over time; layers stack; the reverse direction runs backwards", () => {
  manualSeed(3);
  const lstm = new LSTM(3, 4, { numLayers: 2, bidirectional: true });
  const x = randn(5, 2, 3);
  const { output, hN, cN } = lstm.forward(x);
  const sd = lstm.stateDict();
  const cellFor = (suffix: string) => {
    const cell = new LSTMCell(suffix.startsWith("l0") ? 3 : 8, 4);
    cell.loadStateDict({ weight_ih: sd[`weight_ih_${suffix}`], weight_hh: sd[`weight_hh_${suffix}`], bias_ih: sd[`bias_ih_${suffix}`], bias_hh: sd[`bias_hh_${suffix}`] });
    return cell;
  };
  let input = x;
  const finals: Tensor[][] = [[], []];
  for (const layer of [0, 1]) {
    const dirs = ["", "_reverse"].map((rev) => {
      const cell = cellFor(`l${layer}${rev}`);
      const outs: Tensor[] = new Array(5);
      let state: [Tensor, Tensor] = [zeros(2, 4), zeros(2, 4)];
      for (let s = 0; s < 5; s++) {
        const t = rev ? 4 - s : s;
        state = cell.forward(input.select(0, t), state);
        outs[t] = state[0];
      }
      finals[0].push(state[0]);
      finals[1].push(state[1]);
      return stack(outs);
    });
    input = cat(dirs, 2);
  }
  same(output, input, 1e-6);
  same(hN, stack(finals[0]), 1e-6);
  same(cN, stack(finals[1]), 1e-6);
});

test("batchFirst and unbatched inputs give the same numbers as the (L, B, H_in) layout", () => {
  manualSeed(4);
  const a = new GRU(3, 4, { numLayers: 2 }), b = new GRU(3, 4, { numLayers: 2, batchFirst: true });
  b.loadStateDict(a.stateDict());
  const x = randn(6, 2, 3), h0 = randn(2, 2, 4);
  const r = a.forward(x, h0), rb = b.forward(x.transpose(0, 1), h0);
  same(rb.output, r.output.transpose(0, 1));
  same(rb.hN, r.hN);
  const one = a.forward(x.select(1, 1), h0.select(1, 1));
  same(one.output, r.output.select(1, 1), 1e-6);
  same(one.hN, r.hN.select(1, 1), 1e-6);
});

test("inter-layer dropout: applied between layers in training only, with the default generator", () => {
  manualSeed(5);
  const m = new RNN(3, 4, { numLayers: 2, dropout: 0.5 });
  const x = randn(4, 2, 3);
  const evalOut = m.eval().forward(x).output;
  m.train();
  manualSeed(11);
  const trainOut = m.forward(x).output;
  assert.ok(trainOut.sub(evalOut).abs().max().item() > 1e-3, "training mode drops");
  // the same computation by hand: layer 0, F.dropout with the same stream, layer 1
  const sd = m.stateDict();
  const l0 = new RNN(3, 4), l1 = new RNN(4, 4);
  l0.loadStateDict({ weight_ih_l0: sd.weight_ih_l0, weight_hh_l0: sd.weight_hh_l0, bias_ih_l0: sd.bias_ih_l0, bias_hh_l0: sd.bias_hh_l0 });
  l1.loadStateDict({ weight_ih_l0: sd.weight_ih_l1, weight_hh_l0: sd.weight_hh_l1, bias_ih_l0: sd.bias_ih_l1, bias_hh_l0: sd.bias_hh_l1 });
  manualSeed(11);
  same(trainOut, l1.forward(F.dropout(l0.forward(x).output, { p: 0.5 })).output);
  // dropout never touches the last layer's output
  const single = new RNN(3, 4, { dropout: 0.9 });
  same(single.forward(x).output, single.eval().forward(x).output);
});

test("parameters: PyTorch names, shapes and U(-1/sqrt(H), 1/sqrt(H)) init; dtype and generator options", () => {
  manualSeed(6);
  const gru = new GRU(3, 16, { numLayers: 2, bidirectional: true });
  const shapes = Object.fromEntries(gru.namedParameters().map(([k, p]) => [k, p.shape]));
  assert.deepEqual(shapes.weight_ih_l0, [48, 3]);
  assert.deepEqual(shapes.weight_hh_l0_reverse, [48, 16]);
  assert.deepEqual(shapes.weight_ih_l1, [48, 32]);
  assert.deepEqual(shapes.bias_hh_l1_reverse, [48]);
  assert.equal(Object.keys(shapes).length, 16);
  const all = gru.parameters().flatMap((p) => Array.from(p.toTypedArray()));
  assert.ok(all.every((v) => Math.abs(v) <= 0.25), "within 1/sqrt(16)");
  assert.ok(Math.max(...all) > 0.24 && Math.min(...all) < -0.24, "spans the range");
  assert.deepEqual(new LSTM(2, 3, { bias: false }).namedParameters().map(([k]) => k), ["weight_ih_l0", "weight_hh_l0"]);
  assert.deepEqual(new LSTMCell(2, 3).namedParameters().map(([k, p]) => [k, p.shape]), [
    ["weight_ih", [12, 2]], ["weight_hh", [12, 3]], ["bias_ih", [12]], ["bias_hh", [12]],
  ]);
  assert.deepEqual(new GRUCell(2, 3, { bias: false }).namedParameters().map(([k]) => k), ["weight_ih", "weight_hh"]);
  assert.ok(new RNN(2, 3, f64).parameters().every((p) => p.dtype === "float64"));
  const [a, b] = [new LSTM(2, 3, { generator: new Generator(9) }), new LSTM(2, 3, { generator: new Generator(9) })];
  assert.deepEqual(a.parameters().map((p) => p.tolist()), b.parameters().map((p) => p.tolist()));
});

test("toString equals PyTorch's print", () => {
  assert.equal(String(new LSTM(3, 5, { numLayers: 2, batchFirst: true, bidirectional: true })), "LSTM(3, 5, num_layers=2, batch_first=True, bidirectional=True)");
  assert.equal(String(new RNN(3, 5, { numLayers: 2, nonlinearity: "relu", bias: false, dropout: 0.5 })), "RNN(3, 5, num_layers=2, bias=False, dropout=0.5)");
  assert.equal(String(new GRU(4, 8)), "GRU(4, 8)");
  assert.equal(String(new RNNCell(3, 5, { nonlinearity: "relu", bias: false })), "RNNCell(3, 5, bias=False, nonlinearity=relu)");
  assert.equal(String(new LSTMCell(3, 5, { bias: false })), "LSTMCell(3, 5, bias=False)");
  assert.equal(String(new GRUCell(3, 5)), "GRUCell(3, 5)");
});

test("errors name the op and the shapes", () => {
  const lstm = new LSTM(3, 5, { numLayers: 2 });
  assert.throws(() => lstm.forward(randn(7, 2, 4)), { message: "[LSTM] input.size(-1) must be equal to inputSize: expected 3, got 4 (input [7, 2, 4])" });
  assert.throws(() => lstm.forward(randn(3)), { message: "[LSTM] expected input to be 2-D (L, H_in) or 3-D (L, N, H_in), got 1-D tensor of shape [3]" });
  assert.throws(() => lstm.forward(randn(7, 2, 3), [zeros(2, 3, 5), zeros(2, 2, 5)]), { message: "[LSTM] expected hx of shape [2, 2, 5], got [2, 3, 5]" });
  assert.throws(() => lstm.forward(randn(7, 2, 3), [zeros(2, 2, 5), zeros(1, 2, 5)]), { message: "[LSTM] expected cx of shape [2, 2, 5], got [1, 2, 5]" });
  assert.throws(() => lstm.forward(randn(7, 3), [zeros(2, 1, 5), zeros(2, 1, 5)]), { message: "[LSTM] for unbatched 2-D input, hx should also be 2-D but got 3-D tensor of shape [2, 1, 5]" });
  assert.throws(() => lstm.forward(randn(7, 2, 3), zeros(2, 2, 5) as never), { message: "[LSTM] hx must be a pair [h0, c0], got Tensor" });
  assert.throws(() => new GRU(3, 5).forward(randn(7, 2, 3), zeros(2, 5)), { message: "[GRU] for batched 3-D input, hx should also be 3-D but got 2-D tensor of shape [2, 5]" });
  assert.throws(() => new GRU(3, 5).forward(randn(7, 2, 3), [zeros(1, 2, 5)] as never), { message: "[GRU] hx must be a Tensor, got Array" });
  assert.throws(() => new RNN(3, 5).forward([[1, 2, 3]] as never), { message: "[RNN] input must be a Tensor, got Array" });
  assert.throws(() => new RNN(3, 5).forward(zeros([7, 2, 3], { dtype: "int32" })), { message: "[RNN] expected a floating point input, got int32" });
  assert.throws(() => new RNN(3, 5).forward(zeros(0, 2, 3)), { message: "[RNN] expected a sequence of length at least 1, got input [0, 2, 3]" });
  assert.throws(() => new RNN(3, 5, { nonlinearity: "gelu" as never }), { message: "[RNN] unknown nonlinearity \"gelu\"; select from 'tanh' or 'relu'" });
  assert.throws(() => new GRU(3, 0), { message: "[GRU] hiddenSize must be a positive integer, got 0" });
  assert.throws(() => new LSTM(3, 5, { numLayers: 1.5 }), { message: "[LSTM] numLayers must be a positive integer, got 1.5" });
  assert.throws(() => new LSTM(3, 5, { dropout: 1.5 }), { message: "[LSTM] dropout should be a number in range [0, 1] representing the probability of an element being zeroed, got 1.5" });
  assert.throws(() => new GRU(3, 5, { batch_first: true } as never), { message: "[GRU] unknown option 'batch_first'; expected one of numLayers, bias, batchFirst, dropout, bidirectional, dtype, generator" });
  assert.throws(() => new RNNCell(3, 5).forward(randn(2, 4)), { message: "[RNNCell] input has inconsistent input size: got 4, expected 3 (input [2, 4])" });
  assert.throws(() => new GRUCell(3, 5).forward(randn(2, 2, 3)), { message: "[GRUCell] expected input to be 1-D (H_in) or 2-D (N, H_in), got 3-D tensor of shape [2, 2, 3]" });
  assert.throws(() => new LSTMCell(3, 5).forward(randn(2, 3), [zeros(2, 5), zeros(5)]), { message: "[LSTMCell] expected cx of shape [2, 5] for input [2, 3], got [5]" });
  assert.throws(() => new GRUCell(3, 5).forward(randn(3), zeros(1, 5)), { message: "[GRUCell] expected hx of shape [5] for input [3], got [1, 5]" });
});

test("gradients flow to every parameter, input and initial state; noGrad records nothing", () => {
  manualSeed(8);
  const m = new LSTM(3, 4, { numLayers: 2, bidirectional: true });
  const x = randn(5, 2, 3).requiresGrad_(), h0 = randn(4, 2, 4).requiresGrad_(), c0 = randn(4, 2, 4).requiresGrad_();
  const r = m.forward(x, [h0, c0]);
  r.output.sum().add(r.cN.sum()).backward();
  for (const [k, p] of m.namedParameters()) assert.ok(p.grad && p.grad.abs().sum().item() > 0, `grad of ${k}`);
  for (const t of [x, h0, c0]) assert.ok(t.grad && t.grad.abs().sum().item() > 0);
  const y = noGrad(() => m.forward(x).output);
  assert.equal(y.requiresGrad, false);
});
