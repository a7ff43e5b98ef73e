// Learning-rate schedulers, as torch.optim.lr_scheduler (PyTorch 1.13's recursive get_lr formulas).
import type { Tensor } from "../tensor.js";
import { Optimizer, resolveOptions, type OptimizerOptions, type ParamGroup } from "./optimizer.js";

/** Any optimizer: schedulers only read and write its groups' `lr` (and momentum / betas). */
type AnyOptimizer = Optimizer<OptimizerOptions, object>;

/**
 * A scheduler's state: its own fields (camelCase: `lastEpoch`, `baseLrs`, `stepCount`, `lastLr`, and its
 * hyper-parameters), everything PyTorch's `state_dict()` holds except the optimizer.
 */
export type SchedulerStateDict = Record<string, unknown>;

function checkOptimizer(op: string, optimizer: unknown): void {
  if (!(optimizer instanceof Optimizer)) throw new Error(`[${op}] expected an Optimizer, got ${optimizer === null ? "null" : typeof optimizer}`);
}

/** Merge options over defaults and insist on those without a default (undefined). */
function options<O extends object>(op: string, opts: Partial<O>, defaults: O): O {
  const o = resolveOptions(op, opts, defaults);
  for (const [k, v] of Object.entries(o)) if (v === undefined) throw new Error(`[${op}] option '${k}' is required`);
  return o;
}

function stateOf(obj: object): SchedulerStateDict {
  const out: SchedulerStateDict = {};
  for (const [k, v] of Object.entries(obj)) if (k !== "optimizer") out[k] = structuredClone(v);
  return out;
}

function loadState(op: string, obj: object, sd: SchedulerStateDict): void {
  if (sd === null || typeof sd !== "object") throw new Error(`[loadStateDict] expected ${op}'s state dict object, got ${sd === null ? "null" : typeof sd}`);
  const own = obj as Record<string, unknown>;
  for (const [k, v] of Object.entries(sd)) {
    if (k === "optimizer" || !(k in own)) throw new Error(`[loadStateDict] unknown key '${k}' for ${op}`);
    if (typeof v !== typeof own[k] || Array.isArray(v) !== Array.isArray(own[k])) {
      throw new Error(`[loadStateDict] '${k}' of ${op} should be ${Array.isArray(own[k]) ? "an array" : `a ${typeof own[k]}`}, got ${JSON.stringify(v)}`);
    }
  }
  for (const [k, v] of Object.entries(sd)) own[k] = structuredClone(v);
}

/**
 * Base class of the epoch-based schedulers, like PyTorch's `_LRScheduler`: construction performs step 0,
 * each `step()` (after `optimizer.step()`) advances `lastEpoch` and writes new learning rates into the
 * optimizer's groups. Subclasses implement `getLr`, PyTorch's chainable (recursive) form.
 * @example
 * const opt = new SGD(model.parameters(), { lr: 0.1 });
 * const sched = new lrScheduler.CosineAnnealingLR(opt, { tMax: epochs });
 * for (let epoch = 0; epoch < epochs; epoch++) {
 *   trainOneEpoch(model, opt); // calls opt.step() per batch
 *   sched.step();
 *   console.log(sched.getLastLr());
 * }
 */
export abstract class LRScheduler {
  readonly optimizer: AnyOptimizer;
  /** Each group's `initialLr`. */
  baseLrs: number[];
  /** Index of the last step taken (-1 before construction's initial step). */
  lastEpoch: number;
  /** Number of step() calls, construction's included (PyTorch's `_step_count`). */
  stepCount = 0;
  /** The groups' learning rates after the last step. */
  lastLr: number[] = [];

