// nn.init: in-place parameter initialisers (uniform, normal, Xavier/Glorot, Kaiming/He) with PyTorch's formulas.
import type { Tensor } from "../tensor.js";
import type { Generator } from "../random.js";
import { noGrad } from "../autograd/grad_mode.js";
import { fmtShape } from "../shape.js";
import { checkOptions } from "./helpers.js";

/** Nonlinearity names as PyTorch spells them, plus camelCase aliases. */
export type Nonlinearity =
  | "linear" | "conv1d" | "conv2d" | "conv3d"
  | "conv_transpose1d" | "conv_transpose2d" | "conv_transpose3d"
  | "convTranspose1d" | "convTranspose2d" | "convTranspose3d"
  | "sigmoid" | "tanh" | "relu" | "leaky_relu" | "leakyRelu" | "selu";

export type FanMode = "fan_in" | "fan_out" | "fanIn" | "fanOut";

export interface InitOptions { generator?: Generator }

/**
 * The recommended gain for a nonlinearity, as torch.nn.init.calculate_gain: 1 for linear/conv/sigmoid, 5/3 for
 * tanh, sqrt(2) for relu, sqrt(2 / (1 + slope^2)) for leaky_relu (slope `param`, default 0.01), 3/4 for selu.
 * @example calculateGain("leaky_relu", Math.sqrt(5)); // sqrt(1/3)
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case "linear": case "conv1d": case "conv2d": case "conv3d":
    case "conv_transpose1d": case "conv_transpose2d": case "conv_transpose3d":
    case "convTranspose1d": case "convTranspose2d": case "convTranspose3d":
    case "sigmoid":
      return 1;
    case "tanh":
      return 5 / 3;
    case "relu":
      return Math.SQRT2;
    case "leaky_relu": case "leakyRelu": {
      const slope = param ?? 0.01;
      if (typeof slope !== "number" || !Number.isFinite(slope)) throw new Error(`[calculateGain] negative_slope ${String(slope)} not a valid number`);
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case "selu":
      return 3 / 4;
    default:
      throw new Error(`[calculateGain] unsupported nonlinearity ${JSON.stringify(nonlinearity)}`);
  }
}

/**
 * (fanIn, fanOut) of a weight: size(1) and size(0) times the receptive field (the product of dims 2..).
 * @example _calculateFanInAndFanOut(zeros(10, 3)); // [3, 10]
 */
export function _calculateFanInAndFanOut(t: Tensor): [fanIn: number, fanOut: number] {
  if (t.ndim < 2) throw new Error(`[init] fan in and fan out can not be computed for tensor with fewer than 2 dimensions (shape ${fmtShape(t.shape)})`);
  let receptive = 1;
  for (let d = 2; d < t.ndim; d++) receptive *= t.shape[d];
  return [t.shape[1] * receptive, t.shape[0] * receptive];
}

function fanFor(t: Tensor, mode: FanMode): number {
  const [fanIn, fanOut] = _calculateFanInAndFanOut(t);
  switch (mode) {
    case "fan_in": case "fanIn": return fanIn;
    case "fan_out": case "fanOut": return fanOut;
    default: throw new Error(`[init] mode ${JSON.stringify(mode)} not supported, please use one of fan_in, fan_out`);
  }
}

/** Fill with U(a, b). @example uniform_(w, -0.1, 0.1, { generator: g }) */
export function uniform_(t: Tensor, a = 0, b = 1, opts: InitOptions = {}): Tensor {
  checkOptions("uniform_", opts, ["generator"]);
  return noGrad(() => t.uniform_(a, b, opts));
}

/** Fill with N(mean, std^2). @example normal_(w, 0, 0.02) */
export function normal_(t: Tensor, mean = 0, std = 1, opts: InitOptions = {}): Tensor {
  checkOptions("normal_", opts, ["generator"]);
  return noGrad(() => t.normal_(mean, std, opts));
}

/** Fill with a constant. @example constant_(b, 0.1) */
export function constant_(t: Tensor, val: number): Tensor {
  return noGrad(() => t.fill_(val));
}

export function zeros_(t: Tensor): Tensor {
  return constant_(t, 0);
}

export function ones_(t: Tensor): Tensor {
  return constant_(t, 1);
}

/**
 * Glorot uniform: U(-a, a) with a = gain * sqrt(6 / (fanIn + fanOut)).
 * @example xavierUniform_(w, { gain: calculateGain("tanh") })
 */
export function xavierUniform_(t: Tensor, opts: { gain?: number } & InitOptions = {}): Tensor {
  checkOptions("xavierUniform_", opts, ["gain", "generator"]);
  const [fanIn, fanOut] = _calculateFanInAndFanOut(t);
  const std = (opts.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut));
  const a = Math.sqrt(3) * std;
  return uniform_(t, -a, a, { generator: opts.generator });
}

/** Glorot normal: N(0, std^2) with std = gain * sqrt(2 / (fanIn + fanOut)). @example xavierNormal_(w) */
export function xavierNormal_(t: Tensor, opts: { gain?: number } & InitOptions = {}): Tensor {
  checkOptions("xavierNormal_", opts, ["gain", "generator"]);
  const [fanIn, fanOut] = _calculateFanInAndFanOut(t);
  const std = (opts.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut));
  return normal_(t, 0, std, { generator: opts.generator });
}

export interface KaimingOptions extends InitOptions {
  /** Negative slope of the rectifier after this layer (leaky_relu only). */
  a?: number;
  mode?: FanMode;
  nonlinearity?: Nonlinearity;
}

/**
 * He uniform: U(-bound, bound) with bound = gain * sqrt(3 / fan); `a = sqrt(5)` gives Linear's default
 * U(-1/sqrt(fanIn), 1/sqrt(fanIn)).
 * @example kaimingUniform_(w, { a: Math.sqrt(5) })
 */
export function kaimingUniform_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  checkOptions("kaimingUniform_", opts, ["a", "mode", "nonlinearity", "generator"]);
  // PyTorch returns zero-element tensors untouched (their fan would divide by zero)
  if (t.numel() === 0) return t;
  const std = kaimingStd(t, opts);
  const bound = Math.sqrt(3) * std;
  return uniform_(t, -bound, bound, { generator: opts.generator });
}

/** He normal: N(0, std^2) with std = gain / sqrt(fan). @example kaimingNormal_(w, { mode: "fan_out", nonlinearity: "relu" }) */
export function kaimingNormal_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  checkOptions("kaimingNormal_", opts, ["a", "mode", "nonlinearity", "generator"]);
  if (t.numel() === 0) return t;
  return normal_(t, 0, kaimingStd(t, opts), { generator: opts.generator });
}

function kaimingStd(t: Tensor, opts: KaimingOptions): number {
  const fan = fanFor(t, opts.mode ?? "fan_in");
  const gain = calculateGain(opts.nonlinearity ?? "leaky_relu", opts.a ?? 0);
  return gain / Math.sqrt(fan);
}
