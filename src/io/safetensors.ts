// Safetensors codec: tensors and metadata to and from the byte layout of huggingface/safetensors (browser-safe).

import { type DType, type Storage } from "../dtype.js";
import { contiguousStrides, fmtShape, numelOf } from "../shape.js";
import { Tensor } from "../tensor.js";

/** One tensor as the codec sees it: a dtype, a shape and its elements in row-major order. */
export interface SafetensorsEntry {
  dtype: DType;
  shape: number[];
  data: Storage;
}

/** What {@link decodeSafetensors} returns: the tensors by name and the `__metadata__` string map. */
export interface DecodedSafetensors {
  tensors: Record<string, SafetensorsEntry>;
  metadata: Record<string, string>;
}

/** Options for {@link saveToBytes} and `save`. */
export interface SaveOptions {
  /** Free-form strings stored under the header's `__metadata__` key, as `save_file(..., metadata=)` does. */
  metadata?: Record<string, string>;
}

// The reference parser refuses larger headers; writing one would produce a file nobody can read.
const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = "__metadata__";

// Rank is the position in the reference `Dtype` enum, whose derived order the writer sorts by (descending),
// so that every tensor starts at an offset aligned to its element size. `kiln` is the dtype a file dtype loads as.
type FileDType = "BOOL" | "U8" | "I8" | "I16" | "F16" | "BF16" | "I32" | "F32" | "F64" | "I64";
const FILE_DTYPES: Record<FileDType, { bytes: number; rank: number; kiln: DType }> = {
  BOOL: { bytes: 1, rank: 0, kiln: "bool" },
  U8: { bytes: 1, rank: 1, kiln: "int32" },
  I8: { bytes: 1, rank: 2, kiln: "int32" },
  I16: { bytes: 2, rank: 5, kiln: "int32" },
  F16: { bytes: 2, rank: 7, kiln: "float32" },
  BF16: { bytes: 2, rank: 8, kiln: "float32" },
  I32: { bytes: 4, rank: 9, kiln: "int32" },
  F32: { bytes: 4, rank: 11, kiln: "float32" },
  F64: { bytes: 8, rank: 12, kiln: "float64" },
  I64: { bytes: 8, rank: 13, kiln: "int32" },
};

const FILE_NAME_OF: Record<DType, FileDType> = { float32: "F32", float64: "F64", int32: "I32", bool: "BOOL" };

// Typed arrays use host byte order while the format is little-endian; every JS engine in practice is
// little-endian, where whole buffers can be copied, and the DataView paths keep big-endian hosts correct.
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const utf8Encoder = new TextEncoder();
// fatal: invalid UTF-8 is an error as in the reference; ignoreBOM: a BOM is kept and so rejected by JSON.parse.
const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Encodes tensors into safetensors bytes, laid out exactly as the reference writer (`safetensors.torch.save_file`)
 * does: tensors sorted by dtype alignment (descending) then by name, header JSON compact with `__metadata__`
 * first, padded with spaces so the data starts 8-byte aligned.
 *
 * @example
 * const bytes = encodeSafetensors({ w: { dtype: "float32", shape: [2], data: new Float32Array([1, 2]) } }, { format: "pt" });
 */
export function encodeSafetensors(entries: Record<string, SafetensorsEntry>, metadata?: Record<string, string>): Uint8Array {
  const parts: string[] = [];
  if (metadata !== undefined) parts.push(`${JSON.stringify(METADATA_KEY)}:${encodeMetadata(metadata)}`);

  const names = Object.keys(entries);
  const keyed = names.map((name) => ({ name, entry: checkEntry(name, entries[name]), utf8: utf8Encoder.encode(name) }));
  const rank = (e: SafetensorsEntry) => FILE_DTYPES[FILE_NAME_OF[e.dtype]].rank;
  keyed.sort((a, b) => rank(b.entry) - rank(a.entry) || compareBytes(a.utf8, b.utf8));

  let dataBytes = 0;
  for (const { name, entry } of keyed) {
    const begin = dataBytes;
    dataBytes += entry.data.byteLength;
    parts.push(`${JSON.stringify(name)}:{"dtype":"${FILE_NAME_OF[entry.dtype]}","shape":[${entry.shape.join(",")}],"data_offsets":[${begin},${dataBytes}]}`);
  }

  const json = utf8Encoder.encode(`{${parts.join(",")}}`);
  const headerBytes = json.length + ((8 - (json.length % 8)) % 8);
  if (headerBytes > MAX_HEADER_BYTES) {
    throw new Error(`[save] safetensors header would be ${headerBytes} bytes, over the ${MAX_HEADER_BYTES}-byte limit readers enforce`);
  }

  const out = new Uint8Array(8 + headerBytes + dataBytes);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerBytes);
  let pos = 8 + headerBytes;
  for (const { entry } of keyed) {
    writeLittleEndian(entry, out, view, pos);
    pos += entry.data.byteLength;
  }
  return out;
}

