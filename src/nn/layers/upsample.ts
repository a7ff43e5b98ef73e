// Upsample: nearest-neighbour and bilinear resizing of (N, C, H, W) inputs, as torch.nn.Upsample.
import type { Tensor } from "../../tensor.js";
import { Module } from "../module.js";
import { checkOptions, pyFloat } from "../helpers.js";
import { checkResize, pyTuple, resizeImpl, type InterpolateMode, type ResizeSpec } from "../conv_impl.js";

export interface UpsampleOptions {
  /** Output (H, W); exactly one of size and scaleFactor. */
  size?: number | [number, number];
  /** Output is floor(In * scaleFactor) per dim. */
  scaleFactor?: number | [number, number];
  mode?: InterpolateMode;
  /** bilinear only: map corner pixel centres onto each other (true) or pixel edges (false, the default). */
  alignCorners?: boolean;
}

/**
 * Resize (N, C, H, W) inputs by a scale factor or to a size, by nearest neighbour (default) or bilinear
 * interpolation with PyTorch's coordinate mapping.
 * @example
 * const up = new nn.Upsample({ scaleFactor: 2, mode: "bilinear" });
 * up.forward(randn(1, 3, 4, 4)).shape; // [1, 3, 8, 8]
 * String(up); // "Upsample(scale_factor=2.0, mode=bilinear)"
 */
export class Upsample extends Module {
  readonly spec: ResizeSpec;
  readonly #given: UpsampleOptions;

  constructor(opts: UpsampleOptions) {
    super();
    checkOptions("Upsample", opts, ["size", "scaleFactor", "mode", "alignCorners"]);
    this.spec = checkResize("Upsample", opts ?? {});
    this.#given = { ...opts };
  }

  forward(x: Tensor): Tensor {
    return resizeImpl("Upsample", x, this.spec);
  }

  override extraRepr(): string {
    const { size, scaleFactor } = this.#given;
    const what = scaleFactor !== undefined && scaleFactor !== null
      ? `scale_factor=${typeof scaleFactor === "number" ? pyFloat(scaleFactor) : `(${scaleFactor.map(pyFloat).join(", ")})`}`
      : `size=${typeof size === "number" ? size : pyTuple(size!)}`;
    return `${what}, mode=${this.spec.mode}`;
  }
}
