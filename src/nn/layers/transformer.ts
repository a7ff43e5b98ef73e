// Transformer layers as torch.nn's: encoder and decoder layers, their stacks, and the full Transformer.
import type { Tensor } from "../../tensor.js";
import type { DType } from "../../dtype.js";
import { fmtShape } from "../../shape.js";
import { Generator } from "../../random.js";
import { full } from "../../ops/creation.js";
import * as P from "../../ops/primitives.js";
import * as E from "../../ops/elementwise.js";
import { Module } from "../module.js";
import { checkOptions } from "../helpers.js";
import { xavierUniform_ } from "../init.js";
import { checkPositive } from "../norm_impl.js";
import { MultiheadAttention } from "./attention.js";
import { ModuleList } from "./containers.js";
import { Dropout } from "./dropout.js";
import { Linear } from "./linear.js";
import { LayerNorm } from "./normalization.js";
import { triu } from "../../ops/movement.js";

export type TransformerActivation = "relu" | "gelu" | ((x: Tensor) => Tensor);

export interface TransformerLayerOptions {
  dimFeedforward?: number;
  dropout?: number;
  /** The feed-forward activation: "relu" (default), "gelu" (exact), or any function of a tensor. */
  activation?: TransformerActivation;
  layerNormEps?: number;
  /** Inputs and outputs as (N, T, E) instead of (T, N, E). */
  batchFirst?: boolean;
  /** Pre-norm (LayerNorm before attention and feed-forward) instead of post-norm. */
  normFirst?: boolean;
  /** Biases in the linear layers, the attention projections and the LayerNorms. */
  bias?: boolean;
  dtype?: DType;
  /** Generator for the initial weights (the default generator otherwise). */
  generator?: Generator;
}

const LAYER_OPTIONS = ["dimFeedforward", "dropout", "activation", "layerNormEps", "batchFirst", "normFirst", "bias", "dtype", "generator"] as const;

function activationFn(op: string, a: unknown): (x: Tensor) => Tensor {
  if (a === "relu") return P.relu;
  if (a === "gelu") return (x) => E.gelu(x);
  if (typeof a === "function") return a as (x: Tensor) => Tensor;
  throw new Error(`[${op}] activation should be "relu", "gelu" or a function, not ${JSON.stringify(a)}`);
}

/** What a layer stack needs of its layer: a deep copy (PyTorch's copy.deepcopy). */
interface Clonable<M extends Module> { clone(): M }

/**
 * A copy made by building the same layer again (from a throwaway generator, so the default stream does not move)
 * and loading the original's state, dtype and mode: what copy.deepcopy gives PyTorch's _get_clones.
 */
function deepCopy<M extends Module>(m: M, build: (g: Generator) => M): M {
  const copy = build(new Generator(0));
  const dtype = m.parameters()[0]?.dtype;
  if (dtype && dtype !== "float32") copy.to(dtype);
  copy.loadStateDict(m.stateDict());
  return copy.train(m.training);
}

/** The shared sub-blocks of the encoder and decoder layers, in PyTorch's registration order per subclass. */
function layerParts(op: string, dModel: number, nhead: number, opts: TransformerLayerOptions) {
  checkOptions(op, opts, LAYER_OPTIONS);
  checkPositive(op, "dModel", dModel);
  const dimFeedforward = checkPositive(op, "dimFeedforward", opts.dimFeedforward ?? 2048);
  const p = opts.dropout ?? 0.1, eps = opts.layerNormEps ?? 1e-5, bias = opts.bias ?? true;
  const { dtype, generator } = opts;
  return {
    attn: () => new MultiheadAttention(dModel, nhead, { dropout: p, bias, batchFirst: opts.batchFirst ?? false, dtype, generator }),
    linear: (i: number, o: number) => new Linear(i, o, { bias, dtype, generator }),
    norm: () => new LayerNorm(dModel, { eps, bias, dtype }),
    dropout: () => new Dropout(p),
    dimFeedforward,
    activation: activationFn(op, opts.activation ?? "relu"),
    normFirst: opts.normFirst ?? false,
  };
}

export interface TransformerEncoderLayerForwardOptions {
  /** (T, T) or (N * nhead, T, T): bool (true = masked out) or a float bias, as MultiheadAttention's attnMask. */
  srcMask?: Tensor | null;
  /** (N, T): bool (true = padding) or a float bias. */
  srcKeyPaddingMask?: Tensor | null;
  /** Causal self-attention (a hint when srcMask is given; see MultiheadAttention). */
  isCausal?: boolean;
}

