// Optimizer base class: parameter groups, lazily created per-parameter state, zeroGrad and state dicts.
import { Tensor } from "../tensor.js";
import { allocStorage, isFloating, type Storage } from "../dtype.js";
import { fmtShape, shapesEqual } from "../shape.js";
import { enableGrad, noGrad } from "../autograd/grad_mode.js";

/** Storage of a floating-point tensor, which the fused update loops read and write directly. */
export type FloatStorage = Float32Array | Float64Array;

/** Hyper-parameters every optimizer has. */
export interface OptimizerOptions {
  lr: number;
}

/**
 * A parameter group: its tensors, its hyper-parameters (every default, overridable per group) and any extra
 * keys the caller or a scheduler stores on it (OneCycleLR's `maxLr`, the schedulers' `initialLr`, ...).
 */
export type ParamGroup<O extends OptimizerOptions = OptimizerOptions> = O & {
  params: Tensor[];
  [extra: string]: unknown;
};

/** A parameter group as given to a constructor or `addParamGroup`: tensors plus per-group overrides. */
export type ParamGroupInput<O extends OptimizerOptions = OptimizerOptions> = Partial<O> & {
  params: Iterable<Tensor> | Tensor;
  [extra: string]: unknown;
};

/** What an optimizer constructor takes: tensors (one group) or parameter groups. */
export type Params<O extends OptimizerOptions = OptimizerOptions> = Iterable<Tensor> | Iterable<ParamGroupInput<O>>;

/**
 * PyTorch's optimizer state-dict layout with camelCase state keys:
 * `{ state: { 0: { step: 3, expAvg: Tensor, ... } }, paramGroups: [{ lr: 0.001, ..., params: [0, 1] }] }`.
 * Parameters are numbered in group order; only parameters that have state appear in `state`. `step` is a
 * number (PyTorch keeps a 0-d tensor; a 0-d tensor is accepted on load). Tensors are copies.
 */
export interface OptimizerStateDict {
  state: Record<number, Record<string, unknown>>;
  paramGroups: (Record<string, unknown> & { params: number[] })[];
}

/**
 * Merge constructor options over an optimizer's defaults. Unknown keys are errors, so a PyTorch-style
 * `weight_decay` is not silently ignored; `undefined` values keep the default.
 */
export function resolveOptions<O extends object>(op: string, opts: Partial<O>, defaults: O): O {
  if (opts === null || typeof opts !== "object") throw new Error(`[${op}] options must be an object, got ${opts === null ? "null" : typeof opts}`);
  const out: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  for (const [k, v] of Object.entries(opts)) {
    if (!(k in defaults)) throw new Error(`[${op}] unknown option '${k}'; expected one of ${Object.keys(defaults).join(", ")}`);
    if (v !== undefined) out[k] = v;
  }
  return out as O;
}

/** Throw PyTorch's "invalid value" error unless every named option is a number >= 0. */
export function checkNonNegative<O extends object>(op: string, opts: O, ...keys: (keyof O & string)[]): void {
  for (const k of keys) {
    const v = opts[k];
    if (typeof v !== "number" || !(v >= 0)) throw new Error(`[${op}] invalid ${k}: ${String(v)} (expected a number >= 0)`);
  }
}

/** True when t has the given shape and its elements are exactly buf[0..numel) in row-major order. */
export function isDenseAs(t: Tensor, shape: readonly number[]): boolean {
  const s = t.shape, st = t.strides;
  if (t.offset !== 0 || s.length !== shape.length) return false;
  let expected = 1;
  for (let d = s.length - 1; d >= 0; d--) {
    if (s[d] !== shape[d] || (s[d] !== 1 && st[d] !== expected)) return false;
    expected *= s[d];
  }
  return true;
}

/** A new zero-filled dense tensor with p's shape and dtype (optimizer state buffers). */
export function zerosFor(p: Tensor, fill = 0): Tensor {
  const buf = allocStorage(p.dtype, p.numel());
  if (fill !== 0) buf.fill(fill);
  return Tensor.fromStorage(buf, p.shape.slice());
}

/** A dense copy of t in the given dtype, cut from the graph. */
function denseCopy(t: Tensor, like: Tensor): Tensor {
  return Tensor.fromStorage(t.detach().to(like.dtype).toTypedArray(), like.shape.slice());
}

/** Deep copy of a plain state or group value (numbers, booleans, strings, null, arrays, Tensors). */
function copyValue(v: unknown): unknown {
  if (v instanceof Tensor) return Tensor.fromStorage(v.detach().toTypedArray(), v.shape.slice());
  if (Array.isArray(v)) return v.map(copyValue);
  return v;
}

/**
 * Base class of all optimizers, like `torch.optim.Optimizer`. Subclasses implement `update`, one fused
 * in-place pass over a parameter's storage (see kernels.ts), and `initState`, the per-parameter state created
 * on a parameter's first step.
 * @example
 * const opt = new Adam(model.parameters(), { lr: 1e-3 });
 * opt.zeroGrad();
 * loss.backward();
 * opt.step();
 */
