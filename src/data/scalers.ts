// Feature scaling as scikit-learn's StandardScaler and MinMaxScaler, with statistics kept in float64.
import { Tensor } from "../tensor.js";
import { allocStorage, type Storage } from "../dtype.js";
import { fmtShape } from "../shape.js";

const EPS = 2.220446049250313e-16; // np.finfo(np.float64).eps

/** A 2-D input's contiguous storage and sizes, after checking it (and its feature count, once fitted). */
function readMatrix(op: string, x: Tensor, nFeatures?: number): { buf: Storage; offset: number; n: number; f: number } {
  if (!(x instanceof Tensor) || x.ndim !== 2) {
    const got = x instanceof Tensor ? `shape ${fmtShape(x.shape)}` : typeof x;
    throw new Error(`[${op}] expected a 2-D tensor (samples × features), got ${got}`);
  }
  const [n, f] = x.shape;
  if (nFeatures !== undefined && f !== nFeatures) throw new Error(`[${op}] expected ${nFeatures} features, got ${f}`);
  const c = x.contiguous();
  return { buf: c.buf, offset: c.offset, n, f };
}

function checkFitInput(op: string, x: Tensor): ReturnType<typeof readMatrix> {
  const m = readMatrix(op, x);
  if (m.n === 0) throw new Error(`[${op}] cannot fit on 0 samples`);
  return m;
}

/** out[i, j] = fn(x[i, j], j), computed in float64 and stored once as float64 (float64 input) or float32. */
function mapColumns(m: ReturnType<typeof readMatrix>, x: Tensor, fn: (v: number, col: number) => number): Tensor {
  const dtype = x.dtype === "float64" ? "float64" : "float32";
  const out = allocStorage(dtype, m.n * m.f);
  for (let i = 0, k = 0; i < m.n; i++) {
    for (let j = 0; j < m.f; j++, k++) out[k] = fn(m.buf[m.offset + k], j);
  }
  return Tensor.fromStorage(out, [m.n, m.f]);
}

function statTensor(v: Float64Array): Tensor {
  return Tensor.fromStorage(v.slice(), [v.length]);
}

/** The state-dict entry `key` as a float64 array of `length` (the length of the first entry when undefined). */
function readStat(op: string, sd: Record<string, Tensor>, key: string, length?: number): Float64Array {
  const t = sd[key];
  if (!(t instanceof Tensor)) throw new Error(`[${op}] loadStateDict: missing '${key}'`);
  if (t.ndim !== 1 || (length !== undefined && t.shape[0] !== length)) {
    throw new Error(`[${op}] loadStateDict: '${key}' has shape ${fmtShape(t.shape)}, expected [${length ?? "features"}]`);
  }
  return Float64Array.from(t.toTypedArray());
}

/**
 * Standardise features to zero mean and unit variance per column, like `sklearn.preprocessing.StandardScaler`:
 * `fit` computes each column's mean and population standard deviation (ddof 0) in float64; constant columns
 * get a scale of 1 (so they map to 0), as scikit-learn's. Fit on the training set, then transform the
 * training and test sets with the same statistics.
 * @example
 * const scaler = new StandardScaler();
 * const xTrain = scaler.fitTransform(trainX);
 * const xTest = scaler.transform(testX);
 * save(scaler.stateDict(), "scaler.safetensors");
 */
export class StandardScaler {
  private meanV: Float64Array | null = null;
  private varV: Float64Array | null = null;
  private scaleV: Float64Array | null = null;

  /** Compute the per-column mean and standard deviation of x ([samples, features]). */
  fit(x: Tensor): this {
    const m = checkFitInput("StandardScaler", x);
    const { buf, offset, n, f } = m;
    const mean = new Float64Array(f), variance = new Float64Array(f), scale = new Float64Array(f);
    for (let i = 0; i < n; i++) for (let j = 0; j < f; j++) mean[j] += buf[offset + i * f + j];
    for (let j = 0; j < f; j++) mean[j] /= n;
    // Second pass with the correction term of the corrected two-pass algorithm, as scikit-learn's
    // _incremental_mean_and_var: it cancels most of the rounding error left in the mean.
    const sq = new Float64Array(f), lin = new Float64Array(f);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < f; j++) {
        const d = buf[offset + i * f + j] - mean[j];
        sq[j] += d * d;
        lin[j] += d;
      }
    }
    for (let j = 0; j < f; j++) {
      variance[j] = (sq[j] - (lin[j] * lin[j]) / n) / n;
      // scikit-learn's _is_constant_feature: a variance within rounding error of 0 means a constant column.
      const bound = n * EPS * variance[j] + (n * mean[j] * EPS) ** 2;
      scale[j] = variance[j] <= bound ? 1 : Math.sqrt(variance[j]);
    }
    this.meanV = mean;
    this.varV = variance;
    this.scaleV = scale;
    return this;
  }

  /** (x - mean) / scale, per column. */
  transform(x: Tensor): Tensor {
    const { mean, scale } = this.fitted();
    return mapColumns(readMatrix("StandardScaler", x, mean.length), x, (v, j) => (v - mean[j]) / scale[j]);
  }

  fitTransform(x: Tensor): Tensor {
    return this.fit(x).transform(x);
  }

  /** x * scale + mean, per column: undoes transform. */
  inverseTransform(x: Tensor): Tensor {
    const { mean, scale } = this.fitted();
    return mapColumns(readMatrix("StandardScaler", x, mean.length), x, (v, j) => v * scale[j] + mean[j]);
  }

  /** Per-column means (float64), as sklearn's `mean_`. */
  get mean(): Tensor { return statTensor(this.fitted().mean); }
  /** Per-column population variances (float64), as sklearn's `var_`. */
  get var(): Tensor { return statTensor(this.fitted().variance); }
  /** Per-column divisors (float64): the standard deviation, or 1 for a constant column, as sklearn's `scale_`. */
  get scale(): Tensor { return statTensor(this.fitted().scale); }

  /** The fitted statistics as float64 tensors, ready for `save`. */
  stateDict(): Record<string, Tensor> {
    return { mean: this.mean, var: this.var, scale: this.scale };
  }

  /** Restore statistics saved by stateDict. */
  loadStateDict(sd: Record<string, Tensor>): this {
    const mean = readStat("StandardScaler", sd, "mean");
    this.varV = readStat("StandardScaler", sd, "var", mean.length);
    this.scaleV = readStat("StandardScaler", sd, "scale", mean.length);
    this.meanV = mean;
    return this;
  }

  private fitted(): { mean: Float64Array; variance: Float64Array; scale: Float64Array } {
    if (!this.meanV || !this.scaleV || !this.varV) throw new Error("[StandardScaler] this scaler is not fitted yet; call fit(x) first");
    return { mean: this.meanV, variance: this.varV, scale: this.scaleV };
  }
}