/**
 * Decodes safetensors bytes. Besides Kiln's own dtypes it reads F16 and BF16 (as float32) and I64, I16, I8 and
 * U8 (as int32, failing on an I64 value outside the int32 range). The data is copied out, so the result does
 * not alias `bytes`, which may sit at any byte offset. Malformed input throws an error starting with `[load]`.
 *
 * @example
 * const { tensors, metadata } = decodeSafetensors(bytes);
 * tensors["0.weight"].shape; // [10, 2]
 */
export function decodeSafetensors(bytes: Uint8Array): DecodedSafetensors {
  if (bytes.length < 8) throw new Error(`[load] safetensors data is ${bytes.length} bytes, shorter than the 8-byte header length prefix`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared > BigInt(MAX_HEADER_BYTES)) throw new Error(`[load] safetensors header length ${declared} is over the ${MAX_HEADER_BYTES}-byte limit`);
  const headerBytes = Number(declared);
  if (headerBytes > bytes.length - 8) {
    throw new Error(`[load] safetensors header length ${headerBytes} is larger than the ${bytes.length - 8} bytes that follow the length prefix (truncated file?)`);
  }

  const header = parseHeader(bytes.subarray(8, 8 + headerBytes));
  const dataStart = 8 + headerBytes;
  const dataBytes = bytes.length - dataStart;

  const metadata = readMetadata(header[METADATA_KEY]);
  const infos: TensorInfo[] = [];
  for (const name of Object.keys(header)) {
    if (name !== METADATA_KEY) infos.push(readTensorInfo(name, header[name], dataBytes));
  }
  checkCoverage(infos, dataBytes);

  const tensors: Record<string, SafetensorsEntry> = {};
  for (const info of infos) {
    const entry: SafetensorsEntry = {
      dtype: FILE_DTYPES[info.dtype].kiln,
      shape: info.shape,
      data: readLittleEndian(info, bytes.subarray(dataStart + info.begin, dataStart + info.end)),
    };
    // defineProperty, not assignment: a tensor named "__proto__" must stay an ordinary key.
    Object.defineProperty(tensors, info.name, { value: entry, enumerable: true, writable: true, configurable: true });
  }
  return { tensors, metadata };
}

/**
 * Serializes a record of tensors to safetensors bytes, without touching the file system (works in browsers).
 * Non-contiguous tensors are written in row-major order; autograd state is not stored.
 *
 * @example
 * const bytes = saveToBytes(model.stateDict(), { metadata: { format: "pt" } });
 */
export function saveToBytes(obj: Record<string, Tensor>, opts: SaveOptions = {}): Uint8Array {
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
    throw new Error(`[save] expected an object mapping names to Tensors, got ${describe(obj)}`);
  }
  const entries: Record<string, SafetensorsEntry> = {};
  for (const name of Object.keys(obj)) {
    const value: unknown = obj[name];
    if (!(value instanceof Tensor)) throw new Error(`[save] value for key '${name}' is not a Tensor (got ${describe(value)})`);
    // detach first so a tensor that requires grad does not record a clone node just to be saved.
    const t = value.detach().contiguous();
    const numel = numelOf(t.shape);
    Object.defineProperty(entries, name, {
      value: { dtype: t.dtype, shape: t.shape.slice(), data: t.buf.subarray(t.offset, t.offset + numel) },
      enumerable: true,
    });
  }
  return encodeSafetensors(entries, opts.metadata);
}

/**
 * Deserializes safetensors bytes into fresh contiguous tensors (browser-safe counterpart of `load`).
 *
 * @example
 * const state = loadFromBytes(new Uint8Array(await (await fetch("model.safetensors")).arrayBuffer()));
 */
