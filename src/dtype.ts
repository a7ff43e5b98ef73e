// Data types, their typed-array storage, and PyTorch's type-promotion rules.

export type DType = "float32" | "float64" | "int32" | "bool";
export type Storage = Float32Array | Float64Array | Int32Array | Uint8Array;

export const DTYPES: readonly DType[] = ["bool", "int32", "float32", "float64"];

// NOTE: the rank orders the promotion lattice bool < int32 < float32 < float64.
const RANK: Record<DType, number> = { bool: 0, int32: 1, float32: 2, float64: 3 };

export function isFloating(d: DType): boolean {
  return d === "float32" || d === "float64";
}

// NOTE: V8 allocates a typed array over 64 bytes with its own off-heap backing store (~0.7 µs for 640
// bytes); small outputs are carved from shared 16 KiB slabs instead (~0.05 µs), which dominates the cost of
// small-tensor training steps. A slab is freed by the GC once every view into it is gone. Code that needs
// the bytes must use byteOffset/byteLength, never `.buffer` alone.
const SLAB_BYTES = 16384;
const SMALL_MAX = 4096;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabAt = 0;

/** Reserve `bytes` of the current slab (a new one when it is full); returns the offset, in `slab`. */
function carve(bytes: number): number {
  if (slabAt + bytes > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabAt = 0;
  }
  const at = slabAt;
  slabAt += (bytes + 7) & ~7;
  return at;
}

// NOTE: float32 inline and the other dtypes out of line: V8 inlines this into most kernels, and its bytecode size
// counts against the inlining budget and the compile time of each (docs/dev/architecture.md, "Warm-up").
export function allocStorage(dtype: DType, n: number): Storage {
  if (dtype !== "float32") return allocOther(dtype, n);
  if (n <= 16 || n > SMALL_MAX / 4) return new Float32Array(n);
  const at = carve(n * 4);
  return new Float32Array(slab, at, n);
}

function allocOther(dtype: DType, n: number): Storage {
  const bytes = n * byteSize(dtype);
  if (bytes <= 64 || bytes > SMALL_MAX) {
    switch (dtype) {
      case "float64": return new Float64Array(n);
      case "int32": return new Int32Array(n);
      default: return new Uint8Array(n);
    }
  }
  const at = carve(bytes);
  switch (dtype) {
    case "float64": return new Float64Array(slab, at, n);
    case "int32": return new Int32Array(slab, at, n);
    default: return new Uint8Array(slab, at, n);
  }
}

const nodeBuffer = (globalThis as { Buffer?: { allocUnsafeSlow(bytes: number): Uint8Array } }).Buffer;

/**
 * Storage the caller overwrites whole before anyone reads it (a kernel copying its full result out of
 * WebAssembly memory). Above the slab size, on Node, the memory is not zeroed first; during a backward pass a
 * float32 one may be a dead gradient's storage that the pass recycled (see below).
 * NOTE: a fresh zeroed Float32Array of a few MiB cost as much as copying the result into it (1.1–2.1 ms
 * against 0.7 ms for 7 MiB here: zeroing plus first-touch page faults); Node's uninitialised allocation
 * reuses freed heap. Elsewhere (browsers) this is allocStorage.
 */
export function allocStorageForOverwrite(dtype: DType, n: number): Storage {
  const bytes = n * byteSize(dtype);
  if (bytes <= SMALL_MAX) return allocStorage(dtype, n);
  if (dtype === "float32") {
    const list = pass?.free?.get(n);
    if (list !== undefined && list.length > 0) {
      recycleStats.reusedBytes += bytes;
      return list.pop()!;
    }
    const u = nodeBuffer?.allocUnsafeSlow(bytes);
    const s = u ? new Float32Array(u.buffer, u.byteOffset, n) : new Float32Array(n);
    if (pass !== null) (pass.born ??= new WeakSet()).add(s);
    return s;
  }
  if (!nodeBuffer) return allocStorage(dtype, n);
  const u = nodeBuffer.allocUnsafeSlow(bytes);
  switch (dtype) {
    case "float64": return new Float64Array(u.buffer, u.byteOffset, n);
    case "int32": return new Int32Array(u.buffer, u.byteOffset, n);
    default: return new Uint8Array(u.buffer, u.byteOffset, n);
  }
}

// ---- recycling inside a backward pass --------------------------------------------------------------------
// NOTE: the benchmark transformer's step allocates ~130 MB of big outputs; V8 counts their backing stores as
// external memory and starts a full GC every 64 MB of it (~2 per step). A backward pass knows when a gradient it
// made is dead (src/autograd/engine.ts): such storage goes to the pass's next output of the same length (~20 MB
// a step; the step 4% faster, in-process A/B; full GCs 43 → 33 per 20 steps). Only storage allocated here while
// the pass runs qualifies, so nothing made outside the pass (activations, parameters, a caller's tensors) is
// ever reused.
// NOTE: `born` is weak: it must not keep a dead output alive until the pass ends. Both are made on first use: a
// small model's pass (the seed program's) makes no big output, and pays only for this object.
interface Recycler { free: Map<number, Float32Array[]> | null; born: WeakSet<Storage> | null }
let pass: Recycler | null = null;

/** Bytes of outputs served from recycled storage so far; `enabled: false` turns recycling off (tests compare). */
export const recycleStats = { reusedBytes: 0 };
export const recycleConfig = { enabled: true };

/**
 * Enter a backward pass: recycling when `on`, none when not (a pass that builds a graph keeps what it makes, and
 * an outer pass's storage must not leak into it). Returns the state to give back to endRecycling (passes nest).
 */
export function beginRecycling(on: boolean): Recycler | null {
  const outer = pass;
  pass = on && recycleConfig.enabled ? { free: null, born: null } : null;
  return outer;
}

/** Leave a pass: restore the state beginRecycling returned. */
export function endRecycling(outer: Recycler | null): void {
  pass = outer;
}

/** Whether the current pass has made any storage it could recycle (most small models' passes never do). */
export function recycling(): boolean {
  return pass !== null && pass.born !== null;
}

/** Whether `s` is big float32 storage that allocStorageForOverwrite made during the current pass. */
export function bornInPass(s: Storage): boolean {
  return pass !== null && pass.born !== null && pass.born.has(s);
}

/** Give dead storage (bornInPass) to the pass's next float32 output of its length. */
export function recycle(s: Float32Array): void {
  if (pass === null) return;
  const free = (pass.free ??= new Map()), list = free.get(s.length);
  if (list === undefined) free.set(s.length, [s]);
  else list.push(s);
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

// bool < integer < floating: PyTorch's categories for dimension-aware promotion
const CATEGORY: Record<DType, number> = { bool: 0, int32: 1, float32: 2, float64: 2 };

/**
 * Result dtype of two tensor operands, as torch.result_type: a 0-d tensor does not widen a tensor with
 * dims of the same category (float32 [3] * float64 [] is float32), but a higher category still wins.
 */
export function resultType(a: { dtype: DType; shape: readonly number[] }, b: { dtype: DType; shape: readonly number[] }): DType {
  const az = a.shape.length === 0, bz = b.shape.length === 0;
  if (az === bz || a.dtype === b.dtype) return promoteTypes(a.dtype, b.dtype);
  const [dim, zero] = az ? [b.dtype, a.dtype] : [a.dtype, b.dtype];
  return CATEGORY[zero] > CATEGORY[dim] ? promoteTypes(dim, zero) : dim;
}

export function byteSize(d: DType): number {
  return d === "float64" ? 8 : d === "bool" ? 1 : 4;
}
