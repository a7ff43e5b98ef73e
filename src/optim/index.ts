// The optim namespace: optimizers, learning-rate schedulers (lrScheduler) and gradient clipping.
export { Optimizer } from "./optimizer.js";
export type { OptimizerOptions, OptimizerStateDict, ParamGroup, ParamGroupInput, Params } from "./optimizer.js";
export { SGD } from "./sgd.js";
export type { SGDOptions, SGDState } from "./sgd.js";
export { Adam, AdamW } from "./adam.js";
export type { AdamOptions, AdamState } from "./adam.js";
export { RMSprop } from "./rmsprop.js";
export type { RMSpropOptions, RMSpropState } from "./rmsprop.js";
export { Adagrad } from "./adagrad.js";
export type { AdagradOptions, AdagradState } from "./adagrad.js";
export * as lrScheduler from "./lr_scheduler.js";
export { clipGradNorm_, clipGradValue_ } from "./clip.js";
