// End-to-end: the GAN example in quick mode covers most of the 8 modes of the ring.
import { test } from "node:test";
import assert from "node:assert/strict";
import { main, modeCoverage, sampleRing, N_MODES } from "../../examples/gan.js";
import { Generator } from "kiln";

test("gan example: the coverage metric sees all 8 modes in real data", () => {
  const cov = modeCoverage(sampleRing(2000, new Generator(0)));
  assert.equal(cov.modesCovered, N_MODES);
  assert.ok(cov.highQuality > 0.98, // a 2-D Gaussian puts 1 - exp(-4.5) = 98.9% within 3σ
     `high-quality fraction of real samples ${cov.highQuality}`);
});

test("gan example (quick): covers at least 6 of the 8 modes", async () => {
  const m = await main({ quick: true, log: () => {} });
  assert.ok(m.modesCovered >= 6, `modes covered ${m.modesCovered}, per mode ${m.perMode.join(", ")}`);
  assert.ok(m.highQuality >= 0.3, `high-quality fraction ${m.highQuality}`);
});