/**
 * One encoder block of "Attention Is All You Need": self-attention and a feed-forward network
 * (linear1 → activation → dropout → linear2), each with dropout, a residual connection and a LayerNorm (after the
 * residual by default, before the block with normFirst). Children and stateDict keys are PyTorch's.
 * @example
 * const layer = new nn.TransformerEncoderLayer(12, 3, { dimFeedforward: 24, batchFirst: true });
 * layer.forward(randn(2, 5, 12)).shape; // [2, 5, 12]
 */
export class TransformerEncoderLayer extends Module implements Clonable<TransformerEncoderLayer> {
  readonly dModel: number;
  readonly nhead: number;
  readonly normFirst: boolean;
  readonly activation: (x: Tensor) => Tensor;
  self_attn: MultiheadAttention;
  linear1: Linear;
  dropout: Dropout;
  linear2: Linear;
  norm1: LayerNorm;
  norm2: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;
  readonly #opts: TransformerLayerOptions;

  constructor(dModel: number, nhead: number, opts: TransformerLayerOptions = {}) {
    super();
    const parts = layerParts("TransformerEncoderLayer", dModel, nhead, opts);
    this.dModel = dModel;
    this.nhead = nhead;
    this.#opts = { ...opts };
    this.normFirst = parts.normFirst;
    this.activation = parts.activation;
    this.self_attn = parts.attn();
    this.linear1 = parts.linear(dModel, parts.dimFeedforward);
    this.dropout = parts.dropout();
    this.linear2 = parts.linear(parts.dimFeedforward, dModel);
    this.norm1 = parts.norm();
    this.norm2 = parts.norm();
    this.dropout1 = parts.dropout();
    this.dropout2 = parts.dropout();
  }

