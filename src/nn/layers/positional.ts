// SinusoidalPositionalEncoding: the fixed sin/cos position table of "Attention Is All You Need", added to the input.
import { Tensor } from "../../tensor.js";
import { allocStorage, type DType } from "../../dtype.js";
import { fmtShape } from "../../shape.js";
import * as P from "../../ops/primitives.js";
import { Module } from "../module.js";
import { checkOptions, pyBool } from "../helpers.js";
import { checkPositive } from "../norm_impl.js";
import { checkFloatTensor } from "../attention_impl.js";

export interface SinusoidalPositionalEncodingOptions {
  /** Longest sequence the table covers (default 5000). */
  maxLen?: number;
  /** Inputs (N, T, E) (the default) or, when false, (T, N, E); (T, E) either way. */
  batchFirst?: boolean;
  dtype?: DType;
}

/**
 * Adds pe[t, 2i] = sin(t / 10000^(2i/dModel)), pe[t, 2i+1] = cos(t / 10000^(2i/dModel)) to position t of the input.
 * The table is a non-persistent buffer `pe` (maxLen, dModel): it moves with `.to()` but stays out of stateDict. A
 * learned positional embedding is `nn.Embedding(maxLen, dModel)` applied to `arange(T)`.
 * @example
 * const pos = new nn.SinusoidalPositionalEncoding(12, { maxLen: 64 });
 * pos.forward(zeros(2, 5, 12)).shape; // [2, 5, 12]: row t is the encoding of position t
 */
export class SinusoidalPositionalEncoding extends Module {
  readonly dModel: number;
  readonly maxLen: number;
  readonly batchFirst: boolean;
  declare pe: Tensor; // (maxLen, dModel)

  constructor(dModel: number, opts: SinusoidalPositionalEncodingOptions = {}) {
    super();
    const op = "SinusoidalPositionalEncoding";
    checkOptions(op, opts, ["maxLen", "batchFirst", "dtype"]);
    this.dModel = checkPositive(op, "dModel", dModel);
    this.maxLen = checkPositive(op, "maxLen", opts.maxLen ?? 5000);
    this.batchFirst = opts.batchFirst ?? true;
    const buf = allocStorage(opts.dtype ?? "float32", this.maxLen * dModel);
    // computed in double and rounded once on store
    for (let t = 0; t < this.maxLen; t++) {
      for (let i = 0; i < dModel; i += 2) {
        const angle = t / Math.pow(10000, i / dModel);
        buf[t * dModel + i] = Math.sin(angle);
        if (i + 1 < dModel) buf[t * dModel + i + 1] = Math.cos(angle);
      }
    }
    this.registerBuffer("pe", Tensor.fromStorage(buf, [this.maxLen, dModel]), { persistent: false });
  }

  forward(x: Tensor): Tensor {
    const op = "SinusoidalPositionalEncoding";
    checkFloatTensor(op, "input", x);
    const seqFirst = !this.batchFirst && x.ndim === 3;
    if ((x.ndim !== 2 && x.ndim !== 3) || x.shape[x.ndim - 1] !== this.dModel) {
      throw new Error(`[${op}] expected input ${this.batchFirst ? "(N, T, E)" : "(T, N, E)"} or (T, E) with E=${this.dModel}, got ${fmtShape(x.shape)}`);
    }
    const T = x.shape[seqFirst ? 0 : x.ndim - 2];
    if (T > this.maxLen) throw new Error(`[${op}] sequence length ${T} exceeds maxLen ${this.maxLen} (input ${fmtShape(x.shape)})`);
    const pe = this.pe.narrow(0, 0, T); // (T, E)
    return P.add(x, seqFirst ? pe.unsqueeze(1) : pe); // x's shape
  }

  override extraRepr(): string {
    return `${this.dModel}, max_len=${this.maxLen}, batch_first=${pyBool(this.batchFirst)}`;
  }
}
