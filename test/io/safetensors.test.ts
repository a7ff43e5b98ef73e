// Tests for the safetensors codec, save/load and atomic writes, against fixtures written by PyTorch.

import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { DType, Storage } from "../../src/dtype.js";
import { Tensor } from "../../src/tensor.js";
import { decodeSafetensors, encodeSafetensors, loadFromBytes, saveToBytes, type SafetensorsEntry } from "../../src/io/safetensors.js";
import { writeFileAtomic } from "../../src/io/fs_atomic.js";
import { load, save } from "../../src/io/save_load.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const FIXTURES = join(ROOT, "fixtures", "safetensors");
const SCRIPT = join(ROOT, "scripts", "gen_safetensors_fixtures.py");

type JsonValue = number | boolean | "nan" | "inf" | "-inf";
interface ExpectedTensor {
  dtype: string;
  shape: number[];
  values: JsonValue[];
}
interface ExpectedFile {
  metadata: Record<string, string>;
  tensors: Record<string, ExpectedTensor>;
}
const EXPECTED = JSON.parse(readFileSync(join(FIXTURES, "expected.json"), "utf8")) as Record<string, ExpectedFile>;

const KILN_OF: Record<string, DType> = {
  F64: "float64", F32: "float32", F16: "float32", BF16: "float32", I64: "int32", I32: "int32", I16: "int32", I8: "int32", U8: "int32", BOOL: "bool",
};

function num(v: JsonValue): number {
  if (v === "nan") return NaN;
  if (v === "inf") return Infinity;
  if (v === "-inf") return -Infinity;
  return Number(v);
}

function storageOf(dtype: DType, values: JsonValue[]): Storage {
  const nums = values.map(num);
  switch (dtype) {
    case "float32": return Float32Array.from(nums);
    case "float64": return Float64Array.from(nums);
    case "int32": return Int32Array.from(nums);
    case "bool": return Uint8Array.from(nums);
  }
}

/** The fixture's tensors as codec entries, in the dtypes Kiln loads them as. */
function expectedEntries(file: string): Record<string, SafetensorsEntry> {
  const out: Record<string, SafetensorsEntry> = {};
  for (const [name, t] of Object.entries(EXPECTED[file].tensors)) {
    const dtype = KILN_OF[t.dtype];
    out[name] = { dtype, shape: t.shape, data: storageOf(dtype, t.values) };
  }
  return out;
}

function fixture(file: string): Uint8Array {
  return new Uint8Array(readFileSync(join(FIXTURES, file)));
}

// Plain arrays print readable diffs; strict deepEqual still counts NaN as equal to NaN and -0 as unequal to 0.
function assertEntriesEqual(actual: Record<string, SafetensorsEntry>, expected: Record<string, SafetensorsEntry>): void {
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort());
  for (const name of Object.keys(expected)) {
    const a = actual[name];
    const e = expected[name];
    assert.equal(a.dtype, e.dtype, `dtype of '${name}'`);
    assert.deepEqual(a.shape, e.shape, `shape of '${name}'`);
    assert.equal(a.data.constructor, e.data.constructor, `storage type of '${name}'`);
    assert.deepEqual(Array.from(a.data), Array.from(e.data), `values of '${name}'`);
  }
}