  /** A deep copy: same options, dtype, mode and (copied) parameter values. */
  clone(): TransformerEncoderLayer {
    return deepCopy(this, (generator) => new TransformerEncoderLayer(this.dModel, this.nhead, { ...this.#opts, generator }));
  }

  forward(src: Tensor, opts: TransformerEncoderLayerForwardOptions = {}): Tensor {
    checkOptions("TransformerEncoderLayer.forward", opts, ["srcMask", "srcKeyPaddingMask", "isCausal"]);
    const sa = (x: Tensor) => this.dropout1.forward(this.self_attn.forward(x, x, x, {
      attnMask: opts.srcMask, keyPaddingMask: opts.srcKeyPaddingMask, isCausal: opts.isCausal, needWeights: false,
    }).output); // src's shape
    const ff = (x: Tensor) => this.dropout2.forward(this.linear2.forward(this.dropout.forward(this.activation(this.linear1.forward(x))))); // src's shape
    let x = src;
    if (this.normFirst) {
      x = P.add(x, sa(this.norm1.forward(x))); // src's shape
      return P.add(x, ff(this.norm2.forward(x))); // src's shape
    }
    x = this.norm1.forward(P.add(x, sa(x))); // src's shape
    return this.norm2.forward(P.add(x, ff(x))); // src's shape
  }
}

export interface TransformerDecoderLayerForwardOptions {
  /** Self-attention mask (T, T) or (N * nhead, T, T), as MultiheadAttention's attnMask. */
  tgtMask?: Tensor | null;
  /** Cross-attention mask (T, S) or (N * nhead, T, S). */
  memoryMask?: Tensor | null;
  /** (N, T): bool (true = padding) or a float bias. */
  tgtKeyPaddingMask?: Tensor | null;
  /** (N, S): bool (true = padding) or a float bias. */
  memoryKeyPaddingMask?: Tensor | null;
  /** Causal self-attention (a hint when tgtMask is given). */
  tgtIsCausal?: boolean;
  /** Causal cross-attention (a hint when memoryMask is given). */
  memoryIsCausal?: boolean;
}

const DECODER_FORWARD_OPTIONS = ["tgtMask", "memoryMask", "tgtKeyPaddingMask", "memoryKeyPaddingMask", "tgtIsCausal", "memoryIsCausal"];

/**
 * One decoder block: self-attention over the target, cross-attention (`multihead_attn`) from the target to the
 * encoder's memory, and the feed-forward network, each with dropout, a residual connection and a LayerNorm.
 * @example
 * const layer = new nn.TransformerDecoderLayer(12, 3, { dimFeedforward: 24 });
 * const tgt = randn(5, 2, 12), memory = randn(7, 2, 12); // (T, N, E), (S, N, E)
 * layer.forward(tgt, memory, { tgtMask: nn.Transformer.generateSquareSubsequentMask(5) }).shape; // [5, 2, 12]
 */
export class TransformerDecoderLayer extends Module implements Clonable<TransformerDecoderLayer> {
  readonly dModel: number;
  readonly nhead: number;
  readonly normFirst: boolean;
  readonly activation: (x: Tensor) => Tensor;
  self_attn: MultiheadAttention;
  multihead_attn: MultiheadAttention;
  linear1: Linear;
  dropout: Dropout;
  linear2: Linear;
  norm1: LayerNorm;
  norm2: LayerNorm;
  norm3: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;
  dropout3: Dropout;
  readonly #opts: TransformerLayerOptions;

  constructor(dModel: number, nhead: number, opts: TransformerLayerOptions = {}) {
    super();
    const parts = layerParts("TransformerDecoderLayer", dModel, nhead, opts);
    this.dModel = dModel;
    this.nhead = nhead;
    this.#opts = { ...opts };
    this.normFirst = parts.normFirst;
    this.activation = parts.activation;
    this.self_attn = parts.attn();
    this.multihead_attn = parts.attn();
    this.linear1 = parts.linear(dModel, parts.dimFeedforward);
    this.dropout = parts.dropout();
    this.linear2 = parts.linear(parts.dimFeedforward, dModel);
    this.norm1 = parts.norm();
    this.norm2 = parts.norm();
    this.norm3 = parts.norm();
    this.dropout1 = parts.dropout();
    this.dropout2 = parts.dropout();
    this.dropout3 = parts.dropout();
  }

  /** A deep copy: same options, dtype, mode and (copied) parameter values. */
  clone(): TransformerDecoderLayer {
    return deepCopy(this, (generator) => new TransformerDecoderLayer(this.dModel, this.nhead, { ...this.#opts, generator }));
  }

  forward(tgt: Tensor, memory: Tensor, opts: TransformerDecoderLayerForwardOptions = {}): Tensor {
    checkOptions("TransformerDecoderLayer.forward", opts, DECODER_FORWARD_OPTIONS);
    const sa = (x: Tensor) => this.dropout1.forward(this.self_attn.forward(x, x, x, {
      attnMask: opts.tgtMask, keyPaddingMask: opts.tgtKeyPaddingMask, isCausal: opts.tgtIsCausal, needWeights: false,
    }).output); // tgt's shape
    const mha = (x: Tensor) => this.dropout2.forward(this.multihead_attn.forward(x, memory, memory, {
      attnMask: opts.memoryMask, keyPaddingMask: opts.memoryKeyPaddingMask, isCausal: opts.memoryIsCausal, needWeights: false,
    }).output); // tgt's shape
    const ff = (x: Tensor) => this.dropout3.forward(this.linear2.forward(this.dropout.forward(this.activation(this.linear1.forward(x))))); // tgt's shape
    let x = tgt;
    if (this.normFirst) {
      x = P.add(x, sa(this.norm1.forward(x))); // tgt's shape
      x = P.add(x, mha(this.norm2.forward(x))); // tgt's shape
      return P.add(x, ff(this.norm3.forward(x))); // tgt's shape
    }
    x = this.norm1.forward(P.add(x, sa(x))); // tgt's shape
    x = this.norm2.forward(P.add(x, mha(x))); // tgt's shape
    return this.norm3.forward(P.add(x, ff(x))); // tgt's shape
  }
}

function checkNumLayers(op: string, n: unknown): number {
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0) throw new Error(`[${op}] numLayers must be a non-negative integer, got ${String(n)}`);
  return n;
}

function checkNorm(op: string, norm: unknown): Module | null {
  if (norm === undefined || norm === null) return null;
  if (!(norm instanceof Module)) throw new Error(`[${op}] norm must be a Module (e.g. a LayerNorm) or null`);
  return norm;
}

export interface TransformerEncoderForwardOptions {
  /** Self-attention mask passed to every layer, as TransformerEncoderLayer's srcMask. */
  mask?: Tensor | null;
  srcKeyPaddingMask?: Tensor | null;
  isCausal?: boolean;
}

/**
 * numLayers deep copies of an encoder layer (children `layers.0`, `layers.1`, ... as PyTorch's), run in turn, then
 * an optional final norm.
 * NOTE: PyTorch's no-grad eval fast path (nested tensors) returns zeros at padded positions; Kiln always takes the
 * regular path, whose outputs there are ordinary values (the other positions agree).
 * @example
 * const layer = new nn.TransformerEncoderLayer(12, 3, { dimFeedforward: 24 });
 * const encoder = new nn.TransformerEncoder(layer, 2, { norm: new nn.LayerNorm(12) });
 * encoder.forward(randn(5, 2, 12)).shape; // [5, 2, 12]
 * Object.keys(encoder.stateDict())[0]; // "layers.0.self_attn.in_proj_weight"
 */
export class TransformerEncoder extends Module {
  readonly numLayers: number;
  layers: ModuleList;
  norm: Module | null;

  constructor(encoderLayer: TransformerEncoderLayer, numLayers: number, opts: { norm?: Module | null } = {}) {
    super();
    checkOptions("TransformerEncoder", opts, ["norm"]);
    if (!(encoderLayer instanceof TransformerEncoderLayer)) throw new Error("[TransformerEncoder] encoderLayer must be a TransformerEncoderLayer");
    this.numLayers = checkNumLayers("TransformerEncoder", numLayers);
    this.layers = new ModuleList(Array.from({ length: numLayers }, () => encoderLayer.clone()));
    this.norm = checkNorm("TransformerEncoder", opts.norm);
  }

  forward(src: Tensor, opts: TransformerEncoderForwardOptions = {}): Tensor {
    checkOptions("TransformerEncoder.forward", opts, ["mask", "srcKeyPaddingMask", "isCausal"]);
    let x = src;
    for (const layer of this.layers) {
      x = (layer as TransformerEncoderLayer).forward(x, { srcMask: opts.mask, srcKeyPaddingMask: opts.srcKeyPaddingMask, isCausal: opts.isCausal }); // src's shape
    }
    return this.norm ? (this.norm.forward(x) as Tensor) : x; // src's shape
  }
}

/**
 * numLayers deep copies of a decoder layer (children `layers.0`, ...), each attending to the same memory, then an
 * optional final norm.
 * @example
 * const decoder = new nn.TransformerDecoder(new nn.TransformerDecoderLayer(12, 3, { dimFeedforward: 24 }), 2);
 * decoder.forward(randn(5, 2, 12), randn(7, 2, 12), { tgtIsCausal: true }).shape; // [5, 2, 12]
 */
export class TransformerDecoder extends Module {
  readonly numLayers: number;
  layers: ModuleList;
  norm: Module | null;

  constructor(decoderLayer: TransformerDecoderLayer, numLayers: number, opts: { norm?: Module | null } = {}) {
    super();
    checkOptions("TransformerDecoder", opts, ["norm"]);
    if (!(decoderLayer instanceof TransformerDecoderLayer)) throw new Error("[TransformerDecoder] decoderLayer must be a TransformerDecoderLayer");
    this.numLayers = checkNumLayers("TransformerDecoder", numLayers);
    this.layers = new ModuleList(Array.from({ length: numLayers }, () => decoderLayer.clone()));
    this.norm = checkNorm("TransformerDecoder", opts.norm);
  }

  forward(tgt: Tensor, memory: Tensor, opts: TransformerDecoderLayerForwardOptions = {}): Tensor {
    checkOptions("TransformerDecoder.forward", opts, DECODER_FORWARD_OPTIONS);
    let x = tgt;
    for (const layer of this.layers) x = (layer as TransformerDecoderLayer).forward(x, memory, opts); // tgt's shape
    return this.norm ? (this.norm.forward(x) as Tensor) : x; // tgt's shape
  }
}

export interface TransformerOptions extends TransformerLayerOptions {
  dModel?: number;
  nhead?: number;
  numEncoderLayers?: number;
  numDecoderLayers?: number;
}

export interface TransformerForwardOptions {
  srcMask?: Tensor | null;
  tgtMask?: Tensor | null;
  memoryMask?: Tensor | null;
  srcKeyPaddingMask?: Tensor | null;
  tgtKeyPaddingMask?: Tensor | null;
  memoryKeyPaddingMask?: Tensor | null;
  srcIsCausal?: boolean;
  tgtIsCausal?: boolean;
  memoryIsCausal?: boolean;
}

/**
 * The encoder-decoder Transformer of "Attention Is All You Need", as torch.nn.Transformer: an encoder and a decoder
 * stack, each ending in a LayerNorm, every weight matrix re-initialised with xavier_uniform_.
 * @example
 * const model = new nn.Transformer({ dModel: 12, nhead: 3, numEncoderLayers: 2, numDecoderLayers: 2, dimFeedforward: 24 });
 * const src = randn(7, 2, 12), tgt = randn(5, 2, 12); // (S, N, E), (T, N, E)
 * model.forward(src, tgt, { tgtMask: nn.Transformer.generateSquareSubsequentMask(5) }).shape; // [5, 2, 12]
 */
export class Transformer extends Module {
  readonly dModel: number;
  readonly nhead: number;
  readonly batchFirst: boolean;
  encoder: TransformerEncoder;
  decoder: TransformerDecoder;

  constructor(opts: TransformerOptions = {}) {
    super();
    const { dModel = 512, nhead = 8, numEncoderLayers = 6, numDecoderLayers = 6, ...layerOpts } = opts;
    checkOptions("Transformer", opts, ["dModel", "nhead", "numEncoderLayers", "numDecoderLayers", ...LAYER_OPTIONS]);
    this.dModel = dModel;
    this.nhead = nhead;
    this.batchFirst = opts.batchFirst ?? false;
    const norm = () => new LayerNorm(dModel, { eps: opts.layerNormEps ?? 1e-5, bias: opts.bias ?? true, dtype: opts.dtype });
    this.encoder = new TransformerEncoder(new TransformerEncoderLayer(dModel, nhead, layerOpts), numEncoderLayers, { norm: norm() });
    this.decoder = new TransformerDecoder(new TransformerDecoderLayer(dModel, nhead, layerOpts), numDecoderLayers, { norm: norm() });
    // PyTorch's _reset_parameters
    for (const p of this.parameters()) if (p.ndim > 1) xavierUniform_(p, { generator: opts.generator });
  }

  forward(src: Tensor, tgt: Tensor, opts: TransformerForwardOptions = {}): Tensor {
    checkOptions("Transformer.forward", opts, ["srcMask", "tgtMask", "memoryMask", "srcKeyPaddingMask", "tgtKeyPaddingMask",
      "memoryKeyPaddingMask", "srcIsCausal", "tgtIsCausal", "memoryIsCausal"]);
    const batchDim = this.batchFirst ? 0 : 1;
    if (src.ndim === 3 && tgt.ndim === 3 && src.shape[batchDim] !== tgt.shape[batchDim]) {
      throw new Error(`[Transformer] the batch number of src ${fmtShape(src.shape)} and tgt ${fmtShape(tgt.shape)} must be equal (dim ${batchDim})`);
    }
    if (src.shape[src.ndim - 1] !== this.dModel || tgt.shape[tgt.ndim - 1] !== this.dModel) {
      throw new Error(`[Transformer] the feature number of src ${fmtShape(src.shape)} and tgt ${fmtShape(tgt.shape)} must be equal to dModel ${this.dModel}`);
    }
    const memory = this.encoder.forward(src, { mask: opts.srcMask, srcKeyPaddingMask: opts.srcKeyPaddingMask, isCausal: opts.srcIsCausal }); // src's shape
    return this.decoder.forward(tgt, memory, {
      tgtMask: opts.tgtMask, memoryMask: opts.memoryMask, tgtKeyPaddingMask: opts.tgtKeyPaddingMask,
      memoryKeyPaddingMask: opts.memoryKeyPaddingMask, tgtIsCausal: opts.tgtIsCausal, memoryIsCausal: opts.memoryIsCausal,
    }); // tgt's shape
  }

  /**
   * The causal mask (sz, sz) for attnMask: 0 on and below the diagonal, -inf above it.
   * @example nn.Transformer.generateSquareSubsequentMask(3); // [[0, -inf, -inf], [0, 0, -inf], [0, 0, 0]]
   */
  static generateSquareSubsequentMask(sz: number, opts: { dtype?: DType } = {}): Tensor {
    checkOptions("generateSquareSubsequentMask", opts, ["dtype"]);
    if (!Number.isInteger(sz) || sz < 0) throw new Error(`[generateSquareSubsequentMask] sz must be a non-negative integer, got ${String(sz)}`);
    return triu(full([sz, sz], -Infinity, { dtype: opts.dtype ?? "float32" }), 1); // (sz, sz)
  }
}
