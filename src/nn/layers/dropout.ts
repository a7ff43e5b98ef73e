// Dropout: random zeroing with 1/(1-p) rescaling in training mode, identity in eval mode.
import type { Tensor } from "../../tensor.js";
import { defaultGenerator } from "../../random.js";
import { Module } from "../module.js";
import { pyFloat } from "../helpers.js";
import { checkDropoutP, dropoutImpl } from "../impl.js";

/**
 * Zeroes each element with probability p while `training`, scaling the rest by 1/(1-p); the identity after
 * `eval()`. Draws from the default generator (seed it with `manualSeed`).
 * @example
 * const drop = new nn.Dropout(0.5);
 * drop.forward(ones(2, 4)); // entries 0 or 2
 * drop.eval().forward(ones(2, 4)); // all 1
 */
export class Dropout extends Module {
  readonly p: number;

  constructor(p = 0.5) {
    super();
    this.p = checkDropoutP("Dropout", p);
  }

  forward(x: Tensor): Tensor {
    return dropoutImpl("Dropout", x, this.p, this.training, defaultGenerator);
  }

  override extraRepr(): string {
    return `p=${pyFloat(this.p)}, inplace=False`;
  }
}
