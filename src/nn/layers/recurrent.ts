// Recurrent layers: RNN, LSTM and GRU over sequences, and RNNCell, LSTMCell and GRUCell for one step, as PyTorch's.
import type { Tensor } from "../../tensor.js";
import type { DType } from "../../dtype.js";
import type { Generator } from "../../random.js";
import { empty } from "../../ops/creation.js";
import { Module, Parameter } from "../module.js";
import { checkOptions, describe, pyBool, pyFloat } from "../helpers.js";
import { uniform_ } from "../init.js";
import { cellForward, gateCount, recurrentForward, type CellMode, type CellWeights, type RecurrentResult } from "../recurrent_impl.js";

export interface RNNBaseOptions {
  numLayers?: number;
  bias?: boolean;
  /** Input and output as (B, L, features) instead of (L, B, features); the hidden states keep (layers·D, B, H). */
  batchFirst?: boolean;
  /** Dropout probability on the outputs of every layer but the last, in training mode. */
  dropout?: number;
  bidirectional?: boolean;
  dtype?: DType;
  /** Generator for the initial weights (the default generator otherwise). */
  generator?: Generator;
}

export interface RNNOptions extends RNNBaseOptions {
  nonlinearity?: "tanh" | "relu";
}

export interface RNNCellOptions {
  bias?: boolean;
  dtype?: DType;
  generator?: Generator;
}

/** What RNN and GRU return: PyTorch's `(output, h_n)` tuple as an object. */
export interface RNNOutput {
  /** (L, B, D·H), (B, L, D·H) with batchFirst, or (L, D·H) unbatched: the last layer's h at every step. */
  output: Tensor;
  /** (numLayers·D, B, H) or (numLayers·D, H): every layer's and direction's final h. */
  hN: Tensor;
}

/** What LSTM returns: PyTorch's `(output, (h_n, c_n))` as one flat object. */
export interface LSTMOutput extends RNNOutput {
  /** (numLayers·D, B, H) or (numLayers·D, H): the final cell states. */
  cN: Tensor;
}

function checkSize(op: string, name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) throw new Error(`[${op}] ${name} must be a positive integer, got ${String(v)}`);
  return v;
}

function checkBool(op: string, name: string, v: unknown): boolean {
  if (typeof v !== "boolean") throw new Error(`[${op}] ${name} must be a boolean, got ${describe(v)}`);
  return v;
}

/** U(-1/sqrt(H), 1/sqrt(H)) for every weight and bias, PyTorch's reset_parameters for all recurrent modules. */
function resetUniform(m: Module, hiddenSize: number, generator?: Generator): void {
  const bound = 1 / Math.sqrt(hiddenSize);
  for (const p of m.parameters()) uniform_(p, -bound, bound, { generator });
}

/**
 * The shared body of RNN, LSTM and GRU: options, the PyTorch-named parameters and printing. Parameters are own
 * properties named `weight_ih_l{k}`, `weight_hh_l{k}`, `bias_ih_l{k}`, `bias_hh_l{k}` (plus `_reverse` for the
 * backward direction), registered in PyTorch's order so `stateDict()` keys and order match and PyTorch state
 * dicts load.
 */
abstract class RNNBase extends Module {
  readonly mode: CellMode;
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly bias: boolean;
  readonly batchFirst: boolean;
  readonly dropout: number;
  readonly bidirectional: boolean;

