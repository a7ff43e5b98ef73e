// End-to-end: the Iris example in quick mode reaches a held-out accuracy and R², and reloads identically.
import { test } from "node:test";
import assert from "node:assert/strict";
import { main } from "../../examples/tabular.js";

test("tabular example (quick): Iris classification, regression and save/load", async () => {
  const m = await main({ quick: true, log: () => {} });
  assert.ok(m.accuracy >= 0.85, `held-out accuracy ${m.accuracy}`);
  assert.equal(m.testSize, 30);
  assert.ok(m.r2 >= 0.8, `held-out R² ${m.r2}`);
  assert.ok(m.rmse < 0.35, `held-out RMSE ${m.rmse}`);
  assert.equal(m.reloadMaxAbsDiff, 0);
});
