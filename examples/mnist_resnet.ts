// MNIST digits with a small ResNet: a stem convolution, three stages of BasicBlocks (conv3×3-BN-ReLU-conv3×3-BN
// plus an identity or 1×1-conv-BN projection shortcut, then ReLU), global average pooling and a linear head, on
// mnist-cnn's deterministic 8,000 / 2,000 split. Shows BatchNorm's train/eval switch (batch statistics versus
// running statistics) and a save/load round trip that carries the running statistics.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { manualSeed, noGrad, nn, save, load, type Tensor } from "kiln";
import { accuracyOf, confusionLines, loadMnist, predict, trainClassifier } from "./mnist_cnn.js";

/**
 * The basic residual block of ResNet-18/34: out = ReLU(BN(conv3×3(ReLU(BN(conv3×3(x))))) + shortcut(x)), where
 * the shortcut is the identity, or a 1×1 convolution with BatchNorm (`downsample`, torchvision's name) when the
 * stride or the channel count changes. Input (B, inChannels, H, W), output (B, outChannels, ⌈H/stride⌉, ⌈W/stride⌉).
 */
export class BasicBlock extends nn.Module {
  conv1: nn.Conv2d;
  bn1: nn.BatchNorm2d;
  conv2: nn.Conv2d;
  bn2: nn.BatchNorm2d;
  downsample: nn.Sequential | null;

  constructor(inChannels: number, outChannels: number, stride = 1) {
    super();
    // no conv bias: the BatchNorm after each convolution has its own shift
    this.conv1 = new nn.Conv2d(inChannels, outChannels, 3, { stride, padding: 1, bias: false });
    this.bn1 = new nn.BatchNorm2d(outChannels);
    this.conv2 = new nn.Conv2d(outChannels, outChannels, 3, { padding: 1, bias: false });
    this.bn2 = new nn.BatchNorm2d(outChannels);
    this.downsample = stride !== 1 || inChannels !== outChannels
      ? new nn.Sequential(new nn.Conv2d(inChannels, outChannels, 1, { stride, bias: false }), new nn.BatchNorm2d(outChannels))
      : null;
  }

  forward(x: Tensor): Tensor {
    const out = this.bn2.forward(this.conv2.forward(this.bn1.forward(this.conv1.forward(x)).relu()));
    const identity = this.downsample === null ? x : this.downsample.forward(x);
    return out.add(identity).relu();
  }
}

export interface ResNetConfig {
  /** Channels of each stage; the first stage keeps the stem's resolution, each later one halves it. */
  widths: number[];
  /** BasicBlocks per stage. */
  blocksPerStage: number;
}

/**
 * Stem conv3×3(1 → widths[0])-BN-ReLU on 28×28 then 2×2 max-pool to 14×14, stages at 14×14, 7×7, 4×4, …,
 * global average pool, Linear(widths[-1] → 10).
 */
export class ResNet extends nn.Module {
  stem: nn.Sequential;
  layers: nn.ModuleList;
  pool: nn.AdaptiveAvgPool2d;
  fc: nn.Linear;

  constructor(cfg: ResNetConfig, numClasses = 10) {
    super();
    const w = cfg.widths;
    this.stem = new nn.Sequential(
      new nn.Conv2d(1, w[0], 3, { padding: 1, bias: false }), new nn.BatchNorm2d(w[0]), new nn.ReLU(), new nn.MaxPool2d(2),
    );
    const stages: nn.Module[] = [];
    for (let s = 0; s < w.length; s++) {
      const blocks: nn.Module[] = [];
      for (let b = 0; b < cfg.blocksPerStage; b++) {
        const inC = b === 0 ? (s === 0 ? w[0] : w[s - 1]) : w[s];
        blocks.push(new BasicBlock(inC, w[s], b === 0 && s > 0 ? 2 : 1));
      }
      stages.push(new nn.Sequential(...blocks));
    }
    this.layers = new nn.ModuleList(stages);
    this.pool = new nn.AdaptiveAvgPool2d(1);
    this.fc = new nn.Linear(w[w.length - 1], numClasses);
  }

  forward(x: Tensor): Tensor {
    let h = this.stem.forward(x); // (B, w0, 14, 14)
    for (const stage of this.layers) h = stage.forward(h);
    return this.fc.forward(this.pool.forward(h).flatten(1)); // (B, C, 1, 1) -> (B, C) -> (B, 10)
  }
}

