// The built package: `import { tensor, nn, optim, data } from "kiln"` works for a dependent project.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, mkdirSync, symlinkSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { spawnSync } from "node:child_process";

const root = resolve(new URL("../..", import.meta.url).pathname);

test("dist/ has the entry point and type declarations that package.json exports", () => {
  assert.ok(existsSync(join(root, "dist/index.js")), "dist/index.js missing: npm install runs the build (prepare)");
  assert.ok(existsSync(join(root, "dist/index.d.ts")), "dist/index.d.ts missing");
});

test("a project depending on kiln imports it by name and trains a step", () => {
  const dir = mkdtempSync(join(tmpdir(), "kiln-dep-"));
  try {
    mkdirSync(join(dir, "node_modules"));
    symlinkSync(root, join(dir, "node_modules", "kiln"), "dir");
    writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
    writeFileSync(join(dir, "main.js"), `
      import { tensor, nn, optim, data, save, load } from "kiln";
      const model = new nn.Linear(2, 1);
      const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
      const ds = new data.TensorDataset(tensor([[1, 2], [3, 4]]), tensor([[1], [0]]));
      for (const [x, y] of new data.DataLoader(ds, { batchSize: 2 })) {
        const loss = new nn.MSELoss().forward(model.forward(x), y);
        loss.backward();
        opt.step();
      }
      console.log(typeof save, typeof load, model.weight.shape.join("x"));
    `);
    const r = spawnSync(process.execPath, ["main.js"], { cwd: dir, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), "function function 1x2");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
