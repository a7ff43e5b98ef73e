// The autograd namespace: grad, custom Functions, and gradcheck.
export { grad } from "./functional.js";
export type { GradOptions } from "./functional.js";
export { Function } from "./function.js";
export type { FunctionCtx } from "./function.js";
export { gradcheck, gradgradcheck } from "./gradcheck.js";
export { noGrad, enableGrad } from "./grad_mode.js";
