// The threaded WebAssembly GEMM: bit-identical results for any thread count, setNumThreads, KILN_THREADS, process exit, fallback.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Generator, Tensor, randn, setNumThreads, getNumThreads } from "../../src/index.js";
import { wasmBackend, wasmGemmConfig } from "../../src/backend/wasm/wasm_backend.js";
import { workerUnits } from "../../src/backend/wasm/gemm_pool.js";
import { causalBias } from "../../src/nn/attention_impl.js";

const g = new Generator(77);
const chance = () => g.nextDouble() < 0.5;
const api = fileURLToPath(new URL("../../src/api.ts", import.meta.url));

/** Run fn with every float32 matmul on the WebAssembly path and split over the pool, however small. */
function forcedThreads(fn: () => void): void {
  const saved = { ...wasmGemmConfig }, threads = getNumThreads();
  wasmGemmConfig.minWork = 0;
  wasmGemmConfig.minThreadWork = 0;
  try { fn(); } finally { Object.assign(wasmGemmConfig, saved); setNumThreads(threads); }
}

/** The product's bits on `threads` threads. */
function bitsOn(threads: number, a: Tensor, b: Tensor): Uint32Array {
  setNumThreads(threads);
  const nd = a.ndim;
  const out = wasmBackend!.matmul(a, b, [...a.shape.slice(0, -2), a.shape[nd - 2], b.shape[nd - 1]], "float32") as Float32Array;
  return new Uint32Array(out.buffer, out.byteOffset, out.length);
}

function assertSameBits(a: Tensor, b: Tensor, label: string): void {
  const one = bitsOn(1, a, b);
  for (const threads of [2, 3, 4]) {
    const got = bitsOn(threads, a, b);
    const i = got.findIndex((v, j) => v !== one[j]);
    assert.equal(i, -1, `${label} on ${threads} threads: element ${i} differs from one thread`);
  }
}

test("the pool runs here: worker_threads and shared WebAssembly memory", () => {
  setNumThreads(2);
  assert.equal(getNumThreads(), 2);
});

test("1, 2, 3, 4 threads give bit-identical products: odd sizes, Aᵀ, Bᵀ, row and column splits, K and N blocks", () => forcedThreads(() => {
  const before = workerUnits();
  for (const [M, N, K] of [[1, 1, 1], [3, 5, 7], [13, 200, 33], [200, 13, 33], [65, 127, 300], [130, 1030, 40], [301, 67, 513], [96, 96, 96]]) {
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
      const a = ta ? randn([K, M], { generator: g }).T : randn([M, K], { generator: g });
      const b = tb ? randn([N, K], { generator: g }).T : randn([K, N], { generator: g });
      assertSameBits(a, b, `(${M},${K})${ta ? "ᵀ" : ""} @ (${K},${N})${tb ? "ᵀ" : ""}`);
    }
  }
  // workers wake in 20–100 µs: repeat a product big enough to span that until they have taken some units
  const a = randn([256, 256], { generator: g }), b = randn([256, 256], { generator: g });
  for (let i = 0; i < 100 && workerUnits() === before; i++) assertSameBits(a, b, "256³");
  assert.ok(workerUnits() > before, "no worker ever took a unit: the products above ran on the calling thread only");
}));

test("blocks copied out as they finish (row blocks, column blocks row by row, whole batches) match one thread", () => forcedThreads(() => {
  for (const [M, N, K] of [[1000, 200, 8], [70, 2100, 10]]) {
    for (const ta of [false, true]) {
      const a = ta ? randn([K, M], { generator: g }).T : randn([M, K], { generator: g });
      assertSameBits(a, randn([K, N], { generator: g }), `(${M},${K})${ta ? "ᵀ" : ""} @ (${K},${N})`);
    }
  }
  assertSameBits(randn([8, 130, 5], { generator: g }), randn([8, 5, 130], { generator: g }), "batch 8 (130,5) @ (5,130)");
}));