  /**
   * `lastEpoch` other than -1 resumes a schedule: the groups must then hold `initialLr` (as set by the
   * scheduler being resumed).
   */
  constructor(optimizer: AnyOptimizer, lastEpoch = -1) {
    checkOptimizer(new.target.name, optimizer);
    this.optimizer = optimizer;
    optimizer.paramGroups.forEach((g, i) => {
      if (lastEpoch === -1) g.initialLr ??= g.lr;
      else if (typeof g.initialLr !== "number") throw new Error(`[${new.target.name}] 'initialLr' is not specified in paramGroups[${i}] when resuming (lastEpoch ${lastEpoch})`);
    });
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr as number);
    this.lastEpoch = lastEpoch;
  }

  /** Take construction's step 0; called last by subclass constructors, once their fields are set. */
  protected initialStep(): void {
    this.stepCount = 0;
    this.step();
  }

  /** The learning rates for `lastEpoch`, from the groups' current ones. */
  protected abstract getLr(): number[];

  /** Advance the schedule by one epoch (or batch) and set the groups' learning rates. */
  step(): void {
    this.stepCount += 1;
    this.lastEpoch += 1;
    const values = this.getLr();
    const groups = this.optimizer.paramGroups;
    groups.forEach((g, i) => (g.lr = values[i]));
    this.lastLr = groups.map((g) => g.lr);
  }

  /** The learning rate of each group as of the last step. */
  getLastLr(): number[] {
    return this.lastLr.slice();
  }

  /** The scheduler's state (see {@link SchedulerStateDict}); plain data, deep-copied. */
  stateDict(): SchedulerStateDict {
    return stateOf(this);
  }

  /** Restore a state from `stateDict()`; unknown keys and mismatched types are errors. */
  loadStateDict(sd: SchedulerStateDict): void {
    loadState(this.constructor.name, this, sd);
  }

  protected get groups(): ParamGroup[] {
    return this.optimizer.paramGroups;
  }
}

/**
 * Multiply the learning rate by `gamma` every `stepSize` epochs.
 * @example
 * const sched = new lrScheduler.StepLR(opt, { stepSize: 30, gamma: 0.1 });
 * for (let epoch = 0; epoch < 100; epoch++) { train(); sched.step(); }
 */
export class StepLR extends LRScheduler {
  stepSize: number;
  gamma: number;

  constructor(optimizer: AnyOptimizer, opts: { stepSize: number; gamma?: number; lastEpoch?: number }) {
    const o = options("StepLR", opts, { stepSize: undefined as unknown as number, gamma: 0.1, lastEpoch: -1 });
    super(optimizer, o.lastEpoch);
    this.stepSize = o.stepSize;
    this.gamma = o.gamma;
    this.initialStep();
  }

  protected getLr(): number[] {
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * this.gamma);
  }
}

/**
 * Multiply the learning rate by `gamma` at each milestone epoch (a milestone listed twice applies twice).
 * @example
 * const sched = new lrScheduler.MultiStepLR(opt, { milestones: [30, 80], gamma: 0.1 });
 */
export class MultiStepLR extends LRScheduler {
  milestones: number[];
  gamma: number;

  constructor(optimizer: AnyOptimizer, opts: { milestones: number[]; gamma?: number; lastEpoch?: number }) {
    const o = options("MultiStepLR", opts, { milestones: undefined as unknown as number[], gamma: 0.1, lastEpoch: -1 });
    super(optimizer, o.lastEpoch);
    this.milestones = [...o.milestones].sort((a, b) => a - b);
    this.gamma = o.gamma;
    this.initialStep();
  }

  protected getLr(): number[] {
    const hits = this.milestones.filter((m) => m === this.lastEpoch).length;
    if (hits === 0) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * this.gamma ** hits);
  }
}

/**
 * Multiply the learning rate by `gamma` every epoch.
 * @example
 * const sched = new lrScheduler.ExponentialLR(opt, { gamma: 0.95 });
 */
export class ExponentialLR extends LRScheduler {
  gamma: number;

  constructor(optimizer: AnyOptimizer, opts: { gamma: number; lastEpoch?: number }) {
    const o = options("ExponentialLR", opts, { gamma: undefined as unknown as number, lastEpoch: -1 });
    super(optimizer, o.lastEpoch);
    this.gamma = o.gamma;
    this.initialStep();
  }

