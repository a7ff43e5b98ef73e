// CSV text to feature/target tensors (RFC 4180 quoting); no Node imports, so it also runs in browsers.
import { Tensor } from "../tensor.js";

export interface CsvOptions {
  /** The target (label) column, by header name or 0-based index (negative counts from the end). */
  target?: string | number;
  /** Field separator, one character (default ","). */
  delimiter?: string;
  /** Whether the first row holds column names (default true). Without one, columns are named "0", "1", .... */
  header?: boolean;
  /** Feature columns to use, by name or index, in this order (default: every column but the target). */
  columns?: readonly (string | number)[];
}

export interface CsvData {
  /** Features, float32 [rows, features]. */
  x: Tensor;
  /** Target values: float32 [rows] when numeric, int32 class indices into `classes` otherwise; undefined without a target. */
  y: Tensor | undefined;
  featureNames: string[];
  targetName: string | undefined;
  /** The sorted distinct labels of a non-numeric target, which y indexes; undefined otherwise. */
  classes: string[] | undefined;
}

interface CsvRecord {
  fields: string[];
  /** 1-based line on which the record starts (a quoted field may span lines). */
  line: number;
}

/** Where an error happened, to put at the front of its message: the operation, and the file when there is one. */
export interface CsvOrigin {
  op: string;
  file?: string;
}

/** Throw `[op] file line N, column 'c': msg`, leaving out the parts that are unknown. */
function fail(o: CsvOrigin, msg: string, line?: number, column?: string): never {
  let at = [o.file, line === undefined ? undefined : `line ${line}`].filter((s) => s !== undefined).join(" ");
  if (column !== undefined) at += `, column '${column}'`;
  throw new Error(`[${o.op}] ${at ? `${at}: ` : ""}${msg}`);
}

/** Split text into records of fields: "" escapes a quote inside quotes, quoted fields may hold delimiters and line
 *  breaks, lines end in LF, CRLF or CR, unquoted fields are trimmed and whitespace around quotes is ignored. */
function tokenize(text: string, delim: string, o: CsvOrigin): CsvRecord[] {
  const records: CsvRecord[] = [];
  const n = text.length;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; // a byte-order mark, as spreadsheet exports write
  let line = 1;
  const isSpace = (c: string) => (c === " " || c === "\t") && c !== delim;
  while (i < n) {
    const fields: string[] = [];
    const start = line;
    let quoted = false;
    for (;;) {
      while (i < n && isSpace(text[i])) i++;
      quoted = text[i] === '"';
      if (quoted) {
        const opened = line;
        let value = "";
        let from = ++i;
        for (;;) {
          const q = text.indexOf('"', i);
          const end = q < 0 ? n : q;
          for (let k = i; k < end; k++) {
            const c = text[k];
            if (c === "\n" || (c === "\r" && text[k + 1] !== "\n")) line++;
          }
          if (q < 0) fail(o, `unterminated quoted field (the quote that opens field ${fields.length + 1} is never closed)`, opened);
          if (text[q + 1] === '"') {
            value += text.slice(from, q + 1);
            i = from = q + 2;
            continue;
          }
          value += text.slice(from, q);
          i = q + 1;
          break;
        }
        while (i < n && isSpace(text[i])) i++;
        if (i < n && text[i] !== delim && text[i] !== "\n" && text[i] !== "\r") {
          fail(o, `unexpected character '${text[i]}' after the closing quote of field ${fields.length + 1}`, line);
        }
        fields.push(value);
      } else {
        const from = i;
        while (i < n && text[i] !== delim && text[i] !== "\n" && text[i] !== "\r") i++;
        fields.push(text.slice(from, i).trim());
      }
      if (text[i] === delim) {
        i++;
        continue;
      }
      break;
    }
    if (text[i] === "\r") i++;
    if (text[i] === "\n") i++;
    line++;
    // Blank lines separate nothing; skip them (as pandas does) rather than reading a row of one empty field.
    if (!(fields.length === 1 && fields[0] === "" && !quoted)) records.push({ fields, line: start });
  }
  return records;
}

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const SPECIAL = /^([+-]?)(?:nan|inf|infinity)$/i;

/** The number a cell spells, with Python float()'s syntax (decimal, exponent, nan, inf); undefined if none. */
function parseNumber(s: string): number | undefined {
  if (DECIMAL.test(s)) return Number(s);
  const m = SPECIAL.exec(s);
  if (!m) return undefined;
  if (/nan/i.test(s)) return NaN;
  return m[1] === "-" ? -Infinity : Infinity;
}

