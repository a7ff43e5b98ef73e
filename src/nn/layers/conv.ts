// Convolution layers: Conv1d, Conv2d and ConvTranspose2d, composites over im2col views (src/nn/conv_impl.ts).
import type { Tensor } from "../../tensor.js";
import type { DType } from "../../dtype.js";
import type { Generator } from "../../random.js";
import { empty } from "../../ops/creation.js";
import { Module, Parameter } from "../module.js";
import type { ConvFnOptions } from "../functional_conv.js";
import { checkOptions } from "../helpers.js";
import { kaimingUniform_, uniform_, _calculateFanInAndFanOut } from "../init.js";
import {
  checkGroups, checkPaddingMode, convImpl, convTranspose2dImpl, pyTuple, toPadding, toSizes,
  type Padding, type PaddingMode, type Sizes,
} from "../conv_impl.js";

type Size = number | number[];

export interface ConvOptions extends ConvFnOptions {
  bias?: boolean;
  /** How the padding is filled: zeros, or the input reflected, replicated or wrapped around. */
  paddingMode?: PaddingMode;
  dtype?: DType;
  /** Generator for the initial weights (the default generator otherwise). */
  generator?: Generator;
}

export interface ConvTransposeOptions {
  stride?: Size;
  padding?: Size;
  /** Extra rows/columns on the bottom/right of the output (smaller than stride or dilation). */
  outputPadding?: Size;
  groups?: number;
  bias?: boolean;
  dilation?: Size;
  dtype?: DType;
  generator?: Generator;
}

/** Shared state and printing of the convolution layers, as PyTorch's _ConvNd. */
abstract class ConvBase extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: Sizes;
  readonly stride: Sizes;
  readonly padding: Padding;
  readonly dilation: Sizes;
  readonly outputPadding: Sizes;
  readonly groups: number;
  readonly paddingMode: PaddingMode;
  weight: Parameter; // (out, in / groups, *kernel) or, transposed, (in, out / groups, *kernel)
  bias: Parameter | null; // (out)

  constructor(op: string, nd: number, transposed: boolean, inChannels: number, outChannels: number, kernelSize: Size,
    o: ConvOptions & { outputPadding?: Size }) {
    super();
    for (const [name, v] of [["inChannels", inChannels], ["outChannels", outChannels]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`[${op}] ${name} must be a positive integer, got ${String(v)}`);
    }
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = toSizes(op, "kernelSize", kernelSize, nd, 1);
    this.stride = toSizes(op, "stride", o.stride ?? 1, nd, 1);
    this.padding = transposed ? toSizes(op, "padding", o.padding ?? 0, nd, 0) : toPadding(op, o.padding ?? 0, nd);
    this.dilation = toSizes(op, "dilation", o.dilation ?? 1, nd, 1);
    this.outputPadding = toSizes(op, "outputPadding", o.outputPadding ?? 0, nd, 0);
    this.groups = checkGroups(op, o.groups ?? 1, inChannels, outChannels);
    this.paddingMode = checkPaddingMode(op, o.paddingMode ?? "zeros");
    if (this.padding === "same" && this.stride.some((s) => s !== 1)) {
      throw new Error(`[${op}] padding='same' is not supported for strided convolutions (stride ${pyTuple(this.stride)})`);
    }
    const dtype = o.dtype ?? "float32";
    const wShape = transposed ? [inChannels, outChannels / this.groups] : [outChannels, inChannels / this.groups];
    this.weight = Parameter(empty([...wShape, ...this.kernelSize], { dtype }));
    this.bias = o.bias ?? true ? Parameter(empty([outChannels], { dtype })) : null;
    this.resetParameters(o.generator);
  }

  /** PyTorch's reset_parameters: kaiming_uniform_(a=sqrt(5)) ⇒ U(±1/sqrt(fanIn)) for weight, and for bias. */
  resetParameters(generator?: Generator): void {
    kaimingUniform_(this.weight, { a: Math.sqrt(5), generator });
    if (this.bias) {
      const [fanIn] = _calculateFanInAndFanOut(this.weight);
      const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      uniform_(this.bias, -bound, bound, { generator });
    }
  }

  override extraRepr(): string {
    const zero = (v: Sizes, z: number) => v.every((x) => x === z);
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${pyTuple(this.kernelSize)}, stride=${pyTuple(this.stride)}`;
    if (typeof this.padding === "string") s += `, padding=${this.padding}`;
    else if (!zero(this.padding, 0)) s += `, padding=${pyTuple(this.padding)}`;
    if (!zero(this.dilation, 1)) s += `, dilation=${pyTuple(this.dilation)}`;
    if (!zero(this.outputPadding, 0)) s += `, output_padding=${pyTuple(this.outputPadding)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (this.bias === null) s += ", bias=False";
    if (this.paddingMode !== "zeros") s += `, padding_mode=${this.paddingMode}`;
    return s;
  }

  protected convForward(op: string, nd: number, x: Tensor): Tensor {
    return convImpl(op, nd, x, this.weight, this.bias, this);
  }
}