  protected getLr(): number[] {
    if (this.lastEpoch === 0) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * this.gamma);
  }
}

/**
 * Cosine annealing from the initial lr to `etaMin` over `tMax` epochs (SGDR without restarts), using
 * PyTorch's recursive form so the sequence matches it exactly, also when another scheduler changes lr.
 * @example
 * const sched = new lrScheduler.CosineAnnealingLR(opt, { tMax: 50, etaMin: 1e-5 });
 */
export class CosineAnnealingLR extends LRScheduler {
  tMax: number;
  etaMin: number;

  constructor(optimizer: AnyOptimizer, opts: { tMax: number; etaMin?: number; lastEpoch?: number }) {
    const o = options("CosineAnnealingLR", opts, { tMax: undefined as unknown as number, etaMin: 0, lastEpoch: -1 });
    super(optimizer, o.lastEpoch);
    this.tMax = o.tMax;
    this.etaMin = o.etaMin;
    this.initialStep();
  }

  protected getLr(): number[] {
    const { lastEpoch: e, tMax: T, etaMin } = this;
    if (e === 0) return this.groups.map((g) => g.lr);
    if (this.stepCount === 1 && e > 0) {
      return this.baseLrs.map((base) => etaMin + ((base - etaMin) * (1 + Math.cos((e * Math.PI) / T))) / 2);
    }
    if ((e - 1 - T) % (2 * T) === 0) {
      return this.groups.map((g, i) => g.lr + ((this.baseLrs[i] - etaMin) * (1 - Math.cos(Math.PI / T))) / 2);
    }
    return this.groups.map((g) => ((1 + Math.cos((Math.PI * e) / T)) / (1 + Math.cos((Math.PI * (e - 1)) / T))) * (g.lr - etaMin) + etaMin);
  }
}

/**
 * Scale the learning rate linearly from `startFactor` to `endFactor` times the initial lr over `totalIters`
 * epochs (a warm-up when startFactor < 1).
 * @example
 * const sched = new lrScheduler.LinearLR(opt, { startFactor: 0.1, totalIters: 5 });
 */
export class LinearLR extends LRScheduler {
  startFactor: number;
  endFactor: number;
  totalIters: number;

  constructor(optimizer: AnyOptimizer, opts: { startFactor?: number; endFactor?: number; totalIters?: number; lastEpoch?: number } = {}) {
    const o = options("LinearLR", opts, { startFactor: 1 / 3, endFactor: 1, totalIters: 5, lastEpoch: -1 });
    if (!(o.startFactor >= 0 && o.startFactor <= 1)) throw new Error(`[LinearLR] startFactor must be between 0 and 1, got ${o.startFactor}`);
    if (!(o.endFactor >= 0 && o.endFactor <= 1)) throw new Error(`[LinearLR] endFactor must be between 0 and 1, got ${o.endFactor}`);
    super(optimizer, o.lastEpoch);
    this.startFactor = o.startFactor;
    this.endFactor = o.endFactor;
    this.totalIters = o.totalIters;
    this.initialStep();
  }

  protected getLr(): number[] {
    const { lastEpoch: e, startFactor: s, endFactor: f, totalIters: n } = this;
    if (e === 0) return this.groups.map((g) => g.lr * s);
    if (e > n) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * (1 + (f - s) / (n * s + (e - 1) * (f - s))));
  }
}

export interface OneCycleLROptions {
  /** Peak learning rate (one per group, or one for all). */
  maxLr: number | number[];
  /** Length of the cycle in steps; or give `epochs` and `stepsPerEpoch`. */
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  /** Fraction of the cycle spent increasing the learning rate. */
  pctStart?: number;
  annealStrategy?: "cos" | "linear";
  /** Cycle momentum (SGD's `momentum`, Adam's beta1) inversely to the learning rate. */
  cycleMomentum?: boolean;
  baseMomentum?: number | number[];
  maxMomentum?: number | number[];
  /** initialLr = maxLr / divFactor. */
  divFactor?: number;
  /** minLr = initialLr / finalDivFactor. */
  finalDivFactor?: number;
  /** A third phase annihilates the learning rate to minLr (fast.ai's schedule) instead of a two-phase cycle. */
  threePhase?: boolean;
  lastEpoch?: number;
}

