// Optimizers: hand-derived steps, parameter groups, state, zeroGrad, state dicts and errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { tensor, zeros, noGrad, type Tensor } from "../../src/index.js";
import { Adagrad, Adam, AdamW, Optimizer, RMSprop, SGD } from "../../src/optim/index.js";

const vals = (t: Tensor) => Array.from(t.toTypedArray());

function assertNear(actual: Tensor | number[], expected: number[], rtol = 1e-6, what = "values"): void {
  const a = Array.isArray(actual) ? actual : vals(actual);
  assert.equal(a.length, expected.length, `${what}: length`);
  a.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= rtol * Math.abs(expected[i]) + 1e-7, `${what}[${i}]: ${v} vs ${expected[i]}`));
}

/** A parameter [1, 2] with gradient [0.5, -1]. */
function param(dtype: "float32" | "float64" = "float32"): Tensor {
  const p = tensor([1, 2], { dtype, requiresGrad: true });
  p.grad = tensor([0.5, -1], { dtype });
  return p;
}

/** Run `steps` steps, setting every parameter's gradient to grads(step, index) first. */
function run(opt: Optimizer, params: Tensor[], steps: number, grads: (s: number, j: number) => Tensor): void {
  for (let s = 0; s < steps; s++) {
    params.forEach((p, j) => (p.grad = grads(s, j)));
    opt.step();
  }
}

// ---- hand-derived steps -------------------------------------------------------------------------------
test("SGD: p -= lr * g; maximize ascends", () => {
  const p = param();
  new SGD([p], { lr: 0.1 }).step();
  assertNear(p, [0.95, 2.1]);
  const q = param();
  new SGD([q], { lr: 0.1, maximize: true }).step();
  assertNear(q, [1.05, 1.9]);
});

test("SGD momentum: the buffer starts as the gradient, then decays (with dampening); Nesterov looks ahead", () => {
  const g = () => tensor([0.5, -1]);
  const p = param();
  const opt = new SGD([p], { lr: 0.1, momentum: 0.9 });
  run(opt, [p], 2, g); // buf = g, then 0.9 g + g
  assertNear(p, [1 - 0.1 * 0.5 * (1 + 1.9), 2 + 0.1 * (1 + 1.9)]);
  const q = param();
  run(new SGD([q], { lr: 0.1, momentum: 0.9, dampening: 0.5 }), [q], 2, g); // buf = g, then 0.9 g + 0.5 g
  assertNear(q, [1 - 0.05 * (1 + 1.4), 2 + 0.1 * (1 + 1.4)]);
  const r = param();
  run(new SGD([r], { lr: 0.1, momentum: 0.9, nesterov: true }), [r], 1, g); // d = g + 0.9 buf = 1.9 g
  assertNear(r, [1 - 0.1 * 0.5 * 1.9, 2 + 0.1 * 1.9]);
});

test("SGD weight decay adds weightDecay * p to the gradient", () => {
  const p = param();
  new SGD([p], { lr: 0.1, weightDecay: 0.5 }).step(); // g + 0.5 p = [1, 0]
  assertNear(p, [0.9, 2]);
});

test("Adam: the first steps move each weight by lr against the gradient's sign", () => {
  const p = param();
  const opt = new Adam([p], { lr: 0.1 });
  opt.step();
  assertNear(p, [0.9, 2.1]);
  opt.step(); // bias correction keeps m_hat = g, v_hat = g^2 for a constant gradient
  assertNear(p, [0.8, 2.2]);
  assert.equal((opt.state.get(p) as { step: number }).step, 2);
});

test("Adam weight decay is an L2 term in the gradient; AdamW decays the weights directly", () => {
  const p = param();
  new Adam([p], { lr: 0.1, weightDecay: 0.5 }).step(); // grad + 0.5 p = [1, 0]: the second weight stays
  assertNear(p, [0.9, 2]);
  const q = param();
  new AdamW([q], { lr: 0.1, weightDecay: 0.5 }).step(); // q *= 1 - 0.05, then the Adam step
  assertNear(q, [0.95 - 0.1, 1.9 + 0.1]);
  assert.equal(new AdamW([param()]).defaults.weightDecay, 1e-2);
});

