// The active backend: every primitive calls its kernels through `active.b`.
import type { Backend } from "./backend.js";
import { jsBackend } from "./js/js_backend.js";

export const active: { b: Backend } = { b: jsBackend };

const registry = new Map<string, Backend>([["js", jsBackend]]);

/** Register a backend so `setBackend(name)` can select it. */
export function registerBackend(b: Backend): void {
  registry.set(b.name, b);
}

/**
 * Select the backend that runs every primitive from now on.
 * @example
 * setBackend("js");
 */
export function setBackend(name: string): void {
  const b = registry.get(name);
  if (!b) throw new Error(`[setBackend] unknown backend '${name}'; available: ${[...registry.keys()].join(", ")}`);
  active.b = b;
}

/** Name of the backend that runs primitives now. */
export function backend(): string {
  return active.b.name;
}
