// Learning-rate schedulers: hand-derived sequences, OneCycleLR momentum, ReduceLROnPlateau, state and errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { tensor, zeros, type Tensor } from "../../src/index.js";
import { Adagrad, Adam, SGD, lrScheduler, type Optimizer } from "../../src/optim/index.js";

const { StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, LinearLR, OneCycleLR, ReduceLROnPlateau } = lrScheduler;

function sgd(lr = 1, momentum = 0): [SGD, Tensor] {
  const p = zeros(2).requiresGrad_();
  return [new SGD([p], { lr, momentum }), p];
}

/** The lr of group 0 before each of `n` optimizer + scheduler steps. */
function lrs(opt: Optimizer, p: Tensor, sched: { step(): void }, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    out.push(opt.paramGroups[0].lr);
    p.grad = zeros(2);
    opt.step();
    sched.step();
  }
  return out;
}

function assertSeq(actual: number[], expected: number[], rtol = 1e-12): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= rtol * Math.abs(expected[i]) + 1e-15, `[${i}] ${v} vs ${expected[i]}`));
}

test("StepLR, MultiStepLR and ExponentialLR decay by gamma", () => {
  let [opt, p] = sgd();
  assertSeq(lrs(opt, p, new StepLR(opt, { stepSize: 2, gamma: 0.5 }), 6), [1, 1, 0.5, 0.5, 0.25, 0.25]);
  [opt, p] = sgd();
  assertSeq(lrs(opt, p, new MultiStepLR(opt, { milestones: [4, 2, 4] }), 6), [1, 1, 0.1, 0.1, 0.001, 0.001]);
  [opt, p] = sgd();
  assertSeq(lrs(opt, p, new ExponentialLR(opt, { gamma: 0.5 }), 4), [1, 0.5, 0.25, 0.125]);
});

test("CosineAnnealingLR's recursive form follows the closed form over two periods", () => {
  const [opt, p] = sgd(0.1);
  const T = 6, etaMin = 0.001;
  const closed = Array.from({ length: 2 * T + 1 }, (_, e) => etaMin + ((0.1 - etaMin) * (1 + Math.cos((Math.PI * e) / T))) / 2);
  assertSeq(lrs(opt, p, new CosineAnnealingLR(opt, { tMax: T, etaMin }), 2 * T + 1), closed, 1e-9);
});

test("LinearLR ramps from startFactor to endFactor, then holds", () => {
  const [opt, p] = sgd(0.2);
  assertSeq(lrs(opt, p, new LinearLR(opt, { startFactor: 0.5, totalIters: 4 }), 7), [0.1, 0.125, 0.15, 0.175, 0.2, 0.2, 0.2]);
  const [opt2] = sgd(0.3);
  new LinearLR(opt2);
  assert.ok(Math.abs(opt2.paramGroups[0].lr - 0.1) < 1e-15); // default startFactor 1/3
});

test("schedulers record initialLr on the groups and scale every group", () => {
  const a = zeros(1).requiresGrad_(), b = zeros(1).requiresGrad_();
  const opt = new SGD([{ params: [a] }, { params: [b], lr: 2 }], { lr: 1 });
  const sched = new ExponentialLR(opt, { gamma: 0.5 });
  assert.deepEqual(opt.paramGroups.map((g) => g.initialLr), [1, 2]);
  sched.step();
  assert.deepEqual(sched.getLastLr(), [0.5, 1]);
  sched.getLastLr()[0] = 7;
  assert.deepEqual(sched.getLastLr(), [0.5, 1]);
  const second = new StepLR(opt, { stepSize: 1, gamma: 0.1 }); // initialLr is kept, as PyTorch's setdefault
  assert.deepEqual(second.baseLrs, [1, 2]);
});

test("OneCycleLR: warm-up to maxLr, anneal to maxLr / divFactor / finalDivFactor, momentum cycled inversely", () => {
  const [opt, p] = sgd(0.1, 0.9);
  const sched = new OneCycleLR(opt, { maxLr: 1, totalSteps: 10 });
  const g = opt.paramGroups[0];
  assert.equal(g.initialLr, 0.04);
  assert.equal(g.maxLr, 1);
  assert.equal(g.minLr, 0.04 / 1e4);
  const seq: number[] = [], moms: number[] = [];
  for (let i = 0; i < 10; i++) {
    seq.push(g.lr);
    moms.push(g.momentum);
    p.grad = zeros(2);
    opt.step();
    sched.step();
  }
  assert.ok(Math.abs(seq[0] - 0.04) < 1e-15);
  assert.equal(seq[2], 1); // end of phase 1 at pctStart * totalSteps - 1
  assert.ok(Math.abs(seq[9] - 4e-6) < 1e-18);
  assert.equal(moms[0], 0.95);
  assert.equal(moms[2], 0.85);
  assert.throws(() => sched.step(), /^Error: \[OneCycleLR\] tried to step 12 times; the specified number of total steps is 10$/);
});

test("OneCycleLR cycles Adam's beta1, supports three phases, linear annealing and epochs x stepsPerEpoch", () => {
  const p = zeros(2).requiresGrad_();
  const adam = new Adam([p], { lr: 0.1, betas: [0.9, 0.99] });
  new OneCycleLR(adam, { maxLr: 0.5, epochs: 2, stepsPerEpoch: 5, annealStrategy: "linear" });
  assert.deepEqual(adam.paramGroups[0].betas, [0.95, 0.99]);
  assert.equal(adam.paramGroups[0].lr, 0.02);
  const [opt, q] = sgd(0.1, 0.9);
  const lr = lrs(opt, q, new OneCycleLR(opt, { maxLr: 1, totalSteps: 10, threePhase: true }), 10);
  assert.equal(lr[2], 1);
  assert.ok(Math.abs(lr[4] - 0.04) < 1e-15); // back to initialLr after the second phase
  assert.ok(Math.abs(lr[9] - 4e-6) < 1e-18);
});