test("Adam amsgrad keeps the largest second moment", () => {
  const p = param();
  const opt = new Adam([p], { lr: 0.1, amsgrad: true });
  run(opt, [p], 2, (s) => (s === 0 ? tensor([4, 4]) : tensor([0, 0]))); // v: 0.001 * 16, then 0.999 of that
  const st = opt.state.get(p) as { expAvgSq: Tensor; maxExpAvgSq: Tensor };
  assert.ok(vals(st.maxExpAvgSq)[0] > vals(st.expAvgSq)[0]);
  assertNear(st.maxExpAvgSq, [0.001 * 16, 0.001 * 16], 1e-5);
});

test("RMSprop: plain, centered and with momentum", () => {
  const p = param();
  new RMSprop([p], { lr: 0.01 }).step(); // avg = sqrt(0.01) |g|: steps of lr * 10
  assertNear(p, [0.9, 2.1], 1e-5);
  const q = param();
  new RMSprop([q], { lr: 0.01, centered: true }).step(); // avg = |g| sqrt(0.99 * 0.01)
  const k = 0.01 / Math.sqrt(0.0099);
  assertNear(q, [1 - k, 2 + k], 1e-5);
  const r = param();
  const opt = new RMSprop([r], { lr: 0.01, momentum: 0.5 });
  run(opt, [r], 2, () => tensor([0.5, -1])); // buf = g/avg1, then 0.5 buf + g/avg2 (avg2 = sqrt(0.0199)|g|)
  const step2 = 0.5 * 10 + 1 / Math.sqrt(0.0199);
  assertNear(r, [1 - 0.01 * (10 + step2), 2 + 0.01 * (10 + step2)], 1e-5);
});

test("Adagrad: sums of squared gradients, initial accumulator and lr decay", () => {
  const p = param();
  const opt = new Adagrad([p], { lr: 0.1 });
  run(opt, [p], 2, () => tensor([0.5, -1])); // std = |g|, then sqrt(2) |g|
  const k = 0.1 + 0.1 / Math.SQRT2;
  assertNear(p, [1 - k, 2 + k]);
  const q = param();
  new Adagrad([q], { lr: 0.1, initialAccumulatorValue: 1 }).step();
  assertNear(q, [1 - (0.1 * 0.5) / Math.sqrt(1.25), 2 + 0.1 / Math.sqrt(2)]);
  const r = param();
  run(new Adagrad([r], { lr: 0.1, lrDecay: 1 }), [r], 2, () => tensor([0.5, -1])); // clr = lr / (1 + 1)
  const d = 0.1 + 0.05 / Math.SQRT2;
  assertNear(r, [1 - d, 2 + d]);
});

test("float64 parameters are updated in double precision", () => {
  const p = param("float64");
  new SGD([p], { lr: 0.1 }).step();
  assert.equal(p.dtype, "float64");
  assertNear(p, [1 - 0.1 * 0.5, 2 + 0.1], 1e-15);
  const q = param("float64");
  const opt = new Adam([q], { lr: 0.1 });
  opt.step();
  assert.ok((opt.state.get(q) as { expAvg: Tensor }).expAvg.buf instanceof Float64Array);
  assertNear(q, [1 - 0.1 * (0.5 / (0.5 + 1e-8)), 2 + 0.1 * (1 / (1 + 1e-8))], 1e-15);
});

test("strided gradients and parameters are handled (the parameter is written back in place)", () => {
  const w = tensor([[1, 2, 3], [4, 5, 6]]).t().detach().requiresGrad_(); // a non-contiguous leaf
  const wBuf = w.buf;
  w.grad = tensor([[1, 3, 5], [2, 4, 6]]).t(); // strided gradient, shape [3, 2]
  new SGD([w], { lr: 0.5 }).step();
  assert.equal(w.buf, wBuf);
  assert.deepEqual(w.tolist(), [[0.5, 3], [0.5, 3], [0.5, 3]]); // [[1, 4], [2, 5], [3, 6]] - 0.5 [[1, 2], [3, 4], [5, 6]]
});