  constructor(op: string, mode: CellMode, inputSize: number, hiddenSize: number, opts: RNNBaseOptions, extraOptions: string[]) {
    super();
    checkOptions(op, opts, ["numLayers", "bias", "batchFirst", "dropout", "bidirectional", "dtype", "generator", ...extraOptions]);
    this.mode = mode;
    this.inputSize = checkSize(op, "inputSize", inputSize);
    this.hiddenSize = checkSize(op, "hiddenSize", hiddenSize);
    this.numLayers = checkSize(op, "numLayers", opts.numLayers ?? 1);
    this.bias = checkBool(op, "bias", opts.bias ?? true);
    this.batchFirst = checkBool(op, "batchFirst", opts.batchFirst ?? false);
    this.bidirectional = checkBool(op, "bidirectional", opts.bidirectional ?? false);
    const dropout = opts.dropout ?? 0;
    if (typeof dropout !== "number" || !(dropout >= 0 && dropout <= 1)) {
      throw new Error(`[${op}] dropout should be a number in range [0, 1] representing the probability of an element being zeroed, got ${String(dropout)}`);
    }
    this.dropout = dropout;
    const dtype = opts.dtype ?? "float32";
    const rows = gateCount(mode) * hiddenSize;
    const self = this as unknown as Record<string, Parameter>;
    for (let layer = 0; layer < this.numLayers; layer++) {
      const layerIn = layer === 0 ? inputSize : hiddenSize * (this.bidirectional ? 2 : 1);
      for (const suffix of this.bidirectional ? ["", "_reverse"] : [""]) {
        self[`weight_ih_l${layer}${suffix}`] = Parameter(empty([rows, layerIn], { dtype })); // (G·H, In)
        self[`weight_hh_l${layer}${suffix}`] = Parameter(empty([rows, hiddenSize], { dtype })); // (G·H, H)
        if (this.bias) {
          self[`bias_ih_l${layer}${suffix}`] = Parameter(empty([rows], { dtype })); // (G·H)
          self[`bias_hh_l${layer}${suffix}`] = Parameter(empty([rows], { dtype })); // (G·H)
        }
      }
    }
    this.resetParameters(opts.generator);
  }

  /** PyTorch's reset_parameters: every weight and bias U(-1/sqrt(hiddenSize), 1/sqrt(hiddenSize)). */
  resetParameters(generator?: Generator): void {
    resetUniform(this, this.hiddenSize, generator);
  }

  /** The parameters by layer and direction, looked up by name so reassigned parameters are used. */
  protected weights(): CellWeights[][] {
    const self = this as unknown as Record<string, Parameter>;
    const out: CellWeights[][] = [];
    for (let layer = 0; layer < this.numLayers; layer++) {
      out.push((this.bidirectional ? ["", "_reverse"] : [""]).map((s) => ({
        wIh: self[`weight_ih_l${layer}${s}`], wHh: self[`weight_hh_l${layer}${s}`],
        bIh: this.bias ? self[`bias_ih_l${layer}${s}`] : null, bHh: this.bias ? self[`bias_hh_l${layer}${s}`] : null,
      })));
    }
    return out;
  }

  protected run(input: Tensor, h0: Tensor | null | undefined, c0: Tensor | null | undefined): RecurrentResult {
    const cfg = {
      mode: this.mode, inputSize: this.inputSize, hiddenSize: this.hiddenSize, numLayers: this.numLayers,
      bidirectional: this.bidirectional, batchFirst: this.batchFirst, dropout: this.dropout, training: this.training,
    };
    return recurrentForward(this.constructor.name, cfg, input, h0, c0, this.weights());
  }

  /** PyTorch's RNNBase.extra_repr: sizes, then only the options that differ from their defaults. */
  override extraRepr(): string {
    let s = `${this.inputSize}, ${this.hiddenSize}`;
    if (this.numLayers !== 1) s += `, num_layers=${this.numLayers}`;
    if (!this.bias) s += `, bias=${pyBool(this.bias)}`;
    if (this.batchFirst) s += `, batch_first=${pyBool(this.batchFirst)}`;
    if (this.dropout !== 0) s += `, dropout=${pyFloat(this.dropout)}`;
    if (this.bidirectional) s += `, bidirectional=${pyBool(this.bidirectional)}`;
    return s;
  }
}

/**
 * Elman RNN, h_t = act(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh) with act tanh (default) or relu, stacked
 * `numLayers` deep, optionally bidirectional. `forward(input, h0?)` returns `{ output, hN }` where PyTorch
 * returns the tuple `(output, h_n)`. Input (L, B, H_in), (B, L, H_in) with batchFirst, or unbatched (L, H_in);
 * h0 (numLayers·D, B, H) or (numLayers·D, H), zeros when omitted.
 * @example
 * const rnn = new nn.RNN(3, 5, { numLayers: 2 });
 * const { output, hN } = rnn.forward(randn(7, 2, 3));
 * output.shape; // [7, 2, 5]
 * hN.shape; // [2, 2, 5]
 * String(rnn); // "RNN(3, 5, num_layers=2)"
 */
export class RNN extends RNNBase {
  readonly nonlinearity: "tanh" | "relu";

