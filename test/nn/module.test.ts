// nn.Module: the module tree, parameter and buffer naming, state dicts, modes, printing, and Parameter.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as nn from "../../src/nn/index.js";
import { Tensor } from "../../src/tensor.js";
import { manualSeed, ones, randn, tensor, zeros } from "../../src/index.js";

class NeuralNetwork extends nn.Module {
  layer1 = new nn.Linear(2, 10);
  relu = new nn.ReLU();
  layer2 = new nn.Linear(10, 1);

  forward(x: Tensor): Tensor {
    return this.layer2.forward(this.relu.forward(this.layer1.forward(x)));
  }
}

/** PyTorch: ModuleList + Sequential children, a persistent and a non-persistent buffer. */
class Net extends nn.Module {
  blocks = [new nn.Linear(2, 2), new nn.Tanh()];
  head = new nn.Sequential(new nn.Linear(2, 1), new nn.Sigmoid());
  declare steps: Tensor;
  declare cache: Tensor;

  constructor() {
    super();
    this.registerBuffer("steps", zeros(1));
    this.registerBuffer("cache", zeros(2), { persistent: false });
  }

  forward(x: Tensor): Tensor {
    for (const b of this.blocks) x = b.forward(x);
    return this.head.forward(x);
  }
}

test("toString equals PyTorch's print(model) for the seed model", () => {
  assert.equal(String(new NeuralNetwork()),
    "NeuralNetwork(\n  (layer1): Linear(in_features=2, out_features=10, bias=True)\n  (relu): ReLU()\n  (layer2): Linear(in_features=10, out_features=1, bias=True)\n)");
});

test("toString prints arrays as PyTorch's ModuleList and nests Sequential", () => {
  assert.equal(String(new Net()),
    "Net(\n  (blocks): ModuleList(\n    (0): Linear(in_features=2, out_features=2, bias=True)\n    (1): Tanh()\n  )\n"
    + "  (head): Sequential(\n    (0): Linear(in_features=2, out_features=1, bias=True)\n    (1): Sigmoid()\n  )\n)");
});

test("parameters are named by property path in definition order", () => {
  const m = new NeuralNetwork();
  assert.deepEqual(m.namedParameters().map(([k]) => k), ["layer1.weight", "layer1.bias", "layer2.weight", "layer2.bias"]);
  assert.deepEqual(m.parameters().map((p) => p.shape), [[10, 2], [10], [1, 10], [1]]);
  assert.ok(m.parameters().every((p) => p instanceof nn.Parameter && p.requiresGrad && p.isLeaf));
  assert.deepEqual(m.namedChildren().map(([k]) => k), ["layer1", "relu", "layer2"]);
  assert.deepEqual(m.namedModules().map(([k, v]) => [k, v.constructor.name]),
    [["", "NeuralNetwork"], ["layer1", "Linear"], ["relu", "ReLU"], ["layer2", "Linear"]]);
  assert.equal(m.modules().length, 4);
  assert.equal(m.children()[1], m.relu);
});

test("arrays of modules, nested Sequential and buffers follow PyTorch's naming", () => {
  const n = new Net();
  assert.deepEqual(n.namedParameters().map(([k]) => k), ["blocks.0.weight", "blocks.0.bias", "head.0.weight", "head.0.bias"]);
  assert.deepEqual(Object.keys(n.stateDict()), ["steps", "blocks.0.weight", "blocks.0.bias", "head.0.weight", "head.0.bias"]);
  assert.deepEqual(n.namedBuffers().map(([k]) => k), ["steps", "cache"]);
  assert.equal(n.buffers()[0], n.steps);
  assert.deepEqual(n.namedModules().map(([k]) => k), ["", "blocks.0", "blocks.1", "head", "head.0", "head.1"]);
});

test("Sequential names children 0, 1, ... and supports at, length, iteration, append", () => {
  const lin = new nn.Linear(2, 10);
  const s = new nn.Sequential(lin, new nn.ReLU(), new nn.Linear(10, 1));
  assert.deepEqual(Object.keys(s.stateDict()), ["0.weight", "0.bias", "2.weight", "2.bias"]);
  assert.equal(s.length, 3);
  assert.equal(s.at(0), lin);
  assert.equal(s[0], lin);
  assert.equal(s.at(-1), s[2]);
  assert.throws(() => s.at(3), /^Error: \[Sequential\] index 3 is out of range for 3 modules/);
  assert.deepEqual([...s].map((m) => m.constructor.name), ["Linear", "ReLU", "Linear"]);
  s.append(new nn.Sigmoid());
  assert.equal(s.length, 4);
  const y = s.forward(randn(5, 2));
  assert.deepEqual(y.shape, [5, 1]);
  assert.ok(y.toTypedArray().every((v) => v > 0 && v < 1));
  assert.throws(() => s.append({} as nn.Module), /^Error: \[Sequential\] expected a Module, got Object/);
});