test("a small C with a long K (split by K blocks on 2–4 threads) is bit-identical to one thread", () => forcedThreads(() => {
  for (const [M, N, K] of [[16, 9, 2000], [32, 144, 1300], [3, 5, 257], [1, 1, 600], [70, 20, 900]]) {
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
      const a = ta ? randn([K, M], { generator: g }).T : randn([M, K], { generator: g });
      const b = tb ? randn([N, K], { generator: g }).T : randn([K, N], { generator: g });
      assertSameBits(a, b, `(${M},${K})${ta ? "ᵀ" : ""} @ (${K},${N})${tb ? "ᵀ" : ""}`);
    }
  }
  assertSameBits(randn([3, 5, 700], { generator: g }), randn([3, 700, 9], { generator: g }), "batch 3 (5,700) @ (700,9)");
}));

test("a narrow product (computed transposed) has the bits of the same columns of a wide one", () => forcedThreads(() => {
  for (const [M, N, K] of [[16, 9, 2000], [64, 10, 300], [33, 3, 40]]) {
    const a = randn([M, K], { generator: g }), wide = randn([K, 64], { generator: g }).T.T, narrow = wide.narrow(1, 0, N);
    const w = bitsOn(1, a, wide);
    for (const threads of [1, 2, 3]) {
      const got = bitsOn(threads, a, narrow);
      const i = got.findIndex((v, j) => v !== w[Math.floor(j / N) * 64 + (j % N)]);
      assert.equal(i, -1, `(${M},${K}) @ (${K},${N}) on ${threads} threads: element ${i} differs from the wide product`);
    }
  }
}));

test("linear adds the bias bit for bit as the matmul then a float32 add per element did, on 1–4 threads", () => forcedThreads(() => {
  for (const [M, N, K] of [[5, 7, 3], [200, 130, 40], [130, 1030, 40], [16, 9, 700], [64, 10, 300], [70, 300, 520]]) {
    const x = randn([M, K], { generator: g }), wt = randn([N, K], { generator: g }).T;
    const bias = chance() ? randn([N], { generator: g }) : randn([N, 2], { generator: g }).select(1, 0); // contiguous or strided
    setNumThreads(1);
    const ref = wasmBackend!.matmul(x, wt, [M, N], "float32") as Float32Array;
    for (let j = 0, at = 0; j < M * N; j++, at++) ref[at] += bias.buf[bias.offset + (j % N) * bias.strides[0]];
    for (const threads of [1, 2, 3, 4]) {
      setNumThreads(threads);
      const got = wasmBackend!.linear(x, wt, bias, [M, N], "float32") as Float32Array;
      const i = got.findIndex((v, j) => !Object.is(v, ref[j]));
      assert.equal(i, -1, `(${M},${K}) @ (${K},${N}) + bias on ${threads} threads: element ${i} is ${got[i]}, expected ${ref[i]}`);
      assert.deepEqual(wasmBackend!.linear(x, wt, null, [M, N], "float32"), wasmBackend!.matmul(x, wt, [M, N], "float32"));
    }
  }
}));

test("batched products, broadcast batches and a shared weight are bit-identical on 1–4 threads", () => forcedThreads(() => {
  for (const [batch, M, N, K] of [[[3], 17, 9, 20], [[2, 3], 65, 33, 129], [[7], 5, 70, 260], [[1], 90, 90, 90]] as const) {
    assertSameBits(randn([...batch, M, K], { generator: g }), randn([...batch, K, N], { generator: g }), `batch ${batch} (${M},${K}) @ (${K},${N})`);
    // a weight shared by every batch (stride 0) and a transposed batch
    assertSameBits(randn([...batch, K, M], { generator: g }).transpose(-1, -2), randn([K, N], { generator: g }).expand([...batch, K, N]), `shared weight, batch ${batch}`);
  }
}));

test("back-to-back products of changing shapes on 4 threads match one thread (late workers never see a half-written job)", () => forcedThreads(() => {
  const shapes = Array.from({ length: 60 }, (_, i) => [65 + ((i * 37) % 200), 65 + ((i * 53) % 150), 1 + ((i * 29) % 300)]);
  const pairs = shapes.map(([M, N, K]) => [randn([M, K], { generator: g }), randn([K, N], { generator: g })] as const);
  const one = pairs.map(([a, b]) => bitsOn(1, a, b));
  for (let round = 0; round < 3; round++) {
    setNumThreads(4);
    pairs.forEach(([a, b], i) => {
      const got = bitsOn(4, a, b);
      assert.ok(got.every((v, j) => v === one[i][j]), `product ${i} (${shapes[i]}), round ${round}`);
    });
  }
}));

