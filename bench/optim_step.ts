// Adam.step() cost on the seed model's parameters: 6,250 steps (10 epochs x 625 batches), as µs per step.
import { Generator, randn, type Tensor } from "../src/index.js";
import { Adam } from "../src/optim/index.js";

const STEPS = 6250;
const SHAPES = [[10, 2], [10], [1, 10], [1]]; // Linear(2,10) and Linear(10,1) weights and biases
const g = new Generator(0);
const params = SHAPES.map((s) => randn(s, { generator: g }).requiresGrad_());
// A pool of gradient sets, assigned by reference each step so that the loop times step() alone.
const pool: Tensor[][] = Array.from({ length: 64 }, () => SHAPES.map((s) => randn(s, { generator: g })));

function run(): number {
  const opt = new Adam(params, { lr: 1e-3 });
  const t0 = performance.now();
  for (let i = 0; i < STEPS; i++) {
    const grads = pool[i & 63];
    for (let j = 0; j < params.length; j++) params[j].grad = grads[j];
    opt.step();
  }
  return performance.now() - t0;
}

run(); // warm-up: lets V8 optimize the update loop
const times = Array.from({ length: 7 }, run).sort((a, b) => a - b);
const ms = times[3];
const usPerStep = (ms * 1000) / STEPS;
console.log(`Adam: ${STEPS} steps on ${SHAPES.map((s) => `[${s.join(",")}]`).join(" ")}: ${ms.toFixed(2)} ms`);
console.log(`${usPerStep.toFixed(3)} µs/step, ${((usPerStep * 1000) / params.length).toFixed(0)} ns/parameter (median of 7 runs)`);
