// The nn namespace: Module and Parameter, layers, losses, and the functional, init and utils namespaces.
export { Module, Parameter } from "./module.js";
export type { ParameterConstructor, LoadStateDictResult } from "./module.js";
export { Linear, Identity } from "./layers/linear.js";
export type { LinearOptions } from "./layers/linear.js";
export { Sequential } from "./layers/container.js";
export { ReLU, LeakyReLU, Sigmoid, Tanh, GELU, SiLU, Softmax, LogSoftmax } from "./layers/activation.js";
export { Dropout } from "./layers/dropout.js";
export { Flatten } from "./layers/flatten.js";
export {
  BCEWithLogitsLoss, BCELoss, CrossEntropyLoss, NLLLoss, MSELoss, L1Loss, SmoothL1Loss, HuberLoss,
} from "./losses.js";
export type { LossOptions } from "./losses.js";
export type { Reduction, GeluApproximate, BCEWithLogitsOptions, CrossEntropyOptions } from "./functional.js";
export * as functional from "./functional.js";
export * as F from "./functional.js";
export * as init from "./init.js";
export * as utils from "./utils.js";