test("setNumThreads rejects what is not a positive integer", () => {
  for (const bad of [0, -1, 1.5, NaN]) assert.throws(() => setNumThreads(bad), /^Error: \[setNumThreads\] expected a positive integer thread count/);
});

function child(code: string, env: Record<string, string> = {}) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { encoding: "utf8", env: { ...process.env, ...env }, timeout: 60_000 });
  return { ...r, ms: performance.now() - t0 };
}

test("KILN_THREADS sets the thread count at start-up; a bad value warns and keeps the default", () => {
  const code = `const k = await import(${JSON.stringify(api)}); console.log(k.getNumThreads());`;
  assert.equal(child(code, { KILN_THREADS: "3" }).stdout.trim(), "3");
  const bad = child(code, { KILN_THREADS: "many" });
  assert.ok(Number(bad.stdout.trim()) >= 1, bad.stderr);
  assert.match(bad.stderr, /\[KILN_THREADS\] expected a positive integer, got 'many'/);
});

test("the pool never keeps the process alive: a script that ends after a threaded matmul exits promptly", () => {
  const pool = fileURLToPath(new URL("../../src/backend/wasm/gemm_pool.ts", import.meta.url));
  const code = `const k = await import(${JSON.stringify(api)}); const p = await import(${JSON.stringify(pool)});
    k.setNumThreads(2);
    const a = k.randn([512, 512]), b = k.randn([512, 512]);
    for (let i = 0; i < 20 && p.workerUnits() === 0; i++) k.matmul(a, b);
    console.log(p.workerUnits() > 0 ? "pooled" : "single");`;
  const r = child(code);
  assert.equal(r.signal, null, `killed after ${r.ms.toFixed(0)} ms: the workers kept the process alive`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), "pooled");
  // start-up under tsx plus 20 products take about 1–3 s on the loaded 2-core machine; a hang hits the 60 s timeout
  assert.ok(r.ms < 30_000, `took ${r.ms.toFixed(0)} ms`);
});

test("without SharedArrayBuffer (a page that is not cross-origin isolated) matmul runs on one thread", () => {
  const code = `delete globalThis.SharedArrayBuffer; const k = await import(${JSON.stringify(api)});
    k.setNumThreads(4);
    const a = k.randn([300, 200]), b = k.randn([200, 100]);
    const ref = a.to("float64").matmul(b.to("float64"));
    console.log(k.backend(), k.getNumThreads(), k.matmul(a, b).sub(ref.to("float32")).abs().max().item() < 1e-3);`;
  const r = child(code);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), "wasm 1 true");
});

// the relaxed build has its own tile (6×8): its packing of 6-row panels is checked against float64 here
test("KILN_RELAXED_SIMD=1 opts in to the relaxed SIMD build: close to float64 on panel edges and transposes, bit-identical across thread counts", () => {
  const code = `const k = await import(${JSON.stringify(api)});
    k.wasmGemmConfig.minThreadWork = 0;
    k.wasmGemmConfig.minWork = 0;
    let worst = 0;
    for (const [M, N, K] of [[200, 130, 300], [97, 31, 45], [11, 260, 9], [16, 9, 144], [5, 17, 7], [7, 8, 260], [103, 40, 20]]) {
      for (const [ta, tb] of [[false, false], [true, false], [false, true]]) {
        const a = ta ? k.randn([K, M]).T : k.randn([M, K]), b = tb ? k.randn([N, K]).T : k.randn([K, N]);
        const ref = a.to("float64").matmul(b.to("float64"));
        worst = Math.max(worst, k.matmul(a, b).to("float64").sub(ref).abs().max().item() / Math.sqrt(K));
      }
    }
    const a = k.randn([200, 300]), b = k.randn([300, 130]);
    const bits = (t) => { k.setNumThreads(t); return Array.from(new Uint32Array(k.matmul(a, b).toTypedArray().buffer)).join(); };
    console.log(k.wasmGemmVariant(), worst < 2e-5, bits(1) === bits(2) && bits(1) === bits(3));`;
  const r = child(code, { KILN_RELAXED_SIMD: "1" });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), "relaxed-simd true true");
  assert.equal(child(`const k = await import(${JSON.stringify(api)}); console.log(k.wasmGemmVariant());`).stdout.trim(), "simd");
});

