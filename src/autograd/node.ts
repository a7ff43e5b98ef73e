// A node of the autograd graph: the primitive that made a tensor, its inputs, and its gradient rule.
import type { Tensor } from "../tensor.js";

/** Returns one gradient per input (null where none flows); shapes may be broadcast, the engine reduces them. */
export type GradRule = (g: Tensor, node: Node) => (Tensor | null)[];

export class Node {
  /** Gradient accumulated for this node's output during one backward pass. */
  grad: Tensor | null = null;
  /** Visit stamp of the last topological sort that reached this node. */
  mark = 0;
  freed = false;

  constructor(
    readonly name: string,
    readonly rule: GradRule,
    public inputs: Tensor[],
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    public attrs: any,
    public out: Tensor,
  ) {}

  /** Drop saved tensors once backward has used them (unless retainGraph). */
  free(): void {
    this.freed = true;
    this.inputs = [];
    this.attrs = null;
  }
}
