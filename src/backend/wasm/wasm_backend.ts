// The "wasm" backend: the JS reference kernels, with the WebAssembly SIMD kernel families laid over them.
import type { Backend } from "../backend.js";
import { jsBackend } from "../js/js_backend.js";
import { gemmKernels } from "./gemm.js";
import { convKernels } from "./conv.js";
import { elementwiseKernels } from "./elementwise.js";
import { attentionKernels } from "./attention.js";
import { linearBackwardKernels } from "./linear_backward.js";

export { wasmGemmConfig, wasmGemmVariant, type GemmVariant } from "./gemm.js";

/** The "wasm" backend, or null when this runtime lacks WebAssembly SIMD (then everything stays on "js"). */
export const wasmBackend: Backend | null = gemmKernels ? { ...jsBackend, ...elementwiseKernels, ...gemmKernels, ...convKernels, ...attentionKernels, ...linearBackwardKernels, name: "wasm" } : null;
