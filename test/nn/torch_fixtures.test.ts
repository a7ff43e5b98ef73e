// nn layers and losses against PyTorch (fixtures/torch/modules.json): outputs, input grads and parameter grads.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as nn from "../../src/nn/index.js";
import type { Tensor } from "../../src/tensor.js";
import { closeness, fromFixture, loadFixture, type FixtureTensor } from "../fixture.js";

interface ModuleCase {
  module: string;
  case: string;
  args: Record<string, unknown>;
  stateDict: Record<string, FixtureTensor>;
  inputs: FixtureTensor[];
  output: FixtureTensor;
  gradOutput: FixtureTensor;
  grads: (FixtureTensor | null)[];
  paramGrads: Record<string, FixtureTensor>;
}

const RTOL = 1e-5, ATOL = 1e-6;

/** The args object with exactly the allowed keys (an unknown key means the mapping is stale: fail). */
function take(module: string, args: Record<string, unknown>, allowed: string[]): Record<string, unknown> {
  for (const k of Object.keys(args)) {
    if (!allowed.includes(k)) throw new Error(`fixture ${module} has arg '${k}' that the test does not map (known: ${allowed.join(", ")})`);
  }
  return args;
}

const optTensor = (v: unknown): Tensor | null => (v === undefined ? null : fromFixture(v as FixtureTensor));
type Reduction = nn.Reduction;

const builders: Record<string, (a: Record<string, unknown>) => nn.Module> = {
  Linear: (a) => new nn.Linear(a.inFeatures as number, a.outFeatures as number, { bias: a.bias as boolean }),
  Sequential: (a) => new nn.Sequential(...(a.layers as { module: string; args: Record<string, unknown> }[]).map((l) => build(l.module, l.args))),
  ReLU: () => new nn.ReLU(),
  LeakyReLU: (a) => new nn.LeakyReLU(a.negativeSlope as number),
  Sigmoid: () => new nn.Sigmoid(),
  Tanh: () => new nn.Tanh(),
  GELU: (a) => new nn.GELU({ approximate: a.approximate as "none" | "tanh" }),
  SiLU: () => new nn.SiLU(),
  Softmax: (a) => new nn.Softmax(a.dim as number),
  Flatten: (a) => new nn.Flatten(a.startDim as number, a.endDim as number),
  Identity: () => new nn.Identity(),
  BCEWithLogitsLoss: (a) => new nn.BCEWithLogitsLoss({ reduction: a.reduction as Reduction, weight: optTensor(a.weight), posWeight: optTensor(a.posWeight) }),
  BCELoss: (a) => new nn.BCELoss({ reduction: a.reduction as Reduction, weight: optTensor(a.weight) }),
  CrossEntropyLoss: (a) => new nn.CrossEntropyLoss({
    reduction: a.reduction as Reduction, weight: optTensor(a.weight), ignoreIndex: a.ignoreIndex as number | undefined,
    labelSmoothing: a.labelSmoothing as number | undefined,
  }),
  NLLLoss: (a) => new nn.NLLLoss({ reduction: a.reduction as Reduction, weight: optTensor(a.weight), ignoreIndex: a.ignoreIndex as number | undefined }),
  MSELoss: (a) => new nn.MSELoss({ reduction: a.reduction as Reduction }),
  L1Loss: (a) => new nn.L1Loss({ reduction: a.reduction as Reduction }),
  SmoothL1Loss: (a) => new nn.SmoothL1Loss({ reduction: a.reduction as Reduction, beta: a.beta as number }),
  HuberLoss: (a) => new nn.HuberLoss({ reduction: a.reduction as Reduction, delta: a.delta as number }),
};

const argKeys: Record<string, string[]> = {
  Linear: ["inFeatures", "outFeatures", "bias"], Sequential: ["layers"], ReLU: [], LeakyReLU: ["negativeSlope"], Sigmoid: [], Tanh: [],
  GELU: ["approximate"], SiLU: [], Softmax: ["dim"], Flatten: ["startDim", "endDim"], Identity: [],
  BCEWithLogitsLoss: ["reduction", "weight", "posWeight"], BCELoss: ["reduction", "weight"],
  CrossEntropyLoss: ["reduction", "weight", "ignoreIndex", "labelSmoothing"], NLLLoss: ["reduction", "weight", "ignoreIndex"],
  MSELoss: ["reduction"], L1Loss: ["reduction"], SmoothL1Loss: ["reduction", "beta"], HuberLoss: ["reduction", "delta"],
};

function build(module: string, args: Record<string, unknown>): nn.Module {
  const b = builders[module];
  if (!b) throw new Error(`fixture module '${module}' has no Kiln mapping`);
  return b(take(module, args, argKeys[module]));
}

function assertClose(what: string, actual: Tensor | null, expected: FixtureTensor): void {
  assert.ok(actual, `${what}: missing (expected shape [${expected.shape.join(", ")}])`);
  assert.equal(actual.dtype, expected.dtype, `${what}: dtype`);
  const c = closeness(actual, fromFixture(expected), RTOL, ATOL);
  assert.ok(c <= 1, `${what}: off by ${c.toFixed(2)}x the tolerance (rtol ${RTOL}, atol ${ATOL})`);
}

const cases = loadFixture<ModuleCase[]>("modules.json");

test("modules.json covers every layer and loss family", () => {
  const seen = new Set(cases.map((c) => c.module));
  for (const name of Object.keys(builders)) assert.ok(seen.has(name), `no fixture for ${name}`);
});

for (const c of cases) {
  test(`${c.module} ${c.case} matches PyTorch`, () => {
    const mod = build(c.module, c.args);
    mod.loadStateDict(Object.fromEntries(Object.entries(c.stateDict).map(([k, v]) => [k, fromFixture(v)])));
    const inputs = c.inputs.map((t, i) => {
      const x = fromFixture(t);
      return c.grads[i] !== null ? x.requiresGrad_() : x;
    });
    const out = mod.forward(...inputs) as Tensor;
    assertClose("output", out, c.output);
    out.backward(fromFixture(c.gradOutput));
    c.grads.forEach((g, i) => {
      if (g === null) assert.equal(inputs[i].grad, null, `input ${i} should get no gradient`);
      else assertClose(`grad of input ${i}`, inputs[i].grad, g);
    });
    const params = Object.fromEntries(mod.namedParameters());
    assert.deepEqual(Object.keys(params).sort(), Object.keys(c.paramGrads).sort(), "parameter names");
    for (const [k, g] of Object.entries(c.paramGrads)) assertClose(`grad of ${k}`, params[k].grad, g);
  });
}
