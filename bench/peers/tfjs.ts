// TensorFlow.js as a suite peer: `tsx bench/peers/tfjs.ts <cpu|wasm> <workload>` prints `@@RESULT {json}`.
// Written as a tfjs user must: tf.variable + tf.train.adam, every step inside tf.tidy, results disposed.
// One thread: tfjs-cpu is plain JS; tfjs-wasm gets setThreadsCount(1) (Node 20 has no threaded build for it anyway).
import { createRequire } from "node:module";
import type * as TF from "@tensorflow/tfjs";
import { CNN, MLP, SEED, TRANSFORMER, emit, gemmRates, maxRssMiB, mulberry32, seedData, timeWindows, workloadArg } from "./common.js";

const require = createRequire(import.meta.url);
const which = process.argv.slice(2).includes("wasm") ? "wasm" : "cpu";
const workload = workloadArg(process.argv.slice(2));
const tf = require("@tensorflow/tfjs") as typeof TF;
if (which === "wasm") {
  const wasm = require("@tensorflow/tfjs-backend-wasm") as { setThreadsCount(n: number): void };
  wasm.setThreadsCount(1);
}
if (!(await tf.setBackend(which))) throw new Error(`[bench/peers/tfjs] backend ${which} failed to initialise`);
await tf.ready();
const info = { peer: `tfjs-${which}`, backend: tf.getBackend(), version: tf.version.tfjs };
let seed = 1234;
let lastLoss = NaN; // the last training loss, a sanity check that the peers train the same thing
const nextSeed = () => seed++;

/** PyTorch's Linear/Conv default: U(-1/√fanIn, 1/√fanIn). */
const uniform = (shape: number[], fanIn: number) => tf.variable(tf.randomUniform(shape, -1 / Math.sqrt(fanIn), 1 / Math.sqrt(fanIn), "float32", nextSeed()));

/** One optimizer step in tf.tidy, the loss read back as a number (as loss.item() in the other peers). */
function trainStep(opt: TF.Optimizer, lossFn: () => TF.Scalar, before?: () => void): number {
  const loss = tf.tidy(() => {
    before?.();
    return opt.minimize(lossFn, true) as TF.Scalar;
  });
  const v = loss.dataSync()[0];
  loss.dispose();
  return v;
}

