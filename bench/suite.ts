// `npm run bench` (its first part) and `npm run bench:suite`: Kiln against TensorFlow.js (cpu, wasm) and PyTorch on the same machine in the same run.
// Every (peer, workload) runs in a fresh child process (bench/peers/*.ts, bench/suite_torch.py, bench/seed_torch.py,
// examples/seed.ts) that prints one `@@RESULT {json}` line; this file runs them one after another (a 2-core machine:
// nothing runs beside them but what else the machine is doing), prints a Markdown table, then the JSON summary.
// Kiln runs as users get it (its worker pool on every core) and on one thread (KILN_THREADS=1); PyTorch on one thread
// (the issue's reference figures) and on every core; tfjs-wasm has no threaded build in Node.
// Env: SUITE_BUDGET_MS (default 3000: timed part of one measurement), SUITE_SLOW_MS (8000: a slower first step is
// reported alone, cold), SUITE_PHASE_CAP_MS (25000), SEED_RUNS (3), SUITE_JS_FULL=1 (also the Kiln js backend's
// transformer, about 35 s), SUITE_ONLY=gemm,seed,... (a subset of workloads).
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { GEMM_SIZES, MLP, WORKLOADS, median, type Windows, type Workload } from "./peers/common.js";

type Result = Record<string, unknown> & { error?: string; maxRssMiB?: number };
type PeerId = "kiln" | "kiln-1t" | "kiln-js" | "tfjs-cpu" | "tfjs-wasm" | "pytorch" | "pytorch-all";
const PEERS: PeerId[] = ["kiln", "kiln-1t", "kiln-js", "tfjs-cpu", "tfjs-wasm", "pytorch", "pytorch-all"];
const PY = "/usr/bin/python3";
const seedRuns = Number(process.env.SEED_RUNS ?? 3);
const only = process.env.SUITE_ONLY ? process.env.SUITE_ONLY.split(",") : [...WORKLOADS];
const jsFull = process.env.SUITE_JS_FULL === "1";
const t00 = performance.now();
const load0 = loadavg();
const log = (s: string) => process.stderr.write(`[suite ${((performance.now() - t00) / 1000).toFixed(0).padStart(3)} s] ${s}\n`);

const envWithout = (...ks: string[]) => { const e = { ...process.env }; for (const k of ks) delete e[k]; return e; };
const tsChild = (file: string, args: string[], env: NodeJS.ProcessEnv) =>
  spawnSync(process.execPath, ["--import", "tsx", file, ...args], { encoding: "utf8", env, timeout: 180_000, maxBuffer: 64 << 20 });

function parse(r: SpawnSyncReturns<string>, what: string): Result {
  const line = r.stdout?.split("\n").find((l) => l.startsWith("@@RESULT "));
  if (line) return JSON.parse(line.slice("@@RESULT ".length)) as Result;
  const why = r.error ? String(r.error.message) : `exit ${r.status}${r.signal ? ` (${r.signal})` : ""}: ${(r.stderr || r.stdout || "").trim().split("\n").pop()}`;
  return { error: `${what} failed: ${why}` };
}

const torchProbe = spawnSync(PY, ["-c", "import torch"], { encoding: "utf8" });
const haveTorch = torchProbe.status === 0;

/** One child process: `peer` running `workload`. */
function runOne(peer: PeerId, workload: Exclude<Workload, "seed">): Result {
  switch (peer) {
    case "kiln": return parse(tsChild("bench/peers/kiln.ts", [workload], envWithout("KILN_BACKEND", "KILN_THREADS")), `kiln ${workload}`);
    case "kiln-1t":
      if (workload === "gemm") return { skipped: "see Kiln's column: its GEMM rows measure one thread and all threads" };
      return parse(tsChild("bench/peers/kiln.ts", [workload], { ...envWithout("KILN_BACKEND"), KILN_THREADS: "1" }), `kiln-1t ${workload}`);
    case "kiln-js":
      if (workload === "transformer" && !jsFull) return { skipped: "not cheap on the js backend (≈5 s a training step, ≈35 s in all); SUITE_JS_FULL=1 runs it" };
      return parse(tsChild("bench/peers/kiln.ts", [workload], { ...process.env, KILN_BACKEND: "js" }), `kiln-js ${workload}`);
    case "tfjs-cpu": return parse(tsChild("bench/peers/tfjs.ts", ["cpu", workload], process.env), `tfjs-cpu ${workload}`);
    case "tfjs-wasm": return parse(tsChild("bench/peers/tfjs.ts", ["wasm", workload], process.env), `tfjs-wasm ${workload}`);
    case "pytorch": return parse(spawnSync(PY, ["bench/suite_torch.py", workload], { encoding: "utf8", timeout: 180_000 }), `pytorch ${workload}`);
    case "pytorch-all":
      if (workload === "gemm") return { skipped: "see the PyTorch 1-thread column: its GEMM rows measure one thread and all threads" };
      return parse(spawnSync(PY, ["bench/suite_torch.py", workload], { encoding: "utf8", timeout: 180_000, env: { ...process.env, SUITE_TORCH_THREADS: "all" } }), `pytorch-all ${workload}`);
  }
}

