// nn.functional's convolution, pooling and interpolation, as torch.nn.functional (options as one trailing object).
import { Tensor } from "../tensor.js";
import { fmtShape } from "../shape.js";
import { checkOptions, describe } from "./helpers.js";
import {
  checkConvWeight, checkResize, convImpl, convTranspose2dImpl, adaptiveAvgPool2dImpl, poolImpl, resizeImpl, resolvePool,
  toAdaptiveSize, toPadding, toSizes, type InterpolateMode,
} from "./conv_impl.js";

export type { InterpolateMode, PaddingMode } from "./conv_impl.js";

type Size = number | number[];

export interface ConvFnOptions {
  stride?: Size;
  /** Both sides of each spatial dim, or 'same' (output as large as the input; stride 1) or 'valid' (none). */
  padding?: Size | "same" | "valid";
  dilation?: Size;
  groups?: number;
}

function conv(op: string, nd: number, input: Tensor, weight: Tensor, bias: Tensor | null | undefined, opts: ConvFnOptions): Tensor {
  checkOptions(op, opts, ["stride", "padding", "dilation", "groups"]);
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw new Error(`[${op}] groups must be a positive integer, got ${String(groups)}`);
  checkConvWeight(op, nd, weight, bias ?? null, groups);
  return convImpl(op, nd, input, weight, bias ?? null, {
    stride: toSizes(op, "stride", opts.stride ?? 1, nd, 1),
    padding: toPadding(op, opts.padding ?? 0, nd),
    dilation: toSizes(op, "dilation", opts.dilation ?? 1, nd, 1),
    groups,
    paddingMode: "zeros",
  });
}

/**
 * 2-d convolution (cross-correlation, as PyTorch) of input (N, C, H, W) or (C, H, W) with weight
 * (O, C / groups, kh, kw) and optional bias (O).
 * @example
 * F.conv2d(randn(8, 3, 32, 32), randn(16, 3, 3, 3), null, { padding: 1 }).shape; // [8, 16, 32, 32]
 */
export function conv2d(input: Tensor, weight: Tensor, bias?: Tensor | null, opts: ConvFnOptions = {}): Tensor {
  return conv("conv2d", 2, input, weight, bias, opts);
}

/**
 * 1-d convolution of input (N, C, L) or (C, L) with weight (O, C / groups, k) and optional bias (O).
 * @example
 * F.conv1d(randn(4, 2, 10), randn(6, 2, 3), null, { stride: 2 }).shape; // [4, 6, 4]
 */
export function conv1d(input: Tensor, weight: Tensor, bias?: Tensor | null, opts: ConvFnOptions = {}): Tensor {
  return conv("conv1d", 1, input, weight, bias, opts);
}

export interface ConvTransposeFnOptions {
  stride?: Size;
  padding?: Size;
  /** Extra rows/columns on the bottom/right of the output (smaller than stride or dilation). */
  outputPadding?: Size;
  groups?: number;
  dilation?: Size;
}

/**
 * Transposed 2-d convolution (the gradient of conv2d with respect to its input) of input (N, Cin, H, W) with
 * weight (Cin, O / groups, kh, kw): output (H - 1) stride - 2 padding + dilation (kh - 1) + outputPadding + 1.
 * @example
 * F.convTranspose2d(randn(1, 4, 5, 5), randn(4, 2, 3, 3), null, { stride: 2, padding: 1, outputPadding: 1 }).shape; // [1, 2, 10, 10]
 */
export function convTranspose2d(input: Tensor, weight: Tensor, bias?: Tensor | null, opts: ConvTransposeFnOptions = {}): Tensor {
  const op = "convTranspose2d";
  checkOptions(op, opts, ["stride", "padding", "outputPadding", "groups", "dilation"]);
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw new Error(`[${op}] groups must be a positive integer, got ${String(groups)}`);
  if (!(weight instanceof Tensor) || weight.ndim !== 4 || weight.shape[0] % groups !== 0) {
    throw new Error(`[${op}] weight must be a 4-D tensor (in, out / groups, kh, kw) with in divisible by groups ${groups}, got ${weight instanceof Tensor ? `shape ${fmtShape(weight.shape)}` : describe(weight)}`);
  }
  const O = weight.shape[1] * groups;
  if (bias && (!(bias instanceof Tensor) || bias.ndim !== 1 || bias.shape[0] !== O)) {
    throw new Error(`[${op}] bias must be a 1-D tensor of ${O} elements (one per output channel), got ${bias instanceof Tensor ? `shape ${fmtShape(bias.shape)}` : describe(bias)}`);
  }
  return convTranspose2dImpl(op, input, weight, bias ?? null, {
    stride: toSizes(op, "stride", opts.stride ?? 1, 2, 1),
    padding: toSizes(op, "padding", opts.padding ?? 0, 2, 0),
    outputPadding: toSizes(op, "outputPadding", opts.outputPadding ?? 0, 2, 0),
    dilation: toSizes(op, "dilation", opts.dilation ?? 1, 2, 1),
    groups,
  });
}

