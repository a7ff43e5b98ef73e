// Tests for StandardScaler and MinMaxScaler against hand-computed statistics (scikit-learn's definitions).
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { tensor, zeros, Tensor } from "../../src/index.js";
import { MinMaxScaler, StandardScaler } from "../../src/data/index.js";

const f32 = (rows: number[][]) => rows.map((r) => r.map((v) => Math.fround(v)));

describe("StandardScaler", () => {
  // columns: [1, 3, 5] has mean 3 and population variance (4 + 0 + 4) / 3; [2, 4, 9] mean 5, variance (9 + 1 + 16) / 3
  const train = tensor([[1, 2], [3, 4], [5, 9]]);
  const s0 = Math.sqrt(8 / 3), s1 = Math.sqrt(26 / 3);

  test("fit computes per-column mean and population std (ddof 0)", () => {
    const sc = new StandardScaler().fit(train);
    assert.deepEqual(sc.mean.tolist(), [3, 5]);
    assert.deepEqual(sc.var.tolist(), [8 / 3, 26 / 3]);
    assert.deepEqual(sc.scale.tolist(), [s0, s1]);
    assert.equal(sc.mean.dtype, "float64");
  });

  test("transform standardises each column; fitTransform is fit then transform", () => {
    const expected = f32([[-2 / s0, -3 / s1], [0, -1 / s1], [2 / s0, 4 / s1]]);
    const sc = new StandardScaler();
    const out = sc.fitTransform(train);
    assert.equal(out.dtype, "float32");
    assert.deepEqual(out.tolist(), expected);
    assert.deepEqual(sc.transform(train).tolist(), expected);
  });

  test("fit on train, apply the same statistics to test", () => {
    const sc = new StandardScaler().fit(train);
    const test = tensor([[7, 5], [3, -1]]);
    assert.deepEqual(sc.transform(test).tolist(), f32([[4 / s0, 0], [0, -6 / s1]]));
    assert.deepEqual(sc.mean.tolist(), [3, 5]); // unchanged by transforming other data
  });

  test("inverseTransform undoes transform", () => {
    const sc = new StandardScaler().fit(train);
    const back = sc.inverseTransform(sc.transform(train)).tolist() as number[][];
    back.flat().forEach((v, i) => assert.ok(Math.abs(v - [1, 2, 3, 4, 5, 9][i]) < 1e-6));
  });

  test("constant columns are scaled by 1, even when rounding leaves a tiny variance", () => {
    // 0.1 * 3 / 3 is not exactly 0.1 in binary, so the variance is ~1e-34 rather than 0; scikit-learn treats it as 0
    const x = tensor([[0.1, 7], [0.1, 7], [0.1, 7]], { dtype: "float64" });
    const sc = new StandardScaler().fit(x);
    assert.deepEqual(sc.scale.tolist(), [1, 1]);
    for (const v of (sc.transform(x).tolist() as number[][]).flat()) assert.ok(Math.abs(v) < 1e-15);
  });

  test("float64 input gives float64 output; integer input gives float32", () => {
    const sc = new StandardScaler().fit(train);
    assert.equal(sc.transform(train.double()).dtype, "float64");
    assert.deepEqual(sc.transform(train.double()).tolist(), [[-2 / s0, -3 / s1], [0, -1 / s1], [2 / s0, 4 / s1]]);
    assert.equal(sc.transform(train.int()).dtype, "float32");
  });

  test("non-contiguous input reads the logical layout", () => {
    const sc = new StandardScaler().fit(tensor([[1, 3, 5], [2, 4, 9]]).t());
    assert.deepEqual(sc.mean.tolist(), [3, 5]);
  });

  test("stateDict and loadStateDict carry the statistics", () => {
    const sc = new StandardScaler().fit(train);
    const sd = sc.stateDict();
    assert.deepEqual(Object.keys(sd).sort(), ["mean", "scale", "var"]);
    assert.ok(Object.values(sd).every((t) => t instanceof Tensor && t.dtype === "float64"));
    const restored = new StandardScaler().loadStateDict(sd);
    assert.deepEqual(restored.transform(train).tolist(), sc.transform(train).tolist());
    assert.throws(() => new StandardScaler().loadStateDict({ mean: sd.mean }), { message: "[StandardScaler] loadStateDict: missing 'var'" });
    assert.throws(() => new StandardScaler().loadStateDict({ ...sd, scale: zeros(3, { dtype: "float64" }) }), {
      message: "[StandardScaler] loadStateDict: 'scale' has shape [3], expected [2]",
    });
  });

  test("errors: not fitted, wrong feature count, not 2-D, no samples", () => {
    const sc = new StandardScaler();
    const notFitted = { message: "[StandardScaler] this scaler is not fitted yet; call fit(x) first" };
    assert.throws(() => sc.transform(train), notFitted);
    assert.throws(() => sc.inverseTransform(train), notFitted);
    assert.throws(() => sc.stateDict(), notFitted);
    sc.fit(train);
    assert.throws(() => sc.transform(zeros(4, 3)), { message: "[StandardScaler] expected 2 features, got 3" });
    assert.throws(() => sc.inverseTransform(zeros(4, 1)), { message: "[StandardScaler] expected 2 features, got 1" });
    assert.throws(() => sc.transform(zeros(4)), { message: "[StandardScaler] expected a 2-D tensor (samples × features), got shape [4]" });
    assert.throws(() => new StandardScaler().fit(zeros(0, 2)), { message: "[StandardScaler] cannot fit on 0 samples" });
  });
});

