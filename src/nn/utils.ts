// nn.utils: gradient clipping, which lives with the optimizers and is re-exported here under PyTorch's path.
export { clipGradNorm_, clipGradValue_ } from "../optim/clip.js";