export interface MaxPoolFnOptions {
  /** Defaults to kernelSize. */
  stride?: Size | null;
  /** Implicit -inf padding on both sides, at most half the kernel. */
  padding?: Size;
  dilation?: Size;
  /** Use ceil instead of floor for the output size (the last window may hang over the end). */
  ceilMode?: boolean;
}

/**
 * Max over kernelSize windows of input (N, C, H, W) or (C, H, W); the gradient goes to the first maximum of
 * each window.
 * @example
 * F.maxPool2d(randn(1, 1, 4, 4), 2).shape; // [1, 1, 2, 2]
 */
export function maxPool2d(input: Tensor, kernelSize: Size, opts: MaxPoolFnOptions = {}): Tensor {
  checkOptions("maxPool2d", opts, ["stride", "padding", "dilation", "ceilMode"]);
  return poolImpl("maxPool2d", "max", 2, input, resolvePool("maxPool2d", 2, kernelSize, opts));
}

/** Max over windows of input (N, C, L) or (C, L). @example F.maxPool1d(randn(1, 2, 9), 3).shape; // [1, 2, 3] */
export function maxPool1d(input: Tensor, kernelSize: number | [number], opts: MaxPoolFnOptions = {}): Tensor {
  checkOptions("maxPool1d", opts, ["stride", "padding", "dilation", "ceilMode"]);
  return poolImpl("maxPool1d", "max", 1, input, resolvePool("maxPool1d", 1, kernelSize, opts));
}

export interface AvgPoolFnOptions {
  /** Defaults to kernelSize. */
  stride?: Size | null;
  /** Implicit zero padding on both sides, at most half the kernel. */
  padding?: Size;
  ceilMode?: boolean;
  /** Divide by the full window (true) or by the part of it that lies inside the input (false). */
  countIncludePad?: boolean;
}

/**
 * Mean over kernelSize windows of input (N, C, H, W) or (C, H, W).
 * @example
 * F.avgPool2d(ones(1, 1, 4, 4), 2, { padding: 1, countIncludePad: false }).shape; // [1, 1, 3, 3]
 */
export function avgPool2d(input: Tensor, kernelSize: Size, opts: AvgPoolFnOptions = {}): Tensor {
  checkOptions("avgPool2d", opts, ["stride", "padding", "ceilMode", "countIncludePad"]);
  return poolImpl("avgPool2d", "avg", 2, input, resolvePool("avgPool2d", 2, kernelSize, opts));
}

/** Mean over windows of input (N, C, L) or (C, L). @example F.avgPool1d(randn(1, 2, 9), 3).shape; // [1, 2, 3] */
export function avgPool1d(input: Tensor, kernelSize: number | [number], opts: AvgPoolFnOptions = {}): Tensor {
  checkOptions("avgPool1d", opts, ["stride", "padding", "ceilMode", "countIncludePad"]);
  return poolImpl("avgPool1d", "avg", 1, input, resolvePool("avgPool1d", 1, kernelSize, opts));
}

/**
 * Average pooling of input (N, C, H, W) or (C, H, W) to a fixed output size; output (i, j) averages rows
 * floor(i H / Ho) .. ceil((i + 1) H / Ho) - 1 and likewise columns. A null entry keeps that input size.
 * @example
 * F.adaptiveAvgPool2d(randn(2, 3, 7, 7), 3).shape; // [2, 3, 3, 3]
 */
export function adaptiveAvgPool2d(input: Tensor, outputSize: number | (number | null)[]): Tensor {
  return adaptiveAvgPool2dImpl("adaptiveAvgPool2d", input, toAdaptiveSize("adaptiveAvgPool2d", outputSize));
}

export interface InterpolateOptions {
  /** Output (H, W); exactly one of size and scaleFactor. */
  size?: Size | null;
  /** Output is floor(In * scaleFactor) per dim. */
  scaleFactor?: number | number[] | null;
  mode?: InterpolateMode;
  /** bilinear only: map corner pixel centres onto each other (true) or pixel edges (false, the default). */
  alignCorners?: boolean | null;
}

/**
 * Resize input (N, C, H, W) by nearest-neighbour or bilinear interpolation, as torch.nn.functional.interpolate.
 * @example
 * F.interpolate(randn(1, 3, 4, 4), { scaleFactor: 2, mode: "bilinear" }).shape; // [1, 3, 8, 8]
 */
export function interpolate(input: Tensor, opts: InterpolateOptions = {}): Tensor {
  checkOptions("interpolate", opts, ["size", "scaleFactor", "mode", "alignCorners"]);
  return resizeImpl("interpolate", input, checkResize("interpolate", opts));
}
