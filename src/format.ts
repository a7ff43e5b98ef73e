// Printing tensors the way PyTorch does: `tensor([[1.0000, 2.0000]], requiresGrad=true)`.
import type { Tensor } from "./tensor.js";

function fmtNumber(v: number, allInt: boolean, sci: boolean): string {
  if (Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  if (sci) return v.toExponential(4).replace(/e([+-])(\d)$/, "e$10$2");
  if (allInt) return `${v.toFixed(0)}.`;
  return v.toFixed(4);
}

/**
 * PyTorch's float formatter (torch/_tensor_str.py): integer mode when every finite value is whole;
 * scientific when the non-zero finite magnitudes span more than 1000x, exceed 1e8, or (non-integer mode)
 * go below 1e-4. Column width comes from the non-zero finite values only, so nan/inf/0 never widen it.
 */
function floatFormat(flat: number[]): { allInt: boolean; sci: boolean; width: number } {
  const nz = flat.filter((v) => Number.isFinite(v) && v !== 0);
  if (nz.length === 0) return { allInt: true, sci: false, width: 1 };
  const allInt = nz.every((v) => Number.isInteger(v));
  let maxAbs = 0, minAbs = Infinity;
  for (const v of nz) { maxAbs = Math.max(maxAbs, Math.abs(v)); minAbs = Math.min(minAbs, Math.abs(v)); }
  const sci = maxAbs / minAbs > 1000 || maxAbs > 1e8 || (!allInt && minAbs < 1e-4);
  const width = nz.reduce((m, v) => Math.max(m, fmtNumber(v, allInt, sci).length), 1);
  return { allInt, sci, width };
}

// PyTorch's print options: summarize above 1000 elements showing 3 at each edge, wrap rows at 80 columns
const THRESHOLD = 1000, EDGE = 3, LINEWIDTH = 80;

/** Indices shown along a dim of `size` (-1 marks the "..." gap when summarizing). */
function shownIndices(size: number, summarize: boolean): number[] {
  if (!summarize || size <= 2 * EDGE) return Array.from({ length: size }, (_, i) => i);
  return [0, 1, 2, -1, size - 3, size - 2, size - 1];
}

export function formatTensor(t: Tensor): string {
  const flat = Array.from(t.toTypedArray() as ArrayLike<number>);
  const isFloat = t.dtype === "float32" || t.dtype === "float64";
  const summarize = flat.length > THRESHOLD;
  const nd = t.ndim;
  const cs = new Array<number>(nd);
  for (let d = nd - 1, s = 1; d >= 0; d--) { cs[d] = s; s *= t.shape[d]; }
  // the formatter sees only the values that will be printed, as PyTorch's get_summarized_data
  let shown = flat;
  if (summarize) {
    shown = [];
    const walk = (d: number, base: number) => {
      if (d === nd) { shown.push(flat[base]); return; }
      for (const i of shownIndices(t.shape[d], true)) if (i >= 0) walk(d + 1, base + i * cs[d]);
    };
    walk(0, 0);
  }
  let str: (v: number) => string, width: number;
  if (isFloat) {
    const f = floatFormat(shown);
    str = (v) => fmtNumber(v, f.allInt, f.sci);
    width = f.width;
  } else {
    str = (v) => (t.dtype === "bool" ? (v ? "True" : "False") : String(v));
    width = shown.reduce((m, v) => Math.max(m, str(v).length), 0);
  }
  const fmt = (v: number) => str(v).padStart(width);
  const prefix = "tensor(";
  const build = (d: number, base: number, indent: number): string => {
    const idx = shownIndices(t.shape[d], summarize);
    if (d === nd - 1) {
      const items = idx.map((i) => (i < 0 ? " ..." : fmt(flat[base + i])));
      const perLine = Math.max(1, Math.floor((LINEWIDTH - indent) / (width + 2)));
      const lines: string[] = [];
      for (let k = 0; k < items.length; k += perLine) lines.push(items.slice(k, k + perLine).join(", "));
      return `[${lines.join(",\n" + " ".repeat(indent + 1))}]`;
    }
    const parts = idx.map((i) => (i < 0 ? "..." : build(d + 1, base + i * cs[d], indent + 1)));
    return `[${parts.join("," + "\n".repeat(nd - d - 1) + " ".repeat(indent + 1))}]`;
  };
  const body = flat.length === 0 ? "[]" : nd === 0 ? str(flat[0]) : build(0, 0, prefix.length);
  const suffixes: string[] = [];
  if (flat.length === 0 && !(nd === 1)) suffixes.push(`size=[${t.shape.join(", ")}]`);
  if (t.dtype !== "float32" && t.dtype !== "bool") suffixes.push(`dtype=${t.dtype}`);
  if (t.gradFn) suffixes.push(`gradFn=<${t.gradFn.name}>`);
  else if (t.requiresGrad) suffixes.push("requiresGrad=true");
  // a suffix that would pass the line width goes on its own line, as PyTorch's _add_suffixes
  let out = prefix + body;
  let lastLen = out.length - out.lastIndexOf("\n") + 1;
  for (const sfx of suffixes) {
    if (lastLen + sfx.length + 2 > LINEWIDTH) {
      out += ",\n" + " ".repeat(prefix.length) + sfx;
      lastLen = prefix.length + sfx.length;
    } else {
      out += ", " + sfx;
      lastLen += sfx.length + 2;
    }
  }
  return out + ")";
}
