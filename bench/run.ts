// Part of `npm run bench`, after bench/suite.ts: the seed program's wall time against PyTorch, Kiln's per-op cost on seed-sized tensors.
import { spawnSync } from "node:child_process";
import { tensor, randn, rand, nn, optim, noGrad, jsBackend, registerBackend, setBackend, type Backend } from "kiln";

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const runs = Number(process.env.BENCH_RUNS ?? 5);

function timeSeed(): number[] {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(process.execPath, ["--import", "tsx", "examples/seed.ts"], { encoding: "utf8" });
    const m = /10 epochs in ([\d.]+) s/.exec(r.stderr);
    if (r.status !== 0 || !m) throw new Error(`[bench] examples/seed.ts failed: ${r.stderr}`);
    out.push(Number(m[1]));
  }
  return out;
}

function timeTorch(byHand: boolean): number[] | null {
  const probe = spawnSync("/usr/bin/python3", ["-c", "import torch"], { encoding: "utf8" });
  if (probe.status !== 0) return null;
  const out: number[] = [];
  for (let i = 0; i < Math.min(runs, 3); i++) {
    const r = spawnSync("/usr/bin/python3", ["bench/seed_torch.py", ...(byHand ? ["--by-hand"] : [])], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`[bench] seed_torch.py failed: ${r.stderr}`);
    out.push(JSON.parse(r.stdout).seconds);
  }
  return out;
}

/** Median ns per call of `f` over batches of calls, after a warm-up. */
function perCall(f: () => unknown, calls = 20000): number {
  for (let i = 0; i < calls; i++) f();
  const samples: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) f();
    samples.push(((performance.now() - t0) * 1e6) / calls);
  }
  return median(samples);
}

console.log("# Seed program: 10 epochs, 625 steps each, batch 16 (wall time of the training loop, fresh process each run)");
const kiln = timeSeed();
const torchLoader = timeTorch(false);
const torchHand = timeTorch(true);
const fmt = (xs: number[]) => `${median(xs).toFixed(3)} s (runs: ${xs.map((x) => x.toFixed(3)).join(", ")})`;
console.log(`kiln                      ${fmt(kiln)}`);
if (torchLoader && torchHand) {
  console.log(`pytorch (DataLoader)      ${fmt(torchLoader)}   kiln is ${(median(torchLoader) / median(kiln)).toFixed(1)}x faster`);
  console.log(`pytorch (batching by hand) ${fmt(torchHand)}   kiln is ${(median(torchHand) / median(kiln)).toFixed(1)}x faster`);
} else {
  console.log("pytorch                   absent (/usr/bin/python3 cannot import torch)");
}

// kernel calls per seed step, counted by a backend that wraps the reference one
let calls = 0;
const counting = Object.fromEntries(
  Object.entries(jsBackend).map(([k, f]) => [k, typeof f === "function" ? (...a: unknown[]) => (calls++, (f as (...a: unknown[]) => unknown)(...a)) : f]),
) as unknown as Backend;
registerBackend({ ...counting, name: "counting" });
const model = new nn.Sequential(new nn.Linear(2, 10), new nn.ReLU(), new nn.Linear(10, 1));
const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
const crit = new nn.BCEWithLogitsLoss();
const xb = randn(16, 2), yb = rand(16, 1).gt(0.5).float();
const step = () => {
  opt.zeroGrad();
  const loss = crit.forward(model.forward(xb), yb);
  loss.backward();
  opt.step();
  return loss.item();
};
setBackend("counting");
for (let i = 0; i < 100; i++) step();
setBackend("js");
const perStep = calls / 100;
const warmStep = perCall(step, 5000);
console.log(`\nkernel calls per seed step: ${perStep}; warm step ${(warmStep / 1000).toFixed(1)} µs; ` +
  `mean cost per kernel call over the whole cold run: ${((median(kiln) / 6250 / perStep) * 1e9).toFixed(0)} ns (warm: ${(warmStep / perStep).toFixed(0)} ns)`);

console.log("\n# Per-op cost on seed-sized tensors (median ns per call, warm)");
const a = randn(16, 10), b = randn(16, 10), bias = randn(10), x = randn(16, 2);
const lin = new nn.Linear(2, 10);
const w = randn(16, 10).requiresGrad_();
const rows: [string, () => unknown][] = [
  ["add (16,10)+(16,10)", () => a.add(b)],
  ["add (16,10)+(10) bias", () => a.add(bias)],
  ["mul by scalar", () => a.mul(2)],
  ["relu", () => a.relu()],
  ["sum over dim 0", () => a.sum(0)],
  ["view reshape", () => a.reshape(160)],
  ["Linear(2,10) forward", () => noGrad(() => lin.forward(x))],
  ["mul recorded for autograd", () => w.mul(b)],
  ["tensor([[1, 2]])", () => tensor([[1, 2]])],
];
for (const [name, f] of rows) console.log(`${name.padEnd(28)} ${perCall(f).toFixed(0).padStart(6)} ns`);
