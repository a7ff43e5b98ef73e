// Internal helpers of nn: option checking, and Python-style formatting so extraRepr matches PyTorch's print.

/** What a value is, for error messages ("null", "Tensor", "string"). */
export function describe(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "object") return (v as object).constructor?.name ?? "object";
  return typeof v;
}

/** A number as Python's repr(float) writes it (`1.0`, `0.01`, `1e-05`), for PyTorch-identical extraRepr. */
export function pyFloat(v: number): string {
  if (Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-4 || a >= 1e16)) return v.toExponential().replace(/e([+-])(\d)$/, "e$10$2");
  return Number.isInteger(v) ? `${v}.0` : String(v);
}

/** Python's repr of a bool, for extraRepr. */
export function pyBool(v: boolean): string {
  return v ? "True" : "False";
}

/** Reject option keys a constructor or function does not know, so a typo is not silently ignored. */
export function checkOptions(op: string, opts: object | undefined, allowed: readonly string[]): void {
  if (opts === undefined) return;
  if (opts === null || typeof opts !== "object") throw new Error(`[${op}] options must be an object, got ${describe(opts)}`);
  for (const k of Object.keys(opts)) {
    if (!allowed.includes(k)) throw new Error(`[${op}] unknown option '${k}'; expected one of ${allowed.join(", ")}`);
  }
}
