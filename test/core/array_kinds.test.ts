// Shape and stride arrays stay packed small-integer arrays (one V8 elements kind): src/shape.ts explains why.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const api = fileURLToPath(new URL("../../src/index.ts", import.meta.url));

test("tensors from varargs and array shapes, views, cat and DataLoader batches have packed small-integer shapes and strides; batches and index lists are packed", () => {
  // V8's natives syntax reads an array's elements kind; it needs its flag, hence a child process
  const code = `const k = await import(${JSON.stringify(api)});
    const made = {
      "zeros(5, 1)": k.zeros(5, 1), "ones(5, 2, { dtype })": k.ones(5, 2, { dtype: "float64" }), "randn(5, 2)": k.randn(5, 2),
      "rand([5, 2])": k.rand([5, 2]), "empty(3, 4)": k.empty(3, 4), "full": k.full([2, 3], 7),
      "cat of zeros(…)": k.cat([k.zeros(5, 1), k.ones(5, 1)], 0), "view(5, 2)": k.randn([10]).view(5, 2),
      "reshape(2, -1)": k.randn([10]).reshape(2, -1), "transpose": k.randn(3, 4).transpose(0, 1), "expand": k.randn(3, 1).expand(3, 4),
    };
    const ds = new k.data.TensorDataset(k.randn(20, 2), k.cat([k.zeros(10, 1), k.ones(10, 1)], 0));
    const batch = new k.data.DataLoader(ds, { batchSize: 4, shuffle: true })[Symbol.iterator]().next().value;
    const [xb, yb] = batch;
    made["DataLoader x"] = xb; made["DataLoader y"] = yb;
    const odd = Object.entries(made).filter(([, t]) => ![t.shape, t.strides].every((a) => %HasSmiElements(a) && !%HasHoleyElements(a))).map(([n]) => n);
    const indices = new k.data.BatchSampler(new k.data.RandomSampler(ds), 3, false)[Symbol.iterator]().next().value;
    if (%HasHoleyElements(batch)) odd.push("DataLoader batch list");
    if (!%HasSmiElements(indices) || %HasHoleyElements(indices)) odd.push("BatchSampler index list");
    console.log(JSON.stringify(odd));`;
  const r = spawnSync(process.execPath, ["--allow-natives-syntax", "--import", "tsx", "--input-type=module", "-e", code], { encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim().split("\n").pop()!), []);
});
