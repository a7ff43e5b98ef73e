// Reading the PyTorch reference fixtures (fixtures/torch/*.json) into Kiln tensors.
import { readFileSync } from "node:fs";
import { tensor, type Tensor, type DType } from "../src/index.js";

export interface FixtureTensor { shape: number[]; dtype: DType; data: (number | boolean)[] }

export function loadFixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../fixtures/torch/${name}`, import.meta.url), "utf8")) as T;
}

/** A fixture tensor as a Kiln tensor (float32 values are exact: the JSON holds their shortest round-trip form). */
export function fromFixture(t: FixtureTensor): Tensor {
  const flat = t.data.map((v) => (typeof v === "boolean" ? (v ? 1 : 0) : v));
  const typed = t.dtype === "float64" ? Float64Array.from(flat) : t.dtype === "int32" ? Int32Array.from(flat) : t.dtype === "bool" ? Uint8Array.from(flat) : Float32Array.from(flat);
  return tensor(typed, { shape: t.shape, dtype: t.dtype });
}

/** Largest |a - b| / (atol + rtol |b|) over all elements; <= 1 means within tolerance. */
export function closeness(actual: Tensor, expected: Tensor, rtol: number, atol: number): number {
  if (actual.shape.join(",") !== expected.shape.join(",")) throw new Error(`shape ${JSON.stringify(actual.shape)} != expected ${JSON.stringify(expected.shape)}`);
  const a = actual.contiguous().toTypedArray(), b = expected.contiguous().toTypedArray();
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(b[i]) && Number.isNaN(a[i])) continue;
    worst = Math.max(worst, Math.abs(a[i] - b[i]) / (atol + rtol * Math.abs(b[i])));
  }
  return worst;
}
