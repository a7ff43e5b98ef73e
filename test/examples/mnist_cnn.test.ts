// End-to-end: the MNIST CNN example in quick mode (1,000 train / 500 test digits) learns well past chance.
import { test } from "node:test";
import assert from "node:assert/strict";
import { main } from "../../examples/mnist_cnn.js";

test("mnist-cnn example (quick): 1,000 training digits for 2 epochs, 500 held out (measured 0.88; chance is 0.1)", async () => {
  const m = await main({ quick: true, log: () => {}, progress: false });
  assert.equal(m.trainSize, 1000);
  assert.equal(m.testSize, 500);
  assert.ok(m.accuracy >= 0.8, `held-out accuracy ${m.accuracy}`);
  assert.equal(m.reloadedAccuracy, m.accuracy);
});
