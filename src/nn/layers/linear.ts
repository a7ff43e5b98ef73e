// Linear (affine) and Identity layers.
import { Tensor } from "../../tensor.js";
import type { DType } from "../../dtype.js";
import type { Generator } from "../../random.js";
import { empty } from "../../ops/creation.js";
import { Module, Parameter } from "../module.js";
import { checkOptions, pyBool } from "../helpers.js";
import { linearImpl } from "../impl.js";
import { kaimingUniform_, uniform_ } from "../init.js";

export interface LinearOptions {
  bias?: boolean;
  dtype?: DType;
  /** Generator for the initial weights (the default generator otherwise). */
  generator?: Generator;
}

/**
 * y = x W^T + b over the last dim: (..., inFeatures) → (..., outFeatures), with PyTorch's default init
 * U(-1/sqrt(inFeatures), 1/sqrt(inFeatures)) for weight and bias.
 * @example
 * const fc = new nn.Linear(2, 10);
 * fc.forward(randn(16, 2)).shape; // [16, 10]
 * String(fc); // "Linear(in_features=2, out_features=10, bias=True)"
 */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Parameter; // (outFeatures, inFeatures)
  bias: Parameter | null; // (outFeatures)

  constructor(inFeatures: number, outFeatures: number, opts: LinearOptions = {}) {
    super();
    checkOptions("Linear", opts, ["bias", "dtype", "generator"]);
    for (const [name, v] of [["inFeatures", inFeatures], ["outFeatures", outFeatures]] as const) {
      if (!Number.isInteger(v) || v < 0) throw new Error(`[Linear] ${name} must be a non-negative integer, got ${String(v)}`);
    }
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const dtype = opts.dtype ?? "float32";
    this.weight = Parameter(empty([outFeatures, inFeatures], { dtype }));
    this.bias = opts.bias ?? true ? Parameter(empty([outFeatures], { dtype })) : null;
    this.resetParameters(opts.generator);
  }

  /** PyTorch's reset_parameters: kaiming_uniform_(a=sqrt(5)) for weight, U(-1/sqrt(fanIn), 1/sqrt(fanIn)) for bias. */
  resetParameters(generator?: Generator): void {
    kaimingUniform_(this.weight, { a: Math.sqrt(5), generator });
    if (this.bias) {
      const bound = this.inFeatures > 0 ? 1 / Math.sqrt(this.inFeatures) : 0;
      uniform_(this.bias, -bound, bound, { generator });
    }
  }

  forward(x: Tensor): Tensor {
    return linearImpl("Linear", x, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${pyBool(this.bias !== null)}`;
  }
}

/**
 * Returns its input unchanged (a placeholder layer).
 * @example new nn.Identity().forward(x) === x; // true
 */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}