test("shared parameters and modules are listed once; stateDict keeps every path", () => {
  class Tied extends nn.Module {
    a = new nn.Linear(3, 3);
    b = this.a;
    extra = nn.Parameter(ones(2));
    forward(x: Tensor): Tensor { return this.b.forward(this.a.forward(x)); }
  }
  const t = new Tied();
  assert.deepEqual(t.namedParameters().map(([k]) => k), ["extra", "a.weight", "a.bias"]);
  assert.deepEqual(Object.keys(t.stateDict()), ["extra", "a.weight", "a.bias", "b.weight", "b.bias"]);
  assert.equal(t.children().length, 1);
});

test("stateDict returns detached aliases of the live tensors", () => {
  const m = new NeuralNetwork();
  const sd = m.stateDict();
  assert.ok(Object.values(sd).every((t) => !t.requiresGrad && t.gradFn === null));
  assert.equal(sd["layer1.weight"].buf, m.layer1.weight.buf);
  assert.ok(!(sd["layer1.weight"] instanceof nn.Parameter));
});

test("loadStateDict round-trips values in place, keeping the Parameter objects", () => {
  manualSeed(1);
  const src = new NeuralNetwork();
  const dst = new NeuralNetwork();
  const w = dst.layer1.weight;
  const snapshot = Object.fromEntries(Object.entries(src.stateDict()).map(([k, v]) => [k, v.clone()]));
  assert.deepEqual(dst.loadStateDict(snapshot), { missingKeys: [], unexpectedKeys: [] });
  assert.equal(dst.layer1.weight, w);
  for (const [k, v] of Object.entries(dst.stateDict())) assert.deepEqual(v.tolist(), snapshot[k].tolist(), k);
  const x = randn(4, 2);
  assert.deepEqual(dst.forward(x).tolist(), src.forward(x).tolist());
  // float64 values are cast to the parameter's dtype
  dst.loadStateDict({ ...snapshot, "layer2.bias": tensor([0.5], { dtype: "float64" }) });
  assert.equal(dst.layer2.bias!.dtype, "float32");
  assert.deepEqual(dst.layer2.bias!.tolist(), [0.5]);
});

test("loadStateDict errors name missing and unexpected keys and size mismatches, and copy nothing", () => {
  const m = new NeuralNetwork();
  const before = m.layer2.bias!.tolist();
  const sd: Record<string, Tensor> = { ...m.stateDict(), "layer1.weight": zeros(10, 3), foo: zeros(1), "layer2.bias": ones(1) };
  delete sd["layer1.bias"];
  assert.throws(() => m.loadStateDict(sd), (e: Error) => {
    assert.equal(e.message, "[loadStateDict] Error(s) in loading stateDict for NeuralNetwork:\n"
      + "\tMissing key(s) in stateDict: \"layer1.bias\". \n"
      + "\tUnexpected key(s) in stateDict: \"foo\". \n"
      + "\tsize mismatch for layer1.weight: copying a param with shape [10, 3] from checkpoint, the shape in current model is [10, 2].");
    return true;
  });
  assert.deepEqual(m.layer2.bias!.tolist(), before);
});

test("loadStateDict with strict: false reports keys but still rejects shape mismatches", () => {
  const m = new NeuralNetwork();
  const res = m.loadStateDict({ "layer2.bias": tensor([3]), bogus: zeros(1) }, { strict: false });
  assert.deepEqual(res, { missingKeys: ["layer1.weight", "layer1.bias", "layer2.weight"], unexpectedKeys: ["bogus"] });
  assert.deepEqual(m.layer2.bias!.tolist(), [3]);
  assert.throws(() => m.loadStateDict({ "layer2.bias": zeros(2) }, { strict: false }),
    /^Error: \[loadStateDict\] Error\(s\) in loading stateDict for NeuralNetwork:\n\tsize mismatch for layer2\.bias: copying a param with shape \[2\] from checkpoint, the shape in current model is \[1\]\.$/);
  assert.throws(() => m.loadStateDict({ "layer2.bias": [1] as unknown as Tensor }, { strict: false }),
    /expected a Tensor from checkpoint but received Array/);
});

