// MultiheadAttention, as torch.nn.MultiheadAttention: PyTorch's parameter names, init, masks and outputs.
import type { Tensor } from "../../tensor.js";
import type { DType } from "../../dtype.js";
import { fmtShape } from "../../shape.js";
import { defaultGenerator, type Generator } from "../../random.js";
import { empty } from "../../ops/creation.js";
import * as P from "../../ops/primitives.js";
import { scalarLike } from "../../ops/helpers.js";
import { Module, Parameter } from "../module.js";
import { checkOptions } from "../helpers.js";
import { checkDropoutP, linearImpl } from "../impl.js";
import { xavierUniform_, zeros_ } from "../init.js";
import { checkPositive } from "../norm_impl.js";
import { attend, causalBias, checkFloatTensor, maskToBias } from "../attention_impl.js";
import { Linear } from "./linear.js";

/** The Linear that PyTorch uses for MultiheadAttention's out_proj (named so that printing matches PyTorch). */
export class NonDynamicallyQuantizableLinear extends Linear {}

export interface MultiheadAttentionOptions {
  /** Dropout on the attention weights in training mode. */
  dropout?: number;
  /** Biases on the input and output projections. */
  bias?: boolean;
  /** Inputs and outputs as (N, L, E) instead of (L, N, E). */
  batchFirst?: boolean;
  /** Feature size of key (embedDim by default). */
  kdim?: number;
  /** Feature size of value (embedDim by default). */
  vdim?: number;
  dtype?: DType;
  /** Generator for the initial weights (the default generator otherwise). */
  generator?: Generator;
}

export interface MultiheadAttentionForwardOptions {
  /** (N, S) or (S): bool (true = ignore that key) or a float bias added per key. */
  keyPaddingMask?: Tensor | null;
  /** (L, S) or (N * numHeads, L, S) ((numHeads, L, S) unbatched): bool (true = not allowed to attend) or a float bias. */
  attnMask?: Tensor | null;
  /** Return the attention weights as well (default true). */
  needWeights?: boolean;
  /** Average the returned weights over the heads (default true), else one map per head. */
  averageAttnWeights?: boolean;
  /**
   * Causal attention. With attnMask it is only a hint (the mask is used, as PyTorch); without one Kiln applies the
   * causal mask itself, where PyTorch requires the mask as well.
   */
  isCausal?: boolean;
}

/**
 * Multi-head attention: the query, key and value are projected (in_proj), split into numHeads heads of
 * embedDim / numHeads features, attended with softmax(q kᵀ / sqrt(headDim) + mask) v, merged and projected
 * (out_proj). Inputs (L, N, E) / (S, N, kdim) / (S, N, vdim), or (N, L, E)... with batchFirst, or unbatched (L, E).
 * Parameters `in_proj_weight` (3E, E) (or `q_proj_weight`, `k_proj_weight`, `v_proj_weight` when kdim or vdim
 * differ from embedDim), `in_proj_bias`, `out_proj.weight`, `out_proj.bias`: PyTorch's state dicts load as they are.
 * @example
 * const mha = new nn.MultiheadAttention(12, 3, { batchFirst: true });
 * const x = randn(2, 5, 12); // (N, L, E)
 * const { output, weights } = mha.forward(x, x, x, { attnMask: nn.Transformer.generateSquareSubsequentMask(5) });
 * output.shape; // [2, 5, 12]
 * weights!.shape; // [2, 5, 5], averaged over the heads
 */
export class MultiheadAttention extends Module {
  readonly embedDim: number;
  readonly kdim: number;
  readonly vdim: number;
  readonly numHeads: number;
  readonly headDim: number;
  readonly dropout: number;
  readonly batchFirst: boolean;
  // declared in PyTorch's registration order, so stateDict keys come in the same order
  in_proj_weight: Parameter | null; // (3E, E) when kdim = vdim = E
  q_proj_weight: Parameter | null; // (E, E) otherwise
  k_proj_weight: Parameter | null; // (E, kdim)
  v_proj_weight: Parameter | null; // (E, vdim)
  in_proj_bias: Parameter | null; // (3E)
  out_proj: NonDynamicallyQuantizableLinear;