// ---- groups, state, zeroGrad, closures ----------------------------------------------------------------
test("parameter groups: per-group lr and overrides, defaults fill the rest, lr is read at each step", () => {
  const a = param(), b = param();
  const opt = new SGD([{ params: [a] }, { params: [b], lr: 0.01, momentum: 0.9 }], { lr: 0.1 });
  assert.equal(opt.paramGroups[0].lr, 0.1);
  assert.equal(opt.paramGroups[0].momentum, 0);
  assert.equal(opt.paramGroups[1].momentum, 0.9);
  assert.equal(opt.paramGroups[1].dampening, 0);
  opt.step();
  assertNear(a, [0.95, 2.1]);
  assertNear(b, [0.995, 2.01]);
  opt.paramGroups[0].lr = 1;
  a.grad = tensor([0.5, -1]);
  opt.step();
  assertNear(a, [0.45, 3.1]);
});

test("addParamGroup adds a group later; a parameter may be in one group only", () => {
  const a = param(), b = param();
  const opt = new Adam([a], { lr: 0.1 });
  opt.addParamGroup({ params: [b], lr: 0.2 });
  assert.equal(opt.paramGroups.length, 2);
  assert.deepEqual(opt.paramGroups[1].betas, [0.9, 0.999]);
  opt.step();
  assertNear(b, [0.8, 2.2]);
  assert.throws(() => opt.addParamGroup({ params: [a] }), /^Error: \[Adam\] some parameters appear in more than one parameter group/);
  assert.throws(() => new Adam([a, a]), /\[Adam\] parameter group 0 contains a parameter more than once/);
});

test("parameters without a gradient are skipped and steps are counted per parameter", () => {
  const a = param(), b = param();
  b.grad = null;
  const opt = new Adam([a, b], { lr: 0.1 });
  opt.step();
  opt.step();
  assert.equal(opt.state.has(b), false);
  assert.deepEqual(vals(b), [1, 2]);
  b.grad = tensor([0.5, -1]);
  opt.step();
  assert.equal((opt.state.get(a) as { step: number }).step, 3);
  assert.equal((opt.state.get(b) as { step: number }).step, 1);
  assertNear(b, [0.9, 2.1]); // b's first step has its own bias correction
});

test("zeroGrad sets grads to null by default, or zeros them in place", () => {
  const a = param(), b = param();
  const opt = new SGD([a, b], { lr: 0.1 });
  opt.zeroGrad();
  assert.equal(a.grad, null);
  b.grad = tensor([3, 4]);
  const g = b.grad;
  opt.zeroGrad({ setToNone: false });
  assert.equal(b.grad, g);
  assert.deepEqual(vals(g), [0, 0]);
  opt.step(); // a zero gradient still steps (and creates state); a null one does not
  assert.equal(opt.state.has(b), true);
  assert.equal(opt.state.has(a), false);
});

test("step(closure) evaluates the closure with grad mode on and returns its result", () => {
  const p = param();
  const opt = new SGD([p], { lr: 0.1 });
  const loss = noGrad(() =>
    opt.step(() => {
      p.grad = null;
      const l = p.mul(p).sum();
      l.backward();
      return l.item();
    }),
  );
  assert.equal(loss, 5);
  assertNear(p, [0.8, 1.6]); // grad 2p
  assert.equal(opt.step(), undefined);
});