test("loadStateDict restores buffers but not non-persistent ones", () => {
  const n = new Net();
  const sd = n.stateDict();
  assert.ok(!("cache" in sd));
  const fresh = new Net();
  fresh.loadStateDict({ ...Object.fromEntries(Object.entries(sd).map(([k, v]) => [k, v.clone()])), steps: tensor([7]) });
  assert.deepEqual(fresh.steps.tolist(), [7]);
});

test("train/eval set the training flag on the whole tree", () => {
  const n = new Net();
  assert.ok(n.modules().every((m) => m.training));
  assert.equal(n.eval(), n);
  assert.ok(n.modules().every((m) => !m.training));
  n.train();
  assert.ok(n.modules().every((m) => m.training));
  n.train(false);
  assert.equal(n.head.at(0).training, false);
  assert.throws(() => n.train("yes" as unknown as boolean), /^Error: \[train\] training mode is expected to be boolean, got string/);
});

test("zeroGrad sets every grad to null; requiresGrad_ freezes and unfreezes", () => {
  const m = new NeuralNetwork();
  m.forward(randn(3, 2)).sum().backward();
  assert.ok(m.parameters().every((p) => p.grad instanceof Tensor));
  m.zeroGrad();
  assert.ok(m.parameters().every((p) => p.grad === null));
  m.layer1.requiresGrad_(false);
  const y = m.forward(randn(3, 2));
  y.sum().backward();
  assert.equal(m.layer1.weight.grad, null);
  assert.ok(m.layer2.weight.grad instanceof Tensor);
  assert.equal(m.requiresGrad_(), m);
  assert.ok(m.parameters().every((p) => p.requiresGrad));
});

test("apply visits children before the parent; call is forward", () => {
  const s = new nn.Sequential(new nn.Linear(1, 1), new nn.Sequential(new nn.ReLU()));
  const order: string[] = [];
  s.apply((m) => order.push(m.constructor.name));
  assert.deepEqual(order, ["Linear", "ReLU", "Sequential", "Sequential"]);
  const m = new NeuralNetwork();
  const x = randn(2, 2);
  assert.deepEqual(m.call(x).tolist(), m.forward(x).tolist());
});

test("to / double / float cast parameters, grads and buffers in place", () => {
  const n = new Net();
  const w = n.head.at(0) as nn.Linear;
  const p = w.weight;
  n.forward(randn(2, 2)).sum().backward();
  n.double();
  assert.equal(w.weight, p);
  assert.ok(n.parameters().every((t) => t.dtype === "float64" && t.grad?.dtype === "float64"));
  assert.equal(n.steps.dtype, "float64");
  assert.equal(n.forward(randn(2, 2, { dtype: "float64" })).dtype, "float64");
  n.float();
  assert.ok(n.parameters().every((t) => t.dtype === "float32"));
  assert.throws(() => n.to("int32"), /^Error: \[Module\.to\] only floating point dtypes are accepted, got int32/);
});

test("registerBuffer validates names and values", () => {
  const m = new NeuralNetwork();
  assert.throws(() => m.registerBuffer("a.b", zeros(1)), /^Error: \[registerBuffer\] buffer name must be a non-empty string without "\."/);
  assert.throws(() => m.registerBuffer("layer1", zeros(1)), /^Error: \[registerBuffer\] attribute 'layer1' already exists/);
  assert.throws(() => m.registerBuffer("b", 3 as unknown as Tensor), /^Error: \[registerBuffer\] cannot assign number as buffer 'b'/);
  assert.throws(() => m.registerBuffer("b", nn.Parameter(zeros(1))), /^Error: \[registerBuffer\] 'b' is a Parameter/);
  m.registerBuffer("empty", null);
  assert.ok(!("empty" in m.stateDict()));
});

test("Parameter: callable with or without new, shares storage, starts a leaf, prints as PyTorch", () => {
  const t = randn(2, 2).mul(2);
  const p = nn.Parameter(t);
  const q = new nn.Parameter(t, false);
  assert.ok(p instanceof nn.Parameter && p instanceof Tensor && q instanceof nn.Parameter);
  assert.ok(p.requiresGrad && p.isLeaf && !q.requiresGrad);
  assert.equal(p.buf, t.buf);
  assert.ok(!(t instanceof nn.Parameter));
  assert.ok(!(p.mul(2) instanceof nn.Parameter));
  assert.equal(String(nn.Parameter(tensor([1, 2]))), "Parameter containing:\ntensor([1., 2.], requiresGrad=true)");
  assert.throws(() => nn.Parameter(tensor([1], { dtype: "int32" })), /only floating point tensors can require gradients/);
  assert.throws(() => nn.Parameter([1] as unknown as Tensor), /^Error: \[Parameter\] expected a Tensor, got Array/);
});
