// Shapes, strides and broadcasting helpers shared by every op.

export type Shape = number[];
/** A shape given as numbers or one array, as PyTorch accepts: `reshape(4, 6)` or `reshape([4, 6])`. */
export type ShapeArg = number[] | [number[]] | [readonly number[]];

export function shapeFromArgs(args: readonly unknown[], op: string): Shape {
  const raw = args.length === 1 && Array.isArray(args[0]) ? (args[0] as unknown[]) : args;
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const v = raw[i];
    if (typeof v !== "number" || !Number.isInteger(v)) {
      throw new Error(`[${op}] shape entries must be integers, got ${JSON.stringify(raw)}`);
    }
    out.push(v);
  }
  return out;
}

export function checkShape(shape: readonly number[], op: string): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`[${op}] invalid shape [${shape.join(", ")}]: sizes must be non-negative integers`);
  }
}

export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i];
  return n;
}

// NOTE: shape and stride arrays are built with push or slice, never `new Array(n)` or `.map` (which
// optimized code allocates holey): V8 gives holey arrays a different map, and code optimized for one kind
// deoptimizes ("wrong map") when the other appears, which cost the seed program a third of its JIT time.

/** `a.map(f)` that always returns a packed array (see the note above). */
export function mapDims(a: readonly number[], f: (v: number, i: number) => number): number[] {
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) out.push(f(a[i], i));
  return out;
}

/** The shape of a reduction of `shape` over `dims`: those dims kept as size 1, or dropped. */
export function reducedShape(shape: readonly number[], dims: readonly number[], keepdim: boolean): number[] {
  const out: number[] = [];
  for (let d = 0; d < shape.length; d++) {
    if (!dims.includes(d)) out.push(shape[d]);
    else if (keepdim) out.push(1);
  }
  return out;
}

export function contiguousStrides(shape: readonly number[]): number[] {
  const st: number[] = [];
  let s = 1;
  for (let i = 0; i < shape.length; i++) st.push(0);
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = s;
    s *= shape[i];
  }
  return st;
}

/**
 * Strides of a tensor of `shape` (at least 3 dims) stored with dims -3 and -2 swapped: (...outer, H, L, D) laid out
 * as (...outer, L, H, D). Attention's outputs use it for MultiheadAttention's heads, which then merge by a view.
 */
export function seqMajorStrides(shape: readonly number[]): number[] {
  const nd = shape.length, phys = shape.slice();
  phys[nd - 3] = shape[nd - 2];
  phys[nd - 2] = shape[nd - 3];
  const st = contiguousStrides(phys), h = st[nd - 2];
  st[nd - 2] = st[nd - 3];
  st[nd - 3] = h;
  return st;
}

export function shapesEqual(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function fmtShape(s: readonly number[]): string {
  return `[${s.join(", ")}]`;
}

export function broadcastShapes(a: readonly number[], b: readonly number[], op: string): Shape {
  if (shapesEqual(a, b)) return a.slice();
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = i < n - a.length ? 1 : a[i - (n - a.length)];
    const db = i < n - b.length ? 1 : b[i - (n - b.length)];
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`[${op}] shapes ${fmtShape(a)} and ${fmtShape(b)} cannot be broadcast together (dim ${i - n}: ${da} vs ${db})`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Strides that read a tensor of (shape, strides) as if it had `target` shape (broadcast dims get stride 0). */
export function broadcastStrides(shape: readonly number[], strides: readonly number[], target: readonly number[]): number[] {
  const n = target.length;
  const off = n - shape.length;
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(i < off || shape[i - off] === 1 ? 0 : strides[i - off]);
  return out;
}

/** Normalise a possibly negative dim against ndim, with PyTorch's error on range. */
export function normDim(dim: number, ndim: number, op: string, arg = "dim"): number {
  const n = Math.max(ndim, 1);
  if (!Number.isInteger(dim) || dim < -n || dim >= n) {
    throw new Error(`[${op}] ${arg} ${dim} out of range for a tensor of ${ndim} dimension${ndim === 1 ? "" : "s"} (expected in [${-n}, ${n - 1}])`);
  }
  return dim < 0 ? dim + n : dim;
}

/** Normalise a dim argument (number, list, or undefined = all) to a sorted unique list. */
export function normDims(dims: number | readonly number[] | undefined | null, ndim: number, op: string): number[] {
  if (typeof dims === "number") return [normDim(dims, ndim, op)];
  if (dims === undefined || dims === null || dims.length === 0) {
    const all: number[] = [];
    for (let i = 0; i < ndim; i++) all.push(i);
    return all;
  }
  const out = mapDims(dims, (d) => normDim(d, ndim, op)).sort((x, y) => x - y);
  for (let i = 1; i < out.length; i++) {
    if (out[i] === out[i - 1]) throw new Error(`[${op}] dim ${JSON.stringify(dims)} appears multiple times in the list of dims`);
  }
  return out;
}