/** The seed program, whole (fresh process per run, as a user runs it): SEED_RUNS runs, fewer once 20 s are spent. */
function runSeed(peer: PeerId): Result {
  // the seed's 16×10 tensors never reach the thread threshold: a second thread count would time the same code
  if (peer === "kiln-1t") return { skipped: "same code as Kiln's: no kernel of the seed is big enough to split" };
  if (peer === "pytorch-all") return { skipped: "not run: PyTorch splits an op across threads above 32,768 elements (its grain size); the seed's tensors are 16×10" };
  const secs: number[] = [];
  const t0 = performance.now();
  let extra: Result = {};
  while (secs.length < seedRuns && (secs.length === 0 || performance.now() - t0 < 20_000)) {
    let s: number | undefined;
    if (peer === "kiln" || peer === "kiln-js") {
      const r = tsChild("examples/seed.ts", [], peer === "kiln" ? envWithout("KILN_BACKEND", "KILN_THREADS") : { ...process.env, KILN_BACKEND: "js" });
      const m = /10 epochs in ([\d.]+) s/.exec(r.stderr ?? "");
      if (r.status !== 0 || !m) return { error: `examples/seed.ts failed: ${(r.stderr ?? "").trim().split("\n").pop()}` };
      s = Number(m[1]);
    } else if (peer === "pytorch") {
      const r = spawnSync(PY, ["bench/seed_torch.py"], { encoding: "utf8", timeout: 180_000 });
      if (r.status !== 0) return { error: `bench/seed_torch.py failed: ${(r.stderr ?? "").trim().split("\n").pop()}` };
      s = (JSON.parse(r.stdout) as { seconds: number }).seconds;
    } else {
      const res = parse(tsChild("bench/peers/tfjs.ts", [peer === "tfjs-wasm" ? "wasm" : "cpu", "seed"], process.env), `${peer} seed`);
      if (res.error) return res;
      s = res.seconds as number;
      extra = { numTensors: res.numTensors };
    }
    secs.push(s);
  }
  return { seconds: secs, ...extra };
}

// ---- run everything ----
const results: Record<PeerId, Partial<Record<Workload, Result>>> = { kiln: {}, "kiln-1t": {}, "kiln-js": {}, "tfjs-cpu": {}, "tfjs-wasm": {}, pytorch: {}, "pytorch-all": {} };
for (const w of WORKLOADS) {
  if (!only.includes(w)) continue;
  for (const p of PEERS) {
    if (p.startsWith("pytorch") && !haveTorch) { results[p][w] = { skipped: "absent" }; continue; }
    log(`${w.padEnd(11)} ${p}`);
    results[p][w] = w === "seed" ? runSeed(p) : runOne(p, w);
    if (results[p][w]!.error) log(`  ${results[p][w]!.error}`);
  }
}
const totalS = (performance.now() - t00) / 1000;

// ---- table ----
interface Cell { v?: number; text: string; note?: string }
type Dir = "higher" | "lower";
const fmtNum = (v: number) => (v >= 1000 ? v.toFixed(0) : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toPrecision(2));
const why = (r: Result | undefined) => (r === undefined ? "not run" : r.error ? String(r.error) : r.skipped ? String(r.skipped) : undefined);
const notes: string[] = [];
const noteRef = (text: string) => { let i = notes.indexOf(text); if (i < 0) { notes.push(text); i = notes.length - 1; } return `[${i + 1}]`; };

function missing(r: Result | undefined): Cell {
  const w = why(r) ?? "no value";
  if (w === "absent") return { text: "absent" };
  if (w.startsWith("cannot train")) return { text: "cannot train", note: w };
  if (w.startsWith("not cheap") || w.startsWith("not run") || w.startsWith("see ") || w.startsWith("same code")) return { text: "—", note: w };
  return { text: "n/a", note: w };
}

/** Rate from windows: median ms per step → `perStep` units per second; annotated when cold or few steps. */
function windowsCell(r: Result | undefined, key: string, perStep: number): Cell {
  const w = r?.[key] as Windows | undefined;
  if (!w || r?.error) return missing(r);
  const v = perStep / (median(w.msPerStep) / 1000);
  const note = w.coldOnly ? `1 cold step only (${(w.msPerStep[0] / 1000).toFixed(1)} s: over SUITE_SLOW_MS, not repeated)`
    : w.timedSteps < 3 ? `median of ${w.timedSteps} timed step${w.timedSteps > 1 ? "s" : ""} after ${w.warmupSteps} warm-up (phase cap)` : undefined;
  return { v, text: fmtNum(v), note };
}

