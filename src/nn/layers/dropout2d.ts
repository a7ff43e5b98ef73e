// Dropout2d: channel-wise dropout, zeroing whole feature maps in training mode.
import type { Tensor } from "../../tensor.js";
import { defaultGenerator } from "../../random.js";
import { Module } from "../module.js";
import { pyFloat } from "../helpers.js";
import { checkDropoutP } from "../impl.js";
import { dropout2dImpl } from "../norm_impl.js";

/**
 * Zeroes each channel (a whole H x W plane) of (N, C, H, W) or (C, H, W) with probability p while `training`,
 * scaling the kept channels by 1/(1-p); the identity after `eval()`. Draws one number per channel from the
 * default generator.
 * NOTE: a 3-D input is (C, H, W), as PyTorch documents; PyTorch 1.13-2.4 actually still treat it as (N, C, L)
 * with a deprecation warning. Inputs of other ranks are an error here (PyTorch warns).
 * @example
 * const drop = new nn.Dropout2d(0.5);
 * drop.forward(ones(2, 4, 3, 3)); // each 3x3 plane all 0 or all 2
 */
export class Dropout2d extends Module {
  readonly p: number;

  constructor(p = 0.5) {
    super();
    this.p = checkDropoutP("Dropout2d", p);
  }

  forward(x: Tensor): Tensor {
    return dropout2dImpl("Dropout2d", x, this.p, this.training, defaultGenerator);
  }

  override extraRepr(): string {
    return `p=${pyFloat(this.p)}, inplace=False`;
  }
}
