// The browser entry point (package "browser" condition) reaches no Node built-in through its imports.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const src = resolve(dirname(fileURLToPath(import.meta.url)), "../../src");
const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

/** Every module reachable from `entry` by static imports/exports, with the specifiers it imports. */
function importGraph(entry: string): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const stack = [entry];
  while (stack.length) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    const text = readFileSync(file, "utf8");
    const specs = [...text.matchAll(/(?:import|export)\s[^;]*?from\s+"([^"]+)"|import\("([^"]+)"\)/g)].map((m) => m[1] ?? m[2]);
    seen.set(file, specs);
    for (const s of specs) if (s.startsWith(".")) stack.push(join(dirname(file), s.replace(/\.js$/, ".ts")));
  }
  return seen;
}

test("src/browser.ts imports no Node built-in, directly or transitively", () => {
  const graph = importGraph(join(src, "browser.ts"));
  assert.ok(graph.size > 20, `only ${graph.size} modules found: the walker is broken`);
  const offenders = [...graph].flatMap(([file, specs]) => specs.filter((s) => builtins.has(s)).map((s) => `${file.slice(src.length + 1)} → ${s}`));
  assert.deepEqual(offenders, []);
});

test("the Node entry does reach the file helpers (so the check above can fail)", () => {
  const graph = importGraph(join(src, "index.ts"));
  const nodeImports = [...graph].flatMap(([, specs]) => specs.filter((s) => builtins.has(s)));
  assert.ok(nodeImports.includes("node:fs"), "expected save/load and readCsv to import node:fs");
});
