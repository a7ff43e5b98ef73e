// Test helper: the names of the autograd nodes a tensor's graph holds.
import type { Node } from "../src/autograd/node.js";
import type { Tensor } from "../src/tensor.js";

/** Names of the autograd nodes reachable from the outputs. */
export function nodeNames(out: Tensor | Tensor[]): Set<string> {
  const seen = new Set<Node>();
  const names = new Set<string>();
  const stack: Node[] = [];
  for (const o of Array.isArray(out) ? out : [out]) if (o.gradFn) stack.push(o.gradFn);
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    names.add(n.name);
    for (const i of n.inputs) if (i.gradFn) stack.push(i.gradFn);
  }
  return names;
}