  constructor(inputSize: number, hiddenSize: number, opts: RNNOptions = {}) {
    const nl = opts.nonlinearity ?? "tanh";
    if (nl !== "tanh" && nl !== "relu") throw new Error(`[RNN] unknown nonlinearity ${JSON.stringify(nl)}; select from 'tanh' or 'relu'`);
    super("RNN", nl === "tanh" ? "RNN_TANH" : "RNN_RELU", inputSize, hiddenSize, opts, ["nonlinearity"]);
    this.nonlinearity = nl;
  }

  forward(input: Tensor, h0?: Tensor | null): RNNOutput {
    const { output, hN } = this.run(input, h0, null);
    return { output, hN };
  }
}

/**
 * Long short-term memory, with PyTorch's gate order i, f, g, o in the rows of its weights:
 * c_t = f ⊙ c_{t-1} + i ⊙ g, h_t = o ⊙ tanh(c_t). `forward(input, [h0, c0]?)` returns `{ output, hN, cN }`
 * where PyTorch returns `(output, (h_n, c_n))`; shapes as RNN. (`projSize` is not supported.)
 * @example
 * const lstm = new nn.LSTM(3, 5, { numLayers: 2, batchFirst: true, bidirectional: true });
 * const { output, hN, cN } = lstm.forward(randn(2, 7, 3));
 * output.shape; // [2, 7, 10]
 * lstm.forward(randn(2, 7, 3), [hN, cN]); // continue from the previous state
 * String(lstm); // "LSTM(3, 5, num_layers=2, batch_first=True, bidirectional=True)"
 */
export class LSTM extends RNNBase {
  constructor(inputSize: number, hiddenSize: number, opts: RNNBaseOptions = {}) {
    super("LSTM", "LSTM", inputSize, hiddenSize, opts, []);
  }

  forward(input: Tensor, hx?: [h0: Tensor, c0: Tensor] | null): LSTMOutput {
    if (hx !== undefined && hx !== null && (!Array.isArray(hx) || hx.length !== 2)) {
      throw new Error(`[LSTM] hx must be a pair [h0, c0], got ${describe(hx)}`);
    }
    const { output, hN, cN } = this.run(input, hx?.[0], hx?.[1]);
    return { output, hN, cN: cN! };
  }
}

/**
 * Gated recurrent unit, PyTorch's formulation (gates r, z, n in the rows of its weights):
 * r = σ(W_ir x + b_ir + W_hr h + b_hr), z likewise, n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),
 * h' = (1 - z) ⊙ n + z ⊙ h. `forward(input, h0?)` returns `{ output, hN }`; shapes as RNN.
 * @example
 * const gru = new nn.GRU(3, 5, { bidirectional: true });
 * const { output, hN } = gru.forward(randn(7, 3)); // unbatched
 * output.shape; // [7, 10]
 * hN.shape; // [2, 5]
 */
export class GRU extends RNNBase {
  constructor(inputSize: number, hiddenSize: number, opts: RNNBaseOptions = {}) {
    super("GRU", "GRU", inputSize, hiddenSize, opts, []);
  }

  forward(input: Tensor, h0?: Tensor | null): RNNOutput {
    const { output, hN } = this.run(input, h0, null);
    return { output, hN };
  }
}

/** The shared body of the cells: parameters `weight_ih`, `weight_hh`, `bias_ih`, `bias_hh` and printing. */
abstract class RNNCellBase extends Module {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly bias: boolean;
  weight_ih: Parameter; // (G·H, In)
  weight_hh: Parameter; // (G·H, H)
  bias_ih: Parameter | null; // (G·H)
  bias_hh: Parameter | null; // (G·H)

  constructor(op: string, gates: number, inputSize: number, hiddenSize: number, opts: RNNCellOptions, extraOptions: string[]) {
    super();
    checkOptions(op, opts, ["bias", "dtype", "generator", ...extraOptions]);
    this.inputSize = checkSize(op, "inputSize", inputSize);
    this.hiddenSize = checkSize(op, "hiddenSize", hiddenSize);
    this.bias = checkBool(op, "bias", opts.bias ?? true);
    const dtype = opts.dtype ?? "float32";
    this.weight_ih = Parameter(empty([gates * hiddenSize, inputSize], { dtype }));
    this.weight_hh = Parameter(empty([gates * hiddenSize, hiddenSize], { dtype }));
    this.bias_ih = this.bias ? Parameter(empty([gates * hiddenSize], { dtype })) : null;
    this.bias_hh = this.bias ? Parameter(empty([gates * hiddenSize], { dtype })) : null;
    this.resetParameters(opts.generator);
  }

