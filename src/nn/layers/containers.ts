// ModuleList and ModuleDict: containers that register their modules as children (named "0", "1", ... or by key).
import { Module } from "../module.js";
import { describe } from "../helpers.js";

function checkModule(op: string, m: unknown): Module {
  if (!(m instanceof Module)) throw new Error(`[${op}] expected a Module, got ${describe(m)}`);
  return m;
}

/**
 * A list of modules registered as children "0", "1", ... (own properties, which is how Module finds children), so
 * a model holding `layers = new nn.ModuleList([...])` has parameters `layers.0.weight`, ... as in PyTorch. It has
 * no forward: iterate over it.
 * @example
 * class Net extends nn.Module {
 *   layers = new nn.ModuleList([new nn.Linear(4, 4), new nn.Linear(4, 2)]);
 *   forward(x: Tensor): Tensor {
 *     for (const layer of this.layers) x = layer.forward(x);
 *     return x;
 *   }
 * }
 * Object.keys(new Net().stateDict()); // ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
 */
export class ModuleList extends Module implements Iterable<Module> {
  [index: number]: Module;
  #length = 0;

  constructor(modules: Iterable<Module> = []) {
    super();
    this.extend(modules);
  }

  /** Number of modules. */
  get length(): number {
    return this.#length;
  }

  #index(op: string, i: number): number {
    const j = i < 0 ? i + this.#length : i;
    if (!Number.isInteger(j) || j < 0 || j >= this.#length) throw new Error(`[ModuleList.${op}] index ${i} is out of range for ${this.#length} modules`);
    return j;
  }