/** A safetensors file from a header (object or raw text) and a data buffer, with no validation. */
function craft(header: unknown, data: Uint8Array = new Uint8Array(0), declaredLength?: number): Uint8Array {
  const json = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(declaredLength ?? json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const f32Info = (shape: number[], begin: number, end: number) => ({ dtype: "F32", shape, data_offsets: [begin, end] });

describe("safetensors codec", () => {
  test("round-trips every Kiln dtype, scalars, empty tensors and metadata", () => {
    const entries: Record<string, SafetensorsEntry> = {
      f32: { dtype: "float32", shape: [2, 3], data: Float32Array.from([0, -0, 1.5, NaN, Infinity, -3.4028234663852886e38]) },
      f64: { dtype: "float64", shape: [4], data: Float64Array.from([Math.PI, -0, Number.MIN_VALUE, -Infinity]) },
      i32: { dtype: "int32", shape: [3, 1], data: Int32Array.from([-2147483648, 0, 2147483647]) },
      mask: { dtype: "bool", shape: [2, 2], data: Uint8Array.from([1, 0, 0, 1]) },
      scalar: { dtype: "float32", shape: [], data: Float32Array.from([7]) },
      empty: { dtype: "int32", shape: [0, 5], data: new Int32Array(0) },
    };
    const bytes = encodeSafetensors(entries, { format: "pt", note: "é\n\"" });
    const decoded = decodeSafetensors(bytes);
    assertEntriesEqual(decoded.tensors, entries);
    assert.deepEqual(decoded.metadata, { format: "pt", note: "é\n\"" });
    assert.equal(Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8, 0, "data must start 8-byte aligned");
  });

  test("omits __metadata__ when none is given and returns an empty map", () => {
    const bytes = encodeSafetensors({ x: { dtype: "int32", shape: [1], data: Int32Array.of(3) } });
    assert.ok(!new TextDecoder().decode(bytes).includes("__metadata__"));
    assert.deepEqual(decodeSafetensors(bytes).metadata, {});
  });

  test("encodes an empty record as the reference does", () => {
    assert.deepEqual(Array.from(encodeSafetensors({})), [8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
  });

  test("normalises bool bytes to 0/1 on write and read", () => {
    const bytes = encodeSafetensors({ m: { dtype: "bool", shape: [3], data: Uint8Array.of(0, 2, 255) } });
    assert.deepEqual(Array.from(decodeSafetensors(bytes).tensors.m.data), [0, 1, 1]);
    const raw = craft({ m: { dtype: "BOOL", shape: [2], data_offsets: [0, 2] } }, Uint8Array.of(7, 0));
    assert.deepEqual(Array.from(decodeSafetensors(raw).tensors.m.data), [1, 0]);
  });

  test("reads from an unaligned view and does not alias the input", () => {
    const bytes = encodeSafetensors({ w: { dtype: "float64", shape: [2], data: Float64Array.of(1.25, -8) } });
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    const view = shifted.subarray(3);
    const { tensors } = decodeSafetensors(view);
    assert.deepEqual(Array.from(tensors.w.data), [1.25, -8]);
    shifted.fill(0);
    assert.deepEqual(Array.from(tensors.w.data), [1.25, -8]);
  });

  test("a tensor named __proto__ stays an ordinary key", () => {
    const raw = craft({ ["__proto__"]: f32Info([1], 0, 4) }, new Uint8Array(new Float32Array([5]).buffer));
    const { tensors } = decodeSafetensors(raw);
    assert.deepEqual(Object.keys(tensors), ["__proto__"]);
    assert.equal(Object.getPrototypeOf(tensors), Object.prototype);
  });

  test("rejects invalid entries on encode", () => {
    const f = (entries: Record<string, unknown>, meta?: unknown) =>
      () => encodeSafetensors(entries as Record<string, SafetensorsEntry>, meta as Record<string, string>);
    assert.throws(f({ __metadata__: { dtype: "float32", shape: [], data: Float32Array.of(1) } }), /^Error: \[save\] '__metadata__' is reserved/);
    assert.throws(f({ x: { dtype: "float16", shape: [1], data: Float32Array.of(1) } }), /\[save\] tensor 'x' has unknown dtype float16/);
    assert.throws(f({ x: { dtype: "float32", shape: [-1], data: Float32Array.of(1) } }), /\[save\] tensor 'x' has invalid shape \[-1\]/);
    assert.throws(f({ x: { dtype: "float32", shape: [1], data: Float64Array.of(1) } }), /\[save\] tensor 'x' has dtype float32 but its data is an instance of Float64Array/);
    assert.throws(f({ x: { dtype: "int32", shape: [2, 2], data: Int32Array.of(1) } }), /\[save\] tensor 'x' has 1 elements of data but shape \[2, 2\] needs 4/);
    assert.throws(f({}, { a: 1 }), /\[save\] metadata value for key 'a' must be a string/);
  });
});

describe("byte-exact compatibility with the reference writer", () => {
  for (const file of ["torch_linear.safetensors", "kiln_dtypes.safetensors"]) {
    test(`encoding ${file}'s tensors reproduces the fixture byte for byte`, () => {
      const ours = encodeSafetensors(expectedEntries(file), EXPECTED[file].metadata);
      const theirs = fixture(file);
      // Compare headers as text first so a mismatch shows the differing JSON, not a byte index.
      const headerOf = (b: Uint8Array) => new TextDecoder().decode(b.subarray(8, 8 + Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true))));
      assert.equal(headerOf(ours), headerOf(theirs));
      assert.deepEqual(Buffer.from(ours), Buffer.from(theirs));
    });
  }

  test("saveToBytes of Tensors matches the torch_linear fixture", () => {
    const state: Record<string, Tensor> = {};
    for (const [name, e] of Object.entries(expectedEntries("torch_linear.safetensors"))) state[name] = Tensor.fromStorage(e.data, e.shape);
    assert.deepEqual(Buffer.from(saveToBytes(state, { metadata: { format: "pt" } })), Buffer.from(fixture("torch_linear.safetensors")));
  });
});

describe("decoding files written by PyTorch", () => {
  for (const file of ["torch_linear.safetensors", "kiln_dtypes.safetensors", "mixed_dtypes.safetensors"]) {
    test(file, () => {
      const decoded = decodeSafetensors(fixture(file));
      assertEntriesEqual(decoded.tensors, expectedEntries(file));
      assert.deepEqual(decoded.metadata, EXPECTED[file].metadata);
    });
  }

  test("torch_linear has the nn.Sequential state-dict layout", () => {
    const state = loadFromBytes(fixture("torch_linear.safetensors"));
    assert.deepEqual(Object.keys(state).sort(), ["0.bias", "0.weight", "2.bias", "2.weight"]);
    assert.deepEqual(state["0.weight"].shape, [10, 2]);
    assert.deepEqual(state["2.weight"].shape, [1, 10]);
    assert.equal(state["0.bias"].dtype, "float32");
  });

  test("an I64 value outside int32 is rejected with its key, value and index", () => {
    assert.throws(() => decodeSafetensors(fixture("i64_overflow.safetensors")),
      /^Error: \[load\] tensor 'big' \(I64\) holds 1099511627776 at flat index 1, outside the int32 range/);
  });
});

describe("malformed input is rejected with a [load] error", () => {
  const data4 = new Uint8Array(4);
  const cases: [string, Uint8Array, RegExp][] = [
    ["buffer shorter than 8 bytes", new Uint8Array(5), /5 bytes, shorter than the 8-byte header length prefix/],
    ["header length past the buffer", craft({}, new Uint8Array(0), 1000), /header length 1000 is larger than the 2 bytes that follow/],
    ["header length over the limit", craft({}, new Uint8Array(0), 100_000_001), /header length 100000001 is over the 100000000-byte limit/],
    ["u64 header length", (() => { const b = new Uint8Array(16); b.fill(0xff, 0, 8); return b; })(), /header length 18446744073709551615 is over/],
    ["header not JSON", craft("{not json"), /header is not valid JSON/],
    ["header a JSON array", craft("[1, 2]"), /header must be a JSON object, got an array/],
    ["header JSON null", craft("null"), /header must be a JSON object, got null/],
    ["header not UTF-8", craft("\"\"").map((b, i) => (i === 9 ? 0xff : b)), /header is not valid UTF-8/],
    ["tensor entry not an object", craft({ w: 3 }), /header entry for tensor 'w' must be an object/],
    ["unknown dtype", craft({ w: { dtype: "C64", shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)), /tensor 'w' has unsupported dtype "C64"; supported: /],
    ["missing dtype", craft({ w: { shape: [1], data_offsets: [0, 4] } }, data4), /tensor 'w' has unsupported dtype undefined/],
    ["negative shape", craft({ w: f32Info([-1], 0, 4) }, data4), /tensor 'w' has invalid shape \[-1\]: entries must be non-negative integers/],
    ["fractional shape", craft({ w: f32Info([1.5], 0, 4) }, data4), /tensor 'w' has invalid shape \[1.5\]/],
    ["shape not an array", craft({ w: f32Info("1" as unknown as number[], 0, 4) }, data4), /tensor 'w' has invalid shape "1"/],
    ["offsets not a pair", craft({ w: { dtype: "F32", shape: [1], data_offsets: [0] } }, data4), /tensor 'w' has invalid data_offsets \[0\]/],
    ["negative offset", craft({ w: f32Info([1], -4, 0) }, data4), /tensor 'w' has invalid data_offsets \[-4,0\]/],
    ["offsets past the data", craft({ w: f32Info([2], 0, 8) }, data4), /tensor 'w' data_offsets \[0, 8\] are out of range for the 4-byte data buffer \(shape \[2\] of F32 needs 8 bytes\)/],
    ["reversed offsets", craft({ w: f32Info([1], 4, 0) }, data4), /tensor 'w' data_offsets \[4, 0\] are out of range/],
    ["offsets not matching the shape", craft({ w: f32Info([2], 0, 4) }, data4), /tensor 'w' data_offsets \[0, 4\] span 4 bytes but shape \[2\] of F32 needs 8 bytes/],
    ["overlapping tensors", craft({ a: f32Info([2], 0, 8), b: f32Info([1], 4, 8) }, new Uint8Array(8)), /tensor 'b' data_offsets \[4, 8\] overlap tensor 'a' \[0, 8\]/],
    ["a hole between tensors", craft({ a: f32Info([1], 0, 4), b: f32Info([1], 8, 12) }, new Uint8Array(12)), /bytes \[4, 8\) before tensor 'b' belong to no tensor/],
    ["a hole at the start", craft({ a: f32Info([1], 4, 8) }, new Uint8Array(8)), /bytes \[0, 4\) before tensor 'a' belong to no tensor/],
    ["trailing bytes", craft({ a: f32Info([1], 0, 4) }, new Uint8Array(6)), /2 trailing bytes after offset 4 that belong to no tensor/],
    ["non-string metadata", craft({ __metadata__: { n: 1 } }), /'__metadata__' value for key 'n' must be a string/],
    ["metadata not an object", craft({ __metadata__: "x" }), /'__metadata__' must be an object of strings/],
  ];
  for (const [what, bytes, pattern] of cases) {
    test(what, () => {
      assert.throws(() => decodeSafetensors(bytes), (e: Error) => {
        assert.match(e.message, /^\[load\] /);
        assert.match(e.message, pattern);
        return true;
      });
    });
  }

  test("header with a byte-order mark is rejected", () => {
    assert.throws(() => decodeSafetensors(craft("\uFEFF{}")), /\[load\] safetensors header is not valid JSON/);
  });

  test("null __metadata__ counts as none, as in the reference", () => {
    assert.deepEqual(decodeSafetensors(craft({ __metadata__: null })).metadata, {});
  });
});

describe("Tensor save/load", () => {
  test("saveToBytes writes non-contiguous and grad-requiring tensors in row-major order", () => {
    const base = Tensor.fromStorage(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
    const w = Tensor.fromStorage(Float32Array.from([1, 2]), [2]).requiresGrad_();
    const state = loadFromBytes(saveToBytes({ t: base.t(), w, i: Tensor.fromStorage(Int32Array.of(4, 5), [2]) }));
    assert.deepEqual(state.t.shape, [3, 2]);
    assert.deepEqual(state.t.tolist(), [[1, 4], [2, 5], [3, 6]]);
    assert.equal(state.w.requiresGrad, false);
    assert.equal(w.gradFn, null);
    assert.deepEqual(state.i.tolist(), [4, 5]);
    assert.equal(state.i.dtype, "int32");
  });

  test("saveToBytes rejects values that are not Tensors", () => {
    assert.throws(() => saveToBytes({ a: [1, 2] as unknown as Tensor }), /^Error: \[save\] value for key 'a' is not a Tensor \(got an array\)/);
    assert.throws(() => saveToBytes({ a: new Float32Array(2) as unknown as Tensor }), /\[save\] value for key 'a' is not a Tensor \(got an instance of Float32Array\)/);
    assert.throws(() => saveToBytes(null as unknown as Record<string, Tensor>), /\[save\] expected an object mapping names to Tensors, got null/);
  });

  describe("on disk", () => {
    let dir: string;
    const setup = () => {
      dir = mkdtempSync(join(tmpdir(), "kiln-safetensors-"));
      return () => rmSync(dir, { recursive: true, force: true });
    };
    const state = () => ({
      w: Tensor.fromStorage(Float64Array.of(0.5, -1), [1, 2]),
      m: Tensor.fromStorage(Uint8Array.of(1, 0, 1), [3]),
    });

    test("save then load round-trips and replaces an existing file", (t) => {
      t.after(setup());
      const path = join(dir, "model.safetensors");
      writeFileSync(path, "old contents");
      save(state(), path, { metadata: { format: "pt" } });
      const loaded = load(path);
      assert.deepEqual(loaded.w.tolist(), [[0.5, -1]]);
      assert.equal(loaded.w.dtype, "float64");
      assert.deepEqual(loaded.m.tolist(), [true, false, true]);
      assert.deepEqual(decodeSafetensors(readFileSync(path)).metadata, { format: "pt" });
      assert.deepEqual(readdirSync(dir), ["model.safetensors"]);
    });

    test("save keeps the permissions of the file it replaces", { skip: process.platform === "win32" }, (t) => {
      t.after(setup());
      const path = join(dir, "model.safetensors");
      writeFileSync(path, "old");
      chmodSync(path, 0o600);
      save(state(), path);
      assert.equal(statSync(path).mode & 0o777, 0o600);
    });

    test("a non-Tensor value leaves the existing file byte-identical", (t) => {
      t.after(setup());
      const path = join(dir, "model.safetensors");
      save(state(), path);
      const before = readFileSync(path);
      assert.throws(() => save({ ...state(), bad: 3 as unknown as Tensor }, path), /^Error: \[save\] value for key 'bad' is not a Tensor/);
      assert.deepEqual(readFileSync(path), before);
      assert.deepEqual(readdirSync(dir), ["model.safetensors"]);
    });

    test("a missing target directory fails with [save] naming the path", (t) => {
      t.after(setup());
      const path = join(dir, "missing", "model.safetensors");
      assert.throws(() => save(state(), path), (e: Error) => {
        assert.match(e.message, /^\[save\] could not write '/);
        assert.ok(e.message.includes(path), e.message);
        assert.ok(e.cause instanceof Error);
        return true;
      });
      assert.deepEqual(readdirSync(dir), []);
    });

    test("a failed rename removes the temp file and leaves the target intact", (t) => {
      t.after(setup());
      // A non-empty directory cannot be replaced by a file, so the failure comes after the temp file exists.
      const path = join(dir, "model.safetensors");
      mkdirSync(path);
      writeFileSync(join(path, "keep"), "kept");
      assert.throws(() => writeFileAtomic(path, new Uint8Array(16)), /^Error: \[save\] could not write '.*model\.safetensors'/);
      assert.deepEqual(readdirSync(dir), ["model.safetensors"]);
      assert.equal(readFileSync(join(path, "keep"), "utf8"), "kept");
    });

    test("load names the file in read and decode errors", (t) => {
      t.after(setup());
      const missing = join(dir, "nope.safetensors");
      assert.throws(() => load(missing), (e: Error) => e.message.startsWith(`[load] could not read '${missing}'`));
      const bad = join(dir, "bad.safetensors");
      writeFileSync(bad, Uint8Array.of(1, 2, 3));
      assert.throws(() => load(bad), (e: Error) => e.message === `[load] '${bad}': safetensors data is 3 bytes, shorter than the 8-byte header length prefix`);
    });
  });
});

const PYTHON = "/usr/bin/python3";
const hasTorch = spawnSync(PYTHON, ["-c", "import torch"], { stdio: "ignore" }).status === 0;

test("PyTorch reads what Kiln writes", { skip: hasTorch ? false : `${PYTHON} with torch is not available` }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), "kiln-safetensors-py-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "kiln.safetensors");
  const x = Tensor.fromStorage(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
  save({
    "layer.weight": x.t(),
    "layer.bias": Tensor.fromStorage(Float64Array.of(-0.25), []),
    steps: Tensor.fromStorage(Int32Array.of(-7, 2147483647), [2]),
    mask: Tensor.fromStorage(Uint8Array.of(0, 1), [1, 2]),
  }, path, { metadata: { format: "pt" } });
  const run = spawnSync(PYTHON, [SCRIPT, "--verify", path], { encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), {
    metadata: { format: "pt" },
    tensors: {
      "layer.weight": { dtype: "F32", shape: [3, 2], values: [1, 4, 2, 5, 3, 6] },
      "layer.bias": { dtype: "F64", shape: [], values: [-0.25] },
      steps: { dtype: "I32", shape: [2], values: [-7, 2147483647] },
      mask: { dtype: "BOOL", shape: [1, 2], values: [false, true] },
    },
  });
});
