// AssemblyScript f32 optimizer updates (Adam/AdamW, SGD, RMSprop, Adagrad), bit-identical to src/optim/kernels.ts.
// NOTE: this file is AssemblyScript, not TypeScript (see dev/kernels/gemm/gemm.ts). Each kernel does, lane by lane,
// exactly what the JS loop does: a single f32 +, -, ×, ÷ or sqrt of float32 values equals JS's double op then
// fround, so those run as f32x4; `fr(a + b * c)`, where JS rounds an exact product plus a sum to double before
// float32, runs in f64x2 lanes (addMul, addMulK) with the same rounding points. Arrays are padded by the caller to a multiple
// of 4 elements, so there is no scalar tail: the padding lanes compute garbage that is never copied out.

// Flags, shared with src/backend/wasm/optim.ts.
@inline const MAXIMIZE = 1;
@inline const WEIGHT_DECAY = 2; // L2 term in the gradient (Adam, SGD, RMSprop, Adagrad)
@inline const DECOUPLED = 4; // AdamW
@inline const AMSGRAD = 8;
@inline const MOMENTUM = 16;
@inline const FIRST = 32; // SGD's first momentum step copies d_p into the buffer
@inline const NESTEROV = 64;
@inline const CENTERED = 128;

// `arena(bytes)` comes from dev/kernels/common/arena.ts (the build puts it first).

/** fround(a + b * c) per f32 lane, computed in double as JS does: the product is exact, the sum rounds to double. */
@inline function addMul(a: v128, b: v128, c: v128): v128 {
  const lo = f64x2.add(f64x2.promote_low_f32x4(a), f64x2.mul(f64x2.promote_low_f32x4(b), f64x2.promote_low_f32x4(c)));
  const ah = v128.shuffle<f32>(a, a, 2, 3, 2, 3), bh = v128.shuffle<f32>(b, b, 2, 3, 2, 3), ch = v128.shuffle<f32>(c, c, 2, 3, 2, 3);
  const hi = f64x2.add(f64x2.promote_low_f32x4(ah), f64x2.mul(f64x2.promote_low_f32x4(bh), f64x2.promote_low_f32x4(ch)));
  return v128.shuffle<i64>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 2);
}

/** addMul with b a constant, given as an f64x2 splat of its float32 value: saves promoting it in every lane. */
@inline function addMulK(a: v128, k: v128, c: v128): v128 {
  const lo = f64x2.add(f64x2.promote_low_f32x4(a), f64x2.mul(k, f64x2.promote_low_f32x4(c)));
  const ah = v128.shuffle<f32>(a, a, 2, 3, 2, 3), ch = v128.shuffle<f32>(c, c, 2, 3, 2, 3);
  const hi = f64x2.add(f64x2.promote_low_f32x4(ah), f64x2.mul(k, f64x2.promote_low_f32x4(ch)));
  return v128.shuffle<i64>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 2);
}

/** The gradient, negated under maximize: flipping the sign bit is JS's exact negation. */
@inline function grad(g: usize, sign: v128): v128 {
  return v128.xor(v128.load(g), sign);
}

@inline function signOf(flags: i32): v128 {
  return i32x4.splat(flags & MAXIMIZE ? 0x80000000 : 0);
}

/** adamUpdate over `bytes` (a multiple of 16) of p, g, m, v and, with AMSGRAD, vMax. */
export function adam(
  p: usize, g: usize, m: usize, v: usize, vMax: usize, bytes: usize,
  negStepSize: f32, bcs: f32, eps: f32, b1: f32, b2: f32, omb1: f32, omb2: f32, wd: f32, decay: f32, flags: i32,
): void {
  const sign = signOf(flags);
  const kNegStep = f32x4.splat(negStepSize), kBcs = f32x4.splat(bcs), kEps = f32x4.splat(eps);
  const kB1 = f32x4.splat(b1), kB2 = f32x4.splat(b2), kOmb2 = f32x4.splat(omb2);
  const kWd = f64x2.splat(wd), kDecay = f32x4.splat(decay), kOmb1 = f64x2.splat(omb1);
  for (let o: usize = 0; o < bytes; o += 16) {
    let pi = v128.load(p + o);
    let gi = grad(g + o, sign);
    if (flags & DECOUPLED) pi = f32x4.mul(pi, kDecay);
    else if (flags & WEIGHT_DECAY) gi = addMulK(gi, kWd, pi);
    const mi = addMulK(f32x4.mul(v128.load(m + o), kB1), kOmb1, gi);
    v128.store(m + o, mi);
    let s = addMul(f32x4.mul(v128.load(v + o), kB2), f32x4.mul(kOmb2, gi), gi);
    v128.store(v + o, s);
    if (flags & AMSGRAD) {
      // f32x4.max, like Math.max, propagates NaN and orders -0 below +0
      s = f32x4.max(v128.load(vMax + o), s);
      v128.store(vMax + o, s);
    }
    const denom = f32x4.add(f32x4.div(f32x4.sqrt(s), kBcs), kEps);
    v128.store(p + o, f32x4.add(pi, f32x4.div(f32x4.mul(kNegStep, mi), denom)));
  }
}

