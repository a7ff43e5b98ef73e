// Module, the base of every layer and model, and Parameter, the tensor type a Module owns and trains.
import { Tensor } from "../tensor.js";
import { isFloating, type DType } from "../dtype.js";
import { fmtShape } from "../shape.js";
import { noGrad } from "../autograd/grad_mode.js";
import { describe } from "./helpers.js";

/** A tensor that a Module registers as a trainable parameter (a leaf that requires grad by default). */
export type Parameter = Tensor;

/** `Parameter(t)` and `new Parameter(t)` both work, as `nn.Parameter(t)` in PyTorch; `instanceof` works too. */
export interface ParameterConstructor {
  new (data: Tensor, requiresGrad?: boolean): Parameter;
  (data: Tensor, requiresGrad?: boolean): Parameter;
}

/**
 * Wrap a tensor as a parameter: same storage, a leaf, `requiresGrad` true unless told otherwise.
 * NOTE: a parameter is a plain Tensor flagged `isParameter`, not a subclass: a subclass gives V8 a second
 * object shape for every op to handle, and code optimised before the first parameter arrived deoptimised.
 * @example
 * class Scale extends nn.Module {
 *   s = nn.Parameter(ones([1]));
 *   forward(x: Tensor): Tensor { return x.mul(this.s); }
 * }
 */
export const Parameter = function Parameter(data: Tensor, requiresGrad = true): Parameter {
  if (!(data instanceof Tensor)) throw new Error(`[Parameter] expected a Tensor, got ${describe(data)}`);
  // shares data's storage, as torch.nn.Parameter does, but starts a fresh leaf
  const p = new Tensor(data.buf, data.shape.slice(), data.strides.slice(), data.offset, data.dtype);
  p.isParameter = true;
  if (requiresGrad) p.requiresGrad_(true);
  return p;
} as unknown as ParameterConstructor;
Object.defineProperty(Parameter, Symbol.hasInstance, { value: (v: unknown) => v instanceof Tensor && v.isParameter });

export interface LoadStateDictResult { missingKeys: string[]; unexpectedKeys: string[] }

type Slot = [name: string, value: unknown];

/**
 * Base class of layers and models, like `torch.nn.Module`. Parameters and submodules are found by walking the
 * instance's own enumerable properties in definition order: a `Parameter` is a parameter, a `Module` a child,
 * and an array of them is numbered (`blocks.0.weight`, as an `nn.ModuleList`). Buffers are tensors registered
 * with `registerBuffer`. JS classes are not callable, so `model.forward(x)` (or `model.call(x)`) runs it.
 * @example
 * class NeuralNetwork extends nn.Module {
 *   layer1 = new nn.Linear(2, 10);
 *   relu = new nn.ReLU();
 *   layer2 = new nn.Linear(10, 1);
 *   forward(x: Tensor): Tensor {
 *     return this.layer2.forward(this.relu.forward(this.layer1.forward(x)));
 *   }
 * }
 * const model = new NeuralNetwork();
 * model.forward(randn(16, 2)).shape; // [16, 1]
 * Object.keys(model.stateDict()); // ["layer1.weight", "layer1.bias", "layer2.weight", "layer2.bias"]
 */
export abstract class Module {
  /** True in training mode (Dropout drops), false after `eval()`. */
  training = true;
  // buffer name -> persistent (part of stateDict); a JS private field so the property walk never sees it
  readonly #buffers = new Map<string, boolean>();

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each subclass narrows its own signature
  abstract forward(...args: any[]): any;

  /** Alias of `forward`, for code that reads like PyTorch's `model(x)`. */
  call(...args: Parameters<this["forward"]>): ReturnType<this["forward"]> {
    return this.forward(...args);
  }

  /** One-line settings shown inside the parentheses by `toString` (`in_features=2, ...`). */
  extraRepr(): string {
    return "";
  }

  // ---- registration -------------------------------------------------------------------------------

