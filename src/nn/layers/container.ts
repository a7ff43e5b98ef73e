// Sequential: a chain of modules run in order, named "0", "1", ... as in PyTorch.
import type { Tensor } from "../../tensor.js";
import { Module } from "../module.js";
import { describe } from "../helpers.js";

/**
 * Runs its modules in order, each on the previous one's output. The modules are own properties `0`, `1`, ...
 * so parameters are named `0.weight`, `2.bias`, ... exactly as PyTorch's.
 * @example
 * const model = new nn.Sequential(new nn.Linear(2, 10), new nn.ReLU(), new nn.Linear(10, 1));
 * model.forward(randn(16, 2)).shape; // [16, 1]
 * model.at(-1); // Linear(in_features=10, out_features=1, bias=True)
 * Object.keys(model.stateDict()); // ["0.weight", "0.bias", "2.weight", "2.bias"]
 */
export class Sequential extends Module implements Iterable<Module> {
  [index: number]: Module;
  #length = 0;

  constructor(...modules: Module[]) {
    super();
    for (const m of modules) this.append(m);
  }

  /** Number of modules. */
  get length(): number {
    return this.#length;
  }

  /** The module at index i (negative counts from the end). */
  at(i: number): Module {
    const j = i < 0 ? i + this.#length : i;
    if (!Number.isInteger(j) || j < 0 || j >= this.#length) throw new Error(`[Sequential] index ${i} is out of range for ${this.#length} modules`);
    return this[j];
  }

  /** Add a module at the end. */
  append(m: Module): this {
    if (!(m instanceof Module)) throw new Error(`[Sequential] expected a Module, got ${describe(m)}`);
    this[this.#length++] = m;
    return this;
  }

  *[Symbol.iterator](): Iterator<Module> {
    for (let i = 0; i < this.#length; i++) yield this[i];
  }

  forward(input: Tensor): Tensor {
    let x = input;
    // reads this[i] each time, so a module replaced by `seq[i] = m` runs
    for (let i = 0; i < this.#length; i++) x = this[i].forward(x);
    return x;
  }
}