interface Phase { endStep: number; startLr: string; endLr: string; startMomentum: string; endMomentum: string }

/**
 * The 1cycle policy: learning rate up from maxLr/divFactor to maxLr, then down to a much smaller minimum,
 * with momentum cycled inversely; stepped after every batch. Sets `initialLr`, `maxLr`, `minLr` (and
 * `maxMomentum`, `baseMomentum`) on each group, as PyTorch.
 * @example
 * const sched = new lrScheduler.OneCycleLR(opt, { maxLr: 0.01, epochs: 10, stepsPerEpoch: loader.length });
 * // after each batch: opt.step(); sched.step();
 */
export class OneCycleLR extends LRScheduler {
  totalSteps: number;
  annealStrategy: "cos" | "linear";
  cycleMomentum: boolean;
  /** Adam-style optimizers cycle betas[0]; SGD-style ones `momentum`. */
  useBeta1: boolean;
  phases: Phase[];

  constructor(optimizer: AnyOptimizer, opts: OneCycleLROptions) {
    checkOptimizer("OneCycleLR", optimizer);
    const o = resolveOptions<OneCycleLROptions>("OneCycleLR", opts, {
      maxLr: undefined as unknown as number, totalSteps: undefined, epochs: undefined, stepsPerEpoch: undefined, pctStart: 0.3,
      annealStrategy: "cos", cycleMomentum: true, baseMomentum: 0.85, maxMomentum: 0.95, divFactor: 25, finalDivFactor: 1e4,
      threePhase: false, lastEpoch: -1,
    }) as Required<OneCycleLROptions>;
    if (o.maxLr === undefined) throw new Error("[OneCycleLR] option 'maxLr' is required");
    const positiveInt = (name: string, v: number) => {
      if (!(Number.isInteger(v) && v > 0)) throw new Error(`[OneCycleLR] expected a positive integer ${name}, got ${v}`);
      return v;
    };
    let totalSteps: number;
    if (o.totalSteps !== undefined) totalSteps = positiveInt("totalSteps", o.totalSteps);
    else if (o.epochs !== undefined && o.stepsPerEpoch !== undefined) totalSteps = positiveInt("epochs", o.epochs) * positiveInt("stepsPerEpoch", o.stepsPerEpoch);
    else throw new Error("[OneCycleLR] you must define either totalSteps or (epochs and stepsPerEpoch)");
    if (!(o.pctStart >= 0 && o.pctStart <= 1)) throw new Error(`[OneCycleLR] expected pctStart between 0 and 1, got ${o.pctStart}`);
    if (o.annealStrategy !== "cos" && o.annealStrategy !== "linear") throw new Error(`[OneCycleLR] annealStrategy must be 'cos' or 'linear', got ${String(o.annealStrategy)}`);
    const groups = optimizer.paramGroups;
    const perGroup = (name: string, v: number | number[]) => {
      if (!Array.isArray(v)) return groups.map(() => v);
      if (v.length !== groups.length) throw new Error(`[OneCycleLR] expected ${groups.length} values for ${name}, got ${v.length}`);
      return v;
    };
    const maxLrs = perGroup("maxLr", o.maxLr);
    if (o.lastEpoch === -1) {
      groups.forEach((g, i) => {
        const initialLr = maxLrs[i] / o.divFactor;
        g.initialLr = initialLr;
        g.maxLr = maxLrs[i];
        g.minLr = initialLr / o.finalDivFactor;
      });
    }
    const useBeta1 = "betas" in optimizer.defaults;
    if (o.cycleMomentum) {
      if (!("momentum" in optimizer.defaults) && !useBeta1) throw new Error("[OneCycleLR] optimizer must support momentum (or betas) with cycleMomentum enabled");
      const maxM = perGroup("maxMomentum", o.maxMomentum), baseM = perGroup("baseMomentum", o.baseMomentum);
      if (o.lastEpoch === -1) {
        groups.forEach((g, i) => {
          if (useBeta1) g.betas = [maxM[i], (g.betas as number[])[1]];
          else g.momentum = maxM[i];
          g.maxMomentum = maxM[i];
          g.baseMomentum = baseM[i];
        });
      }
    }
    super(optimizer, o.lastEpoch);
    this.totalSteps = totalSteps;
    this.annealStrategy = o.annealStrategy;
    this.cycleMomentum = o.cycleMomentum;
    this.useBeta1 = useBeta1;
    const pct = o.pctStart;
    this.phases = o.threePhase
      ? [
        { endStep: pct * totalSteps - 1, startLr: "initialLr", endLr: "maxLr", startMomentum: "maxMomentum", endMomentum: "baseMomentum" },
        { endStep: 2 * pct * totalSteps - 2, startLr: "maxLr", endLr: "initialLr", startMomentum: "baseMomentum", endMomentum: "maxMomentum" },
        { endStep: totalSteps - 1, startLr: "initialLr", endLr: "minLr", startMomentum: "maxMomentum", endMomentum: "maxMomentum" },
      ]
      : [
        { endStep: pct * totalSteps - 1, startLr: "initialLr", endLr: "maxLr", startMomentum: "maxMomentum", endMomentum: "baseMomentum" },
        { endStep: totalSteps - 1, startLr: "maxLr", endLr: "minLr", startMomentum: "baseMomentum", endMomentum: "maxMomentum" },
      ];
    this.initialStep();
  }