/** sgdUpdate over `bytes` of p, g and, with MOMENTUM, buf. */
export function sgd(p: usize, g: usize, buf: usize, bytes: usize, negLr: f32, wd: f32, mom: f32, keep: f32, flags: i32): void {
  const sign = signOf(flags);
  const kNegLr = f64x2.splat(negLr), kWd = f64x2.splat(wd), kMom = f32x4.splat(mom), kMomD = f64x2.splat(mom), kKeep = f64x2.splat(keep);
  for (let o: usize = 0; o < bytes; o += 16) {
    const pi = v128.load(p + o);
    let d = grad(g + o, sign);
    if (flags & WEIGHT_DECAY) d = addMulK(d, kWd, pi);
    if (flags & MOMENTUM) {
      const b = flags & FIRST ? d : addMulK(f32x4.mul(v128.load(buf + o), kMom), kKeep, d);
      v128.store(buf + o, b);
      d = flags & NESTEROV ? addMulK(d, kMomD, b) : b;
    }
    v128.store(p + o, addMulK(pi, kNegLr, d));
  }
}

/** rmspropUpdate over `bytes` of p, g, sq and, with CENTERED, ga and, with MOMENTUM, buf. */
export function rmsprop(
  p: usize, g: usize, sq: usize, ga: usize, buf: usize, bytes: usize,
  negLr: f32, a: f32, oma: f32, eps: f32, wd: f32, mom: f32, flags: i32,
): void {
  const sign = signOf(flags);
  const kNegLr = f32x4.splat(negLr), kNegLrD = f64x2.splat(negLr), kA = f32x4.splat(a), kOma = f32x4.splat(oma), kOmaD = f64x2.splat(oma);
  const kEps = f32x4.splat(eps), kWd = f64x2.splat(wd), kMom = f32x4.splat(mom);
  for (let o: usize = 0; o < bytes; o += 16) {
    const pi = v128.load(p + o);
    let gi = grad(g + o, sign);
    if (flags & WEIGHT_DECAY) gi = addMulK(gi, kWd, pi);
    const si = addMul(f32x4.mul(v128.load(sq + o), kA), f32x4.mul(kOma, gi), gi);
    v128.store(sq + o, si);
    let avg: v128;
    if (flags & CENTERED) {
      const gai = addMulK(f32x4.mul(v128.load(ga + o), kA), kOmaD, gi);
      v128.store(ga + o, gai);
      // si + (-gai)·gai is exactly JS's si - gai·gai: negation is exact and the product is exact in double
      avg = f32x4.sqrt(addMul(si, f32x4.neg(gai), gai));
    } else {
      avg = f32x4.sqrt(si);
    }
    avg = f32x4.add(avg, kEps);
    if (flags & MOMENTUM) {
      const b = f32x4.add(f32x4.mul(v128.load(buf + o), kMom), f32x4.div(gi, avg));
      v128.store(buf + o, b);
      v128.store(p + o, addMulK(pi, kNegLrD, b));
    } else {
      v128.store(p + o, f32x4.add(pi, f32x4.div(f32x4.mul(kNegLr, gi), avg)));
    }
  }
}

/** adagradUpdate over `bytes` of p, g and sum. */
export function adagrad(p: usize, g: usize, sum: usize, bytes: usize, negClr: f32, eps: f32, wd: f32, flags: i32): void {
  const sign = signOf(flags);
  const kNegClr = f32x4.splat(negClr), kEps = f32x4.splat(eps), kWd = f64x2.splat(wd);
  for (let o: usize = 0; o < bytes; o += 16) {
    const pi = v128.load(p + o);
    let gi = grad(g + o, sign);
    if (flags & WEIGHT_DECAY) gi = addMulK(gi, kWd, pi);
    const s = addMul(v128.load(sum + o), gi, gi);
    v128.store(sum + o, s);
    const std = f32x4.add(f32x4.sqrt(s), kEps);
    v128.store(p + o, f32x4.add(pi, f32x4.div(f32x4.mul(kNegClr, gi), std)));
  }
}
