// Printing tensors the way PyTorch does: `tensor([[1.0000, 2.0000]], requiresGrad=true)`.
import type { Tensor } from "./tensor.js";

function fmtNumber(v: number, isFloat: boolean, allInt: boolean, sci: boolean): string {
  if (!isFloat) return String(v);
  if (Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  if (sci) return v.toExponential(4).replace(/e([+-])(\d)$/, "e$10$2");
  if (allInt) return `${v.toFixed(0)}.`;
  return v.toFixed(4);
}

export function formatTensor(t: Tensor): string {
  const flat = Array.from(t.toTypedArray() as ArrayLike<number>);
  const isFloat = t.dtype === "float32" || t.dtype === "float64";
  const finite = flat.filter((v) => Number.isFinite(v));
  const allInt = finite.every((v) => Number.isInteger(v));
  const maxAbs = finite.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const minAbs = finite.filter((v) => v !== 0).reduce((m, v) => Math.min(m, Math.abs(v)), Infinity);
  const sci = isFloat && !allInt && (maxAbs >= 1e8 || minAbs < 1e-4);
  const strs = flat.map((v) => (t.dtype === "bool" ? (v ? "True" : "False") : fmtNumber(v, isFloat, allInt, sci)));
  const width = strs.reduce((m, s) => Math.max(m, s.length), 0);
  let i = 0;
  const indent = "tensor(".length;
  const build = (d: number): string => {
    if (d === t.ndim) return strs[i++].padStart(width);
    const parts = Array.from({ length: t.shape[d] }, () => build(d + 1));
    const sep = d === t.ndim - 1 ? ", " : ",\n" + "\n".repeat(Math.max(0, t.ndim - d - 2)) + " ".repeat(indent + d + 1);
    return `[${parts.join(sep)}]`;
  };
  const body = t.ndim === 0 ? strs[0] : build(0);
  const extras: string[] = [];
  if (t.dtype !== "float32" && !(t.dtype === "bool")) extras.push(`dtype=${t.dtype}`);
  if (t.gradFn) extras.push(`gradFn=<${t.gradFn.name}>`);
  else if (t.requiresGrad) extras.push("requiresGrad=true");
  return `tensor(${body}${extras.length ? ", " + extras.join(", ") : ""})`;
}