test("fused attention and its gradients on 1–4 threads give the same bits (one unit per batch element), with no bias, a bias and a causal mask, in both layouts", () => forcedThreads(() => {
  const before = workerUnits();
  const run = (threads: number, q: Tensor, k: Tensor, v: Tensor, bias: Tensor | null, seq: boolean) => {
    setNumThreads(threads);
    const { out, probs } = wasmBackend!.attention(q, k, v, bias, 0.3, "float32", true, seq);
    const p = Tensor.fromStorage(probs!, [...q.shape.slice(0, -1), k.shape[k.ndim - 2]]), gr = randn(q.shape.slice(0, -1).concat(v.shape[v.ndim - 1]), { generator: new Generator(5) });
    const { dq, dk, dv } = wasmBackend!.attentionBackward(gr, q, k, v, p, bias, 0.3, "float32", [seq, !seq, seq]);
    const bitsOf = (x: ArrayLike<number>) => new Uint32Array(Float32Array.from(x).buffer);
    return [...bitsOf(out), ...bitsOf(probs!), ...bitsOf(dq), ...bitsOf(dk), ...bitsOf(dv)];
  };
  // (B, H) batch of strided head views of (B, T, H·hs), as MultiheadAttention passes them
  for (const [B, H, L, S, hs] of [[3, 2, 5, 7, 3], [4, 4, 64, 64, 32], [2, 3, 17, 9, 8]]) {
    const head = (T: number) => randn([B, T, H * hs], { generator: g }).reshape([B, T, H, hs]).transpose(1, 2);
    const q = head(L), k = head(S), v = head(S);
    for (const bias of [null, randn([L, S], { generator: g }), causalBias(L, S, "float32")]) {
      const seq = chance(), one = run(1, q, k, v, bias, seq);
      for (const threads of [2, 3, 4]) {
        const got = run(threads, q, k, v, bias, seq), i = got.findIndex((x, j) => x !== one[j]);
        assert.equal(i, -1, `attention (${B}, ${H}, ${L}, ${S}, ${hs}) on ${threads} threads: element ${i} differs from one thread`);
      }
    }
  }
  assert.ok(workerUnits() > before, "no worker ever took an attention unit");
}));

test("a worker that traps makes the calling thread throw its error; the process lives on and the pool keeps working", () => {
  const src = (f: string) => JSON.stringify(fileURLToPath(new URL(`../../src/backend/wasm/${f}`, import.meta.url)));
  // a job whose only call reads A past the end of memory; the calling thread's `run` takes no unit, so the worker
  // runs them and traps
  const code = `const k = await import(${JSON.stringify(api)});
    const { kernelModule } = await import(${src("gemm.ts")});
    const pool = await import(${src("gemm_pool.ts")});
    k.setNumThreads(2);
    k.matmul(k.randn([256, 256]), k.randn([256, 256]));
    const ex = kernelModule().ex, C = pool.CTL;
    const at = ex.arena(64, pool.prepareThreads(2)), ctl = new Int32Array(ex.memory.buffer, ex.control(), 16);
    new Int32Array(ex.memory.buffer).set([0x7ffffff0, 64, 1, 0x7ffffff0, 64, 1, at, 64, 64, 64, 0], at >> 2);
    pool.parkWorkers(ctl);
    ctl.set([8, 8, pool.SPLIT.BY_ROWS, 8, at], C.UNITS);
    ctl[C.FLAGS] = 0;
    Atomics.store(ctl, C.DONE, 0);
    Atomics.store(ctl, C.NEXT, 0);
    let msg = "no error";
    try { pool.runJob(() => 0, ctl, 2, null); } catch (e) { msg = e.message; }
    await new Promise((r) => setTimeout(r, 200));
    const before = pool.workerUnits(), a = k.randn([300, 200]), b = k.randn([200, 100]);
    let ok = true;
    for (let i = 0; i < 50 && pool.workerUnits() === before; i++) ok &&= k.matmul(a, b).sub(a.to("float64").matmul(b.to("float64")).to("float32")).abs().max().item() < 1e-3;
    console.log(JSON.stringify({ msg, ok, workerRan: pool.workerUnits() > before }));`;
  const r = child(code);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as { msg: string; ok: boolean; workerRan: boolean };
  assert.match(out.msg, /^\[wasm pool\] worker thread 1 failed on a kernel job: RuntimeError: memory access out of bounds/);
  assert.ok(out.ok && out.workerRan, `after the failure: ${r.stdout}`);
});