  /**
   * Register a tensor that is state but not a parameter (running statistics, constant weights). It becomes the
   * property `this[name]`; `persistent: false` keeps it out of `stateDict`. `null` registers an empty slot.
   */
  registerBuffer(name: string, tensor: Tensor | null, opts: { persistent?: boolean } = {}): void {
    if (typeof name !== "string" || name === "" || name.includes(".")) {
      throw new Error(`[registerBuffer] buffer name must be a non-empty string without ".", got ${JSON.stringify(name)}`);
    }
    if (tensor !== null && !(tensor instanceof Tensor)) throw new Error(`[registerBuffer] cannot assign ${describe(tensor)} as buffer '${name}' (Tensor or null required)`);
    if (tensor instanceof Parameter) throw new Error(`[registerBuffer] '${name}' is a Parameter; assign it as a property to register a parameter`);
    const self = this as unknown as Record<string, unknown>;
    if (name in self && !this.#buffers.has(name)) throw new Error(`[registerBuffer] attribute '${name}' already exists`);
    this.#buffers.set(name, opts.persistent ?? true);
    self[name] = tensor;
  }

  // ---- walking the tree ---------------------------------------------------------------------------

  /** Own properties holding a Parameter or Module, arrays expanded to `name.i`. */
  #slots(): Slot[] {
    const out: Slot[] = [];
    for (const key of Object.keys(this)) {
      const v = (this as unknown as Record<string, unknown>)[key];
      if (v instanceof Parameter || v instanceof Module) out.push([key, v]);
      else if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          if (v[i] instanceof Parameter || v[i] instanceof Module) out.push([`${key}.${i}`, v[i]]);
        }
      }
    }
    return out;
  }

  #ownParameters(): [string, Parameter][] {
    return this.#slots().filter((s): s is [string, Parameter] => s[1] instanceof Parameter);
  }

  #ownBuffers(persistentOnly: boolean): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [name, persistent] of this.#buffers) {
      const t = (this as unknown as Record<string, unknown>)[name];
      if (t instanceof Tensor && (persistent || !persistentOnly)) out.push([name, t]);
    }
    return out;
  }

  /** Direct submodules with their names, each module once. */
  namedChildren(): [string, Module][] {
    const seen = new Set<Module>();
    const out: [string, Module][] = [];
    for (const [name, v] of this.#slots()) {
      if (v instanceof Module && !seen.has(v)) {
        seen.add(v);
        out.push([name, v]);
      }
    }
    return out;
  }

  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** This module (name "") and every descendant, depth first, each module once. */
  namedModules(prefix = ""): [string, Module][] {
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    const visit = (m: Module, name: string) => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([name, m]);
      for (const [childName, child] of m.#slots()) {
        if (child instanceof Module) visit(child, name ? `${name}.${childName}` : childName);
      }
    };
    visit(this, prefix);
    return out;
  }

  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** Every parameter with its dotted path (`layer1.weight`), each tensor once (first name wins). */
  namedParameters(): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    const seen = new Set<Tensor>();
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, p] of m.#ownParameters()) {
        if (seen.has(p)) continue;
        seen.add(p);
        out.push([prefix ? `${prefix}.${name}` : name, p]);
      }
    }
    return out;
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Every buffer (persistent or not) with its dotted path, each tensor once. */
  namedBuffers(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, b] of m.#ownBuffers(false)) {
        if (seen.has(b)) continue;
        seen.add(b);
        out.push([prefix ? `${prefix}.${name}` : name, b]);
      }
    }
    return out;
  }

  buffers(): Tensor[] {
    return this.namedBuffers().map(([, b]) => b);
  }

  /** The live tensors behind stateDict keys: parameters then persistent buffers, then each child's, as PyTorch. */
  #stateEntries(prefix: string, out: [string, Tensor][]): [string, Tensor][] {
    for (const [name, p] of this.#ownParameters()) out.push([prefix + name, p]);
    for (const [name, b] of this.#ownBuffers(true)) out.push([prefix + name, b]);
    for (const [name, child] of this.#slots()) {
      if (child instanceof Module) child.#stateEntries(`${prefix}${name}.`, out);
    }
    return out;
  }

  // ---- modes and gradients ------------------------------------------------------------------------

  /** Set training mode on this module and every descendant. */
  train(mode = true): this {
    if (typeof mode !== "boolean") throw new Error(`[train] training mode is expected to be boolean, got ${describe(mode)}`);
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** Evaluation mode: `train(false)`. */
  eval(): this {
    return this.train(false);
  }

  /** Drop every parameter's gradient (set to null, as PyTorch's default `set_to_none=True`). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** Turn gradient tracking of every parameter on or off (freezing). */
  requiresGrad_(requiresGrad = true): this {
    for (const p of this.parameters()) p.requiresGrad_(requiresGrad);
    return this;
  }

  /** Call fn on every descendant (children first) and then on this module, as PyTorch's `apply`. */
  apply(fn: (m: Module) => void): this {
    for (const child of this.children()) child.apply(fn);
    fn(this);
    return this;
  }

  /** Cast floating-point parameters, their gradients and buffers in place (same Parameter objects). */
  to(dtype: DType): this {
    if (!isFloating(dtype)) throw new Error(`[Module.to] only floating point dtypes are accepted, got ${dtype}`);
    noGrad(() => {
      for (const t of [...this.parameters(), ...this.buffers()]) {
        if (!isFloating(t.dtype)) continue;
        t.data = t.data.to(dtype);
        if (t.grad) t.grad = t.grad.to(dtype);
      }
    });
    return this;
  }

  double(): this {
    return this.to("float64");
  }

  float(): this {
    return this.to("float32");
  }

  // ---- state dicts --------------------------------------------------------------------------------

  /**
   * Parameters and persistent buffers under PyTorch's keys (`layer1.weight`, `0.bias` in a Sequential), as
   * detached tensors sharing storage with the model: clone them to keep a snapshot.
   */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [k, t] of this.#stateEntries("", [])) out[k] = t.detach();
    return out;
  }

  /**
   * Copy values into the parameters and buffers in place (casting to their dtype). Missing and unexpected
   * keys are errors unless `strict: false`; shape mismatches always are. Nothing is copied when it throws.
   */
  loadStateDict(stateDict: Record<string, Tensor>, opts: { strict?: boolean } = {}): LoadStateDictResult {
    const strict = opts.strict ?? true;
    if (stateDict === null || typeof stateDict !== "object") throw new Error(`[loadStateDict] expected an object of tensors, got ${describe(stateDict)}`);
    const entries = this.#stateEntries("", []);
    const expected = new Set(entries.map(([k]) => k));
    const missingKeys: string[] = [];
    const mismatches: string[] = [];
    const copies: [Tensor, Tensor][] = [];
    for (const [k, target] of entries) {
      if (!Object.prototype.hasOwnProperty.call(stateDict, k)) {
        missingKeys.push(k);
        continue;
      }
      const v = stateDict[k];
      if (!(v instanceof Tensor)) {
        mismatches.push(`While copying the parameter named "${k}", expected a Tensor from checkpoint but received ${describe(v)}.`);
      } else if (v.ndim !== target.ndim || v.shape.some((s, i) => s !== target.shape[i])) {
        mismatches.push(`size mismatch for ${k}: copying a param with shape ${fmtShape(v.shape)} from checkpoint, the shape in current model is ${fmtShape(target.shape)}.`);
      } else {
        copies.push([target, v]);
      }
    }
    const unexpectedKeys = Object.keys(stateDict).filter((k) => !expected.has(k));
    const errors: string[] = [];
    if (strict && missingKeys.length) errors.push(`Missing key(s) in stateDict: ${missingKeys.map((k) => `"${k}"`).join(", ")}. `);
    if (strict && unexpectedKeys.length) errors.push(`Unexpected key(s) in stateDict: ${unexpectedKeys.map((k) => `"${k}"`).join(", ")}. `);
    errors.push(...mismatches);
    if (errors.length) {
      throw new Error(`[loadStateDict] Error(s) in loading stateDict for ${this.constructor.name}:\n\t${errors.join("\n\t")}`);
    }
    noGrad(() => {
      for (const [target, v] of copies) target.copy_(v);
    });
    return { missingKeys, unexpectedKeys };
  }

  // ---- printing -----------------------------------------------------------------------------------

  /** The module tree exactly as PyTorch's `print(model)`. */
  toString(): string {
    const childLines: string[] = [];
    for (const key of Object.keys(this)) {
      const v = (this as unknown as Record<string, unknown>)[key];
      if (v instanceof Module) childLines.push(`(${key}): ${indent(v.toString())}`);
      else if (Array.isArray(v) && v.some((e) => e instanceof Module)) {
        // printed as the nn.ModuleList PyTorch would hold
        const items = v.flatMap((e, i) => (e instanceof Module ? [`(${i}): ${indent(e.toString())}`] : []));
        childLines.push(`(${key}): ${indent(block("ModuleList", [], items))}`);
      }
    }
    const extra = this.extraRepr();
    return block(this.constructor.name, extra ? extra.split("\n") : [], childLines);
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

/** PyTorch's Module.__repr__ layout: one line when there is a single extra line and no children. */
function block(name: string, extraLines: string[], childLines: string[]): string {
  const lines = [...extraLines, ...childLines];
  if (lines.length === 0) return `${name}()`;
  if (extraLines.length === 1 && childLines.length === 0) return `${name}(${extraLines[0]})`;
  return `${name}(\n  ${lines.join("\n  ")}\n)`;
}

/** Indent every line but the first by two spaces (PyTorch's _addindent). */
function indent(s: string): string {
  return s.split("\n").join("\n  ");
}