  private anneal(start: number, end: number, pct: number): number {
    if (this.annealStrategy === "cos") return end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);
    return (end - start) * pct + start;
  }

  protected getLr(): number[] {
    const stepNum = this.lastEpoch;
    if (stepNum > this.totalSteps) {
      throw new Error(`[OneCycleLR] tried to step ${stepNum + 1} times; the specified number of total steps is ${this.totalSteps}`);
    }
    return this.groups.map((g) => {
      let start = 0, lr = 0, momentum = 0;
      for (let i = 0; i < this.phases.length; i++) {
        const ph = this.phases[i];
        if (stepNum <= ph.endStep || i === this.phases.length - 1) {
          const pct = (stepNum - start) / (ph.endStep - start);
          lr = this.anneal(g[ph.startLr] as number, g[ph.endLr] as number, pct);
          if (this.cycleMomentum) momentum = this.anneal(g[ph.startMomentum] as number, g[ph.endMomentum] as number, pct);
          break;
        }
        start = ph.endStep;
      }
      if (this.cycleMomentum) {
        if (this.useBeta1) g.betas = [momentum, (g.betas as number[])[1]];
        else g.momentum = momentum;
      }
      return lr;
    });
  }
}

export interface ReduceLROnPlateauOptions {
  /** "min": the metric should decrease (a loss); "max": increase (an accuracy). */
  mode?: "min" | "max";
  /** New lr = lr * factor (< 1). */
  factor?: number;
  /** Epochs without improvement tolerated before reducing. */
  patience?: number;
  /** Minimum change that counts as an improvement, relative ("rel") or absolute ("abs"). */
  threshold?: number;
  thresholdMode?: "rel" | "abs";
  /** Epochs to wait after a reduction before counting bad epochs again. */
  cooldown?: number;
  /** Lower bound on each group's lr (one per group, or one for all). */
  minLr?: number | number[];
  /** Reductions smaller than eps are skipped. */
  eps?: number;
}

/**
 * Reduce the learning rate when a metric has stopped improving; `step(metric)` after each validation.
 * @example
 * const sched = new lrScheduler.ReduceLROnPlateau(opt, { mode: "min", factor: 0.5, patience: 5 });
 * for (let epoch = 0; epoch < 100; epoch++) { train(); sched.step(validate()); }
 */
