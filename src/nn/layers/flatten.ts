// Flatten: merge a contiguous range of dims into one.
import type { Tensor } from "../../tensor.js";
import { Module } from "../module.js";

/**
 * Flattens dims startDim..endDim into one (by default everything but the batch dim).
 * @example new nn.Flatten().forward(randn(2, 3, 4)).shape; // [2, 12]
 */
export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
    for (const [name, v] of [["startDim", startDim], ["endDim", endDim]] as const) {
      if (!Number.isInteger(v)) throw new Error(`[Flatten] ${name} must be an integer, got ${String(v)}`);
    }
  }

  forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }

  override extraRepr(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}