export abstract class Optimizer<O extends OptimizerOptions = OptimizerOptions, S extends object = object> {
  /** The constructor's hyper-parameters, used for every key a group does not set. */
  readonly defaults: O;
  /** Parameter groups; schedulers change `lr` (and momentum) here between steps. */
  paramGroups: ParamGroup<O>[] = [];
  /** Per-parameter state (step counts, moment buffers), created on a parameter's first step. */
  state = new Map<Tensor, S>();

  constructor(params: Params<O>, defaults: O) {
    this.defaults = defaults;
    if (params instanceof Tensor) {
      throw new Error(`[${this.name}] params must be an iterable of Tensors or parameter groups, got a single Tensor; wrap it in an array`);
    }
    const list = Array.from(params as Iterable<Tensor | ParamGroupInput<O>>);
    if (list.length === 0) throw new Error(`[${this.name}] optimizer got an empty parameter list`);
    const groups = list[0] instanceof Tensor ? [{ params: list as Tensor[] } as unknown as ParamGroupInput<O>] : (list as ParamGroupInput<O>[]);
    for (const g of groups) this.addParamGroup(g);
  }

  /** The class name, used to prefix errors. */
  protected get name(): string {
    return this.constructor.name;
  }

  /**
   * Update one parameter in place: `param` and `grad` hold its `n` elements as dense storage of its dtype
   * (for a strided parameter, a copy written back afterwards); `f32` tells whether to round as float32.
   */
  protected abstract update(param: FloatStorage, grad: FloatStorage, n: number, state: S, group: ParamGroup<O>, p: Tensor, f32: boolean): void;
  /** The state of a parameter before its first step. */
  protected abstract initState(p: Tensor, group: ParamGroup<O>): S;

  /**
   * Add a parameter group, filling unset hyper-parameters from the defaults (e.g. to unfreeze layers while
   * training). A parameter may belong to only one group.
   */
  addParamGroup(input: ParamGroupInput<O>): void {
    if (input === null || typeof input !== "object" || !("params" in input)) {
      throw new Error(`[${this.name}] a parameter group must be an object with a 'params' key`);
    }
    const params = input.params instanceof Tensor ? [input.params] : Array.from(input.params);
    const index = this.paramGroups.length;
    for (const p of params) {
      if (!(p instanceof Tensor)) throw new Error(`[${this.name}] optimizer can only optimize Tensors, but parameter group ${index} holds ${typeof p}`);
      if (!p.isLeaf) throw new Error(`[${this.name}] can't optimize a non-leaf Tensor (shape ${fmtShape(p.shape)}); pass parameters, not results of operations`);
      if (!isFloating(p.dtype)) throw new Error(`[${this.name}] can only optimize floating-point tensors, got ${p.dtype}`);
    }
    if (new Set(params).size !== params.length) throw new Error(`[${this.name}] parameter group ${index} contains a parameter more than once`);
    for (const g of this.paramGroups) {
      if (g.params.some((p) => params.includes(p))) throw new Error(`[${this.name}] some parameters appear in more than one parameter group`);
    }
    const group = { ...this.defaults, ...input, params } as ParamGroup<O>;
    for (const [key, value] of Object.entries(group)) {
      if (value === undefined) throw new Error(`[${this.name}] parameter group ${index} has no value for '${key}'`);
    }
    this.paramGroups.push(group);
  }

