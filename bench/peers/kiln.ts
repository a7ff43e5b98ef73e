// Kiln as a suite peer: `tsx bench/peers/kiln.ts <workload>` (KILN_BACKEND picks the backend) prints `@@RESULT {json}`.
// The seed workload is examples/seed.ts itself, spawned by bench/suite.ts.
import { Generator, manualSeed, noGrad, randn, randint, matmul, arange, backend, wasmGemmVariant, getNumThreads, setNumThreads, nn, optim, type Tensor } from "kiln";
import { CNN, MLP, TRANSFORMER, emit, gemmRates, maxRssMiB, timeWindows, workloadArg } from "./common.js";

manualSeed(0);
const g = new Generator(1234);
const workload = workloadArg(process.argv.slice(2));
let lastLoss = NaN; // the last training loss, a sanity check that the peers train the same thing
const info = { peer: "kiln", backend: backend(), gemmVariant: backend() === "wasm" ? wasmGemmVariant() : "js", threads: getNumThreads() };
// workloads run on Kiln's default thread count (KILN_THREADS, else all cores): the suite's "Kiln, 1 thread"
// column sets KILN_THREADS=1; the GEMM workload measures one thread, then all
const allThreads = getNumThreads();

/** One optimizer step: zeroGrad, forward, loss, backward, step, and the loss read back as a number. */
function trainStep(model: nn.Module, opt: optim.Optimizer, lossOf: (m: nn.Module) => Tensor): number {
  opt.zeroGrad();
  const loss = lossOf(model);
  loss.backward();
  opt.step();
  return loss.item();
}

if (workload === "gemm") {
  const mm = (n: number) => {
    const a = randn([n, n], { generator: g }), b = randn([n, n], { generator: g });
    return () => { noGrad(() => matmul(a, b)); };
  };
  setNumThreads(1);
  const rates = gemmRates(mm);
  // the js backend has no threads: its all-threads row would repeat the one-thread row
  setNumThreads(allThreads);
  const all = backend() === "wasm" ? { gemmAll: gemmRates(mm), threadsAll: getNumThreads() } : {};
  emit({ ...info, gemm: rates, ...all });
} else if (workload === "mlp") {
  const { n, inDim, hidden, classes, batch, lr } = MLP;
  const x = randn([n, inDim], { generator: g }), y = randint(0, classes, [n], { generator: g });
  const model = new nn.Sequential(new nn.Linear(inDim, hidden), new nn.ReLU(), new nn.Linear(hidden, classes));
  const opt = new optim.Adam(model.parameters(), { lr });
  const crit = new nn.CrossEntropyLoss();
  const nb = Math.floor(n / batch);
  const rssBeforeMiB = maxRssMiB();
  const w = timeWindows((i) => {
    const s = (i % nb) * batch;
    lastLoss = trainStep(model, opt, (m) => crit.forward(m.forward(x.narrow(0, s, batch)), y.narrow(0, s, batch)));
  }, { warmup: 5 });
  emit({ ...info, windows: w, batch, rssBeforeMiB, lastLoss });
} else if (workload === "cnn") {
  const { n, batch, lr } = CNN;
  const x = randn([n, 1, 28, 28], { generator: g }), y = randint(0, 10, [n], { generator: g });
  const model = new nn.Sequential(
    new nn.Conv2d(1, 16, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Conv2d(16, 32, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Flatten(), new nn.Linear(1568, 10),
  );
  const opt = new optim.Adam(model.parameters(), { lr });
  const crit = new nn.CrossEntropyLoss();
  const nb = n / batch;
  const w = timeWindows((i) => {
    const s = (i % nb) * batch;
    lastLoss = trainStep(model, opt, (m) => crit.forward(m.forward(x.narrow(0, s, batch)), y.narrow(0, s, batch)));
  }, { warmup: 2 });
  emit({ ...info, windows: w, batch, lastLoss });
} else if (workload === "transformer") {
  const { vocab, ctx, dModel, heads, layers, ff, batch, lr, weightDecay, batches } = TRANSFORMER;
  class CharTransformer extends nn.Module {
    tok = new nn.Embedding(vocab, dModel);
    pos = new nn.Embedding(ctx, dModel);
    blocks = new nn.ModuleList(Array.from({ length: layers }, () =>
      new nn.TransformerEncoderLayer(dModel, heads, { dimFeedforward: ff, dropout: 0, activation: "gelu", normFirst: true, batchFirst: true })));
    lnF = new nn.LayerNorm(dModel);
    head = new nn.Linear(dModel, vocab);
    readonly positions = arange(ctx); // int32
    readonly mask = nn.Transformer.generateSquareSubsequentMask(ctx);
    forward(idx: Tensor): Tensor { // idx (B, T) int32 → logits (B, T, vocab)
      let h = this.tok.forward(idx).add(this.pos.forward(this.positions)); // (B, T, D)
      for (const b of this.blocks) h = (b as nn.TransformerEncoderLayer).forward(h, { srcMask: this.mask, isCausal: true });
      return this.head.forward(this.lnF.forward(h));
    }
  }
  const model = new CharTransformer();
  const opt = new optim.AdamW(model.parameters(), { lr, weightDecay });
  const crit = new nn.CrossEntropyLoss();
  const data = Array.from({ length: batches }, () => randint(0, vocab, [batch, ctx + 1], { generator: g }));
  const inputs = data.map((d) => d.narrow(1, 0, ctx).contiguous()), targets = data.map((d) => d.narrow(1, 1, ctx).contiguous().reshape([batch * ctx]));
  const train = timeWindows((i) => {
    const k = i % batches;
    lastLoss = trainStep(model, opt, (m) => crit.forward(m.forward(inputs[k]).reshape([batch * ctx, vocab]), targets[k]));
  }, { warmup: 2 });
  model.eval();
  const infer = timeWindows((i) => { noGrad(() => model.forward(inputs[i % batches]).toTypedArray()); }, { warmup: 2 });
  emit({ ...info, train, infer, tokensPerStep: batch * ctx, lastLoss });
} else {
  throw new Error(`[bench/peers/kiln] workload '${workload}' runs elsewhere (seed: examples/seed.ts)`);
}