export class ReduceLROnPlateau {
  readonly optimizer: AnyOptimizer;
  mode: "min" | "max";
  factor: number;
  patience: number;
  threshold: number;
  thresholdMode: "rel" | "abs";
  cooldown: number;
  minLrs: number[];
  eps: number;
  /** Best metric so far (±Infinity before the first step). */
  best: number;
  numBadEpochs = 0;
  cooldownCounter = 0;
  lastEpoch = 0;
  lastLr: number[];

  constructor(optimizer: AnyOptimizer, opts: ReduceLROnPlateauOptions = {}) {
    checkOptimizer("ReduceLROnPlateau", optimizer);
    const o = resolveOptions<Required<ReduceLROnPlateauOptions>>("ReduceLROnPlateau", opts, {
      mode: "min", factor: 0.1, patience: 10, threshold: 1e-4, thresholdMode: "rel", cooldown: 0, minLr: 0, eps: 1e-8,
    });
    if (!(o.factor < 1)) throw new Error(`[ReduceLROnPlateau] factor should be < 1.0, got ${o.factor}`);
    if (o.mode !== "min" && o.mode !== "max") throw new Error(`[ReduceLROnPlateau] mode ${String(o.mode)} is unknown; expected 'min' or 'max'`);
    if (o.thresholdMode !== "rel" && o.thresholdMode !== "abs") throw new Error(`[ReduceLROnPlateau] threshold mode ${String(o.thresholdMode)} is unknown; expected 'rel' or 'abs'`);
    const n = optimizer.paramGroups.length;
    if (Array.isArray(o.minLr) && o.minLr.length !== n) throw new Error(`[ReduceLROnPlateau] expected ${n} minLr values, got ${o.minLr.length}`);
    this.optimizer = optimizer;
    this.mode = o.mode;
    this.factor = o.factor;
    this.patience = o.patience;
    this.threshold = o.threshold;
    this.thresholdMode = o.thresholdMode;
    this.cooldown = o.cooldown;
    this.minLrs = Array.isArray(o.minLr) ? o.minLr.slice() : new Array<number>(n).fill(o.minLr);
    this.eps = o.eps;
    this.best = o.mode === "min" ? Infinity : -Infinity;
    this.lastLr = optimizer.paramGroups.map((g) => g.lr);
  }

  /** Record one epoch's metric (a number or a one-element tensor) and reduce the lr after a plateau. */
  step(metric: number | Tensor): void {
    const current = typeof metric === "number" ? metric : metric.item();
    this.lastEpoch += 1;
    if (this.isBetter(current)) {
      this.best = current;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs += 1;
    }
    if (this.cooldownCounter > 0) {
      this.cooldownCounter -= 1;
      this.numBadEpochs = 0; // bad epochs during cooldown do not count
    }
    if (this.numBadEpochs > this.patience) {
      this.optimizer.paramGroups.forEach((g, i) => {
        const newLr = Math.max(g.lr * this.factor, this.minLrs[i]);
        if (g.lr - newLr > this.eps) g.lr = newLr;
      });
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  private isBetter(a: number): boolean {
    const { best, threshold } = this;
    if (this.mode === "min") return this.thresholdMode === "rel" ? a < best * (1 - threshold) : a < best - threshold;
    return this.thresholdMode === "rel" ? a > best * (threshold + 1) : a > best + threshold;
  }

  /** The learning rate of each group as of the last step. */
  getLastLr(): number[] {
    return this.lastLr.slice();
  }

  /** The scheduler's state (its fields except the optimizer); plain data, deep-copied. */
  stateDict(): SchedulerStateDict {
    return stateOf(this);
  }

  /** Restore a state from `stateDict()`; unknown keys and mismatched types are errors. */
  loadStateDict(sd: SchedulerStateDict): void {
    loadState("ReduceLROnPlateau", this, sd);
  }
}