  /** PyTorch's reset_parameters: every weight and bias U(-1/sqrt(hiddenSize), 1/sqrt(hiddenSize)). */
  resetParameters(generator?: Generator): void {
    resetUniform(this, this.hiddenSize, generator);
  }

  protected weights(): CellWeights {
    return { wIh: this.weight_ih, wHh: this.weight_hh, bIh: this.bias_ih, bHh: this.bias_hh };
  }

  override extraRepr(): string {
    return `${this.inputSize}, ${this.hiddenSize}${this.bias ? "" : ", bias=False"}`;
  }
}

/**
 * One step of an Elman RNN: h' = act(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh). Input (B, H_in) or (H_in); h (B, H) or
 * (H), zeros when omitted; returns h'.
 * @example
 * const cell = new nn.RNNCell(3, 5, { nonlinearity: "relu" });
 * let h = cell.forward(randn(2, 3));
 * h = cell.forward(randn(2, 3), h); // (2, 5)
 * String(cell); // "RNNCell(3, 5, nonlinearity=relu)"
 */
export class RNNCell extends RNNCellBase {
  readonly nonlinearity: "tanh" | "relu";

  constructor(inputSize: number, hiddenSize: number, opts: RNNCellOptions & { nonlinearity?: "tanh" | "relu" } = {}) {
    const nl = opts.nonlinearity ?? "tanh";
    if (nl !== "tanh" && nl !== "relu") throw new Error(`[RNNCell] unknown nonlinearity ${JSON.stringify(nl)}; select from 'tanh' or 'relu'`);
    super("RNNCell", 1, inputSize, hiddenSize, opts, ["nonlinearity"]);
    this.nonlinearity = nl;
  }

  forward(input: Tensor, h?: Tensor | null): Tensor {
    const mode = this.nonlinearity === "tanh" ? "RNN_TANH" : "RNN_RELU";
    return cellForward("RNNCell", mode, this.inputSize, this.hiddenSize, input, h, null, this.weights()).h;
  }

  override extraRepr(): string {
    return super.extraRepr() + (this.nonlinearity === "tanh" ? "" : `, nonlinearity=${this.nonlinearity}`);
  }
}

/**
 * One LSTM step: `forward(input, [h, c]?)` returns `[h', c']`, PyTorch's tuple as an array (so it feeds back in).
 * Input (B, H_in) or (H_in); h and c (B, H) or (H), zeros when omitted.
 * @example
 * const cell = new nn.LSTMCell(3, 5);
 * let state = cell.forward(randn(2, 3));
 * state = cell.forward(randn(2, 3), state);
 * state[0].shape; // [2, 5]
 */
export class LSTMCell extends RNNCellBase {
  constructor(inputSize: number, hiddenSize: number, opts: RNNCellOptions = {}) {
    super("LSTMCell", 4, inputSize, hiddenSize, opts, []);
  }

  forward(input: Tensor, hx?: [h: Tensor, c: Tensor] | null): [h: Tensor, c: Tensor] {
    if (hx !== undefined && hx !== null && (!Array.isArray(hx) || hx.length !== 2)) {
      throw new Error(`[LSTMCell] hx must be a pair [h, c], got ${describe(hx)}`);
    }
    const r = cellForward("LSTMCell", "LSTM", this.inputSize, this.hiddenSize, input, hx?.[0], hx?.[1], this.weights());
    return [r.h, r.c!];
  }
}

/**
 * One GRU step in PyTorch's formulation (see GRU). Input (B, H_in) or (H_in); h (B, H) or (H), zeros when
 * omitted; returns h'.
 * @example
 * const cell = new nn.GRUCell(3, 5);
 * cell.forward(randn(3), randn(5)).shape; // [5]
 */
export class GRUCell extends RNNCellBase {
  constructor(inputSize: number, hiddenSize: number, opts: RNNCellOptions = {}) {
    super("GRUCell", 3, inputSize, hiddenSize, opts, []);
  }

  forward(input: Tensor, h?: Tensor | null): Tensor {
    return cellForward("GRUCell", "GRU", this.inputSize, this.hiddenSize, input, h, null, this.weights()).h;
  }
}