if (workload === "gemm") {
  const rates = gemmRates((n) => {
    const a = tf.randomNormal([n, n], 0, 1, "float32", nextSeed()), b = tf.randomNormal([n, n], 0, 1, "float32", nextSeed());
    return () => { tf.matMul(a, b).dispose(); }; // both backends run the kernel synchronously
  });
  emit({ ...info, gemm: rates });
} else if (workload === "seed") {
  // examples/seed.ts in tfjs: 2→10→1 ReLU, sigmoid cross-entropy on logits, Adam, shuffled batches of 16, 10 epochs
  const { n, batch, epochs, lr } = SEED;
  const rand = mulberry32(2024);
  const d = seedData(n, rand);
  const X = tf.tensor2d(d.x, [n, 2]), Y = tf.tensor2d(d.y, [n, 1]);
  const W1 = uniform([2, 10], 2), b1 = uniform([10], 2), W2 = uniform([10, 1], 10), b2 = uniform([1], 10);
  const opt = tf.train.adam(lr);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const t0 = performance.now();
  let last = 0;
  for (let e = 0; e < epochs; e++) {
    for (let i = n - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); [order[i], order[j]] = [order[j], order[i]]; }
    let running = 0;
    for (let s = 0; s < n; s += batch) {
      const idx = order.subarray(s, s + batch);
      running += trainStep(opt, () => {
        const I = tf.tensor1d(idx, "int32");
        const xb = tf.gather(X, I), yb = tf.gather(Y, I);
        return tf.losses.sigmoidCrossEntropy(yb, xb.matMul(W1).add(b1).relu().matMul(W2).add(b2)) as TF.Scalar;
      });
    }
    last = running / (n / batch);
  }
  emit({ ...info, seconds: (performance.now() - t0) / 1000, loss: last, numTensors: tf.memory().numTensors });
} else if (workload === "mlp") {
  const { n, inDim, hidden, classes, batch, lr } = MLP;
  const X = tf.randomNormal([n, inDim], 0, 1, "float32", nextSeed());
  const Y = tf.tidy(() => tf.oneHot(tf.randomUniform([n], 0, classes, "int32", nextSeed()), classes).toFloat());
  const W1 = uniform([inDim, hidden], inDim), b1 = uniform([hidden], inDim), W2 = uniform([hidden, classes], hidden), b2 = uniform([classes], hidden);
  const opt = tf.train.adam(lr);
  const nb = Math.floor(n / batch);
  const rssBeforeMiB = maxRssMiB();
  const w = timeWindows((i) => {
    const s = (i % nb) * batch;
    lastLoss = trainStep(opt, () => {
      const xb = X.slice([s, 0], [batch, inDim]), yb = Y.slice([s, 0], [batch, classes]);
      return tf.losses.softmaxCrossEntropy(yb, xb.matMul(W1).add(b1).relu().matMul(W2).add(b2)) as TF.Scalar;
    });
  }, { warmup: 5 });
  emit({ ...info, windows: w, batch, rssBeforeMiB, lastLoss, numTensors: tf.memory().numTensors });
} else if (workload === "cnn") {
  // NHWC, tfjs's native layout
  const { n, batch, lr } = CNN;
  const X = tf.randomNormal([n, 28, 28, 1], 0, 1, "float32", nextSeed());
  const Y = tf.tidy(() => tf.oneHot(tf.randomUniform([n], 0, 10, "int32", nextSeed()), 10).toFloat());
  const c1 = uniform([3, 3, 1, 16], 9), cb1 = uniform([16], 9), c2 = uniform([3, 3, 16, 32], 144), cb2 = uniform([32], 144);
  const W = uniform([1568, 10], 1568), b = uniform([10], 1568);
  const opt = tf.train.adam(lr);
  const nb = n / batch;
  const forward = (x: TF.Tensor4D) => {
    let h = tf.maxPool(tf.conv2d(x, c1 as TF.Tensor4D, 1, "same").add(cb1).relu() as TF.Tensor4D, 2, 2, "valid");
    h = tf.maxPool(tf.conv2d(h, c2 as TF.Tensor4D, 1, "same").add(cb2).relu() as TF.Tensor4D, 2, 2, "valid");
    return h.reshape([x.shape[0], 1568]).matMul(W).add(b);
  };
  try {
    const w = timeWindows((i) => {
      const s = (i % nb) * batch;
      lastLoss = trainStep(opt, () => tf.losses.softmaxCrossEntropy(Y.slice([s, 0], [batch, 10]), forward(X.slice([s, 0, 0, 0], [batch, 28, 28, 1]) as TF.Tensor4D)) as TF.Scalar);
    }, { warmup: 2 });
    emit({ ...info, windows: w, batch, lastLoss, numTensors: tf.memory().numTensors });
  } catch (e) {
    emit({ ...info, error: `cannot train: ${(e as Error).message.split("\n")[0]}` });
  }
} else if (workload === "transformer") {
  const { vocab, ctx: T, dModel: D, heads: H, layers, ff, batch: B, lr, weightDecay, batches } = TRANSFORMER;
  const hd = D / H;
  // tfjs-wasm has no UnsortedSegmentSum, the gradient of gather: embed by one-hot · table there
  const gatherGrad = tf.getKernelsForBackend(tf.getBackend()).some((k) => k.kernelName === "UnsortedSegmentSum");
  const normal = (shape: number[]) => tf.variable(tf.randomNormal(shape, 0, 1, "float32", nextSeed()));
  const ones = (k: number) => tf.variable(tf.ones([k])), zeros = (k: number) => tf.variable(tf.zeros([k]));
  const tok = normal([vocab, D]), pos = normal([T, D]);
  const blocks = Array.from({ length: layers }, () => ({
    g1: ones(D), be1: zeros(D), wqkv: uniform([D, 3 * D], D), bqkv: zeros(3 * D), wo: uniform([D, D], D), bo: zeros(D),
    g2: ones(D), be2: zeros(D), w1: uniform([D, ff], D), b1: uniform([ff], D), w2: uniform([ff, D], ff), b2: uniform([D], ff),
  }));
  const gF = ones(D), bF = zeros(D), wH = uniform([D, vocab], D), bH = uniform([vocab], D);
  const params = [tok, pos, ...blocks.flatMap((b) => Object.values(b)), gF, bF, wH, bH];
  const maskBias = tf.tidy(() => tf.sub(1, tf.linalg.bandPart(tf.ones([T, T]), -1, 0)).mul(-1e9)); // 0 on and below the diagonal
  const layerNorm = (x: TF.Tensor, g: TF.Tensor, b: TF.Tensor) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return x.sub(mean).mul(tf.rsqrt(variance.add(1e-5))).mul(g).add(b);
  };
  const gelu = (x: TF.Tensor) => x.mul(0.5).mul(tf.erf(x.mul(Math.SQRT1_2)).add(1)); // exact (erf) GELU
  const forward = (idx: TF.Tensor2D) => { // (B, T) int32 → logits (B·T, vocab)
    const flat = idx.reshape([B * T]);
    const e = gatherGrad ? tf.gather(tok, flat) : tf.oneHot(flat, vocab).toFloat().matMul(tok); // (B·T, D)
    let h = e.reshape([B, T, D]).add(pos);
    for (const p of blocks) {
      const qkv = layerNorm(h, p.g1, p.be1).reshape([B * T, D]).matMul(p.wqkv).add(p.bqkv).reshape([B, T, 3, H, hd]).transpose([2, 0, 3, 1, 4]);
      const [q, k, v] = tf.unstack(qkv); // (B, H, T, hd)
      const att = tf.softmax(tf.matMul(q, k, false, true).mul(1 / Math.sqrt(hd)).add(maskBias)); // (B, H, T, T)
      const o = tf.matMul(att, v).transpose([0, 2, 1, 3]).reshape([B * T, D]).matMul(p.wo).add(p.bo);
      h = h.add(o.reshape([B, T, D]));
      const f = gelu(layerNorm(h, p.g2, p.be2).reshape([B * T, D]).matMul(p.w1).add(p.b1)).matMul(p.w2).add(p.b2);
      h = h.add(f.reshape([B, T, D]));
    }
    return layerNorm(h, gF, bF).reshape([B * T, D]).matMul(wH).add(bH);
  };
  const rand = mulberry32(7);
  const data = Array.from({ length: batches }, () => Int32Array.from({ length: B * (T + 1) }, () => Math.floor(rand() * vocab)));
  const inputs = data.map((d) => tf.tensor2d(Int32Array.from({ length: B * T }, (_, i) => d[Math.floor(i / T) * (T + 1) + (i % T)]), [B, T], "int32"));
  const targets = data.map((d) => tf.tidy(() => tf.oneHot(tf.tensor1d(Int32Array.from({ length: B * T }, (_, i) => d[Math.floor(i / T) * (T + 1) + (i % T) + 1]), "int32"), vocab).toFloat()));
  // AdamW: tfjs has none; Adam plus PyTorch's decoupled decay (param *= 1 - lr·wd, before the update) on every parameter
  const opt = tf.train.adam(lr, 0.9, 0.999, 1e-8);
  const decay = () => { for (const p of params) p.assign(p.mul(1 - lr * weightDecay)); };
  const note = gatherGrad ? undefined : "embedding as one-hot·table (tfjs-wasm lacks UnsortedSegmentSum, gather's gradient)";
  try {
    const train = timeWindows((i) => {
      const k = i % batches;
      lastLoss = trainStep(opt, () => tf.losses.softmaxCrossEntropy(targets[k], forward(inputs[k])) as TF.Scalar, decay);
    }, { warmup: 2 });
    const infer = timeWindows((i) => {
      const logits = tf.tidy(() => forward(inputs[i % batches]));
      logits.dataSync();
      logits.dispose();
    }, { warmup: 2 });
    emit({ ...info, train, infer, tokensPerStep: B * T, note, lastLoss, numTensors: tf.memory().numTensors });
  } catch (e) {
    emit({ ...info, error: `cannot run: ${(e as Error).message.split("\n")[0]}` });
  }
}
