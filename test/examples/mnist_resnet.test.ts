// End-to-end: the MNIST ResNet example in quick mode (1,000 train / 500 test digits), BatchNorm modes, save/load.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randn, noGrad } from "kiln";
import { BasicBlock, main } from "../../examples/mnist_resnet.js";

test("mnist-resnet: BasicBlock keeps the shape with an identity shortcut, projects when stride or width changes", () => {
  const same = new BasicBlock(4, 4), down = new BasicBlock(4, 8, 2);
  assert.equal(same.downsample, null);
  assert.notEqual(down.downsample, null);
  noGrad(() => {
    assert.deepEqual(same.forward(randn(2, 4, 7, 7)).shape, [2, 4, 7, 7]);
    assert.deepEqual(down.forward(randn(2, 4, 7, 7)).shape, [2, 8, 4, 4]);
  });
  assert.ok("downsample.1.running_var" in down.stateDict());
});

test("mnist-resnet example (quick): 1,000 training digits for 3 epochs, 500 held out (measured 0.868; chance is 0.1)", async () => {
  const m = await main({ quick: true, log: () => {}, progress: false });
  assert.equal(m.trainSize, 1000);
  assert.equal(m.testSize, 500);
  assert.ok(m.accuracy >= 0.75, `held-out accuracy ${m.accuracy}`);
  assert.ok(m.evalKeepsRunningStats, "an eval-mode forward changed the running statistics");
  assert.ok(m.trainUpdatesRunningStats, "a train-mode forward left the running statistics unchanged");
  assert.equal(m.savedBatchNormBuffers, 3 * 9); // stem BN + 2 per block × 3 blocks + 2 projection BNs; 3 buffers each
  assert.equal(m.reloadMaxAbsDiff, 0);
  assert.equal(m.reloadedAccuracy, m.accuracy);
  // the running statistics matter: the same weights with fresh ones (mean 0, var 1) fall apart (measured 0.122)
  assert.ok(m.withoutRunningStatsAccuracy < m.accuracy - 0.3, `accuracy without running stats ${m.withoutRunningStatsAccuracy}`);
});