const rows: { workload: string; metric: string; dir: Dir; cells: Record<PeerId, Cell> }[] = [];
const addRow = (workload: string, metric: string, dir: Dir, f: (p: PeerId) => Cell) =>
  rows.push({ workload, metric, dir, cells: Object.fromEntries(PEERS.map((p) => [p, f(p)])) as Record<PeerId, Cell> });

if (only.includes("gemm")) {
  for (const [key, title] of [["gemm", "1. GEMM fp32, 1 thread"], ["gemmAll", `1b. GEMM fp32, all threads (${cpus().length})`]] as const) {
    for (const n of GEMM_SIZES) {
      addRow(n === GEMM_SIZES[0] ? title : "", `N=${n}, GFLOP/s`, "higher", (p) => {
        const r = results[p].gemm, g = (r?.[key] as Record<string, { gflops: number; reps: number }> | undefined)?.[n];
        if (!g && key === "gemmAll" && r && !r.error && !r.skipped) return { text: "n/a", note: p.startsWith("tfjs") ? "tfjs has no threaded build in Node" : "the js backend runs on one thread" };
        if (!g) return missing(r);
        return { v: g.gflops, text: fmtNum(g.gflops), note: g.reps < 3 ? `${g.reps} timed call${g.reps > 1 ? "s" : ""} (over 1 s each; warm from the smaller sizes)` : undefined };
      });
    }
  }
}
if (only.includes("seed")) {
  addRow("2. seed program (10 epochs, 6,250 steps)", "wall time, s (median of runs)", "lower", (p) => {
    const r = results[p].seed, s = r?.seconds as number[] | undefined;
    if (!s || r?.error) return missing(r);
    const v = median(s);
    return { v, text: fmtNum(v), note: s.length < 3 ? `${s.length} run${s.length > 1 ? "s" : ""} (20 s cap on repeats)` : undefined };
  });
}
if (only.includes("mlp")) {
  addRow("3. MLP 784→256→10, batch 64, Adam", "train samples/s", "higher", (p) => windowsCell(results[p].mlp, "windows", MLP.batch));
  addRow("", "epoch of 10,000, s (from samples/s)", "lower", (p) => {
    const c = windowsCell(results[p].mlp, "windows", MLP.batch);
    return c.v === undefined ? c : { v: MLP.n / c.v, text: fmtNum(MLP.n / c.v), note: c.note };
  });
}
if (only.includes("cnn")) addRow("4. CNN 1×28×28, batch 64, Adam", "train samples/s", "higher", (p) => windowsCell(results[p].cnn, "windows", 64));
if (only.includes("transformer")) {
  addRow("5. char transformer (2 pre-LN blocks, d 128, ctx 64, batch 32)", "train tokens/s (AdamW)", "higher", (p) => windowsCell(results[p].transformer, "train", 2048));
  addRow("", "inference tokens/s (full forward of 32×64, no grad)", "higher", (p) => windowsCell(results[p].transformer, "infer", 2048));
}
if (only.includes("mlp")) {
  addRow("6. peak RSS of workload 3's process", "MiB (before training → peak)", "lower", (p) => {
    const r = results[p].mlp;
    if (!r || r.error || r.maxRssMiB === undefined) return missing(r);
    const w = r.windows as Windows;
    return { v: r.maxRssMiB, text: `${(r.rssBeforeMiB as number).toFixed(0)} → ${r.maxRssMiB.toFixed(0)}`, note: `after ${w.warmupSteps + w.timedSteps} steps` };
  });
}

