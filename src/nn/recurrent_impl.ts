// The code behind RNN, LSTM, GRU and their cells: one time step of each cell, and the layer × direction × time loop.
import { Tensor } from "../tensor.js";
import { isFloating } from "../dtype.js";
import { fmtShape } from "../shape.js";
import { defaultGenerator } from "../random.js";
import * as P from "../ops/primitives.js";
import * as M from "../ops/movement.js";
import { dropoutImpl } from "./impl.js";
import { describe } from "./helpers.js";

/** The recurrence of a layer: RNN with tanh or relu, LSTM, or GRU. */
export type CellMode = "RNN_TANH" | "RNN_RELU" | "LSTM" | "GRU";

/** Rows of weight_ih / weight_hh per hidden unit: the gates stacked in PyTorch's order. */
export function gateCount(mode: CellMode): number {
  return mode === "LSTM" ? 4 : mode === "GRU" ? 3 : 1;
}

/** The weights of one layer in one direction, as PyTorch stores them. */
export interface CellWeights {
  wIh: Tensor; // (G·H, In)
  wHh: Tensor; // (G·H, H)
  bIh: Tensor | null; // (G·H)
  bHh: Tensor | null; // (G·H)
}

/** A hidden state after one step: h, and c for an LSTM. */
export interface CellState { h: Tensor; c: Tensor | null }

/**
 * One time step given the input projection `xp` = x W_ihᵀ + b_ih (B, G·H), already computed (for a whole
 * sequence at once by the layers, per call by the cells), so only the hidden projection happens here.
 */
export function cellStep(mode: CellMode, xp: Tensor, h: Tensor, c: Tensor | null, w: CellWeights): CellState {
  const H = h.shape[h.ndim - 1];
  const hp = P.linear(h, w.wHh, w.bHh); // (B, G·H)
  if (mode === "RNN_TANH") return { h: P.tanh(P.add(xp, hp)), c: null };
  if (mode === "RNN_RELU") return { h: P.relu(P.add(xp, hp)), c: null };
  if (mode === "LSTM") {
    const gates = P.add(xp, hp); // (B, 4H): i, f, g, o
    // NOTE: one sigmoid over all four gates (g's quarter is wasted) costs less than three calls on slices
    const s = P.sigmoid(gates); // (B, 4H)
    const i = M.narrow(s, -1, 0, H), f = M.narrow(s, -1, H, H), o = M.narrow(s, -1, 3 * H, H); // (B, H) each
    const g = P.tanh(M.narrow(gates, -1, 2 * H, H)); // (B, H)
    const c1 = P.add(P.mul(f, c!), P.mul(i, g)); // (B, H)
    return { h: P.mul(o, P.tanh(c1)), c: c1 };
  }
  // GRU: r and z from the summed projections; n adds r ⊙ (W_hn h + b_hn) to W_in x + b_in, as PyTorch
  const rz = P.sigmoid(P.add(M.narrow(xp, -1, 0, 2 * H), M.narrow(hp, -1, 0, 2 * H))); // (B, 2H)
  const r = M.narrow(rz, -1, 0, H), z = M.narrow(rz, -1, H, H); // (B, H) each
  const n = P.tanh(P.add(M.narrow(xp, -1, 2 * H, H), P.mul(r, M.narrow(hp, -1, 2 * H, H)))); // (B, H)
  // (1 - z) n + z h, with one op fewer
  return { h: P.add(n, P.mul(z, P.sub(h, n))), c: null };
}

/**
 * x.select(0, t) for every t, through a binary tree of narrows.
 * NOTE: the gradient of each select is a zero-padded copy of the whole of x, and the engine sums them, so L
 * plain selects cost O(L²) in backward (a fifth of LSTM(64, 128)'s step at L = 64); halving costs O(L log L).
 */
function unbind0(x: Tensor, out: Tensor[], at: number): void {
  const L = x.shape[0];
  if (L <= 2) {
    for (let t = 0; t < L; t++) out[at + t] = M.select(x, 0, t);
    return;
  }
  const half = L >> 1;
  unbind0(M.narrow(x, 0, 0, half), out, at);
  unbind0(M.narrow(x, 0, half, L - half), out, at + half);
}

