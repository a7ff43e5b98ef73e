// Optimizers, schedulers and gradient clipping against PyTorch 1.13 (fixtures/torch/optim.json).
import { test } from "node:test";
import assert from "node:assert/strict";
import { zeros, type Tensor } from "../../src/index.js";
import { Adagrad, Adam, AdamW, RMSprop, SGD, clipGradNorm_, clipGradValue_, lrScheduler, type Optimizer } from "../../src/optim/index.js";
import { closeness, fromFixture, loadFixture, type FixtureTensor } from "../fixture.js";

type Args = Record<string, unknown>;
interface OptimCase { optim: string; case: string; args: Args; params: FixtureTensor[]; grads: FixtureTensor[][]; after: FixtureTensor[][] }
interface SchedCase {
  scheduler: string; case: string; args: Args; optim: string; optimArgs: Args; steps: number; lrs: number[];
  metrics?: number[]; momentums?: number[];
}
interface ClipNormCase { case: string; args: { maxNorm: number; normType: number | "inf" }; gradsBefore: FixtureTensor[]; gradsAfter: FixtureTensor[]; totalNorm: FixtureTensor }
interface ClipValueCase { case: string; args: { clipValue: number }; gradsBefore: FixtureTensor[]; gradsAfter: FixtureTensor[] }
interface OptimFixture { optimizers: OptimCase[]; schedulers: SchedCase[]; clipGradNorm: ClipNormCase[]; clipGradValue: ClipValueCase[] }

const fx = loadFixture<OptimFixture>("optim.json");
const RTOL = 1e-5, ATOL = 1e-6;

function assertClose(actual: Tensor, expected: FixtureTensor, what: string): void {
  const c = closeness(actual, fromFixture(expected), RTOL, ATOL);
  assert.ok(c <= 1, `${what}: off by ${c.toFixed(2)}x the tolerance`);
}

// Every constructor the fixture may name; an unknown name fails the test instead of being skipped.
const OPTIMIZERS: Record<string, (params: Tensor[], args: Args) => Optimizer> = {
  SGD: (p, a) => new SGD(p, a as { lr: number }),
  Adam: (p, a) => new Adam(p, a),
  AdamW: (p, a) => new AdamW(p, a),
  RMSprop: (p, a) => new RMSprop(p, a),
  Adagrad: (p, a) => new Adagrad(p, a),
};

test("optim.json has exactly the sections this file checks", () => {
  assert.deepEqual(Object.keys(fx).sort(), ["clipGradNorm", "clipGradValue", "optimizers", "schedulers"]);
  assert.ok(fx.optimizers.length > 0 && fx.schedulers.length > 0 && fx.clipGradNorm.length > 0 && fx.clipGradValue.length > 0);
});

for (const c of fx.optimizers) {
  test(`${c.optim} ${c.case}: ${c.grads.length} steps match PyTorch`, () => {
    const make = OPTIMIZERS[c.optim];
    assert.ok(make, `unknown optimizer '${c.optim}' in fixture`);
    const params = c.params.map((t) => fromFixture(t).requiresGrad_());
    const opt = make(params, c.args);
    c.grads.forEach((grads, s) => {
      params.forEach((p, j) => (p.grad = fromFixture(grads[j])));
      opt.step();
      params.forEach((p, j) => {
        assertClose(p, c.after[s][j], `step ${s + 1}, param ${j}`);
        // The fused loops emulate each float32 kernel's rounding, so the results are PyTorch's exactly; a
        // dropped rounding step shows up here long before it exceeds the tolerance.
        assert.deepEqual(Array.from(p.toTypedArray()), Array.from(fromFixture(c.after[s][j]).toTypedArray()), `step ${s + 1}, param ${j}: not bit-identical`);
      });
    });
  });
}

const SCHEDULERS = new Set(["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR", "OneCycleLR", "ReduceLROnPlateau"]);

for (const c of fx.schedulers) {
  test(`${c.scheduler} ${c.case}: ${c.steps} learning rates match PyTorch`, () => {
    assert.ok(SCHEDULERS.has(c.scheduler), `unknown scheduler '${c.scheduler}' in fixture`);
    const make = OPTIMIZERS[c.optim];
    assert.ok(make, `unknown optimizer '${c.optim}' in fixture`);
    const p = zeros(2).requiresGrad_();
    const opt = make([p], c.optimArgs);
    const Ctor = lrScheduler[c.scheduler as keyof typeof lrScheduler] as unknown as new (o: Optimizer, a: Args) => { step(m?: number): void; getLastLr(): number[] };
    const sched = new Ctor(opt, c.args);
    const group = opt.paramGroups[0];
    for (let i = 0; i < c.steps; i++) {
      const lr = group.lr;
      assert.ok(Math.abs(lr - c.lrs[i]) <= 1e-12 * Math.abs(c.lrs[i]) + 1e-15, `step ${i}: lr ${lr} vs PyTorch ${c.lrs[i]}`);
      if (c.momentums) {
        const m = c.optim === "SGD" ? (group.momentum as number) : (group.betas as number[])[0];
        assert.ok(Math.abs(m - c.momentums[i]) <= 1e-12, `step ${i}: momentum ${m} vs PyTorch ${c.momentums[i]}`);
      }
      p.grad = zeros(2);
      opt.step();
      if (c.metrics) sched.step(c.metrics[i]);
      else sched.step();
      assert.deepEqual(sched.getLastLr(), [group.lr]);
    }
  });
}

for (const c of fx.clipGradNorm) {
  test(`clipGradNorm_ ${c.case} matches PyTorch`, () => {
    const params = c.gradsBefore.map((g) => {
      const p = zeros(g.shape).requiresGrad_();
      p.grad = fromFixture(g);
      return p;
    });
    const normType = c.args.normType === "inf" ? Infinity : c.args.normType;
    assert.equal(typeof normType, "number", `unknown normType ${String(c.args.normType)}`);
    const total = clipGradNorm_(params, c.args.maxNorm, { normType });
    assert.deepEqual(total.shape, []);
    assertClose(total, c.totalNorm, "total norm");
    params.forEach((p, j) => assertClose(p.grad!, c.gradsAfter[j], `grad ${j}`));
  });
}

for (const c of fx.clipGradValue) {
  test(`clipGradValue_ ${c.case} matches PyTorch`, () => {
    const params = c.gradsBefore.map((g) => {
      const p = zeros(g.shape).requiresGrad_();
      p.grad = fromFixture(g);
      return p;
    });
    clipGradValue_(params, c.args.clipValue);
    params.forEach((p, j) => assertClose(p.grad!, c.gradsAfter[j], `grad ${j}`));
  });
}