describe("MinMaxScaler", () => {
  // columns [1, 2, 3] and [-1, 0, 5]: ranges 2 and 6
  const train = tensor([[1, -1], [2, 0], [3, 5]]);

  test("maps each column's training range onto [0, 1]", () => {
    const sc = new MinMaxScaler().fit(train);
    assert.deepEqual(sc.dataMin.tolist(), [1, -1]);
    assert.deepEqual(sc.dataMax.tolist(), [3, 5]);
    assert.deepEqual(sc.scale.tolist(), [0.5, 1 / 6]);
    assert.deepEqual(sc.min.tolist(), [-0.5, 1 / 6]);
    assert.deepEqual(sc.transform(train).tolist(), f32([[0, -1 / 6 + 1 / 6], [0.5, 0 / 6 + 1 / 6], [1, 5 * (1 / 6) + 1 / 6]]));
  });

  test("test data uses the training range and may fall outside it", () => {
    const sc = new MinMaxScaler().fit(train);
    assert.deepEqual(sc.transform(tensor([[4, 2], [0, -7]])).tolist(), f32([[1.5, 2 / 6 + 1 / 6], [-0.5, -7 / 6 + 1 / 6]]));
  });

  test("featureRange sets the target interval", () => {
    const sc = new MinMaxScaler({ featureRange: [-1, 1] });
    // scale = 2 / range = [1, 1/3]; min = -1 - dataMin * scale = [-2, -2/3]
    const out = sc.fitTransform(train).tolist() as number[][];
    const s1 = 2 / 6, m1 = -1 - -1 * s1;
    assert.deepEqual(out, f32([[-1, -1 * s1 + m1], [0, 0 * s1 + m1], [1, 5 * s1 + m1]]));
    assert.deepEqual(out.map((r) => r.map((v) => Math.round(v * 1e6) / 1e6)), [[-1, -1], [0, -0.666667], [1, 1]]);
    const back = (sc.inverseTransform(sc.transform(train.double())).tolist() as number[][]).flat();
    back.forEach((v, i) => assert.ok(Math.abs(v - [1, -1, 2, 0, 3, 5][i]) < 1e-12));
  });

  test("constant columns are scaled by 1 and shifted to the range minimum", () => {
    const sc = new MinMaxScaler().fit(tensor([[4, 1], [4, 2]]));
    assert.deepEqual(sc.scale.tolist(), [1, 1]);
    assert.deepEqual(sc.transform(tensor([[4, 1], [5, 2]])).tolist(), [[0, 0], [1, 1]]);
  });

  test("stateDict round trip", () => {
    const sc = new MinMaxScaler({ featureRange: [2, 3] }).fit(train);
    const sd = sc.stateDict();
    assert.deepEqual(Object.keys(sd).sort(), ["dataMax", "dataMin", "min", "scale"]);
    const restored = new MinMaxScaler().loadStateDict(sd);
    assert.deepEqual(restored.transform(train).tolist(), sc.transform(train).tolist());
  });

  test("errors", () => {
    assert.throws(() => new MinMaxScaler({ featureRange: [1, 0] }), { message: "[MinMaxScaler] featureRange minimum must be smaller than maximum, got [1, 0]" });
    assert.throws(() => new MinMaxScaler().transform(train), { message: "[MinMaxScaler] this scaler is not fitted yet; call fit(x) first" });
    assert.throws(() => new MinMaxScaler().fit(train).transform(zeros(1, 3)), { message: "[MinMaxScaler] expected 2 features, got 3" });
    assert.throws(() => new MinMaxScaler().fit(zeros(0, 2)), { message: "[MinMaxScaler] cannot fit on 0 samples" });
  });
});
