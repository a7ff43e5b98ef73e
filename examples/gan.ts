// A GAN on the classic 2-D toy: a mixture of 8 Gaussians on a circle. Generator and discriminator MLPs,
// BCEWithLogitsLoss (non-saturating generator loss), Adam with betas [0.5, 0.999]; reports mode coverage.
import { pathToFileURL } from "node:url";
import { Generator, manualSeed, noGrad, ones, randint, randn, stack, zeros, nn, optim, type Tensor } from "kiln";

export const N_MODES = 8;
export const RADIUS = 2;
export const SIGMA = 0.05;
const CENTERS: [number, number][] = Array.from({ length: N_MODES }, (_, k) => {
  const a = (2 * Math.PI * k) / N_MODES;
  return [RADIUS * Math.cos(a), RADIUS * Math.sin(a)];
});

/** n samples of the ring mixture: a uniformly chosen center plus N(0, SIGMA²) noise. */
export function sampleRing(n: number, g: Generator): Tensor {
  const angle = randint(0, N_MODES, [n], { generator: g }).float().mul((2 * Math.PI) / N_MODES); // (n,)
  const centers = stack([angle.cos(), angle.sin()], 1).mul(RADIUS); // (n, 2)
  return centers.add(randn([n, 2], { generator: g }).mul(SIGMA)); // (n, 2)
}

export interface Coverage {
  modesCovered: number; // modes with at least `minPerMode` high-quality samples
  highQuality: number; // fraction of samples within 3σ of some mode
  perMode: number[]; // high-quality samples per mode
  minPerMode: number;
}

/** Assigns each sample (n, 2) to its nearest mode; a sample within 3σ of it is "high quality". */
export function modeCoverage(samples: Tensor, minShare = 0.25): Coverage {
  const xy = samples.toTypedArray(), n = samples.shape[0];
  const perMode = new Array<number>(N_MODES).fill(0);
  let hq = 0;
  for (let i = 0; i < n; i++) {
    let best = Infinity, arg = 0;
    CENTERS.forEach(([cx, cy], k) => {
      const d = Math.hypot(xy[2 * i] - cx, xy[2 * i + 1] - cy);
      if (d < best) [best, arg] = [d, k];
    });
    if (best <= 3 * SIGMA) {
      hq++;
      perMode[arg]++;
    }
  }
  // a mode counts as covered when it gets at least minShare of its fair share n / 8 of the samples
  const minPerMode = Math.ceil((minShare * n) / N_MODES);
  return { modesCovered: perMode.filter((c) => c >= minPerMode).length, highQuality: hq / n, perMode, minPerMode };
}

/** A coarse text scatter plot of samples (n, 2) over [-3, 3]². */
function asciiPlot(samples: Tensor, w = 49, h = 21): string[] {
  const xy = samples.toTypedArray(), grid = Array.from({ length: h }, () => new Array<number>(w).fill(0));
  for (let i = 0; i < samples.shape[0]; i++) {
    const c = Math.floor(((xy[2 * i] + 3) / 6) * w), r = Math.floor(((3 - xy[2 * i + 1]) / 6) * h);
    if (c >= 0 && c < w && r >= 0 && r < h) grid[r][c]++;
  }
  const shades = " .:-=+*#%@";
  return grid.map((row) => "|" + row.map((v) => shades[Math.min(shades.length - 1, Math.ceil(Math.log2(v + 1)))]).join("") + "|");
}

export interface GanOptions {
  quick?: boolean;
  steps?: number;
  log?: (line: string) => void;
}

export interface GanMetrics extends Coverage {
  steps: number;
  nSamples: number;
  seconds: number;
}

export async function main(opts: GanOptions = {}): Promise<GanMetrics> {
  const log = opts.log ?? console.log;
  const t0 = performance.now();
  manualSeed(0);
  const steps = opts.steps ?? (opts.quick ? 1500 : 5000);
  const batch = 128, hidden = 64, noiseDim = 2;
  const g = new Generator(7); // data and noise

  const G = new nn.Sequential(
    new nn.Linear(noiseDim, hidden), new nn.ReLU(), new nn.Linear(hidden, hidden), new nn.ReLU(), new nn.Linear(hidden, 2),
  );
  const D = new nn.Sequential(
    new nn.Linear(2, hidden), new nn.LeakyReLU(0.2), new nn.Linear(hidden, hidden), new nn.LeakyReLU(0.2), new nn.Linear(hidden, 1),
  );
  const optG = new optim.Adam(G.parameters(), { lr: 2e-3, betas: [0.5, 0.999] });
  const optD = new optim.Adam(D.parameters(), { lr: 2e-3, betas: [0.5, 0.999] });
  const bce = new nn.BCEWithLogitsLoss();
  const real1 = ones(batch, 1), fake0 = zeros(batch, 1); // (B, 1) targets
  log(`GAN on ${N_MODES} Gaussians (radius ${RADIUS}, σ ${SIGMA}): G and D are 2-${hidden}-${hidden}-out MLPs, batch ${batch}, ${steps} steps`);

  let dSum = 0, gSum = 0;
  for (let step = 1; step <= steps; step++) {
    // discriminator: real -> 1, generated (detached) -> 0
    const real = sampleRing(batch, g); // (B, 2)
    const fake = G.forward(randn([batch, noiseDim], { generator: g })); // (B, 2)
    optD.zeroGrad();
    const dLoss = bce.forward(D.forward(real), real1).add(bce.forward(D.forward(fake.detach()), fake0));
    dLoss.backward();
    optD.step();
    // generator: make D call its samples real (the non-saturating loss)
    optG.zeroGrad();
    const gLoss = bce.forward(D.forward(fake), real1);
    gLoss.backward();
    optG.step();
    dSum += dLoss.item();
    gSum += gLoss.item();
    const every = Math.max(1, Math.floor(steps / 6));
    if (step % every === 0 || step === steps) {
      const cov = noGrad(() => modeCoverage(G.forward(randn([500, noiseDim], { generator: g }))));
      const k = step % every === 0 ? every : step % every;
      log(`step ${String(step).padStart(5)}  D loss ${(dSum / k).toFixed(3)}  G loss ${(gSum / k).toFixed(3)}  modes ${cov.modesCovered}/${N_MODES}  high-quality ${(cov.highQuality * 100).toFixed(1)}%`);
      dSum = gSum = 0;
    }
  }

  const nSamples = 2000;
  const samples = noGrad(() => G.forward(randn([nSamples, noiseDim], { generator: new Generator(123) }))); // (2000, 2)
  const cov = modeCoverage(samples);
  log(`\n${nSamples} generated samples over [-3, 3]²:`);
  for (const line of asciiPlot(samples)) log(line);
  log(`high-quality samples (within 3σ = ${(3 * SIGMA).toFixed(2)} of a mode): ${(cov.highQuality * 100).toFixed(1)}%`);
  log(`per-mode counts: [${cov.perMode.join(", ")}] (covered: ≥ ${cov.minPerMode}, a quarter of the fair share ${nSamples / N_MODES})`);
  log(`modes covered: ${cov.modesCovered}/${N_MODES} (${((cov.modesCovered / N_MODES) * 100).toFixed(0)}%)`);
  const seconds = (performance.now() - t0) / 1000;
  return { ...cov, steps, nSamples, seconds };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main({ quick: process.argv.includes("--quick") });
}