  constructor(embedDim: number, numHeads: number, opts: MultiheadAttentionOptions = {}) {
    super();
    const op = "MultiheadAttention";
    checkOptions(op, opts, ["dropout", "bias", "batchFirst", "kdim", "vdim", "dtype", "generator"]);
    this.embedDim = checkPositive(op, "embedDim", embedDim);
    this.numHeads = checkPositive(op, "numHeads", numHeads);
    if (embedDim % numHeads !== 0) throw new Error(`[${op}] embedDim ${embedDim} must be divisible by numHeads ${numHeads}`);
    this.headDim = embedDim / numHeads;
    this.kdim = checkPositive(op, "kdim", opts.kdim ?? embedDim);
    this.vdim = checkPositive(op, "vdim", opts.vdim ?? embedDim);
    this.dropout = checkDropoutP(op, opts.dropout ?? 0);
    this.batchFirst = opts.batchFirst ?? false;
    const dtype = opts.dtype ?? "float32";
    const E = embedDim;
    const packed = this.kdim === E && this.vdim === E;
    this.in_proj_weight = packed ? Parameter(empty([3 * E, E], { dtype })) : null;
    this.q_proj_weight = packed ? null : Parameter(empty([E, E], { dtype }));
    this.k_proj_weight = packed ? null : Parameter(empty([E, this.kdim], { dtype }));
    this.v_proj_weight = packed ? null : Parameter(empty([E, this.vdim], { dtype }));
    this.in_proj_bias = opts.bias ?? true ? Parameter(empty([3 * E], { dtype })) : null;
    this.out_proj = new NonDynamicallyQuantizableLinear(E, E, { bias: opts.bias ?? true, dtype, generator: opts.generator });
    this.resetParameters(opts.generator);
  }

  /** PyTorch's _reset_parameters: xavier_uniform_ on the input projections, zeros for both biases (out_proj.weight keeps Linear's init). */
  resetParameters(generator?: Generator): void {
    for (const w of [this.in_proj_weight, this.q_proj_weight, this.k_proj_weight, this.v_proj_weight]) {
      if (w) xavierUniform_(w, { generator });
    }
    if (this.in_proj_bias) zeros_(this.in_proj_bias);
    if (this.out_proj.bias) zeros_(this.out_proj.bias);
  }

  forward(query: Tensor, key: Tensor, value: Tensor, opts: MultiheadAttentionForwardOptions = {}): { output: Tensor; weights: Tensor | null } {
    const op = "MultiheadAttention";
    checkOptions(`${op}.forward`, opts, ["keyPaddingMask", "attnMask", "needWeights", "averageAttnWeights", "isCausal"]);
    for (const [what, t] of [["query", query], ["key", key], ["value", value]] as const) checkFloatTensor(op, what, t);
    const batched = query.ndim === 3;
    if ((query.ndim !== 2 && query.ndim !== 3) || key.ndim !== query.ndim || value.ndim !== query.ndim) {
      throw new Error(`[${op}] query, key and value must all be 3-D (batched) or all 2-D (unbatched), got ${fmtShape(query.shape)}, ${fmtShape(key.shape)} and ${fmtShape(value.shape)}`);
    }
    // work batch-first: (N, L, E)
    const toNLE = (x: Tensor) => (!batched ? x.unsqueeze(0) : this.batchFirst ? x : x.transpose(0, 1));
    const q = toNLE(query), k = toNLE(key), v = toNLE(value); // (N, L, E), (N, S, kdim), (N, S, vdim)
    const [N, L, E] = q.shape, S = k.shape[1];
    if (E !== this.embedDim || k.shape[2] !== this.kdim || v.shape[2] !== this.vdim || k.shape[0] !== N || v.shape[0] !== N || v.shape[1] !== S) {
      const layout = !batched ? "(L, E), (S, kdim), (S, vdim)" : this.batchFirst ? "(N, L, E), (N, S, kdim), (N, S, vdim)" : "(L, N, E), (S, N, kdim), (S, N, vdim)";
      throw new Error(`[${op}] expected query, key and value ${layout} with E=${this.embedDim}, kdim=${this.kdim}, vdim=${this.vdim}; got ${fmtShape(query.shape)}, ${fmtShape(key.shape)} and ${fmtShape(value.shape)}`);
    }
    const [qp, kp, vp] = this.#project(q, k, v, 1 / Math.sqrt(this.headDim)); // (N, L, E) scaled, (N, S, E), (N, S, E)
    const nh = this.numHeads, hs = this.headDim;
    const qh = qp.reshape([N, L, nh, hs]).transpose(1, 2); // (N, nh, L, hs)
    const kh = kp.reshape([N, S, nh, hs]).transpose(1, 2); // (N, nh, S, hs)
    const vh = vp.reshape([N, S, nh, hs]).transpose(1, 2); // (N, nh, S, hs)
    const bias = this.#bias(opts, batched, N, L, S, q.dtype); // broadcasts to (N, nh, L, S)
    const needWeights = opts.needWeights ?? true;
    const { out, weights } = attend(op, qh, kh, vh, bias, 1, this.dropout, this.training, defaultGenerator, needWeights);
    const merged = out.transpose(1, 2).reshape([N, L, E]); // (N, L, E)
    const o = this.out_proj.forward(merged); // (N, L, E)
    const output = !batched ? o.squeeze(0) : this.batchFirst ? o : o.transpose(0, 1); // as the input's layout
    if (!needWeights || !weights) return { output, weights: null };
    const w = opts.averageAttnWeights ?? true ? weights.mean(1) : weights; // (N, L, S) or (N, nh, L, S)
    return { output, weights: batched ? w : w.squeeze(0) };
  }