function resolveColumn(names: readonly string[], col: string | number, what: string, o: CsvOrigin): number {
  if (typeof col === "number") {
    if (!Number.isInteger(col) || col < -names.length || col >= names.length) {
      fail(o, `${what} index ${col} is out of range for ${names.length} columns`);
    }
    return col < 0 ? col + names.length : col;
  }
  const k = names.indexOf(col);
  if (k < 0) fail(o, `${what} '${col}' not found; columns are: ${names.join(", ")}`);
  return k;
}

/**
 * Parse CSV text into a float32 feature matrix and an optional target, as `pandas.read_csv` followed by
 * splitting off the label column. Numbers use Python float()'s syntax; an empty or non-numeric cell in a feature
 * column is an error naming its line and column. A target column with any non-numeric value holds class labels:
 * y then indexes the sorted list of distinct labels returned as `classes`.
 * @example
 * const { x, y, classes } = parseCsv("sepal_length,species\n5.1,setosa\n7.0,versicolor\n", { target: "species" });
 * // x: [[5.1], [7.0]], y: int32 [0, 1], classes: ["setosa", "versicolor"]
 */
export function parseCsv(text: string, opts?: CsvOptions): CsvData {
  return parseCsvFrom(text, opts ?? {}, { op: "parseCsv" });
}

/** parseCsv with the operation name and file to quote in errors (readCsv's entry). */
export function parseCsvFrom(text: string, opts: CsvOptions, o: CsvOrigin): CsvData {
  const { delimiter = ",", header = true } = opts;
  if (typeof delimiter !== "string" || delimiter.length !== 1 || delimiter === '"' || delimiter === "\n" || delimiter === "\r") {
    fail(o, `delimiter must be a single character other than a quote or line break, got ${JSON.stringify(delimiter)}`);
  }
  const records = tokenize(text, delimiter, o);
  if (records.length === 0) fail(o, "the input is empty");
  const names = header ? records[0].fields : records[0].fields.map((_, k) => String(k));
  const rows = header ? records.slice(1) : records;
  if (header) {
    const seen = new Set<string>();
    for (const name of names) {
      if (seen.has(name)) fail(o, `duplicate column name '${name}' in the header`, records[0].line);
      seen.add(name);
    }
  }
  for (const r of rows) {
    if (r.fields.length !== names.length) fail(o, `expected ${names.length} fields, got ${r.fields.length}`, r.line);
  }

  const t = opts.target === undefined ? -1 : resolveColumn(names, opts.target, "target column", o);
  const features = opts.columns
    ? opts.columns.map((c) => {
      const k = resolveColumn(names, c, "column", o);
      if (k === t) fail(o, `column '${names[k]}' is the target; it cannot also be a feature`);
      return k;
    })
    : names.map((_, k) => k).filter((k) => k !== t);

  const cell = (r: CsvRecord, k: number): number => {
    const s = r.fields[k].trim();
    if (s === "") fail(o, "missing value", r.line, names[k]);
    const v = parseNumber(s);
    if (v === undefined) fail(o, `cannot parse '${s}' as a number`, r.line, names[k]);
    return v;
  };

  // A target is numeric when every non-empty cell is a number; empty cells are reported in the row pass below.
  const numericTarget = t >= 0 && rows.every((r) => r.fields[t].trim() === "" || parseNumber(r.fields[t].trim()) !== undefined);
  const labels: string[] = [];
  const F = features.length;
  const x = new Float32Array(rows.length * F);
  const yNum = new Float32Array(numericTarget ? rows.length : 0);
  rows.forEach((r, i) => {
    for (let j = 0; j < F; j++) x[i * F + j] = cell(r, features[j]);
    if (numericTarget) yNum[i] = cell(r, t);
    else if (t >= 0) {
      if (r.fields[t].trim() === "") fail(o, "missing value", r.line, names[t]);
      labels.push(r.fields[t]);
    }
  });

  let y: Tensor | undefined;
  let classes: string[] | undefined;
  if (numericTarget) y = Tensor.fromStorage(yNum, [rows.length]);
  else if (t >= 0) {
    classes = [...new Set(labels)].sort();
    const index = new Map(classes.map((c, k) => [c, k]));
    y = Tensor.fromStorage(Int32Array.from(labels, (l) => index.get(l)!), [rows.length]);
  }
  return {
    x: Tensor.fromStorage(x, [rows.length, F]),
    y,
    featureNames: features.map((k) => names[k]),
    targetName: t >= 0 ? names[t] : undefined,
    classes,
  };
}
