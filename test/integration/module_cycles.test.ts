// Every built module loads when it is the first one imported: the import cycles among ops, autograd and the
// Tensor class never read a binding before its module has run (regression: elementwise.js read P.mul early).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { Worker } from "node:worker_threads";
import { pathToFileURL } from "node:url";

const dist = resolve(new URL("../../dist", import.meta.url).pathname);

/** Import `file` as the first module of a fresh module graph (a new worker) and report any error. */
function loadFirst(file: string): Promise<string | null> {
  return new Promise((done) => {
    const w = new Worker(`import(${JSON.stringify(pathToFileURL(file).href)}).then(() => process.exit(0), (e) => { console.error(String(e)); process.exit(1); });`, { eval: true, stderr: true });
    let err = "";
    w.stderr.on("data", (d) => (err += d));
    w.on("exit", (code) => done(code === 0 ? null : err.trim() || `exit ${code}`));
  });
}

test("each module of dist/ loads as the first import", async () => {
  const files = readdirSync(dist, { recursive: true }).map(String).filter((f) => f.endsWith(".js")).map((f) => join(dist, f));
  assert.ok(files.length > 40, `only ${files.length} modules in dist/: run npm run build`);
  const failures: string[] = [];
  for (let i = 0; i < files.length; i += 4) {
    const batch = files.slice(i, i + 4);
    const res = await Promise.all(batch.map(loadFirst));
    res.forEach((r, j) => r && failures.push(`${batch[j].slice(dist.length + 1)}: ${r}`));
  }
  assert.deepEqual(failures, []);
});