/** Options of the sequence layers, already validated by the constructor. */
export interface RecurrentConfig {
  mode: CellMode;
  inputSize: number;
  hiddenSize: number;
  numLayers: number;
  bidirectional: boolean;
  batchFirst: boolean;
  dropout: number;
  training: boolean;
}

export interface RecurrentResult { output: Tensor; hN: Tensor; cN: Tensor | null }

function checkFloatInput(op: string, x: unknown): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new Error(`[${op}] input must be a Tensor, got ${describe(x)}`);
  if (!isFloating(x.dtype)) throw new Error(`[${op}] expected a floating point input, got ${x.dtype}`);
}

/** Check a given h0 / c0 against (lead, B, H) (or (lead, H) unbatched); make zeros when absent. */
function initialState(op: string, what: string, t: Tensor | null | undefined, expected: number[], unbatched: boolean, like: Tensor): Tensor {
  if (t === null || t === undefined) return P.filled(expected, 0, like.dtype); // (lead, B, H)
  if (!(t instanceof Tensor)) throw new Error(`[${op}] ${what} must be a Tensor, got ${describe(t)}`);
  const want = unbatched ? [expected[0], expected[2]] : expected;
  if (unbatched && t.ndim !== 2) throw new Error(`[${op}] for unbatched 2-D input, ${what} should also be 2-D but got ${t.ndim}-D tensor of shape ${fmtShape(t.shape)}`);
  if (!unbatched && t.ndim !== 3) throw new Error(`[${op}] for batched 3-D input, ${what} should also be 3-D but got ${t.ndim}-D tensor of shape ${fmtShape(t.shape)}`);
  if (t.shape.some((s, d) => s !== want[d])) throw new Error(`[${op}] expected ${what} of shape ${fmtShape(want)}, got ${fmtShape(t.shape)}`);
  return unbatched ? M.unsqueeze(t, 1) : t; // (lead, B, H)
}

/**
 * Run a multi-layer, optionally bidirectional recurrence over a sequence, as torch's RNN/LSTM/GRU forward.
 * input (L, B, In), (B, L, In) with batchFirst, or unbatched (L, In); h0 / c0 (layers·D, B, H) or (layers·D, H).
 * `weights[layer][direction]`.
 */
