// Embedding: a lookup table of learned vectors indexed by int32 tensors.
import type { Tensor } from "../../tensor.js";
import type { DType } from "../../dtype.js";
import type { Generator } from "../../random.js";
import { empty } from "../../ops/creation.js";
import { noGrad } from "../../autograd/grad_mode.js";
import { Module, Parameter } from "../module.js";
import { checkOptions } from "../helpers.js";
import { normal_ } from "../init.js";
import { checkPaddingIdx, checkPositive, embeddingImpl } from "../norm_impl.js";

export interface EmbeddingOptions {
  /** This row starts at zero and receives no gradient (negative counts from the end). */
  paddingIdx?: number | null;
  dtype?: DType;
  /** Generator for the initial weights (the default generator otherwise). */
  generator?: Generator;
}

/**
 * A table of numEmbeddings vectors of size embeddingDim, initialised N(0, 1); forward maps int32 indices of any
 * shape (*) to (*, embeddingDim).
 * @example
 * const emb = new nn.Embedding(10, 3, { paddingIdx: 0 });
 * emb.forward(tensor([[1, 2, 0]], { dtype: "int32" })).shape; // [1, 3, 3]
 * String(emb); // "Embedding(10, 3, padding_idx=0)"
 */
export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  readonly paddingIdx: number | null;
  weight: Parameter; // (numEmbeddings, embeddingDim)

  constructor(numEmbeddings: number, embeddingDim: number, opts: EmbeddingOptions = {}) {
    super();
    checkOptions("Embedding", opts, ["paddingIdx", "dtype", "generator"]);
    this.numEmbeddings = checkPositive("Embedding", "numEmbeddings", numEmbeddings);
    this.embeddingDim = checkPositive("Embedding", "embeddingDim", embeddingDim);
    this.paddingIdx = checkPaddingIdx("Embedding", opts.paddingIdx, numEmbeddings);
    this.weight = Parameter(empty([numEmbeddings, embeddingDim], { dtype: opts.dtype ?? "float32" }));
    this.resetParameters(opts.generator);
  }

  /** PyTorch's reset_parameters: N(0, 1), then the padding row zeroed. */
  resetParameters(generator?: Generator): void {
    normal_(this.weight, 0, 1, { generator });
    if (this.paddingIdx !== null) noGrad(() => this.weight.select(0, this.paddingIdx!).zero_());
  }

  forward(indices: Tensor): Tensor {
    return embeddingImpl("Embedding", indices, this.weight, this.paddingIdx);
  }

  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx === null ? "" : `, padding_idx=${this.paddingIdx}`}`;
  }
}