  /**
   * The three input projections, one linear each, also for self-attention with the packed weight: splitting one
   * (N, L, 3E) projection padded each part's gradient back to full size and summed them (5 passes over 3x the
   * activations); slicing the weight instead pads only (E, E) weight gradients. The q projection's weight and
   * bias are multiplied by the attention scale `qScale`.
   */
  #project(q: Tensor, k: Tensor, v: Tensor, qScale: number): Tensor[] {
    const op = "MultiheadAttention";
    const b = this.in_proj_bias ? this.in_proj_bias.chunk(3, 0) : [null, null, null]; // 3 x (E)
    const [wq, wk, wv] = this.in_proj_weight ? this.in_proj_weight.chunk(3, 0) : [this.q_proj_weight!, this.k_proj_weight!, this.v_proj_weight!]; // (E, E), (E, kdim), (E, vdim)
    const s = scalarLike(qScale, wq);
    const qp = linearImpl(op, q, P.mul(wq, s), b[0] && P.mul(b[0], s)); // (N, L, E)
    return [qp, linearImpl(op, k, wk, b[1]), linearImpl(op, v, wv, b[2])]; // (N, L|S, E)
  }

  /** attnMask (or the causal mask) and keyPaddingMask as one additive bias broadcasting to (N, nh, L, S), or null. */
  #bias(opts: MultiheadAttentionForwardOptions, batched: boolean, N: number, L: number, S: number, dtype: DType): Tensor | null {
    const op = "MultiheadAttention";
    const nh = this.numHeads;
    let bias: Tensor | null = null;
    const am = opts.attnMask ?? null, kpm = opts.keyPaddingMask ?? null;
    if (am !== null) {
      const okShape = am.ndim === 2 ? am.shape[0] === L && am.shape[1] === S
        : am.ndim === 3 && am.shape[0] === (batched ? N * nh : nh) && am.shape[1] === L && am.shape[2] === S;
      if (!okShape) {
        throw new Error(`[${op}] attnMask must have shape (${L}, ${S}) or (${batched ? `${N * nh}` : `${nh}`}, ${L}, ${S}) for query length ${L}, key length ${S}${batched ? `, batch ${N}` : ""} and ${nh} heads; got ${fmtShape(am.shape)}`);
      }
      const m = am.ndim === 3 ? am.reshape([N, nh, L, S]) : am; // (N, nh, L, S) or (L, S)
      bias = maskToBias(op, "attnMask", m, true, dtype);
    } else if (opts.isCausal) {
      bias = causalBias(L, S, dtype); // (L, S)
    }
    if (kpm !== null) {
      const want = batched ? [N, S] : [S];
      if (kpm.ndim !== want.length || kpm.shape.some((s, i) => s !== want[i])) {
        throw new Error(`[${op}] keyPaddingMask must have shape ${fmtShape(want)} (${batched ? "batch, key length" : "key length"}), got ${fmtShape(kpm.shape)}`);
      }
      const kb = maskToBias(op, "keyPaddingMask", kpm.reshape([N, 1, 1, S]), true, dtype); // (N, 1, 1, S)
      bias = bias ? P.add(bias, kb) : kb; // (N, nh|1, L|1, S)
    }
    return bias;
  }
}
