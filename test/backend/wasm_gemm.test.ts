// The "wasm" backend's matmul against the JS reference: odd sizes, empty dims, strided views, batches, a training step.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Generator, randn, tensor, setBackend, backend, nn, optim, type Tensor } from "../../src/index.js";
import { jsBackend } from "../../src/backend/js/js_backend.js";
import { wasmBackend, wasmGemmConfig, wasmGemmVariant } from "../../src/backend/wasm/wasm_backend.js";

const g = new Generator(2024);
const int = (lo: number, hi: number) => lo + g.nextInt(hi - lo + 1);
const pick = <T>(xs: readonly T[]): T => xs[g.nextInt(xs.length)];
const ODD = [1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 33, 65, 127] as const;

test("this runtime has WebAssembly SIMD, so the wasm backend exists", () => {
  assert.ok(wasmBackend, "WebAssembly SIMD missing: Node 20 has it on by default");
  assert.ok(wasmGemmVariant() === "simd" || wasmGemmVariant() === "relaxed-simd");
});

/** A (rows, cols) float32 view: contiguous, transposed, narrowed out of a bigger tensor (offset), or stepped. */
function randomMatrix(rows: number, cols: number, batch: number[] = []): Tensor {
  const o = { generator: g };
  switch (pick(["contiguous", "transposed", "narrowed", "stepped"] as const)) {
    case "contiguous": return randn([...batch, rows, cols], o);
    case "transposed": return randn([...batch, cols, rows], o).transpose(-1, -2);
    case "narrowed": return randn([...batch, rows + 3, cols + 2], o).narrow(-2, 2, rows).narrow(-1, 1, cols);
    case "stepped": return randn([...batch, rows, 2 * cols + 1], o).slice(-1, 1, null, 2).narrow(-1, 0, cols);
  }
}

/**
 * Assert wasm ≈ reference elementwise within the float32 summation bound 2·K·ε·(|a|·|b|) (ε = 2⁻²⁴), plus the
 * reference's own final rounding. The bound is the classical one for recursive summation, so it holds for any
 * blocking order.
 */
function assertClose(a: Tensor, b: Tensor, label: string): void {
  const nd = a.ndim;
  const shape = [...a.shape.slice(0, -2), a.shape[nd - 2], b.shape[nd - 1]];
  const K = a.shape[nd - 1];
  const got = wasmBackend!.matmul(a, b, shape, "float32");
  const ref = jsBackend.matmul(a, b, shape, "float64");
  const mag = jsBackend.matmul(a.abs(), b.abs(), shape, "float64");
  assert.equal(got.length, ref.length, label);
  for (let i = 0; i < ref.length; i++) {
    const tol = 2 * K * 2 ** -24 * mag[i] + 2 ** -24 * Math.abs(ref[i]) + 1e-30;
    if (!(Math.abs(got[i] - ref[i]) <= tol)) assert.fail(`${label}: element ${i} is ${got[i]}, reference ${ref[i]} (tolerance ${tol})`);
  }
}

/** Run fn with the size threshold at minWork (restored afterwards). */
function withMinWork(minWork: number, fn: () => void): void {
  const saved = wasmGemmConfig.minWork;
  wasmGemmConfig.minWork = minWork;
  try { fn(); } finally { wasmGemmConfig.minWork = saved; }
}
/** Run fn with every float32 matmul on the WebAssembly path, however small. */
const forced = (fn: () => void) => withMinWork(0, fn);

test("2-D parity with the reference on odd sizes and strided, transposed, offset views", () => forced(() => {
  for (let t = 0; t < 120; t++) {
    const M = pick(ODD), N = pick(ODD), K = pick(ODD);
    const a = randomMatrix(M, K), b = randomMatrix(K, N);
    assertClose(a, b, `(${M},${K}) @ (${K},${N}) #${t}`);
  }
}));

// M: row blocks of 80 cut into 5-row then 4-row panels, exact from 12 rows (6, 7, 11 and 81 = 80 + 1 end in a
// partial 4-row panel; 16, 32 and 64 are all or partly 4-row panels)
test("parity across the kernel's block edges (K > 256, N > 1024, M > 80) and with Aᵀ, Bᵀ", () => forced(() => {
  for (const [M, N, K] of [[67, 1030, 9], [5, 9, 513], [130, 40, 300], [64, 8, 256], [4, 1025, 257], [81, 17, 31], [171, 9, 5],
    [6, 13, 7], [7, 8, 260], [11, 5, 9], [12, 24, 19], [16, 33, 144], [32, 10, 9]]) {
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
      const a = ta ? randn([K, M], { generator: g }).T : randn([M, K], { generator: g });
      const b = tb ? randn([N, K], { generator: g }).T : randn([K, N], { generator: g });
      assertClose(a, b, `(${M},${K})${ta ? "ᵀ" : ""} @ (${K},${N})${tb ? "ᵀ" : ""}`);
    }
  }
}));

test("batched parity, including broadcast batches with stride 0", () => forced(() => {
  for (let t = 0; t < 30; t++) {
    const batch = [int(1, 3), int(1, 4)];
    const M = pick(ODD), N = pick(ODD), K = pick(ODD);
    let a = randomMatrix(M, K, batch), b = randomMatrix(K, N, batch);
    // broadcast one operand along a batch dim: expand from size 1, so that dim's stride is 0
    const d = int(0, 1);
    if (t % 2 === 0) a = randomMatrix(M, K, batch.map((s, i) => (i === d ? 1 : s))).expand([...batch, M, K]);
    else b = randomMatrix(K, N, batch.map((s, i) => (i === d ? 1 : s))).expand([...batch, K, N]);
    assertClose(a, b, `batch ${batch} (${M},${K}) @ (${K},${N}) #${t}`);
  }
  // a weight shared by every batch: (3, 2, 5, 7) @ (7, 6) expanded to (3, 2, 7, 6)
  assertClose(randn([3, 2, 5, 7], { generator: g }), randn([7, 6], { generator: g }).expand([3, 2, 7, 6]), "shared weight");
}));

