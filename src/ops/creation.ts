// Tensor factories: from data, constant fills, ranges, and seeded random tensors.
import { allocStorage, checkDType, dtypeOfStorage, type DType, type Storage } from "../dtype.js";
import { checkShape, contiguousStrides, numelOf } from "../shape.js";
import { defaultGenerator, type Generator } from "../random.js";
import { Tensor } from "../tensor.js";

export interface TensorOptions { dtype?: DType; requiresGrad?: boolean }
export interface RandomOptions extends TensorOptions { generator?: Generator }

/** Nested arrays of numbers/booleans, or a typed array. */
export type NestedArray = number | boolean | NestedArray[];

function finish(buf: Storage, shape: number[], dtype: DType, opts?: TensorOptions): Tensor {
  const t = new Tensor(buf, shape, contiguousStrides(shape), 0, dtype);
  if (opts?.requiresGrad) t.requiresGrad_(true);
  return t;
}

/**
 * Make a tensor from nested arrays or a typed array. Number arrays give float32 (as tfjs; PyTorch would
 * infer int64 from Python ints), booleans give bool, typed arrays keep their type.
 * @example
 * const x = tensor([[1, 2], [3, 4]], { requiresGrad: true });
 */
export function tensor(data: NestedArray | Storage | Tensor, opts?: TensorOptions & { shape?: number[] }): Tensor {
  if (data instanceof Tensor) {
    const c = data.detach().to(opts?.dtype ?? data.dtype).clone();
    if (opts?.requiresGrad) c.requiresGrad_(true);
    return c;
  }
  if (ArrayBuffer.isView(data)) {
    const src = data as Storage;
    const srcDtype = dtypeOfStorage(src);
    const dtype = opts?.dtype ? checkDType(opts.dtype, "tensor") : srcDtype;
    const shape = opts?.shape ?? [src.length];
    checkShape(shape, "tensor");
    if (numelOf(shape) !== src.length) throw new Error(`[tensor] shape [${shape.join(", ")}] does not match ${src.length} elements`);
    const buf = allocStorage(dtype, src.length);
    if (dtype === "bool") for (let i = 0; i < src.length; i++) buf[i] = src[i] !== 0 ? 1 : 0;
    else buf.set(src as never);
    return finish(buf, shape, dtype, opts);
  }
  const shape: number[] = [];
  let probe: NestedArray = data as NestedArray;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
  }
  const flat: (number | boolean)[] = [];
  let sawBool = false, sawNumber = false;
  const walk = (v: NestedArray, d: number, path: string) => {
    if (d === shape.length) {
      if (Array.isArray(v)) throw new Error(`[tensor] ragged nested array: expected a scalar at ${path}`);
      if (typeof v === "boolean") sawBool = true;
      else if (typeof v === "number") sawNumber = true;
      else throw new Error(`[tensor] expected numbers or booleans, got ${typeof v} at ${path}`);
      flat.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[d]) {
      throw new Error(`[tensor] ragged nested array: expected length ${shape[d]} at ${path}, got ${Array.isArray(v) ? v.length : typeof v}`);
    }
    for (let i = 0; i < v.length; i++) walk(v[i], d + 1, `${path}[${i}]`);
  };
  walk(data as NestedArray, 0, "data");
  const dtype = opts?.dtype ? checkDType(opts.dtype, "tensor") : sawBool && !sawNumber ? "bool" : "float32";
  const buf = allocStorage(dtype, flat.length);
  for (let i = 0; i < flat.length; i++) {
    const v = flat[i];
    buf[i] = typeof v === "boolean" ? (v ? 1 : 0) : dtype === "bool" ? (v !== 0 ? 1 : 0) : v;
  }
  if (opts?.shape) {
    checkShape(opts.shape, "tensor");
    if (numelOf(opts.shape) !== flat.length) throw new Error(`[tensor] shape [${opts.shape.join(", ")}] does not match ${flat.length} elements`);
    return finish(buf, opts.shape.slice(), dtype, opts);
  }
  return finish(buf, shape, dtype, opts);
}

type ShapeAndOpts<O> = (number | number[] | O)[];

/** Split `zeros(2, 3, { dtype })` / `zeros([2, 3])` arguments into a shape and options. */
function parseShapeArgs<O extends object>(args: ShapeAndOpts<O>, op: string): [number[], O | undefined] {
  let opts: O | undefined;
  let rest = args;
  const last = args[args.length - 1];
  if (last !== undefined && typeof last === "object" && !Array.isArray(last)) {
    opts = last as O;
    rest = args.slice(0, -1);
  }
  const given = (rest.length === 1 && Array.isArray(rest[0]) ? rest[0] : rest) as unknown[];
  // NOTE: copied with push: a rest-parameter array (zeros(2, 3)) holds any value, and its slice() would give the
  // tensor a shape array of another elements kind than every op's, which deoptimizes code built for one (src/shape.ts)
  const shape: number[] = [];
  for (const s of given) {
    if (typeof s !== "number" || !Number.isInteger(s) || s < 0) throw new Error(`[${op}] invalid size ${JSON.stringify(s)} in shape ${JSON.stringify(given)}`);
    shape.push(s);
  }
  return [shape, opts];
}

/** A tensor filled with `value`. @example full([2, 2], 7) */
export function full(shape: number[], value: number | boolean, opts?: TensorOptions): Tensor {
  checkShape(shape, "full");
  const v = typeof value === "boolean" ? (value ? 1 : 0) : value;
  const dtype = opts?.dtype ?? (typeof value === "boolean" ? "bool" : "float32");
  const buf = allocStorage(dtype, numelOf(shape));
  if (v !== 0) buf.fill(v);
  return finish(buf, shape.slice(), dtype, opts);
}

