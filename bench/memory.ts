// Memory soak: the seed program for 1,000 epochs with no dispose(); RSS must stay within 10% of epoch 10's.
import { Generator, manualSeed, randn, tensor, cat, ones, zeros, nn, optim, data } from "kiln";

manualSeed(0);
const g = new Generator(2024);
const half = 5000;
const blob = (cx: number, cy: number) => randn([half, 2], { generator: g }).mul(tensor([[8, 5]])).add(tensor([[cx, cy]]));
const x = cat([blob(50, 30), blob(70, 45)], 0);
const y = cat([zeros(half, 1), ones(half, 1)], 0);
const ds = new data.TensorDataset(new data.StandardScaler().fit(x).transform(x), y);
const model = new nn.Sequential(new nn.Linear(2, 10), new nn.ReLU(), new nn.Linear(10, 1));
const opt = new optim.Adam(model.parameters(), { lr: 0.001 });
const crit = new nn.BCEWithLogitsLoss();
const loader = new data.DataLoader(ds, { batchSize: 16, shuffle: true });
const epochs = Number(process.env.SOAK_EPOCHS ?? 1000);
const mib = () => process.memoryUsage().rss / 2 ** 20;
const detail = () => { const m = process.memoryUsage(); return `heap ${(m.heapUsed / 2 ** 20).toFixed(1)}/${(m.heapTotal / 2 ** 20).toFixed(1)} MiB, arrayBuffers ${(m.arrayBuffers / 2 ** 20).toFixed(1)} MiB`; };
let ref = 0, worst = 0;
const t0 = performance.now();
for (let e = 1; e <= epochs; e++) {
  let running = 0;
  for (const [xb, yb] of loader) {
    opt.zeroGrad();
    const loss = crit.forward(model.forward(xb), yb);
    loss.backward();
    opt.step();
    running += loss.item();
  }
  if (e === 10) ref = mib();
  if (e === 10 || e % 100 === 0) {
    const rss = mib();
    worst = Math.max(worst, Math.abs(rss / ref - 1));
    console.log(`epoch ${String(e).padStart(4)}  loss ${(running / loader.length).toFixed(5)}  rss ${rss.toFixed(1)} MiB  (${((rss / ref - 1) * 100).toFixed(1)}% vs epoch 10; ${detail()})  ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
}
console.log(`largest RSS deviation from epoch 10: ${(worst * 100).toFixed(1)}% (target: within 10%)`);
