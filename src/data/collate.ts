// defaultCollate: merge a list of samples into one batch, recursively, as torch's default_collate.
import { Tensor } from "../tensor.js";
import { stack } from "../ops/movement.js";
import type { Storage } from "../dtype.js";

/**
 * The batch type defaultCollate makes from samples of type T: tensors, numbers and booleans become tensors with
 * a leading batch dim, strings stay a list, and arrays, tuples and objects are collated field by field.
 */
export type Collated<T> =
  T extends Tensor ? Tensor
  : T extends number | boolean | Float32Array | Float64Array | Int32Array ? Tensor
  : T extends string ? string[]
  : T extends readonly unknown[] ? { -readonly [K in keyof T]: Collated<T[K]> }
  : T extends object ? { [K in keyof T]: Collated<T[K]> }
  : never;

type Kind = "tensor" | "number" | "boolean" | "string" | "typed array" | "array" | "object";

function kindOf(v: unknown): Kind {
  if (v instanceof Tensor) return "tensor";
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "string") return typeof v as Kind;
  if (v instanceof Float32Array || v instanceof Float64Array || v instanceof Int32Array) return "typed array";
  if (Array.isArray(v)) return "array";
  if (typeof v === "object" && v !== null) {
    const proto = Object.getPrototypeOf(v);
    if (proto === Object.prototype || proto === null) return "object";
  }
  const name = v === null ? "null" : typeof v === "object" ? (v.constructor?.name ?? "object") : typeof v;
  throw new Error(`[defaultCollate] batch must contain tensors, numbers, booleans, strings, Float32/Float64/Int32 arrays, arrays or plain objects; found ${name}`);
}

/**
 * Merge samples into a batch as PyTorch's `default_collate`: tensors are stacked along a new dim 0; numbers
 * become a float32 tensor (as `tensor()` makes numbers float32; PyTorch makes Python ints int64 and floats
 * float64) and booleans a bool tensor; Float32/Float64/Int32 arrays are stacked like 1-D tensors of their
 * dtype; strings stay a list; arrays are collated position by position and plain objects key by key.
 * @example
 * defaultCollate([{ x: tensor([1, 2]), y: 0 }, { x: tensor([3, 4]), y: 1 }]);
 * // { x: tensor [[1, 2], [3, 4]], y: tensor [0, 1] }
 */
export function defaultCollate<T>(batch: readonly T[]): Collated<T> {
  return collate(batch) as Collated<T>;
}

function collate(batch: readonly unknown[]): unknown {
  if (batch.length === 0) throw new Error("[defaultCollate] cannot collate an empty batch");
  const kind = kindOf(batch[0]);
  for (const v of batch) {
    const k = kindOf(v);
    if (k !== kind) throw new Error(`[defaultCollate] batch elements have mixed types: ${kind} and ${k}`);
  }
  switch (kind) {
    case "tensor":
      return stack(batch as Tensor[], 0);
    case "number":
      return Tensor.fromStorage(Float32Array.from(batch as number[]), [batch.length]);
    case "boolean":
      return Tensor.fromStorage(Uint8Array.from(batch as boolean[], (b) => (b ? 1 : 0)), [batch.length]);
    case "string":
      return batch.slice();
    case "typed array":
      return stack((batch as Storage[]).map((a) => Tensor.fromStorage(a, [a.length])), 0);
    case "array": {
      const rows = batch as unknown[][];
      for (const r of rows) {
        if (r.length !== rows[0].length) {
          throw new Error(`[defaultCollate] each element in list of batch should be of equal size, got lengths ${rows[0].length} and ${r.length}`);
        }
      }
      return rows[0].map((_, j) => collate(rows.map((r) => r[j])));
    }
    case "object": {
      const objs = batch as Record<string, unknown>[];
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(objs[0])) {
        out[key] = collate(objs.map((o, i) => {
          if (!(key in o)) throw new Error(`[defaultCollate] key '${key}' is missing from batch element ${i}`);
          return o[key];
        }));
      }
      return out;
    }
  }
}