// ---- state dicts ---------------------------------------------------------------------------------------
const CONFIGS: [string, (ps: Tensor[]) => Optimizer][] = [
  ["SGD", (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9, nesterov: true })],
  ["Adam", (ps) => new Adam(ps, { lr: 0.05, amsgrad: true, weightDecay: 0.1 })],
  ["AdamW", (ps) => new AdamW(ps, { lr: 0.05 })],
  ["RMSprop", (ps) => new RMSprop(ps, { lr: 0.01, momentum: 0.5, centered: true })],
  ["Adagrad", (ps) => new Adagrad(ps, { lr: 0.1, lrDecay: 0.1, initialAccumulatorValue: 0.1 })],
];
const grad = (s: number, j: number) => tensor([Math.sin(s + j), Math.cos(3 * s - j), 0.1 * s - 0.3]);

for (const [name, make] of CONFIGS) {
  test(`${name}: stateDict/loadStateDict round trip continues identically`, () => {
    const pa = [tensor([1, -2, 3], { requiresGrad: true }), tensor([0.5, 0.25, -1], { requiresGrad: true })];
    const a = make(pa);
    run(a, pa, 3, grad);
    const sd = a.stateDict();
    const pb = pa.map((p) => tensor(p, { requiresGrad: true }));
    const b = make(pb);
    b.loadStateDict(sd);
    run(a, pa, 3, (s, j) => grad(s + 3, j));
    run(b, pb, 3, (s, j) => grad(s + 3, j));
    pa.forEach((p, j) => assert.deepEqual(vals(pb[j]), vals(p)));
  });
}

test("stateDict has PyTorch's layout with camelCase keys, and is a copy", () => {
  const a = param(), b = param(), c = param();
  const opt = new Adam([{ params: [a, b] }, { params: [c], lr: 0.5 }], { lr: 0.1 });
  opt.step();
  const sd = opt.stateDict();
  assert.deepEqual(Object.keys(sd), ["state", "paramGroups"]);
  assert.deepEqual(Object.keys(sd.state), ["0", "1", "2"]);
  assert.deepEqual(Object.keys(sd.state[0]), ["step", "expAvg", "expAvgSq"]);
  assert.equal(sd.state[2].step, 1);
  assert.deepEqual(sd.paramGroups.map((g) => g.params), [[0, 1], [2]]);
  assert.deepEqual(sd.paramGroups[1], { lr: 0.5, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false, params: [2] });
  const before = vals(sd.state[0].expAvg as Tensor);
  opt.step();
  assert.deepEqual(vals(sd.state[0].expAvg as Tensor), before);
  (sd.paramGroups[0].betas as number[])[0] = 0;
  assert.equal(opt.paramGroups[0].betas[0], 0.9);
});

test("loadStateDict accepts a 0-d tensor step and casts buffers to the parameter's dtype", () => {
  const p = param("float64");
  const opt = new Adam([p]);
  opt.loadStateDict({
    state: { 0: { step: tensor(4), expAvg: tensor([0.1, 0.2]), expAvgSq: tensor([0.01, 0.04]) } },
    paramGroups: [{ ...opt.stateDict().paramGroups[0], lr: 0.01 }],
  });
  const st = opt.state.get(p) as { step: number; expAvg: Tensor };
  assert.equal(st.step, 4);
  assert.equal(st.expAvg.dtype, "float64");
  assert.equal(opt.paramGroups[0].lr, 0.01);
  assert.equal(opt.paramGroups[0].params[0], p);
});