/** @example zeros(2, 3) */
export function zeros(...args: ShapeAndOpts<TensorOptions>): Tensor {
  const [shape, opts] = parseShapeArgs(args, "zeros");
  return full(shape, 0, opts);
}
/** @example ones([2, 3], { dtype: "float64" }) */
export function ones(...args: ShapeAndOpts<TensorOptions>): Tensor {
  const [shape, opts] = parseShapeArgs(args, "ones");
  return full(shape, 1, opts);
}
export function empty(...args: ShapeAndOpts<TensorOptions>): Tensor {
  const [shape, opts] = parseShapeArgs(args, "empty");
  return full(shape, 0, opts);
}

/**
 * Values from start to end (exclusive) by step. Integral arguments give int32 (PyTorch: int64).
 * @example arange(5) // [0, 1, 2, 3, 4]
 */
export function arange(start: number, end?: number, step = 1, opts?: TensorOptions): Tensor {
  if (end === undefined) { end = start; start = 0; }
  if (step === 0) throw new Error("[arange] step must be nonzero");
  const n = Math.max(0, Math.ceil((end - start) / step));
  const dtype = opts?.dtype ?? (Number.isInteger(start) && Number.isInteger(end) && Number.isInteger(step) ? "int32" : "float32");
  const buf = allocStorage(dtype, n);
  for (let i = 0; i < n; i++) buf[i] = start + i * step;
  return finish(buf, [n], dtype, opts);
}

/** `steps` evenly spaced values from start to end inclusive. */
export function linspace(start: number, end: number, steps: number, opts?: TensorOptions): Tensor {
  if (!Number.isInteger(steps) || steps < 0) throw new Error(`[linspace] number of steps must be non-negative, got ${steps}`);
  const dtype = opts?.dtype ?? "float32";
  const buf = allocStorage(dtype, steps);
  const step = steps > 1 ? (end - start) / (steps - 1) : 0;
  // symmetric evaluation from both ends, as PyTorch's kernel
  const half = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) buf[i] = i < half ? start + step * i : end - step * (steps - 1 - i);
  // a single step is `start`, as PyTorch (the symmetric formula would give `end`)
  if (steps === 1) buf[0] = start;
  return finish(buf, [steps], dtype, opts);
}

/** Identity matrix (n x m). */
export function eye(n: number, m = n, opts?: TensorOptions): Tensor {
  const dtype = opts?.dtype ?? "float32";
  const buf = allocStorage(dtype, n * m);
  for (let i = 0; i < Math.min(n, m); i++) buf[i * m + i] = 1;
  return finish(buf, [n, m], dtype, opts);
}

function randomTensor(args: ShapeAndOpts<RandomOptions>, op: string, draw: (g: Generator) => number): Tensor {
  const [shape, opts] = parseShapeArgs(args, op);
  const dtype = opts?.dtype ?? "float32";
  const g = opts?.generator ?? defaultGenerator;
  const n = numelOf(shape);
  const buf = allocStorage(dtype, n);
  for (let i = 0; i < n; i++) buf[i] = draw(g);
  return finish(buf, shape, dtype, opts);
}

/** Uniform [0, 1). @example rand(2, 3) */
export function rand(...args: ShapeAndOpts<RandomOptions>): Tensor {
  return randomTensor(args, "rand", (g) => g.nextFloat());
}
/** Standard normal. @example randn([4], { generator: g }) */
export function randn(...args: ShapeAndOpts<RandomOptions>): Tensor {
  return randomTensor(args, "randn", (g) => g.nextNormal());
}

/** Integers uniform in [low, high). */
export function randint(low: number, high: number, shape: number[], opts?: RandomOptions): Tensor {
  if (!(high > low)) throw new Error(`[randint] high (${high}) must be greater than low (${low})`);
  const g = opts?.generator ?? defaultGenerator;
  const dtype = opts?.dtype ?? "int32";
  const n = numelOf(shape);
  const buf = allocStorage(dtype, n);
  for (let i = 0; i < n; i++) buf[i] = low + g.nextInt(high - low);
  return finish(buf, shape.slice(), dtype, opts);
}

/** Overwrite `buf` with a random permutation of 0..buf.length-1 (Fisher–Yates), the stream randperm draws. */
export function permuteInto(buf: Int32Array, g: Generator = defaultGenerator): Int32Array {
  const n = buf.length;
  for (let i = 0; i < n; i++) buf[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = g.nextInt(i + 1);
    const tmp = buf[i];
    buf[i] = buf[j];
    buf[j] = tmp;
  }
  return buf;
}

/** A random permutation of 0..n-1 (Fisher–Yates). */
export function randperm(n: number, opts?: RandomOptions): Tensor {
  const buf = permuteInto(new Int32Array(n), opts?.generator);
  return finish(opts?.dtype && opts.dtype !== "int32" ? Tensor.fromStorage(buf, [n]).to(opts.dtype).buf : buf, [n], opts?.dtype ?? "int32", opts);
}

export function zerosLike(t: Tensor, opts?: TensorOptions): Tensor {
  return full(t.shape, 0, { dtype: t.dtype, ...opts });
}
export function onesLike(t: Tensor, opts?: TensorOptions): Tensor {
  return full(t.shape, 1, { dtype: t.dtype, ...opts });
}
export function fullLike(t: Tensor, value: number, opts?: TensorOptions): Tensor {
  return full(t.shape, value, { dtype: t.dtype, ...opts });
}
export function randLike(t: Tensor, opts?: RandomOptions): Tensor {
  return rand(t.shape, { dtype: t.dtype, ...opts });
}
export function randnLike(t: Tensor, opts?: RandomOptions): Tensor {
  return randn(t.shape, { dtype: t.dtype, ...opts });
}