/**
 * Scale each column linearly onto `featureRange` (default [0, 1]) using its training minimum and maximum,
 * like `sklearn.preprocessing.MinMaxScaler`; constant columns get a scale of 1, as scikit-learn's.
 * @example
 * const scaler = new MinMaxScaler({ featureRange: [-1, 1] });
 * const xTrain = scaler.fitTransform(trainX);
 * const xTest = scaler.transform(testX); // may fall outside [-1, 1]
 */
export class MinMaxScaler {
  readonly featureRange: readonly [number, number];
  private dataMinV: Float64Array | null = null;
  private dataMaxV: Float64Array | null = null;
  private scaleV: Float64Array | null = null;
  private minV: Float64Array | null = null;

  constructor(opts?: { featureRange?: readonly [number, number] }) {
    const [lo, hi] = opts?.featureRange ?? [0, 1];
    if (!(lo < hi)) throw new Error(`[MinMaxScaler] featureRange minimum must be smaller than maximum, got [${lo}, ${hi}]`);
    this.featureRange = [lo, hi];
  }

  /** Record each column's minimum and maximum of x ([samples, features]). */
  fit(x: Tensor): this {
    const { buf, offset, n, f } = checkFitInput("MinMaxScaler", x);
    const dataMin = new Float64Array(f).fill(Infinity), dataMax = new Float64Array(f).fill(-Infinity);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < f; j++) {
        const v = buf[offset + i * f + j];
        if (v < dataMin[j]) dataMin[j] = v;
        if (v > dataMax[j]) dataMax[j] = v;
      }
    }
    const [lo, hi] = this.featureRange;
    const scale = new Float64Array(f), min = new Float64Array(f);
    for (let j = 0; j < f; j++) {
      const range = dataMax[j] - dataMin[j];
      // scikit-learn's _handle_zeros_in_scale: a range below 10 eps counts as 0 and divides by 1 instead.
      scale[j] = (hi - lo) / (range < 10 * EPS ? 1 : range);
      min[j] = lo - dataMin[j] * scale[j];
    }
    this.dataMinV = dataMin;
    this.dataMaxV = dataMax;
    this.scaleV = scale;
    this.minV = min;
    return this;
  }

  /** x * scale + min, per column. */
  transform(x: Tensor): Tensor {
    const { scale, min } = this.fitted();
    return mapColumns(readMatrix("MinMaxScaler", x, scale.length), x, (v, j) => v * scale[j] + min[j]);
  }

  fitTransform(x: Tensor): Tensor {
    return this.fit(x).transform(x);
  }

  /** (x - min) / scale, per column: undoes transform. */
  inverseTransform(x: Tensor): Tensor {
    const { scale, min } = this.fitted();
    return mapColumns(readMatrix("MinMaxScaler", x, scale.length), x, (v, j) => (v - min[j]) / scale[j]);
  }

  /** Per-column training minimum (float64), as sklearn's `data_min_`. */
  get dataMin(): Tensor { return statTensor(this.fitted().dataMin); }
  /** Per-column training maximum (float64), as sklearn's `data_max_`. */
  get dataMax(): Tensor { return statTensor(this.fitted().dataMax); }
  /** Per-column multiplier (float64), as sklearn's `scale_`. */
  get scale(): Tensor { return statTensor(this.fitted().scale); }
  /** Per-column offset added after scaling (float64), as sklearn's `min_`. */
  get min(): Tensor { return statTensor(this.fitted().min); }

  /** The fitted statistics as float64 tensors, ready for `save`. */
  stateDict(): Record<string, Tensor> {
    return { dataMin: this.dataMin, dataMax: this.dataMax, scale: this.scale, min: this.min };
  }

  /** Restore statistics saved by stateDict. */
  loadStateDict(sd: Record<string, Tensor>): this {
    const scale = readStat("MinMaxScaler", sd, "scale");
    this.minV = readStat("MinMaxScaler", sd, "min", scale.length);
    this.dataMinV = readStat("MinMaxScaler", sd, "dataMin", scale.length);
    this.dataMaxV = readStat("MinMaxScaler", sd, "dataMax", scale.length);
    this.scaleV = scale;
    return this;
  }

  private fitted(): { scale: Float64Array; min: Float64Array; dataMin: Float64Array; dataMax: Float64Array } {
    if (!this.scaleV || !this.minV || !this.dataMinV || !this.dataMaxV) {
      throw new Error("[MinMaxScaler] this scaler is not fitted yet; call fit(x) first");
    }
    return { scale: this.scaleV, min: this.minV, dataMin: this.dataMinV, dataMax: this.dataMaxV };
  }
}