test("loadStateDict rejects mismatched dicts with [loadStateDict] errors and changes nothing", () => {
  const a = param(), b = param();
  const opt = new Adam([a, b], { lr: 0.1 });
  opt.step();
  const good = opt.stateDict();
  const other = new Adam([{ params: [param()] }, { params: [param()] }]);
  other.step();
  const bad = (mutate: (sd: ReturnType<Optimizer["stateDict"]>) => void) => {
    const sd = opt.stateDict();
    mutate(sd);
    return sd;
  };
  assert.throws(() => opt.loadStateDict(other.stateDict()), /^Error: \[loadStateDict\] the state dict has 2 parameter group\(s\) but the optimizer has 1$/);
  assert.throws(() => opt.loadStateDict(bad((sd) => sd.paramGroups[0].params.pop())), /\[loadStateDict\] parameter group 0 has 1 parameter\(s\) in the state dict but 2 in the optimizer/);
  assert.throws(() => opt.loadStateDict(bad((sd) => (sd.state[1].expAvg = zeros(3)))), /\[loadStateDict\] state 'expAvg' of parameter 1 has shape \[3\] but the parameter has shape \[2\]/);
  assert.throws(() => opt.loadStateDict(bad((sd) => delete sd.state[0].expAvgSq)), /\[loadStateDict\] state of parameter 0 has no 'expAvgSq' for Adam/);
  assert.throws(() => opt.loadStateDict(bad((sd) => (sd.state[7] = sd.state[0]))), /\[loadStateDict\] the state dict has state for parameter 7, which no parameter group lists/);
  assert.throws(
    () => opt.loadStateDict(bad((sd) => { sd.paramGroups[0].weight_decay = 0; delete sd.paramGroups[0].weightDecay; })),
    /\[loadStateDict\] parameter group 0 lacks 'weightDecay'/,
  );
  assert.throws(() => opt.loadStateDict(null as never), /^Error: \[loadStateDict\] expected an object \{ state, paramGroups \}/);
  assert.deepEqual(opt.stateDict(), good);
});

// ---- construction and step errors ----------------------------------------------------------------------
test("constructor errors name the optimizer", () => {
  const p = param();
  assert.throws(() => new Adam([]), /^Error: \[Adam\] optimizer got an empty parameter list$/);
  assert.throws(() => new Adam(p as never), /\[Adam\] params must be an iterable of Tensors or parameter groups, got a single Tensor/);
  assert.throws(() => new SGD([p.mul(2)], { lr: 0.1 }), /\[SGD\] can't optimize a non-leaf Tensor/);
  assert.throws(() => new SGD([tensor([1, 2], { dtype: "int32" })], { lr: 0.1 }), /\[SGD\] can only optimize floating-point tensors, got int32/);
  assert.throws(() => new SGD([p], {} as never), /^Error: \[SGD\] lr is required/);
  assert.throws(() => new SGD([p], { lr: -1 }), /^Error: \[SGD\] invalid lr: -1/);
  assert.throws(() => new SGD([p], { lr: 0.1, nesterov: true }), /\[SGD\] Nesterov momentum requires a momentum > 0 and zero dampening/);
  assert.throws(() => new AdamW([p], { weight_decay: 0.1 } as never), /^Error: \[AdamW\] unknown option 'weight_decay'; expected one of lr, betas, eps, weightDecay, amsgrad, maximize$/);
  assert.throws(() => new Adam([p], { betas: [0.9, 1] }), /\[Adam\] invalid beta parameter at index 1: 1/);
  assert.throws(() => new RMSprop([p], { alpha: -0.5 }), /\[RMSprop\] invalid alpha: -0.5/);
  assert.throws(() => new Adagrad([p], { eps: Number.NaN }), /\[Adagrad\] invalid eps: NaN/);
  assert.throws(() => new Adam([{ params: [p], lr: undefined }]), /\[Adam\] parameter group 0 has no value for 'lr'/);
});

test("a gradient that does not fit its parameter is an error", () => {
  const p = param();
  const opt = new SGD([p], { lr: 0.1 });
  p.grad = tensor([1, 2, 3]);
  assert.throws(() => opt.step(), /^Error: \[SGD\] gradient shape \[3\] does not match parameter shape \[2\]$/);
  p.grad = tensor([1, 2], { dtype: "float64" });
  assert.throws(() => opt.step(), /^Error: \[SGD\] gradient dtype float64 does not match parameter dtype float32$/);
});

test("Adagrad creates its state at construction, as PyTorch", () => {
  const p = param();
  const opt = new Adagrad([p], { initialAccumulatorValue: 0.5 });
  assert.deepEqual(vals((opt.state.get(p) as { sum: Tensor }).sum), [0.5, 0.5]);
  assert.deepEqual(Object.keys(opt.stateDict().state), ["0"]);
});