export function loadFromBytes(bytes: Uint8Array): Record<string, Tensor> {
  const { tensors } = decodeSafetensors(bytes);
  const out: Record<string, Tensor> = {};
  for (const name of Object.keys(tensors)) {
    const { dtype, shape, data } = tensors[name];
    Object.defineProperty(out, name, {
      value: new Tensor(data, shape, contiguousStrides(shape), 0, dtype),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return `an instance of ${(v as object).constructor?.name ?? "Object"}`;
  return typeof v;
}

function encodeMetadata(metadata: Record<string, string>): string {
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    throw new Error(`[save] metadata must be an object of strings, got ${describe(metadata)}`);
  }
  // The reference keeps metadata in a hash map, so its key order is unspecified; sorting makes output reproducible.
  const keys = Object.keys(metadata).sort((a, b) => compareBytes(utf8Encoder.encode(a), utf8Encoder.encode(b)));
  const fields = keys.map((k) => {
    const v: unknown = metadata[k];
    if (typeof v !== "string") throw new Error(`[save] metadata value for key '${k}' must be a string, got ${describe(v)}`);
    return `${JSON.stringify(k)}:${JSON.stringify(v)}`;
  });
  return `{${fields.join(",")}}`;
}

const STORAGE_CTOR: Record<DType, new (length: number) => Storage> = { float32: Float32Array, float64: Float64Array, int32: Int32Array, bool: Uint8Array };

function checkEntry(name: string, entry: SafetensorsEntry): SafetensorsEntry {
  if (name === METADATA_KEY) throw new Error(`[save] '${METADATA_KEY}' is reserved by the safetensors format and cannot name a tensor`);
  if (typeof entry !== "object" || entry === null) throw new Error(`[save] entry for key '${name}' is ${describe(entry)}, not {dtype, shape, data}`);
  const { dtype, shape, data } = entry;
  if (!Object.hasOwn(FILE_NAME_OF, dtype)) {
    throw new Error(`[save] tensor '${name}' has unknown dtype ${String(dtype)}; expected one of float32, float64, int32, bool`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new Error(`[save] tensor '${name}' has invalid shape ${JSON.stringify(shape)}: sizes must be non-negative integers`);
  }
  if (!(data instanceof STORAGE_CTOR[dtype])) {
    throw new Error(`[save] tensor '${name}' has dtype ${dtype} but its data is ${describe(data)}, not a ${STORAGE_CTOR[dtype].name}`);
  }
  if (data.length !== numelOf(shape)) {
    throw new Error(`[save] tensor '${name}' has ${data.length} elements of data but shape ${fmtShape(shape)} needs ${numelOf(shape)}`);
  }
  return entry;
}

// Rust orders `String`s by their UTF-8 bytes, which differs from JS's UTF-16 order for astral characters.
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function writeLittleEndian(entry: SafetensorsEntry, out: Uint8Array, view: DataView, pos: number): void {
  const { dtype, data } = entry;
  if (dtype === "bool") {
    // torch reads any byte other than 0 or 1 in a bool tensor as undefined behaviour, so normalise.
    for (let i = 0; i < data.length; i++) out[pos + i] = data[i] ? 1 : 0;
  } else if (HOST_IS_LITTLE_ENDIAN) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), pos);
  } else if (dtype === "float64") {
    for (let i = 0; i < data.length; i++) view.setFloat64(pos + 8 * i, data[i], true);
  } else if (dtype === "float32") {
    for (let i = 0; i < data.length; i++) view.setFloat32(pos + 4 * i, data[i], true);
  } else {
    for (let i = 0; i < data.length; i++) view.setInt32(pos + 4 * i, data[i], true);
  }
}