/**
 * 2-d convolution over (N, C, H, W) or (C, H, W) inputs, as torch.nn.Conv2d: weight (out, in / groups, kh, kw),
 * bias (out), PyTorch's default init U(±1/sqrt(in / groups * kh * kw)).
 * @example
 * const conv = new nn.Conv2d(1, 16, 3, { padding: 1 });
 * conv.forward(randn(64, 1, 28, 28)).shape; // [64, 16, 28, 28]
 * String(conv); // "Conv2d(1, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
 */
export class Conv2d extends ConvBase {
  constructor(inChannels: number, outChannels: number, kernelSize: number | [number, number], opts: ConvOptions = {}) {
    checkOptions("Conv2d", opts, ["stride", "padding", "dilation", "groups", "bias", "paddingMode", "dtype", "generator"]);
    super("Conv2d", 2, false, inChannels, outChannels, kernelSize, opts);
  }

  forward(x: Tensor): Tensor {
    return this.convForward("Conv2d", 2, x);
  }
}

/**
 * 1-d convolution over (N, C, L) or (C, L) inputs, as torch.nn.Conv1d: weight (out, in / groups, k).
 * @example
 * const conv = new nn.Conv1d(2, 4, 3, { padding: "same" });
 * conv.forward(randn(8, 2, 50)).shape; // [8, 4, 50]
 * String(conv); // "Conv1d(2, 4, kernel_size=(3,), stride=(1,), padding=same)"
 */
export class Conv1d extends ConvBase {
  constructor(inChannels: number, outChannels: number, kernelSize: number | [number], opts: ConvOptions = {}) {
    checkOptions("Conv1d", opts, ["stride", "padding", "dilation", "groups", "bias", "paddingMode", "dtype", "generator"]);
    super("Conv1d", 1, false, inChannels, outChannels, kernelSize, opts);
  }

  forward(x: Tensor): Tensor {
    return this.convForward("Conv1d", 1, x);
  }
}

/**
 * Transposed 2-d convolution ("deconvolution"), as torch.nn.ConvTranspose2d: weight (in, out / groups, kh, kw),
 * output size (H - 1) stride - 2 padding + dilation (kh - 1) + outputPadding + 1.
 * @example
 * const up = new nn.ConvTranspose2d(16, 8, 3, { stride: 2, padding: 1, outputPadding: 1 });
 * up.forward(randn(1, 16, 7, 7)).shape; // [1, 8, 14, 14]
 */
export class ConvTranspose2d extends ConvBase {
  constructor(inChannels: number, outChannels: number, kernelSize: number | [number, number], opts: ConvTransposeOptions = {}) {
    checkOptions("ConvTranspose2d", opts, ["stride", "padding", "outputPadding", "groups", "bias", "dilation", "dtype", "generator"]);
    super("ConvTranspose2d", 2, true, inChannels, outChannels, kernelSize, opts);
  }

  forward(x: Tensor): Tensor {
    const { stride, outputPadding, dilation, groups } = this;
    return convTranspose2dImpl("ConvTranspose2d", x, this.weight, this.bias, { stride, padding: this.padding as Sizes, outputPadding, dilation, groups });
  }
}