  /** The module at index i (negative counts from the end). */
  at(i: number): Module {
    return this[this.#index("at", i)];
  }

  /** Replace the module at index i. */
  set(i: number, m: Module): this {
    this[this.#index("set", i)] = checkModule("ModuleList.set", m);
    return this;
  }

  /** Add a module at the end. */
  append(m: Module): this {
    this[this.#length] = checkModule("ModuleList.append", m);
    this.#length++;
    return this;
  }

  /** Append every module of an iterable (an array, another ModuleList, a Sequential). */
  extend(modules: Iterable<Module>): this {
    if (modules === null || typeof (modules as Iterable<Module>)[Symbol.iterator] !== "function") {
      throw new Error(`[ModuleList.extend] expected an iterable of Modules, got ${describe(modules)}`);
    }
    // collected first so that extending a list with itself terminates
    for (const m of [...modules]) this.append(m);
    return this;
  }

  /** Insert a module before index (negative counts from the end; clamped to the ends, as Python's list.insert). */
  insert(index: number, m: Module): this {
    checkModule("ModuleList.insert", m);
    if (!Number.isInteger(index)) throw new Error(`[ModuleList.insert] index must be an integer, got ${String(index)}`);
    const at = Math.min(Math.max(index < 0 ? index + this.#length : index, 0), this.#length);
    for (let i = this.#length; i > at; i--) this[i] = this[i - 1];
    this[at] = m;
    this.#length++;
    return this;
  }

  /** Remove and return the module at index (the last by default); later modules are renumbered. */
  pop(index = -1): Module {
    const at = this.#index("pop", index);
    const m = this[at];
    for (let i = at; i < this.#length - 1; i++) this[i] = this[i + 1];
    delete this[this.#length - 1];
    this.#length--;
    return m;
  }

  *[Symbol.iterator](): Iterator<Module> {
    for (let i = 0; i < this.#length; i++) yield this[i];
  }

  forward(): never {
    throw new Error("[ModuleList] a ModuleList has no forward; iterate over it and call each module's forward");
  }
}

/** What ModuleDict's constructor and update accept. */
export type ModuleDictInput = Record<string, Module> | Iterable<[string, Module]> | ModuleDict;

/**
 * A dictionary of modules registered as children under their keys, in insertion order, so stateDict keys read
 * `blocks.encoder.weight` as with PyTorch's nn.ModuleDict. Keys must not contain "." nor shadow a property or
 * method of the dict. It has no forward: look modules up with `get`.
 * @example
 * const heads = new nn.ModuleDict({ cls: new nn.Linear(8, 3), box: new nn.Linear(8, 4) });
 * heads.get("box").forward(randn(2, 8)).shape; // [2, 4]
 * heads.keys(); // ["cls", "box"]
 */
export class ModuleDict extends Module implements Iterable<string> {
  #keys: string[] = [];

  constructor(modules: ModuleDictInput = {}) {
    super();
    this.update(modules);
  }

  /** Number of modules. */
  get size(): number {
    return this.#keys.length;
  }

  #self(): Record<string, Module> {
    return this as unknown as Record<string, Module>;
  }

  has(key: string): boolean {
    return this.#keys.includes(key);
  }

  get(key: string): Module {
    if (!this.has(key)) throw new Error(`[ModuleDict.get] no module under key ${JSON.stringify(key)}; keys are ${JSON.stringify(this.#keys)}`);
    return this.#self()[key];
  }

  /** Add a module under key (at the end), or replace the one there (keeping its place). */
  set(key: string, m: Module): this {
    checkModule("ModuleDict.set", m);
    if (typeof key !== "string" || key === "" || key.includes(".")) {
      throw new Error(`[ModuleDict.set] key must be a non-empty string without ".", got ${JSON.stringify(key)}`);
    }
    if (this.has(key)) {
      this.#self()[key] = m;
      return this;
    }
    if (key in this) throw new Error(`[ModuleDict.set] attribute '${key}' already exists; choose another key`);
    this.#self()[key] = m;
    // JS lists integer-like property names first, whatever their insertion order; children must stay in
    // insertion order (namedParameters, stateDict and toString follow it), so such a key must come last anyway
    const order = Object.keys(this).filter((k) => k === key || this.#keys.includes(k));
    if (order[order.length - 1] !== key) {
      delete this.#self()[key];
      throw new Error(`[ModuleDict.set] key '${key}' is integer-like, and JS orders such keys before the existing ones ${JSON.stringify(this.#keys)}; use a key that is not an integer`);
    }
    this.#keys.push(key);
    return this;
  }

  /** Remove and return the module under key. */
  pop(key: string): Module {
    const m = this.get(key);
    delete this.#self()[key];
    this.#keys.splice(this.#keys.indexOf(key), 1);
    return m;
  }

  clear(): void {
    for (const k of this.#keys.slice()) this.pop(k);
  }

  /** Add or replace every entry of a record, an iterable of [key, module] pairs, or another ModuleDict. */
  update(modules: ModuleDictInput): this {
    if (modules === null || typeof modules !== "object") throw new Error(`[ModuleDict.update] expected an object or iterable of [key, Module] pairs, got ${describe(modules)}`);
    const entries = modules instanceof ModuleDict ? modules.items()
      : Symbol.iterator in modules ? [...(modules as Iterable<[string, Module]>)] : Object.entries(modules as Record<string, Module>);
    for (const e of entries) {
      if (!Array.isArray(e) || e.length !== 2) throw new Error(`[ModuleDict.update] expected [key, Module] pairs, got ${describe(e)}`);
      this.set(e[0], e[1]);
    }
    return this;
  }

  keys(): string[] {
    return this.#keys.slice();
  }

  values(): Module[] {
    return this.#keys.map((k) => this.#self()[k]);
  }

  items(): [string, Module][] {
    return this.#keys.map((k) => [k, this.#self()[k]]);
  }

  /** Iterates over the keys, as Python's dict. */
  [Symbol.iterator](): Iterator<string> {
    return this.keys()[Symbol.iterator]();
  }

  forward(): never {
    throw new Error("[ModuleDict] a ModuleDict has no forward; look modules up with get(key)");
  }
}