const kilnName = (() => {
  const r = Object.values(results.kiln).find((x) => x?.backend);
  return r ? `Kiln (${r.backend}${r.gemmVariant && r.gemmVariant !== r.backend ? `, ${r.gemmVariant}` : ""})` : "Kiln (default)";
})();
const torchInfo = Object.values(results.pytorch).find((x) => x?.version);
const header: Record<PeerId, string> = {
  kiln: `${kilnName}, ${cpus().length} threads`, "kiln-1t": "Kiln, 1 thread (KILN_THREADS=1)", "kiln-js": "Kiln (KILN_BACKEND=js)", "tfjs-cpu": "tfjs-cpu 4.22", "tfjs-wasm": "tfjs-wasm 4.22",
  pytorch: `${haveTorch ? `PyTorch ${torchInfo?.version ?? ""}`.trim() : "PyTorch"}, 1 thread`, "pytorch-all": `PyTorch, ${cpus().length} threads`,
};
const out: string[] = [];
out.push(`## Kiln benchmark suite — ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus().length}× ${cpus()[0]?.model ?? "CPU"}`);
out.push("");
out.push(`fp32. Kiln runs as users get it (worker pool on every core) and with KILN_THREADS=1; PyTorch on one thread (the issue's reference) and on every core; tfjs-cpu and tfjs-wasm have no threads in Node; the js backend is single-threaded. Each (peer, workload) runs in a fresh process, one after another; load average ${load0.map((x) => x.toFixed(1)).join(" / ")} at start, ${loadavg().map((x) => x.toFixed(1)).join(" / ")} at end; ${totalS.toFixed(0)} s in all.`);
out.push("Cells: value (× Kiln) = the peer's speed relative to Kiln's default backend (>1: faster than Kiln); for RSS, its peak over Kiln's.");
out.push("Rates are medians over timed windows after warm-up (a window = consecutive steps, GC included); footnotes say where fewer were timed.");
out.push("");
out.push(`| workload | metric | ${PEERS.map((p) => header[p]).join(" | ")} |`);
out.push(`|---|---|${PEERS.map(() => "---:").join("|")}|`);
const summaryRows: unknown[] = [];
for (const row of rows) {
  const k = row.cells.kiln.v;
  const cells = PEERS.map((p) => {
    const c = row.cells[p];
    let s = c.text;
    if (p !== "kiln" && c.v !== undefined && k !== undefined) {
      const ratio = row.metric.startsWith("MiB") ? c.v / k : row.dir === "higher" ? c.v / k : k / c.v;
      s += ` (${ratio >= 10 ? ratio.toFixed(0) : ratio.toFixed(2)}×)`;
    }
    if (c.note) s += ` ${noteRef(c.note)}`;
    return s;
  });
  out.push(`| ${row.workload} | ${row.metric} | ${cells.join(" | ")} |`);
  summaryRows.push({ workload: row.workload, metric: row.metric, better: row.dir, values: Object.fromEntries(PEERS.map((p) => [p, row.cells[p].v ?? null])), notes: Object.fromEntries(PEERS.filter((p) => row.cells[p].note || row.cells[p].v === undefined).map((p) => [p, row.cells[p].note ?? row.cells[p].text])) });
}
// workload-level notes the cells do not carry
const tw = results["tfjs-wasm"].transformer;
if (tw?.note) notes.push(`tfjs-wasm transformer: ${tw.note}`);
if (haveTorch && torchInfo) {
  const blas = String(torchInfo.blas ?? "?");
  notes.push(`PyTorch is Debian's build (${torchInfo.version}, BLAS_INFO=${blas}${blas.includes("/blas/libblas") ? ": the netlib reference BLAS, not OpenBLAS/MKL, so its GEMM and Linear layers run far below what a pip wheel reaches; convolutions go through oneDNN" : ""}); torch.set_num_threads(1) in its 1-thread column and the GEMM 1-thread rows, os.cpu_count() in the others. Its seed row is bench/seed_torch.py (DataLoader).`);
} else if (!haveTorch) {
  notes.push(`PyTorch absent: ${PY} -c "import torch" failed (${(torchProbe.stderr || "").trim().split("\n").pop() ?? ""}).`);
}
const losses = (["mlp", "cnn", "transformer"] as const).filter((w) => only.includes(w)).map((w) =>
  `${w} ${PEERS.map((p) => { const l = results[p][w]?.lastLoss; return typeof l === "number" ? `${p} ${l.toFixed(3)}` : null; }).filter(Boolean).join(", ")}`);
notes.push(`Last training loss of each measurement (a sanity check that the peers train the same models on random data; ln 10 = 2.303, ln 64 = 4.159; peers ran different step counts): ${losses.join("; ")}.`);
notes.push("Seed: wall time of the 10-epoch training loop inside one fresh process (examples/seed.ts's own timer; the tfjs peers time the same loop written with tf.variable, tf.train.adam and tf.tidy, reading the loss each step).");
notes.push("Workload 6: peak RSS (getrusage maxrss) of the process that ran workload 3 (10,000×784 fp32 inputs = 31 MiB of data), before the first step and at the end; tfjs keeps the tensor count flat with tf.tidy (numTensors in the JSON).");
out.push("");
notes.forEach((n, i) => out.push(`[${i + 1}] ${n}`));
console.log(out.join("\n"));
console.log("\n```json");
console.log(JSON.stringify({
  date: new Date().toISOString(), node: process.version, cpus: cpus().length, loadavgStart: load0, loadavgEnd: loadavg(), seconds: totalS,
  peers: header, rows: summaryRows, raw: results,
}, null, 1));
console.log("```");