  /**
   * Clear the gradients of all parameters: set them to null (default, as PyTorch 2) or fill them with zeros.
   * Either way an optimizer skips a parameter whose grad is null but steps one whose grad is zero.
   */
  zeroGrad({ setToNone = true }: { setToNone?: boolean } = {}): void {
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        if (p.grad === null) continue;
        if (setToNone) {
          p.grad = null;
        } else {
          // A grad built with createGraph is part of a graph; detach it (torch's detach_) before zeroing in place.
          if (p.grad.requiresGrad || p.grad.gradFn !== null) p.grad = p.grad.detach();
          const g = p.grad;
          if (isDenseAs(g, g.shape)) g.buf.fill(0, 0, g.numel());
          else noGrad(() => g.zero_());
        }
      }
    }
  }

  /**
   * One optimization step over every group. A closure, if given, is called first with grad mode on (it
   * should zero the grads, recompute the loss and call backward) and its result is returned.
   */
  step<L = undefined>(closure?: () => L): L | undefined {
    const loss = closure === undefined ? undefined : enableGrad(closure);
    for (const group of this.paramGroups) {
      const params = group.params;
      // Indexed loops and no per-parameter allocation: this runs thousands of times per epoch.
      for (let i = 0; i < params.length; i++) {
        const p = params[i], g = p.grad;
        if (g === null) continue;
        const inPlace = isDenseAs(p, p.shape);
        const pb = (inPlace ? p.buf : p.toTypedArray()) as FloatStorage;
        const gb = (g.dtype === p.dtype && isDenseAs(g, p.shape) ? g.buf : this.gradCopy(p, g)) as FloatStorage;
        this.update(pb, gb, p.numel(), this.stateOf(p, group), group, p, pb instanceof Float32Array);
        if (!inPlace) noGrad(() => p.copy_(Tensor.fromStorage(pb, p.shape.slice())));
      }
    }
    return loss;
  }

  /** The state of p, created on its first step. */
  private stateOf(p: Tensor, group: ParamGroup<O>): S {
    let st = this.state.get(p);
    if (st === undefined) {
      st = this.initState(p, group);
      this.state.set(p, st);
    }
    return st;
  }

  /** A dense copy of a strided gradient, after checking that it fits the parameter. */
  private gradCopy(p: Tensor, g: Tensor): Storage {
    if (g.dtype !== p.dtype) throw new Error(`[${this.name}] gradient dtype ${g.dtype} does not match parameter dtype ${p.dtype}`);
    if (!shapesEqual(g.shape, p.shape)) throw new Error(`[${this.name}] gradient shape ${fmtShape(g.shape)} does not match parameter shape ${fmtShape(p.shape)}`);
    return g.toTypedArray();
  }

  // ---- state dicts ---------------------------------------------------------------------------------
  /** The optimizer's state in PyTorch's layout (see {@link OptimizerStateDict}); tensors are copies. */
  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    const paramGroups = this.paramGroups.map((g) => {
      const packed: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(g)) if (k !== "params") packed[k] = copyValue(v);
      const ids = g.params.map((p) => {
        if (!index.has(p)) index.set(p, index.size);
        return index.get(p)!;
      });
      return { ...packed, params: ids };
    });
    const state: Record<number, Record<string, unknown>> = {};
    for (const [p, st] of this.state) {
      const id = index.get(p);
      if (id === undefined) continue;
      const entry: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(st)) entry[k] = copyValue(v);
      state[id] = entry;
    }
    return { state, paramGroups };
  }

  /**
   * Restore a state dict from `stateDict()` (e.g. to resume training): groups' hyper-parameters and every
   * parameter's state, matched by position. Checks group and parameter counts, state keys and buffer
   * shapes, and changes nothing if a check fails. Tensors are copied and cast to the parameter's dtype.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    if (sd === null || typeof sd !== "object" || !Array.isArray(sd.paramGroups) || sd.state === null || typeof sd.state !== "object") {
      throw new Error("[loadStateDict] expected an object { state, paramGroups } as returned by stateDict()");
    }
    const groups = this.paramGroups;
    const saved = sd.paramGroups;
    if (saved.length !== groups.length) {
      throw new Error(`[loadStateDict] the state dict has ${saved.length} parameter group(s) but the optimizer has ${groups.length}`);
    }
    const byId = new Map<number, { p: Tensor; group: number }>();
    saved.forEach((sg, gi) => {
      if (!Array.isArray(sg.params) || sg.params.length !== groups[gi].params.length) {
        throw new Error(`[loadStateDict] parameter group ${gi} has ${Array.isArray(sg.params) ? sg.params.length : "no"} parameter(s) in the state dict but ${groups[gi].params.length} in the optimizer`);
      }
      for (const key of Object.keys(this.defaults)) {
        if (!(key in sg)) throw new Error(`[loadStateDict] parameter group ${gi} lacks '${key}' (keys are camelCase, as ${this.name}'s options)`);
      }
      sg.params.forEach((id, j) => byId.set(id, { p: groups[gi].params[j], group: gi }));
    });
    const newGroups = saved.map((sg, gi) => {
      const g: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(sg)) if (k !== "params") g[k] = copyValue(v);
      return { ...g, params: groups[gi].params } as ParamGroup<O>;
    });
    const newState = new Map<Tensor, S>();
    for (const [id, entry] of Object.entries(sd.state)) {
      const target = byId.get(Number(id));
      if (target === undefined) throw new Error(`[loadStateDict] the state dict has state for parameter ${id}, which no parameter group lists`);
      newState.set(target.p, this.loadEntry(id, entry, target.p, newGroups[target.group]));
    }
    this.paramGroups = newGroups;
    this.state = newState;
  }

  /** Check one parameter's saved state against the state this optimizer would create, and copy it. */
  private loadEntry(id: string, entry: Record<string, unknown>, p: Tensor, group: ParamGroup<O>): S {
    const template = this.initState(p, group) as Record<string, unknown>;
    for (const [key, t] of Object.entries(template)) {
      const v = entry[key];
      const ok = t instanceof Tensor ? v instanceof Tensor : typeof t === "number" ? typeof v === "number" || v instanceof Tensor : v === null || v instanceof Tensor;
      if (!ok) throw new Error(`[loadStateDict] state of parameter ${id} has ${v === undefined ? "no" : `an invalid (${typeof v})`} '${key}' for ${this.name}`);
    }
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(entry)) {
      if (v instanceof Tensor && typeof template[key] === "number") {
        out[key] = v.item();
      } else if (v instanceof Tensor) {
        if (!shapesEqual(v.shape, p.shape)) {
          throw new Error(`[loadStateDict] state '${key}' of parameter ${id} has shape ${fmtShape(v.shape)} but the parameter has shape ${fmtShape(p.shape)}`);
        }
        out[key] = denseCopy(v, p);
      } else {
        out[key] = copyValue(v);
      }
    }
    return out as S;
  }
}
