// Activation layers: ReLU, LeakyReLU, Sigmoid, Tanh, GELU, SiLU, Softmax, LogSoftmax.
import type { Tensor } from "../../tensor.js";
import * as P from "../../ops/primitives.js";
import * as E from "../../ops/elementwise.js";
import * as R from "../../ops/reduce.js";
import { Module } from "../module.js";
import { checkOptions, pyFloat } from "../helpers.js";
import { checkApproximate, type GeluApproximate } from "../impl.js";

/** max(0, x). @example new nn.ReLU().forward(tensor([-1, 2])); // [0, 2] */
export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return P.relu(x);
  }
}

/** max(0, x) + negativeSlope * min(0, x). @example new nn.LeakyReLU(0.2).forward(tensor([-1, 2])); // [-0.2, 2] */
export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
    if (typeof negativeSlope !== "number" || !Number.isFinite(negativeSlope)) throw new Error(`[LeakyReLU] negativeSlope must be a finite number, got ${String(negativeSlope)}`);
  }

  forward(x: Tensor): Tensor {
    return E.leakyRelu(x, this.negativeSlope);
  }

  override extraRepr(): string {
    return `negative_slope=${pyFloat(this.negativeSlope)}`;
  }
}

/** 1 / (1 + exp(-x)). @example new nn.Sigmoid().forward(tensor([0])); // [0.5] */
export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return P.sigmoid(x);
  }
}

/** tanh(x). @example new nn.Tanh().forward(tensor([0])); // [0] */
export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return P.tanh(x);
  }
}

/** x * Phi(x), or the tanh approximation. @example new nn.GELU({ approximate: "tanh" }).forward(randn(3)) */
export class GELU extends Module {
  readonly approximate: GeluApproximate;

  constructor(opts: { approximate?: GeluApproximate } = {}) {
    super();
    checkOptions("GELU", opts, ["approximate"]);
    this.approximate = checkApproximate("GELU", opts.approximate ?? "none");
  }

  forward(x: Tensor): Tensor {
    return E.gelu(x, { approximate: this.approximate });
  }

  override extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }
}

/** x * sigmoid(x) (swish). @example new nn.SiLU().forward(randn(3)) */
export class SiLU extends Module {
  forward(x: Tensor): Tensor {
    return E.silu(x);
  }
}

function checkDim(op: string, dim: unknown): number {
  if (typeof dim !== "number" || !Number.isInteger(dim)) throw new Error(`[${op}] dim must be an integer, got ${String(dim)}`);
  return dim;
}

/** exp(x) / sum(exp(x)) along dim. @example new nn.Softmax(1).forward(randn(2, 3)).sum(1); // [1, 1] */
export class Softmax extends Module {
  readonly dim: number;

  constructor(dim: number) {
    super();
    this.dim = checkDim("Softmax", dim);
  }

  forward(x: Tensor): Tensor {
    return R.softmax(x, this.dim);
  }

  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

/** log(softmax(x)) along dim, computed stably. @example new nn.LogSoftmax(1).forward(randn(2, 3)) */
export class LogSoftmax extends Module {
  readonly dim: number;

  constructor(dim: number) {
    super();
    this.dim = checkDim("LogSoftmax", dim);
  }

  forward(x: Tensor): Tensor {
    return R.logSoftmax(x, this.dim);
  }

  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}
