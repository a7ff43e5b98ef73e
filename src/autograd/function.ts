// Custom differentiable ops with a user-written backward, like torch.autograd.Function.
import { gradMode } from "./grad_mode.js";
import { Node } from "./node.js";
import { Tensor } from "../tensor.js";

/** State shared between a custom Function's forward and backward. */
export class FunctionCtx {
  savedTensors: Tensor[] = [];
  /** Which forward arguments need a gradient (false for non-tensors). */
  needsInputGrad: boolean[] = [];
  [key: string]: unknown;
  saveForBackward(...ts: Tensor[]): void {
    this.savedTensors = ts;
  }
}

/**
 * Subclass with static `forward(ctx, ...args)` and `backward(ctx, gradOutput)` and call `apply`.
 * backward returns one gradient (or null) per forward argument.
 * @example
 * class Square extends autograd.Function {
 *   static forward(ctx: FunctionCtx, x: Tensor) { ctx.saveForBackward(x); return x.mul(x); }
 *   static backward(ctx: FunctionCtx, g: Tensor) { const [x] = ctx.savedTensors; return [g.mul(x).mul(2)]; }
 * }
 * const y = Square.apply(x);
 */
export class Function {
  static forward(_ctx: FunctionCtx, ..._args: unknown[]): Tensor {
    throw new Error(`[Function] ${this.name} must implement static forward(ctx, ...args)`);
  }
  static backward(_ctx: FunctionCtx, _grad: Tensor): (Tensor | null)[] | Tensor | null {
    throw new Error(`[Function] ${this.name} must implement static backward(ctx, gradOutput)`);
  }

  static apply(...args: unknown[]): Tensor {
    const ctx = new FunctionCtx();
    ctx.needsInputGrad = args.map((a) => a instanceof Tensor && a.requiresGrad);
    const prev = gradMode.enabled;
    gradMode.enabled = false;
    let raw: Tensor;
    try {
      raw = this.forward(ctx, ...args);
    } finally {
      gradMode.enabled = prev;
    }
    if (!(raw instanceof Tensor)) throw new Error(`[Function] ${this.name}.forward must return a Tensor`);
    const out = raw.detach();
    const tensorArgs: Tensor[] = [];
    const argPos: number[] = [];
    args.forEach((a, i) => {
      if (a instanceof Tensor) { tensorArgs.push(a); argPos.push(i); }
    });
    if (prev && tensorArgs.some((t) => t.requiresGrad)) {
      const name = this.name;
      const self = this;
      // ctx rides in the node's attrs, so freeing the graph after backward releases its saved tensors
      out.gradFn = new Node(name, (g, node) => {
        const r = self.backward(node.attrs as FunctionCtx, g);
        const list = Array.isArray(r) ? r : [r];
        if (list.length !== args.length) {
          throw new Error(`[Function] ${name}.backward returned ${list.length} gradients, expected ${args.length} (one per forward argument)`);
        }
        return argPos.map((p) => list[p] ?? null);
      }, tensorArgs, ctx, out);
      out.requiresGrad = true;
    }
    return out;
  }
}