export interface MnistResNetOptions {
  /** 1,000 train / 500 test digits and the 8/16/32 net (for tests); both modes train 3 epochs. */
  quick?: boolean;
  epochs?: number;
  config?: ResNetConfig;
  log?: (line: string) => void;
  /** Redraw a progress bar on stdout (default: when stdout is a terminal). */
  progress?: boolean;
}

export interface MnistResNetMetrics {
  accuracy: number; // held-out accuracy after the last epoch (eval mode: running statistics)
  epochAccuracies: number[];
  trainSize: number;
  testSize: number;
  parameters: number;
  /** Held-out accuracy with BatchNorm left in training mode (batch statistics, 500 digits a batch). */
  trainModeAccuracy: number;
  /** Whether an eval-mode forward left every running statistic unchanged. */
  evalKeepsRunningStats: boolean;
  /** Whether a train-mode forward changed the running statistics. */
  trainUpdatesRunningStats: boolean;
  reloadedAccuracy: number;
  /** Largest |logit difference| between the trained model and the reloaded one on the test digits. */
  reloadMaxAbsDiff: number;
  /** How many BatchNorm running_mean / running_var / num_batches_tracked tensors the saved state dict held. */
  savedBatchNormBuffers: number;
  /** Held-out accuracy of the saved weights loaded without the BatchNorm running statistics (fresh: mean 0, var 1). */
  withoutRunningStatsAccuracy: number;
  seconds: number;
  peakRssMiB: number;
}

/** Every BatchNorm buffer of `model` by state-dict key, copied. */
function runningStats(model: nn.Module): Map<string, Float32Array | Int32Array> {
  const out = new Map<string, Float32Array | Int32Array>();
  for (const [k, v] of Object.entries(model.stateDict())) {
    if (/running_(mean|var)$|num_batches_tracked$/.test(k)) out.set(k, (v.toTypedArray() as Float32Array | Int32Array).slice());
  }
  return out;
}

function sameStats(a: Map<string, Float32Array | Int32Array>, b: Map<string, Float32Array | Int32Array>): boolean {
  for (const [k, v] of a) {
    const w = b.get(k);
    if (!w || w.length !== v.length || v.some((x, i) => x !== w[i])) return false;
  }
  return a.size === b.size;
}

/** Logits of x in batches, eval mode, no gradients: (n, 10) flattened. */
function logits(model: nn.Module, x: Tensor, batch = 500): Float32Array {
  model.eval();
  const n = x.shape[0], out = new Float32Array(n * 10);
  noGrad(() => {
    for (let i = 0; i < n; i += batch) {
      const m = Math.min(batch, n - i);
      out.set(model.forward(x.narrow(0, i, m)).toTypedArray() as Float32Array, i * 10);
    }
  });
  return out;
}

export const FULL_CONFIG: ResNetConfig = { widths: [16, 32, 64], blocksPerStage: 1 };
export const QUICK_CONFIG: ResNetConfig = { widths: [8, 16, 32], blocksPerStage: 1 };

