// The active backend: every primitive calls its kernels through `active.b`.
import type { Backend } from "./backend.js";
import { jsBackend } from "./js/js_backend.js";
import { wasmBackend } from "./wasm/wasm_backend.js";

const registry = new Map<string, Backend>([["js", jsBackend]]);
if (wasmBackend) registry.set("wasm", wasmBackend);

/**
 * The backend at start-up: KILN_BACKEND (js | wasm) when set, else "wasm" where WebAssembly SIMD runs, else
 * the "js" reference. NOTE: KILN_BACKEND=wasm without SIMD warns and falls back to "js".
 */
function initialBackend(): Backend {
  const want = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.KILN_BACKEND;
  if (want) {
    const b = registry.get(want);
    if (b) return b;
    console.warn(`[KILN_BACKEND] backend '${want}' is not available here (available: ${[...registry.keys()].join(", ")}); using ${wasmBackend ? "wasm" : "js"}`);
  }
  return wasmBackend ?? jsBackend;
}

export const active: { b: Backend } = { b: initialBackend() };

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
