// Reverse-mode autograd: a topological walk from the outputs that accumulates gradients into leaves.
import { gradMode } from "./grad_mode.js";
import type { Node } from "./node.js";
import type { Tensor } from "../tensor.js";
import { sumToShape } from "../ops/helpers.js";
import * as P from "../ops/primitives.js";
import { fmtShape } from "../shape.js";

let epoch = 0;

function topoOrder(roots: Node[]): Node[] {
  const stamp = ++epoch;
  const order: Node[] = [];
  const stack: Node[] = [];
  const next: number[] = [];
  for (const r of roots) {
    if (r.mark === stamp) continue;
    r.mark = stamp;
    stack.push(r);
    next.push(0);
    while (stack.length) {
      const top = stack.length - 1;
      const node = stack[top];
      if (node.freed) {
        throw new Error(`[backward] trying to backward through the graph a second time (node '${node.name}' was freed); pass { retainGraph: true } to the first backward`);
      }
      const i = next[top];
      if (i < node.inputs.length) {
        next[top] = i + 1;
        const child = node.inputs[i].gradFn;
        if (child && node.inputs[i].requiresGrad && child.mark !== stamp) {
          child.mark = stamp;
          stack.push(child);
          next.push(0);
        }
      } else {
        stack.pop();
        next.pop();
        order.push(node);
      }
    }
  }
  return order.reverse();
}

export interface BackwardOptions {
  retainGraph?: boolean;
  createGraph?: boolean;
}

function accumulate(prev: Tensor | null, g: Tensor): Tensor {
  return prev === null ? g : prev.add(g);
}

/**
 * Propagate `grads` from `roots` back through the graph. With `targets`, gradients are returned for those
 * tensors instead of being accumulated into `.grad` (autograd.grad).
 */
export function runBackward(roots: Tensor[], grads: Tensor[], opts: BackwardOptions, targets?: Tensor[]): (Tensor | null)[] {
  const createGraph = opts.createGraph ?? false;
  const retainGraph = opts.retainGraph ?? createGraph;
  const captured: (Tensor | null)[] = targets ? targets.map(() => null) : [];
  const targetIndex = (t: Tensor) => (targets ? targets.indexOf(t) : -1);

  const toLeaf = (leaf: Tensor, g: Tensor) => {
    if (g.dtype !== leaf.dtype) g = P.cast(g, leaf.dtype);
    if (targets) {
      const k = targetIndex(leaf);
      if (k >= 0) captured[k] = accumulate(captured[k], g);
      return;
    }
    if (createGraph) {
      leaf.grad = accumulate(leaf.grad, g);
    } else {
      // NOTE: a rule may hand the same tensor to several inputs (add) or a strided view; the leaf gets
      // its own contiguous buffer so optimizers and in-place clipping never alias another gradient.
      leaf.grad = leaf.grad === null ? P.clone(g.detach()) : leaf.grad.add(g);
    }
  };

  const prev = gradMode.enabled;
  gradMode.enabled = createGraph;
  try {
    const rootNodes: Node[] = [];
    roots.forEach((r, i) => {
      if (!r.requiresGrad) throw new Error(`[backward] element ${i} of tensors does not require grad and does not have a gradFn`);
      if (r.gradFn) {
        r.gradFn.grad = accumulate(r.gradFn.grad, grads[i]);
        rootNodes.push(r.gradFn);
      } else {
        toLeaf(r, grads[i]);
      }
    });
    const order = topoOrder(rootNodes);
    for (const node of order) {
      const g = node.grad;
      node.grad = null;
      if (g === null) continue;
      const out = node.out;
      if (targets) {
        const k = targetIndex(out);
        if (k >= 0) captured[k] = accumulate(captured[k], g);
      } else if (out.retainsGrad) {
        out.grad = accumulate(out.grad, createGraph ? g : g.detach());
      }
      const gs = node.rule(g, node);
      const inputs = node.inputs;
      for (let i = 0; i < inputs.length; i++) {
        const inp = inputs[i];
        let gi = gs[i];
        if (!inp.requiresGrad || gi === null || gi === undefined) continue;
        if (gi.ndim !== inp.ndim || gi.numel() !== inp.numel()) gi = sumToShape(gi, inp.shape);
        if (gi.numel() !== inp.numel()) {
          throw new Error(`[backward] gradient rule '${node.name}' returned shape ${fmtShape(gi.shape)} for input ${fmtShape(inp.shape)}`);
        }
        if (inp.gradFn) inp.gradFn.grad = accumulate(inp.gradFn.grad, gi.dtype === inp.dtype ? gi : P.cast(gi, inp.dtype));
        else toLeaf(inp, gi);
      }
      if (!retainGraph) node.free();
    }
  } finally {
    gradMode.enabled = prev;
  }
  return captured;
}