export async function main(opts: MnistResNetOptions = {}): Promise<MnistResNetMetrics> {
  const log = opts.log ?? console.log;
  const showProgress = opts.progress ?? Boolean(process.stdout.isTTY);
  const t0 = performance.now();
  manualSeed(0);
  const [nTrain, nTest] = opts.quick ? [1000, 500] : [8000, 2000];
  const epochs = opts.epochs ?? 3;
  const cfg = opts.config ?? (opts.quick ? QUICK_CONFIG : FULL_CONFIG);
  const split = loadMnist(nTrain, nTest);
  log(`MNIST: ${nTrain} train / ${nTest} test digits (fixed order from Generator(0), as mnist-cnn)`);

  const makeModel = () => new ResNet(cfg);
  const model = makeModel();
  const parameters = model.parameters().reduce((n, p) => n + p.numel(), 0);
  log(`model: ResNet widths ${cfg.widths.join("/")}, ${cfg.blocksPerStage} BasicBlock(s) per stage, ${parameters} parameters\n${String(model)}`);
  const accs = trainClassifier(model, split, { epochs, batchSize: opts.quick ? 32 : 64, lr: 3e-3, log, showProgress });

  const pred = predict(model, split.xTest); // eval mode: BatchNorm normalises with its running statistics
  const accuracy = accuracyOf(pred, split.yTest);
  log(`held-out accuracy ${(accuracy * 100).toFixed(2)}% (${Math.round(accuracy * nTest)}/${nTest})`);
  log("confusion matrix (rows: true digit, columns: predicted):");
  for (const line of confusionLines(pred, split.yTest)) log(line);

  // ---- BatchNorm: eval() uses (and keeps) the running statistics; train() normalises with each batch's own ----
  const before = runningStats(model);
  logits(model, split.xTest); // eval mode
  const evalKeepsRunningStats = sameStats(before, runningStats(model));
  // a train-mode forward, even without gradients, moves the running averages (as in PyTorch): do it on a copy
  const probe = makeModel();
  probe.loadStateDict(model.stateDict()); // copies values, so the probe's buffers are its own
  probe.train();
  const trainPred = new Int32Array(nTest);
  noGrad(() => {
    for (let i = 0; i < nTest; i += 500) {
      const m = Math.min(500, nTest - i);
      trainPred.set(probe.forward(split.xTest.narrow(0, i, m)).argmax(1).toTypedArray() as Int32Array, i);
    }
  });
  const trainUpdatesRunningStats = !sameStats(before, runningStats(probe));
  const trainModeAccuracy = accuracyOf(trainPred, split.yTest);
  log(`[BatchNorm] eval(): running statistics, unchanged by a forward pass: ${evalKeepsRunningStats}; ` +
    `train(): batch statistics, a forward pass updates the running averages: ${trainUpdatesRunningStats}; ` +
    `held-out accuracy with batch statistics (batches of 500) ${(trainModeAccuracy * 100).toFixed(2)}%`);

  // ---- save/load: the state dict holds the BatchNorm running statistics, so a fresh model predicts the same ----
  const dir = mkdtempSync(join(tmpdir(), "kiln-mnist-resnet-"));
  let reloadedAccuracy: number, reloadMaxAbsDiff = 0, savedBatchNormBuffers: number, withoutRunningStatsAccuracy: number;
  try {
    const path = join(dir, "mnist_resnet.safetensors");
    save(model.stateDict(), path);
    const loaded = load(path);
    savedBatchNormBuffers = Object.keys(loaded).filter((k) => /running_(mean|var)$|num_batches_tracked$/.test(k)).length;
    const fresh = makeModel();
    fresh.loadStateDict(loaded);
    const a = logits(model, split.xTest), b = logits(fresh, split.xTest);
    for (let i = 0; i < a.length; i++) reloadMaxAbsDiff = Math.max(reloadMaxAbsDiff, Math.abs(a[i] - b[i]));
    reloadedAccuracy = accuracyOf(predict(fresh, split.xTest), split.yTest);
    // the same weights without the running statistics (a fresh BatchNorm's mean 0, variance 1) predict worse
    const weightsOnly = Object.fromEntries(Object.entries(loaded).filter(([k]) => !/running_(mean|var)$|num_batches_tracked$/.test(k)));
    const noStats = makeModel();
    noStats.loadStateDict(weightsOnly, { strict: false });
    withoutRunningStatsAccuracy = accuracyOf(predict(noStats, split.xTest), split.yTest);
    log(`[save/load] ${path}: ${Object.keys(loaded).length} tensors (${savedBatchNormBuffers} BatchNorm buffers); ` +
      `reloaded accuracy ${(reloadedAccuracy * 100).toFixed(2)}%, max |logit diff| ${reloadMaxAbsDiff}; ` +
      `the weights without the running statistics: ${(withoutRunningStatsAccuracy * 100).toFixed(2)}%`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const seconds = (performance.now() - t0) / 1000;
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;
  log(`wall ${seconds.toFixed(1)} s, peak RSS ${peakRssMiB.toFixed(0)} MiB`);
  return {
    accuracy, epochAccuracies: accs, trainSize: nTrain, testSize: nTest, parameters, trainModeAccuracy, evalKeepsRunningStats,
    trainUpdatesRunningStats, reloadedAccuracy, reloadMaxAbsDiff, savedBatchNormBuffers, withoutRunningStatsAccuracy, seconds, peakRssMiB,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main({ quick: process.argv.includes("--quick") });
}
