// Loading the generated WebAssembly kernel modules: base64 builds, the best one this runtime validates.

function bytesOf(base64: string): Uint8Array<ArrayBuffer> {
  const s = atob(base64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/**
 * Instantiate the first of `builds` (best first, as [variant, base64]) that this runtime validates and
 * compiles, or null when none does (no WebAssembly, no SIMD, or compilation refused): then the kernels of that
 * family stay on the JS reference.
 * NOTE: synchronous `new WebAssembly.Module` keeps the tensor API synchronous; browsers allow it off the main
 * thread, and some have capped it on the main thread (Chrome long at 4 KiB); such a refusal is a RangeError,
 * caught here, so a page still runs, on the JS kernels.
 */
export function loadBest<E, V extends string>(builds: readonly (readonly [V, string])[], imports: WebAssembly.Imports = {}): { ex: E; variant: V; module: WebAssembly.Module } | null {
  if (typeof WebAssembly !== "object") return null;
  for (const [variant, b64] of builds) {
    const bytes = bytesOf(b64);
    if (!WebAssembly.validate(bytes)) continue;
    try {
      const module = new WebAssembly.Module(bytes);
      const inst = new WebAssembly.Instance(module, imports);
      return { ex: inst.exports as unknown as E, variant, module };
    } catch {
      continue;
    }
  }
  return null;
}

/** [lowest, highest] element index a view touches over its whole shape (strides may be 0 or negative). */
export function span(v: { readonly shape: readonly number[]; readonly strides: readonly number[]; readonly offset: number }): [number, number] {
  let lo = v.offset, hi = v.offset;
  for (let d = 0; d < v.shape.length; d++) {
    const reach = (v.shape[d] - 1) * v.strides[d];
    if (reach < 0) lo += reach;
    else hi += reach;
  }
  return [lo, hi];
}

export const align64 = (n: number) => Math.ceil(n / 64) * 64;