test("empty dims give empty or zero outputs", () => forced(() => {
  for (const [M, N, K] of [[0, 3, 4], [3, 0, 4], [3, 4, 0], [0, 0, 0]]) {
    const out = wasmBackend!.matmul(randn([M, K]), randn([K, N]), [M, N], "float32");
    assert.equal(out.length, M * N);
    assert.ok(out.every((v) => v === 0), `(${M},${K}) @ (${K},${N})`);
  }
  assert.equal(wasmBackend!.matmul(randn([0, 3, 4]), randn([0, 4, 5]), [0, 3, 5], "float32").length, 0);
  // K = 0 right after a real product: stale arena contents must not leak into the output
  wasmBackend!.matmul(randn([8, 8]), randn([8, 8]), [8, 8], "float32");
  assert.ok(wasmBackend!.matmul(randn([8, 0]), randn([0, 8]), [8, 8], "float32").every((v) => v === 0));
}));

test("float64 and small float32 products use the reference kernel exactly", () => withMinWork(4096, () => {
  const a64 = randn([40, 50], { dtype: "float64" }), b64 = randn([50, 30], { dtype: "float64" });
  assert.deepEqual(wasmBackend!.matmul(a64, b64, [40, 30], "float64"), jsBackend.matmul(a64, b64, [40, 30], "float64"));
  const a = randn([4, 5]), b = randn([5, 3]);
  assert.deepEqual(wasmBackend!.matmul(a, b, [4, 3], "float32"), jsBackend.matmul(a, b, [4, 3], "float32"));
}));

test("setBackend('wasm') runs matmul on it; an MLP training step matches the js backend's loss", () => {
  const initial = backend();
  const step = (name: string) => {
    setBackend(name);
    const gen = new Generator(5);
    // (64, 48) inputs through 48 → 96 → 32 → 1: every linear is above the size threshold
    const model = new nn.Sequential(new nn.Linear(48, 96, { generator: gen }), new nn.ReLU(), new nn.Linear(96, 32, { generator: gen }), new nn.ReLU(), new nn.Linear(32, 1, { generator: gen }));
    const opt = new optim.SGD(model.parameters(), { lr: 0.05 });
    const x = randn([64, 48], { generator: gen }), y = randn([64, 1], { generator: gen });
    const losses: number[] = [];
    for (let i = 0; i < 3; i++) {
      opt.zeroGrad();
      const loss = new nn.MSELoss().forward(model.forward(x) as Tensor, y);
      loss.backward();
      opt.step();
      losses.push(loss.item());
    }
    return losses;
  };
  try {
    const js = step("js");
    const wasm = step("wasm");
    assert.equal(backend(), "wasm");
    for (let i = 0; i < js.length; i++) assert.ok(Math.abs(js[i] - wasm[i]) <= 1e-5 * Math.abs(js[i]), `step ${i}: js ${js[i]} wasm ${wasm[i]}`);
    assert.notEqual(js[2], js[0], "the model trained");
  } finally {
    setBackend(initial);
  }
  assert.deepEqual(tensor([[1, 2]]).matmul(tensor([[3], [4]])).tolist(), [[11]]);
});

test("KILN_BACKEND selects the backend at start-up; by default wasm runs where SIMD does", () => {
  const api = fileURLToPath(new URL("../../src/api.ts", import.meta.url));
  const code = `const k = await import(${JSON.stringify(api)}); console.log(k.backend());`;
  for (const [want, expect] of [["wasm", "wasm"], ["js", "js"], ["", "wasm"]]) {
    const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { encoding: "utf8", env: { ...process.env, KILN_BACKEND: want } });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), expect, `KILN_BACKEND='${want}'`);
  }
  const bad = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { encoding: "utf8", env: { ...process.env, KILN_BACKEND: "cuda" } });
  assert.equal(bad.stdout.trim(), "wasm");
  assert.match(bad.stderr, /\[KILN_BACKEND\] backend 'cuda' is not available here \(available: js, wasm\)/);
});

test("linearBackward's one-arena kernel gives the bits of the separate matmuls and sum, on one thread and on the pool", () => {
  const be = wasmBackend!, bits = (x: ArrayLike<number> | null) => (x ? Array.from(new Uint32Array(Float32Array.from(x).buffer)) : null);
  // (rows, out, in): a small layer, transformer shapes (the pool: a row split and a K split), a narrow head
  for (const [R, O, I] of [[33, 17, 9], [2048, 128, 128], [256, 384, 128], [300, 10, 64]]) {
    const gr = randn([R, O], { generator: g }), x = randomMatrix(R, I), w = randomMatrix(O, I);
    const need = [true, pick([true, false]), true] as const;
    const got = be.linearBackward(gr, x, w, need, "float32");
    assert.deepEqual(bits(got.dx), bits(be.matmul(gr, w, [R, I], "float32")), `dx (${R}, ${O}, ${I})`);
    assert.deepEqual(bits(got.dw), need[1] ? bits(be.matmul(gr.mT, x, [O, I], "float32")) : null, `dw (${R}, ${O}, ${I})`);
    assert.deepEqual(bits(got.db), bits(be.sum(gr, [0], "float32")), `db (${R}, ${O}, ${I})`);
  }
});
