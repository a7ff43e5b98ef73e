// Pooling layers: MaxPool1d/2d, AvgPool1d/2d and AdaptiveAvgPool2d, composites over window views (src/nn/conv_impl.ts).
import type { Tensor } from "../../tensor.js";
import { Module } from "../module.js";
import { checkOptions, pyBool } from "../helpers.js";
import { adaptiveAvgPool2dImpl, poolImpl, pyTuple, resolvePool, toAdaptiveSize, type PoolArgs } from "../conv_impl.js";

type Size = number | number[];

export interface MaxPoolOptions {
  /** Defaults to kernelSize. */
  stride?: Size | null;
  /** Implicit -inf padding on both sides, at most half the kernel. */
  padding?: Size;
  dilation?: Size;
  /** Use ceil instead of floor for the output size (the last window may hang over the end). */
  ceilMode?: boolean;
}

export interface AvgPoolOptions {
  /** Defaults to kernelSize. */
  stride?: Size | null;
  /** Implicit zero padding on both sides, at most half the kernel. */
  padding?: Size;
  ceilMode?: boolean;
  /** Divide by the full window (true) or by the part of it inside the input (false). */
  countIncludePad?: boolean;
}

/** A size as the user gave it, printed as PyTorch prints it (an int, or a tuple). */
const asGiven = (v: Size): string => (typeof v === "number" ? String(v) : pyTuple(v));

/** Shared state of the window-pooling layers. */
abstract class PoolBase extends Module {
  /** Resolved per-dim sizes. */
  readonly args: PoolArgs;
  /** The sizes as given, for printing. */
  readonly #given: { kernelSize: Size; stride: Size; padding: Size; dilation: Size };

  constructor(protected readonly op: string, protected readonly nd: number, kernelSize: Size, opts: MaxPoolOptions & AvgPoolOptions) {
    super();
    this.args = resolvePool(op, nd, kernelSize, opts);
    this.#given = { kernelSize, stride: opts.stride ?? kernelSize, padding: opts.padding ?? 0, dilation: opts.dilation ?? 1 };
  }

  /** kernel_size=…, stride=…, padding=… as the user gave them (tuples for the 1-d average pool, as PyTorch). */
  protected sizesRepr(tuples: boolean): string {
    const f = tuples ? (v: Size) => pyTuple(typeof v === "number" ? [v] : v) : asGiven;
    const g = this.#given;
    return `kernel_size=${f(g.kernelSize)}, stride=${f(g.stride)}, padding=${f(g.padding)}`;
  }

  protected maxRepr(): string {
    return `${this.sizesRepr(false)}, dilation=${asGiven(this.#given.dilation)}, ceil_mode=${pyBool(this.args.ceilMode)}`;
  }
}

/**
 * Max over kernelSize windows of (N, C, H, W) or (C, H, W), as torch.nn.MaxPool2d; the gradient goes to the
 * first maximum of each window.
 * @example
 * const pool = new nn.MaxPool2d(2);
 * pool.forward(randn(8, 16, 28, 28)).shape; // [8, 16, 14, 14]
 * String(pool); // "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
 */
export class MaxPool2d extends PoolBase {
  constructor(kernelSize: number | [number, number], opts: MaxPoolOptions = {}) {
    checkOptions("MaxPool2d", opts, ["stride", "padding", "dilation", "ceilMode"]);
    super("MaxPool2d", 2, kernelSize, opts);
  }

  forward(x: Tensor): Tensor {
    return poolImpl(this.op, "max", 2, x, this.args);
  }

  override extraRepr(): string {
    return this.maxRepr();
  }
}

/**
 * Max over windows of (N, C, L) or (C, L), as torch.nn.MaxPool1d.
 * @example
 * new nn.MaxPool1d(3, { stride: 2 }).forward(randn(4, 2, 9)).shape; // [4, 2, 4]
 */
export class MaxPool1d extends PoolBase {
  constructor(kernelSize: number | [number], opts: MaxPoolOptions = {}) {
    checkOptions("MaxPool1d", opts, ["stride", "padding", "dilation", "ceilMode"]);
    super("MaxPool1d", 1, kernelSize, opts);
  }

  forward(x: Tensor): Tensor {
    return poolImpl(this.op, "max", 1, x, this.args);
  }

  override extraRepr(): string {
    return this.maxRepr();
  }
}

/**
 * Mean over kernelSize windows of (N, C, H, W) or (C, H, W), as torch.nn.AvgPool2d.
 * @example
 * const pool = new nn.AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false });
 * pool.forward(randn(1, 1, 7, 7)).shape; // [1, 1, 4, 4]
 * String(pool); // "AvgPool2d(kernel_size=3, stride=2, padding=1)"
 */
export class AvgPool2d extends PoolBase {
  constructor(kernelSize: number | [number, number], opts: AvgPoolOptions = {}) {
    checkOptions("AvgPool2d", opts, ["stride", "padding", "ceilMode", "countIncludePad"]);
    super("AvgPool2d", 2, kernelSize, opts);
  }

  forward(x: Tensor): Tensor {
    return poolImpl(this.op, "avg", 2, x, this.args);
  }

  override extraRepr(): string {
    return this.sizesRepr(false);
  }
}

/**
 * Mean over windows of (N, C, L) or (C, L), as torch.nn.AvgPool1d.
 * @example
 * String(new nn.AvgPool1d(3)); // "AvgPool1d(kernel_size=(3,), stride=(3,), padding=(0,))"
 */
export class AvgPool1d extends PoolBase {
  constructor(kernelSize: number | [number], opts: AvgPoolOptions = {}) {
    checkOptions("AvgPool1d", opts, ["stride", "padding", "ceilMode", "countIncludePad"]);
    super("AvgPool1d", 1, kernelSize, opts);
  }

  forward(x: Tensor): Tensor {
    return poolImpl(this.op, "avg", 1, x, this.args);
  }

  override extraRepr(): string {
    return this.sizesRepr(true);
  }
}

/**
 * Average pooling to a fixed output size, as torch.nn.AdaptiveAvgPool2d: output (i, j) averages input rows
 * floor(i H / Ho) .. ceil((i + 1) H / Ho) - 1 and likewise columns; a null entry keeps that input size.
 * @example
 * const gap = new nn.AdaptiveAvgPool2d(1);
 * gap.forward(randn(8, 64, 7, 7)).shape; // [8, 64, 1, 1]
 */
export class AdaptiveAvgPool2d extends Module {
  readonly outputSize: number | (number | null)[];
  readonly #size: (number | null)[];

  constructor(outputSize: number | (number | null)[]) {
    super();
    this.#size = toAdaptiveSize("AdaptiveAvgPool2d", outputSize);
    this.outputSize = typeof outputSize === "number" ? outputSize : outputSize.slice();
  }

  forward(x: Tensor): Tensor {
    return adaptiveAvgPool2dImpl("AdaptiveAvgPool2d", x, this.#size);
  }

  override extraRepr(): string {
    const s = this.outputSize;
    return `output_size=${typeof s === "number" ? s : `(${s.map((v) => (v === null ? "None" : v)).join(", ")})`}`;
  }
}
