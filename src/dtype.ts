// Data types, their typed-array storage, and PyTorch's type-promotion rules.

export type DType = "float32" | "float64" | "int32" | "bool";
export type Storage = Float32Array | Float64Array | Int32Array | Uint8Array;

export const DTYPES: readonly DType[] = ["bool", "int32", "float32", "float64"];

// NOTE: the rank orders the promotion lattice bool < int32 < float32 < float64.
const RANK: Record<DType, number> = { bool: 0, int32: 1, float32: 2, float64: 3 };

export function isFloating(d: DType): boolean {
  return d === "float32" || d === "float64";
}

export function allocStorage(dtype: DType, n: number): Storage {
  switch (dtype) {
    case "float32": return new Float32Array(n);
    case "float64": return new Float64Array(n);
    case "int32": return new Int32Array(n);
    case "bool": return new Uint8Array(n);
  }
}

export function dtypeOfStorage(s: Storage): DType {
  if (s instanceof Float32Array) return "float32";
  if (s instanceof Float64Array) return "float64";
  if (s instanceof Int32Array) return "int32";
  return "bool";
}

export function checkDType(d: unknown, op: string): DType {
  if (d === "float32" || d === "float64" || d === "int32" || d === "bool") return d;
  throw new Error(`[${op}] unknown dtype ${String(d)}; expected one of float32, float64, int32, bool`);
}

/** Result dtype of two tensor dtypes, as torch.promote_types. */
export function promoteTypes(a: DType, b: DType): DType {
  return RANK[a] >= RANK[b] ? a : b;
}

/**
 * Result dtype of a tensor dtype and a JS number, which PyTorch treats as a "weak" Python scalar: it does
 * not widen a tensor of the same category. An integral number counts as a Python int, any other as a float.
 */
export function promoteWithScalar(t: DType, v: number | boolean): DType {
  if (typeof v === "boolean") return t;
  if (isFloating(t)) return t;
  if (Number.isInteger(v)) return t === "bool" ? "int32" : t;
  return "float32";
}

export function byteSize(d: DType): number {
  return d === "float64" ? 8 : d === "bool" ? 1 : 4;
}
