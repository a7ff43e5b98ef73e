// The platform-independent API (runs in browsers): everything but file-system helpers.
export { Tensor } from "./tensor.js";
export type { DType, Storage } from "./dtype.js";
export { Generator, manualSeed, defaultGenerator } from "./random.js";
export { noGrad, enableGrad, isGradEnabled, setGradEnabled } from "./autograd/grad_mode.js";
export { setBackend, backend, registerBackend } from "./backend/active.js";
export type { Backend, View } from "./backend/backend.js";
export { jsBackend } from "./backend/js/js_backend.js";
export { wasmBackend, wasmGemmVariant, wasmGemmConfig } from "./backend/wasm/wasm_backend.js";
export { setNumThreads, getNumThreads } from "./backend/wasm/gemm_pool.js";
export {
  tensor, zeros, ones, full, empty, arange, linspace, eye, rand, randn, randint, randperm,
  zerosLike, onesLike, fullLike, randLike, randnLike,
} from "./ops/creation.js";
export type { TensorOptions, RandomOptions, NestedArray } from "./ops/creation.js";
export {
  add, sub, mul, div, pow, maximum, minimum, eq, ne, lt, le, gt, ge, neg, abs, exp, log, log1p, log2, sqrt, rsqrt,
  sin, cos, tanh, sigmoid, relu, erf, sign, floor, round, square, reciprocal, logicalNot, logicalAnd, logicalOr,
  where, clamp, leakyRelu, gelu, silu, softplus,
} from "./ops/elementwise.js";
export { clamp as clip } from "./ops/elementwise.js";
export {
  sum, mean, prod, amax, amin, argmax, argmin, variance as var, std, logsumexp, norm, softmax, logSoftmax, all, any,
} from "./ops/reduce.js";
export {
  reshape, view, contiguous, permute, transpose, t, squeeze, unsqueeze, flatten, unflatten, expand, narrow, slice,
  select, cat, stack, split, chunk, tril, triu, pad, repeat, flip,
} from "./ops/movement.js";
export { gather, scatterAdd, indexSelect, maskedFill, oneHot } from "./ops/indexing.js";
export { matmul, mm, bmm, outer, dot } from "./ops/linalg.js";
export * as autograd from "./autograd/index.js";
export { gradcheck } from "./autograd/gradcheck.js";
export { saveToBytes, loadFromBytes, encodeSafetensors, decodeSafetensors } from "./io/safetensors.js";
export * as nn from "./nn/index.js";
export * as optim from "./optim/index.js";
