// Reverse-mode autograd: a topological walk from the outputs that accumulates gradients into leaves.
import { gradMode } from "./grad_mode.js";
import type { Node } from "./node.js";
import type { Tensor } from "../tensor.js";
import { sumToShape } from "../ops/helpers.js";
import * as P from "../ops/primitives.js";
import { fmtShape, shapesEqual } from "../shape.js";
import { isContiguous } from "../backend/js/strided.js";
import { beginRecycling, bornInPass, endRecycling, recycle, recycling, type Storage } from "../dtype.js";
import { rules } from "./grad_rules.js";

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

/** State of one backward pass. */
interface Pass {
  createGraph: boolean;
  targets: Tensor[] | undefined;
  captured: (Tensor | null)[];
  /** Storage already given to a leaf's .grad, a retained grad, autograd.grad's results, or the caller's seeds in this pass. */
  handedOut: Storage[];
}

/**
 * After order[j]'s rule: hand its upstream gradient g to the pass's next outputs (src/dtype.ts) when g is dead,
 * i.e. storage this pass allocated (so no tensor from outside it) that no leaf, retained grad or result holds
 * and no later node's pending gradient holds (what the rule returned, g itself or a view of it for some rules,
 * is kept only through those). A custom Function's backward may keep its g and what it returns: never recycled.
 * NOTE: called only once the pass has made storage it could recycle, so a small model's pass (the seed
 * program's) runs none of this; the scan of later nodes is O(nodes) per call, microseconds on a transformer.
 */
function recycleIfDead(g: Tensor, gs: (Tensor | null)[], order: Node[], j: number, pass: Pass): void {
  const node = order[j];
  if ((rules as Record<string, unknown>)[node.name] !== node.rule) {
    for (let i = 0; i < gs.length; i++) if (gs[i]) pass.handedOut.push(gs[i]!.buf);
    return;
  }
  const s = g.buf;
  if (!(s instanceof Float32Array) || !bornInPass(s) || pass.handedOut.includes(s)) return;
  for (let k = j + 1; k < order.length; k++) if (order[k].grad?.buf === s) return;
  recycle(s);
}

/** Add g to autograd.grad's result k (when k >= 0); the result is handed out, never recycled. */
function capture(pass: Pass, k: number, g: Tensor): void {
  if (k < 0) return;
  const c = accumulate(pass.captured[k], g);
  pass.captured[k] = c;
  pass.handedOut.push(c.buf);
}

/** A gradient a leaf may keep as is: dense, owning its whole buffer, not given to anyone else yet. */
function ownable(g: Tensor, pass: Pass): boolean {
  return g.offset === 0 && g.buf.length === g.numel() && isContiguous(g.shape, g.strides) && !pass.handedOut.includes(g.buf);
}

function toLeaf(leaf: Tensor, g: Tensor, pass: Pass): void {
  if (g.dtype !== leaf.dtype) g = P.cast(g, leaf.dtype);
  if (pass.targets) {
    capture(pass, pass.targets.indexOf(leaf), g);
    return;
  }
  if (pass.createGraph) {
    leaf.grad = accumulate(leaf.grad, g);
  } else if (leaf.grad !== null) {
    leaf.grad = leaf.grad.add(g);
  } else {
    // NOTE: a rule may hand one tensor to several inputs (add) or pass a view through; a leaf keeps the
    // gradient without a copy only when no one else holds its storage, so optimizers and in-place
    // clipping never write into another gradient.
    const own = ownable(g, pass) ? g.detach() : P.clone(g.detach());
    pass.handedOut.push(own.buf);
    leaf.grad = own;
  }
}

/**
 * Propagate `grads` from `roots` back through the graph. With `targets`, gradients are returned for those
 * tensors instead of being accumulated into `.grad` (autograd.grad).
 */
export function runBackward(roots: Tensor[], grads: Tensor[], opts: BackwardOptions, targets?: Tensor[]): (Tensor | null)[] {
  const createGraph = opts.createGraph ?? false;
  const retainGraph = opts.retainGraph ?? createGraph;
  // NOTE: built with push: an array from .map is holey (see src/shape.ts), and ownable's includes() deoptimized
  // runBackward once per process when it met the holey map after a packed one
  const pass: Pass = { createGraph, targets, captured: [], handedOut: [] };
  for (let i = 0; i < grads.length; i++) pass.handedOut.push(grads[i].buf);
  if (targets) for (let i = 0; i < targets.length; i++) pass.captured.push(null);

  const prev = gradMode.enabled;
  gradMode.enabled = createGraph;
  // a pass that builds a graph keeps every gradient it makes alive in that graph: nothing to recycle
  const outer = beginRecycling(!createGraph);
  try {
    const rootNodes: Node[] = [];
    for (let i = 0; i < roots.length; i++) {
      const r = roots[i];
      if (!r.requiresGrad) throw new Error(`[backward] element ${i} of tensors does not require grad and does not have a gradFn`);
      if (r.gradFn) {
        r.gradFn.grad = accumulate(r.gradFn.grad, grads[i]);
        rootNodes.push(r.gradFn);
      } else {
        toLeaf(r, grads[i], pass);
      }
    }
    const order = topoOrder(rootNodes);
    for (let j = 0; j < order.length; j++) {
      const node = order[j];
      const g = node.grad;
      node.grad = null;
      if (g === null) continue;
      const out = node.out;
      if (targets) {
        capture(pass, targets.indexOf(out), g);
      } else if (out.retainsGrad) {
        out.grad = accumulate(out.grad, createGraph ? g : g.detach());
        pass.handedOut.push(out.grad.buf);
      }
      const gs = node.rule(g, node);
      const inputs = node.inputs;
      for (let i = 0; i < inputs.length; i++) {
        const inp = inputs[i];
        let gi = gs[i];
        if (!inp.requiresGrad || gi === null || gi === undefined) continue;
        gi = sumToShape(gi, inp.shape);
        if (!shapesEqual(gi.shape, inp.shape)) {
          throw new Error(`[backward] gradient rule '${node.name}' returned shape ${fmtShape(gi.shape)} for input ${fmtShape(inp.shape)}`);
        }
        if (inp.gradFn) inp.gradFn.grad = accumulate(inp.gradFn.grad, gi.dtype === inp.dtype ? gi : P.cast(gi, inp.dtype));
        else toLeaf(inp, gi, pass);
      }
      if (recycling()) recycleIfDead(g, gs, order, j, pass);
      if (!retainGraph) node.free();
    }
  } finally {
    gradMode.enabled = prev;
    endRecycling(outer);
  }
  return pass.captured;
}
