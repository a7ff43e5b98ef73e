// Strided iteration for the reference kernels: coalesce dims, then walk rows of the innermost dim.

/**
 * Merge adjacent dims that are contiguous for every operand, and drop size-1 dims.
 * Returns the reduced shape and each operand's strides over it (at least one dim).
 */
export function coalesce(shape: readonly number[], strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const k = strides.length;
  const sh: number[] = [];
  const st: number[][] = Array.from({ length: k }, () => []);
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d];
    if (n === 1) continue;
    const last = sh.length - 1;
    let merge = last >= 0;
    if (merge) {
      for (let j = 0; j < k; j++) {
        if (st[j][last] !== strides[j][d] * n) { merge = false; break; }
      }
    }
    if (merge) {
      sh[last] *= n;
      for (let j = 0; j < k; j++) st[j][last] = strides[j][d];
    } else {
      sh.push(n);
      for (let j = 0; j < k; j++) st[j].push(strides[j][d]);
    }
  }
  if (sh.length === 0) {
    sh.push(1);
    for (let j = 0; j < k; j++) st[j].push(0);
  }
  return { shape: sh, strides: st };
}

/**
 * Call `row(offsets, n)` for every row of the innermost dim, where offsets[j] is operand j's element offset
 * at the row start; the caller reads inner strides from the returned coalesced strides. The offsets array
 * is reused between calls.
 */
export function forEachRow(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
  offsets: readonly number[],
  row: (offs: number[], n: number, inner: number[]) => void,
): void {
  let total = 1;
  for (const s of shape) total *= s;
  if (total === 0) return;
  const c = coalesce(shape, strides);
  const nd = c.shape.length;
  const k = strides.length;
  const inner = c.strides.map((s) => s[nd - 1]);
  const n = c.shape[nd - 1];
  const offs = offsets.slice();
  if (nd === 1) {
    row(offs, n, inner);
    return;
  }
  const idx: number[] = [];
  for (let d = 0; d < nd - 1; d++) idx.push(0);
  const rows = total / n;
  for (let r = 0; r < rows; r++) {
    row(offs, n, inner);
    // advance the odometer over the outer dims
    for (let d = nd - 2; d >= 0; d--) {
      idx[d]++;
      for (let j = 0; j < k; j++) offs[j] += c.strides[j][d];
      if (idx[d] < c.shape[d]) break;
      for (let j = 0; j < k; j++) offs[j] -= c.strides[j][d] * c.shape[d];
      idx[d] = 0;
    }
  }
}

export function isContiguous(shape: readonly number[], strides: readonly number[]): boolean {
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== s) return false;
    s *= shape[i];
  }
  return true;
}

/** The view with its last two dims swapped (a transpose, no copy). */
export function swapLast<V extends { buf: unknown; shape: readonly number[]; strides: readonly number[]; offset: number }>(v: V): V {
  const nd = v.shape.length;
  return { ...v, shape: [...v.shape.slice(0, nd - 2), v.shape[nd - 1], v.shape[nd - 2]], strides: [...v.strides.slice(0, nd - 2), v.strides[nd - 1], v.strides[nd - 2]] };
}
