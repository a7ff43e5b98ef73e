// The seed program against PyTorch: same data, initial weights and batch order give the same losses.
import { test } from "node:test";
import assert from "node:assert/strict";
import { nn, optim, noGrad, type Tensor } from "../../src/index.js";
import { closeness, fromFixture, loadFixture, type FixtureTensor } from "../fixture.js";

interface SeedRun {
  x: FixtureTensor; y: FixtureTensor; batchSize: number; epochs: number; lr: number;
  initialState: Record<string, FixtureTensor>; finalState: Record<string, FixtureTensor>;
  permutations: FixtureTensor[]; epochLosses: number[]; finalAccuracy: number;
  firstStep: { loss: FixtureTensor; grads: Record<string, FixtureTensor> };
}

const fx = loadFixture<SeedRun>("seed_run.json");
const toState = (s: Record<string, FixtureTensor>) => Object.fromEntries(Object.entries(s).map(([k, v]) => [k, fromFixture(v)]));

function setup() {
  const model = new nn.Sequential(new nn.Linear(2, 10), new nn.ReLU(), new nn.Linear(10, 1));
  model.loadStateDict(toState(fx.initialState));
  return { model, opt: new optim.Adam(model.parameters(), { lr: fx.lr }), crit: new nn.BCEWithLogitsLoss() };
}

test("seed run: first step's loss and gradients match PyTorch to 1e-5", () => {
  const { model, crit } = setup();
  const x = fromFixture(fx.x), y = fromFixture(fx.y);
  const idx = fromFixture(fx.permutations[0]).narrow(0, 0, fx.batchSize);
  const loss = crit.forward(model.forward(x.indexSelect(0, idx)), y.indexSelect(0, idx));
  loss.backward();
  assert.ok(closeness(loss, fromFixture(fx.firstStep.loss), 1e-5, 1e-7) <= 1, `loss ${loss.item()}`);
  const params = Object.fromEntries(model.namedParameters());
  for (const [k, g] of Object.entries(fx.firstStep.grads)) {
    const c = closeness(params[k].grad as Tensor, fromFixture(g), 1e-5, 1e-7);
    assert.ok(c <= 1, `grad ${k} off by ${c}x the tolerance`);
  }
});

test("seed run: 10 epochs of Adam follow PyTorch's losses and final weights", () => {
  const { model, opt, crit } = setup();
  const x = fromFixture(fx.x), y = fromFixture(fx.y);
  const n = x.shape[0];
  for (let e = 0; e < fx.epochs; e++) {
    const perm = fromFixture(fx.permutations[e]);
    let running = 0, batches = 0;
    for (let i = 0; i < n; i += fx.batchSize) {
      const idx = perm.narrow(0, i, Math.min(fx.batchSize, n - i));
      opt.zeroGrad();
      const loss = crit.forward(model.forward(x.indexSelect(0, idx)), y.indexSelect(0, idx));
      loss.backward();
      opt.step();
      running += loss.item();
      batches++;
    }
    const rel = Math.abs(running / batches - fx.epochLosses[e]) / fx.epochLosses[e];
    assert.ok(rel < 1e-5, `epoch ${e + 1}: loss ${running / batches} vs PyTorch ${fx.epochLosses[e]} (rel ${rel})`);
  }
  const state = model.stateDict();
  for (const [k, v] of Object.entries(fx.finalState)) {
    const c = closeness(state[k], fromFixture(v), 1e-5, 1e-6);
    assert.ok(c <= 1, `final ${k} off by ${c}x the tolerance`);
  }
  const acc = noGrad(() => model.forward(x).gt(0).float().eq(y).float().mean().item());
  assert.equal(acc, fx.finalAccuracy);
});