export function recurrentForward(op: string, cfg: RecurrentConfig, input: Tensor, h0: Tensor | null | undefined,
  c0: Tensor | null | undefined, weights: CellWeights[][]): RecurrentResult {
  checkFloatInput(op, input);
  if (input.ndim !== 2 && input.ndim !== 3) {
    throw new Error(`[${op}] expected input to be 2-D (L, H_in) or 3-D (L, N, H_in), got ${input.ndim}-D tensor of shape ${fmtShape(input.shape)}`);
  }
  if (input.shape[input.ndim - 1] !== cfg.inputSize) {
    throw new Error(`[${op}] input.size(-1) must be equal to inputSize: expected ${cfg.inputSize}, got ${input.shape[input.ndim - 1]} (input ${fmtShape(input.shape)})`);
  }
  const unbatched = input.ndim === 2;
  // (L, B, In), contiguous so the per-layer input projection is one matmul over L·B rows
  let x = unbatched ? M.unsqueeze(input, 1) : cfg.batchFirst ? M.transpose(input, 0, 1) : input;
  x = M.contiguous(x);
  const [L, B] = x.shape;
  if (L === 0) throw new Error(`[${op}] expected a sequence of length at least 1, got input ${fmtShape(input.shape)}`);
  const D = cfg.bidirectional ? 2 : 1, H = cfg.hiddenSize;
  const lead = [cfg.numLayers * D, B, H];
  const hx = initialState(op, "hx", h0, lead, unbatched, x); // (layers·D, B, H)
  const cx = cfg.mode === "LSTM" ? initialState(op, "cx", c0, lead, unbatched, x) : null; // (layers·D, B, H)
  const hs: Tensor[] = [], cs: Tensor[] = [];
  for (let layer = 0; layer < cfg.numLayers; layer++) {
    const outs: Tensor[] = [];
    for (let dir = 0; dir < D; dir++) {
      const k = layer * D + dir;
      const w = weights[layer][dir];
      // NOTE: the input projection of every time step in one matmul; the loop only adds h W_hhᵀ
      const xp = P.linear(x, w.wIh, w.bIh); // (L, B, G·H)
      const xps: Tensor[] = new Array<Tensor>(L);
      unbind0(xp, xps, 0); // L × (B, G·H)
      let state: CellState = { h: M.select(hx, 0, k), c: cx ? M.select(cx, 0, k) : null }; // (B, H)
      const steps: Tensor[] = new Array<Tensor>(L);
      for (let s = 0; s < L; s++) {
        const t = dir === 0 ? s : L - 1 - s;
        state = cellStep(cfg.mode, xps[t], state.h, state.c, w);
        steps[t] = state.h; // (B, H)
      }
      outs.push(M.stack(steps, 0)); // (L, B, H)
      hs.push(state.h);
      if (state.c) cs.push(state.c);
    }
    x = D === 1 ? outs[0] : M.cat(outs, 2); // (L, B, D·H)
    if (cfg.dropout > 0 && cfg.training && layer < cfg.numLayers - 1) x = dropoutImpl(op, x, cfg.dropout, true, defaultGenerator);
  }
  let output = x; // (L, B, D·H)
  let hN = M.stack(hs, 0); // (layers·D, B, H)
  let cN = cx ? M.stack(cs, 0) : null; // (layers·D, B, H)
  if (unbatched) {
    output = M.squeeze(output, 1); // (L, D·H)
    hN = M.squeeze(hN, 1); // (layers·D, H)
    if (cN) cN = M.squeeze(cN, 1);
  } else if (cfg.batchFirst) {
    output = M.transpose(output, 0, 1); // (B, L, D·H)
  }
  return { output, hN, cN };
}

/**
 * One step of a cell module: input (B, In) or unbatched (In); h (and c) (B, H) / (H), zeros when absent.
 */
export function cellForward(op: string, mode: CellMode, inputSize: number, hiddenSize: number, input: Tensor,
  h: Tensor | null | undefined, c: Tensor | null | undefined, w: CellWeights): CellState {
  checkFloatInput(op, input);
  if (input.ndim !== 1 && input.ndim !== 2) {
    throw new Error(`[${op}] expected input to be 1-D (H_in) or 2-D (N, H_in), got ${input.ndim}-D tensor of shape ${fmtShape(input.shape)}`);
  }
  if (input.shape[input.ndim - 1] !== inputSize) {
    throw new Error(`[${op}] input has inconsistent input size: got ${input.shape[input.ndim - 1]}, expected ${inputSize} (input ${fmtShape(input.shape)})`);
  }
  const unbatched = input.ndim === 1;
  const x = unbatched ? M.unsqueeze(input, 0) : input; // (B, In)
  const want = [x.shape[0], hiddenSize];
  const state = (what: string, t: Tensor | null | undefined): Tensor => {
    if (t === null || t === undefined) return P.filled(want, 0, x.dtype); // (B, H)
    if (!(t instanceof Tensor)) throw new Error(`[${op}] ${what} must be a Tensor, got ${describe(t)}`);
    const expected = unbatched ? [hiddenSize] : want;
    if (t.ndim !== expected.length || t.shape.some((s, d) => s !== expected[d])) {
      throw new Error(`[${op}] expected ${what} of shape ${fmtShape(expected)} for input ${fmtShape(input.shape)}, got ${fmtShape(t.shape)}`);
    }
    return unbatched ? M.unsqueeze(t, 0) : t; // (B, H)
  };
  const h0 = state("hx", h);
  const c0 = mode === "LSTM" ? state("cx", c) : null;
  const r = cellStep(mode, P.linear(x, w.wIh, w.bIh), h0, c0, w); // (B, H)
  if (!unbatched) return r;
  return { h: M.squeeze(r.h, 0), c: r.c ? M.squeeze(r.c, 0) : null }; // (H)
}