function parseHeader(raw: Uint8Array): Record<string, unknown> {
  let text: string;
  try {
    text = utf8Decoder.decode(raw);
  } catch {
    throw new Error("[load] safetensors header is not valid UTF-8");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`[load] safetensors header is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error(`[load] safetensors header must be a JSON object, got ${describe(parsed)}`);
  }
  return parsed as Record<string, unknown>;
}

function readMetadata(raw: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  // null is accepted because the reference reads `__metadata__` as an optional map.
  if (raw === undefined || raw === null) return out;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new Error(`[load] safetensors '${METADATA_KEY}' must be an object of strings, got ${describe(raw)}`);
  }
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== "string") throw new Error(`[load] safetensors '${METADATA_KEY}' value for key '${k}' must be a string, got ${describe(v)}`);
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

interface TensorInfo {
  name: string;
  dtype: FileDType;
  shape: number[];
  numel: number;
  begin: number;
  end: number;
}

function readTensorInfo(name: string, raw: unknown, dataBytes: number): TensorInfo {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new Error(`[load] header entry for tensor '${name}' must be an object with dtype, shape and data_offsets, got ${describe(raw)}`);
  }
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (typeof dtype !== "string" || !Object.hasOwn(FILE_DTYPES, dtype)) {
    throw new Error(`[load] tensor '${name}' has unsupported dtype ${JSON.stringify(dtype)}; supported: ${Object.keys(FILE_DTYPES).join(", ")}`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new Error(`[load] tensor '${name}' has invalid shape ${JSON.stringify(shape)}: entries must be non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    throw new Error(`[load] tensor '${name}' has invalid data_offsets ${JSON.stringify(offsets)}: expected [begin, end] of non-negative integers`);
  }
  const fileDType = dtype as FileDType;
  const [begin, end] = offsets as [number, number];
  const numel = numelOf(shape);
  const expected = numel * FILE_DTYPES[fileDType].bytes;
  const where = `tensor '${name}' data_offsets [${begin}, ${end}]`;
  if (begin > end || end > dataBytes) {
    throw new Error(`[load] ${where} are out of range for the ${dataBytes}-byte data buffer (shape ${fmtShape(shape)} of ${dtype} needs ${expected} bytes)`);
  }
  if (end - begin !== expected) {
    throw new Error(`[load] ${where} span ${end - begin} bytes but shape ${fmtShape(shape)} of ${dtype} needs ${expected} bytes`);
  }
  return { name, dtype: fileDType, shape, numel, begin, end };
}

// The spec requires the byte buffer to be indexed entirely, without holes or shared bytes.
function checkCoverage(infos: TensorInfo[], dataBytes: number): void {
  const byOffset = infos.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let prev: TensorInfo | undefined;
  for (const info of byOffset) {
    if (info.begin < cursor && prev) {
      throw new Error(`[load] tensor '${info.name}' data_offsets [${info.begin}, ${info.end}] overlap tensor '${prev.name}' [${prev.begin}, ${prev.end}]`);
    }
    if (info.begin > cursor) {
      throw new Error(`[load] data buffer bytes [${cursor}, ${info.begin}) before tensor '${info.name}' belong to no tensor; offsets must be contiguous`);
    }
    cursor = info.end;
    prev = info;
  }
  if (cursor !== dataBytes) {
    throw new Error(`[load] data buffer has ${dataBytes - cursor} trailing bytes after offset ${cursor} that belong to no tensor`);
  }
}

function readLittleEndian(info: TensorInfo, src: Uint8Array): Storage {
  const n = info.numel;
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  switch (info.dtype) {
    case "BOOL": {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = src[i] ? 1 : 0;
      return out;
    }
    case "F64": {
      const out = new Float64Array(n);
      if (HOST_IS_LITTLE_ENDIAN) new Uint8Array(out.buffer).set(src);
      else for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true);
      return out;
    }
    case "F32": {
      const out = new Float32Array(n);
      if (HOST_IS_LITTLE_ENDIAN) new Uint8Array(out.buffer).set(src);
      else for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
      return out;
    }
    case "I32": {
      const out = new Int32Array(n);
      if (HOST_IS_LITTLE_ENDIAN) new Uint8Array(out.buffer).set(src);
      else for (let i = 0; i < n; i++) out[i] = view.getInt32(4 * i, true);
      return out;
    }
    case "F16": {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
      return out;
    }
    case "BF16": {
      // bfloat16 is the top half of a float32, so widening is a 16-bit shift of the bit pattern.
      const bits = new Uint32Array(n);
      for (let i = 0; i < n; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      return new Float32Array(bits.buffer);
    }
    case "I64": {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const lo = view.getUint32(8 * i, true);
        const hi = view.getInt32(8 * i + 4, true);
        // The value fits int32 exactly when the high word is the sign extension of the low word's top bit.
        if (hi !== (lo >= 0x80000000 ? -1 : 0)) {
          throw new Error(`[load] tensor '${info.name}' (I64) holds ${view.getBigInt64(8 * i, true)} at flat index ${i}, outside the int32 range Kiln stores I64 as`);
        }
        out[i] = lo | 0;
      }
      return out;
    }
    case "I16": {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt16(2 * i, true);
      return out;
    }
    case "I8":
      return Int32Array.from(new Int8Array(src.buffer, src.byteOffset, n));
    case "U8":
      return Int32Array.from(src);
  }
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1024 + frac) * 2 ** (exp - 25);
}