test("ReduceLROnPlateau: patience, cooldown, thresholds, minLr and mode max", () => {
  const [opt] = sgd(1);
  const s = new ReduceLROnPlateau(opt, { factor: 0.5, patience: 1, cooldown: 1, minLr: 0.2 });
  const seen = [1, 1, 1, 1, 1, 1, 1, 1, 1].map((m) => (s.step(m), opt.paramGroups[0].lr));
  // the first metric sets best; 2 bad epochs (> patience) halve the lr; the cooldown epoch's bad epoch does
  // not count; the third reduction is clamped to minLr
  assert.deepEqual(seen, [1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2]);
  assert.deepEqual(s.getLastLr(), [0.2]);
  const [opt2] = sgd(1);
  const m = new ReduceLROnPlateau(opt2, { mode: "max", patience: 0, threshold: 0.1, thresholdMode: "abs" });
  m.step(tensor(1)); // first metric always improves on -Infinity
  m.step(1.05); // not better by 0.1
  assert.equal(opt2.paramGroups[0].lr, 0.1);
  m.step(2);
  assert.equal(opt2.paramGroups[0].lr, 0.1);
  assert.equal(m.best, 2);
});

test("scheduler stateDict/loadStateDict resumes the schedule exactly", () => {
  const make = () => {
    const p = zeros(2).requiresGrad_();
    const opt = new SGD([p], { lr: 0.1, momentum: 0.9 });
    return { p, opt, sched: new OneCycleLR(opt, { maxLr: 1, totalSteps: 20 }) };
  };
  const a = make();
  lrs(a.opt, a.p, a.sched, 7);
  const b = make();
  b.opt.loadStateDict(a.opt.stateDict());
  b.sched.loadStateDict(a.sched.stateDict());
  assert.deepEqual(lrs(b.opt, b.p, b.sched, 13), lrs(a.opt, a.p, a.sched, 13));
  assert.equal(b.opt.paramGroups[0].momentum, a.opt.paramGroups[0].momentum);

  const [o1] = sgd(1), [o2] = sgd(1);
  const r1 = new ReduceLROnPlateau(o1, { patience: 0 }), r2 = new ReduceLROnPlateau(o2, { patience: 0 });
  r1.step(1);
  r1.step(2);
  r2.loadStateDict(r1.stateDict());
  o2.loadStateDict(o1.stateDict());
  r1.step(3);
  r2.step(3);
  assert.deepEqual(r2.getLastLr(), r1.getLastLr());
  assert.deepEqual(r2.stateDict(), r1.stateDict());
  assert.equal(r2.stateDict().best, 1);
});

test("scheduler errors start with the scheduler's name", () => {
  const [opt] = sgd();
  assert.throws(() => new StepLR(opt, { step_size: 2 } as never), /^Error: \[StepLR\] unknown option 'step_size'/);
  assert.throws(() => new StepLR(opt, {} as never), /^Error: \[StepLR\] option 'stepSize' is required$/);
  assert.throws(() => new ExponentialLR({} as never, { gamma: 0.5 }), /^Error: \[ExponentialLR\] expected an Optimizer, got object$/);
  assert.throws(() => new LinearLR(opt, { startFactor: 2 }), /\[LinearLR\] startFactor must be between 0 and 1, got 2/);
  assert.throws(() => new CosineAnnealingLR(sgd()[0], { tMax: 5, lastEpoch: 3 }), /\[CosineAnnealingLR\] 'initialLr' is not specified in paramGroups\[0\] when resuming/);
  assert.throws(() => new OneCycleLR(opt, { maxLr: 1 }), /\[OneCycleLR\] you must define either totalSteps or \(epochs and stepsPerEpoch\)/);
  assert.throws(() => new OneCycleLR(opt, { maxLr: 1, totalSteps: 2.5 }), /\[OneCycleLR\] expected a positive integer totalSteps, got 2.5/);
  assert.throws(() => new OneCycleLR(opt, { maxLr: [1, 2], totalSteps: 5 }), /\[OneCycleLR\] expected 1 values for maxLr, got 2/);
  assert.throws(
    () => new OneCycleLR(new Adagrad([zeros(1).requiresGrad_()]), { maxLr: 1, totalSteps: 5 }),
    /\[OneCycleLR\] optimizer must support momentum \(or betas\) with cycleMomentum enabled/,
  );
  assert.throws(() => new ReduceLROnPlateau(opt, { factor: 1 }), /^Error: \[ReduceLROnPlateau\] factor should be < 1.0, got 1$/);
  assert.throws(() => new ReduceLROnPlateau(opt, { mode: "up" as never }), /\[ReduceLROnPlateau\] mode up is unknown/);
  const s = new StepLR(opt, { stepSize: 2 });
  assert.throws(() => s.loadStateDict({ stepsize: 3 }), /^Error: \[loadStateDict\] unknown key 'stepsize' for StepLR$/);
  assert.throws(() => s.loadStateDict({ stepSize: "3" }), /^Error: \[loadStateDict\] 'stepSize' of StepLR should be a number, got "3"$/);
});
