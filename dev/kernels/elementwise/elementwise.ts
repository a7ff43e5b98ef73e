// AssemblyScript float32 kernels of the wasm backend (f32x4 SIMD): elementwise, reductions, strided copy, GELU, softmax, layerNorm.
// NOTE: this file is AssemblyScript, not TypeScript; it lives outside src/ because `tsc` type-checks all of src/.
// The elementwise kernels run the same vector code on a row's last 1–3 elements (gathered into a vector), so sizes
// that are not multiples of 4 give exactly what the vector body would; the row kernels' float64 tails are scalar.

// `arena(bytes)` comes from dev/kernels/common/arena.ts (the build puts it first).

// ---- vector helpers ----

@inline function sp(v: f32): v128 { return f32x4.splat(v); }
@inline function mad(a: v128, b: v128, c: v128): v128 { return f32x4.add(f32x4.mul(a, b), c); }
@inline const SIGN: i32 = 0x80000000;

/** The k (1..3) floats at p as the low lanes of a vector; the other lanes are 1 (harmless in every kernel). */
@inline function loadPart(p: usize, k: i32): v128 {
  let v = f32x4.replace_lane(sp(1), 0, load<f32>(p));
  if (k > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (k > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}
@inline function storePart(p: usize, v: v128, k: i32): void {
  store<f32>(p, f32x4.extract_lane(v, 0));
  if (k > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (k > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

// ---- transcendentals (Cephes single-precision polynomials, musl erff), each ≤ 2 ulp (lab.ts measures) ----

/**
 * e^x; results below 2^-126 round once into the subnormal range, above FLT_MAX give inf. With `normalOnly`
 * the caller guarantees -87 ≤ x ≤ 88 (a normal result), which saves the clamp and the second factor.
 */
@inline function vexp(x: v128, normalOnly: bool = false): v128 {
  // clamped so that n fits two normal powers of two; pmin/pmax (one x86 instruction each, unlike min/max)
  // return their first operand for NaN
  if (!normalOnly) x = f32x4.pmin(f32x4.pmax(x, sp(-104.0)), sp(89.0));
  // n = round(x log2 e) by adding 1.5·2^23: the sum's low mantissa bits are n (cheaper than nearest + trunc_sat)
  const t = f32x4.add(f32x4.mul(x, sp(1.44269504088896341)), sp(12582912.0));
  const fn = f32x4.sub(t, sp(12582912.0));
  // ln 2 in two parts: n·0.693359375 is exact for |n| ≤ 150
  let r = f32x4.sub(x, f32x4.mul(fn, sp(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(fn, sp(-2.12194440e-4)));
  let p = mad(sp(1.9875691500e-4), r, sp(1.3981999507e-3));
  p = mad(p, r, sp(8.3334519073e-3));
  p = mad(p, r, sp(4.1665795894e-2));
  p = mad(p, r, sp(1.6666665459e-1));
  p = mad(p, r, sp(5.0000001201e-1));
  p = f32x4.add(mad(f32x4.mul(p, r), r, r), sp(1.0));
  const n = i32x4.sub(t, i32x4.splat(0x4b400000));
  if (normalOnly) return f32x4.mul(p, i32x4.shl(i32x4.add(n, i32x4.splat(127)), 23));
  // 2^n as two factors, so that n = 128 (overflow) and n < -126 (subnormal results) round only once
  const n1 = i32x4.shr_s(n, 1);
  const s1 = i32x4.shl(i32x4.add(n1, i32x4.splat(127)), 23);
  const s2 = i32x4.shl(i32x4.add(i32x4.sub(n, n1), i32x4.splat(127)), 23);
  return f32x4.mul(f32x4.mul(p, s1), s2);
}

/**
 * e^(a + t) for |a| ≥ |t| with a exact: one exp of the rounded sum, corrected by the sum's rounding error
 * (Fast2Sum), as accurate as e^a·e^t for half the exps.
 */
@inline function vexp2(a: v128, t: v128, normalOnly: bool = false): v128 {
  const s = f32x4.add(a, t);
  const e = vexp(s, normalOnly);
  return mad(e, f32x4.add(f32x4.sub(a, s), t), e);
}

/** ln x, with log(±0) = -inf, log(inf) = inf, log(x < 0) = NaN; subnormal x are scaled by 2^23 first. */
@inline function vlog(x: v128): v128 {
  const sub = f32x4.lt(x, sp(1.17549435e-38));
  const xs = v128.bitselect(f32x4.mul(x, sp(8388608.0)), x, sub);
  // frexp: xs = m·2^e with m in [0.5, 1)
  let e = i32x4.sub(i32x4.shr_u(xs, 23), v128.bitselect(i32x4.splat(126 + 23), i32x4.splat(126), sub));
  let m = v128.or(v128.and(xs, i32x4.splat(0x007fffff)), i32x4.splat(0x3f000000));
  // m < √½: use 2m - 1 and e - 1, so the polynomial argument stays in [√½ - 1, √2 - 1]
  const lo = f32x4.lt(m, sp(0.707106781186547524));
  e = i32x4.add(e, lo);
  m = f32x4.sub(f32x4.add(m, v128.and(m, lo)), sp(1.0));
  const fe = f32x4.convert_i32x4_s(e);
  const z = f32x4.mul(m, m);
  let y = mad(sp(7.0376836292e-2), m, sp(-1.1514610310e-1));
  y = mad(y, m, sp(1.1676998740e-1));
  y = mad(y, m, sp(-1.2420140846e-1));
  y = mad(y, m, sp(1.4249322787e-1));
  y = mad(y, m, sp(-1.6668057665e-1));
  y = mad(y, m, sp(2.0000714765e-1));
  y = mad(y, m, sp(-2.4999993993e-1));
  y = mad(y, m, sp(3.3333331174e-1));
  y = f32x4.mul(f32x4.mul(y, m), z);
  y = mad(fe, sp(-2.12194440e-4), y);
  y = mad(z, sp(-0.5), y);
  let r = f32x4.add(m, y);
  r = mad(fe, sp(0.693359375), r);
  r = v128.bitselect(sp(Infinity), r, f32x4.eq(x, sp(Infinity)));
  r = v128.bitselect(sp(-Infinity), r, f32x4.eq(x, sp(0)));
  // x < 0 or NaN
  return v128.bitselect(r, sp(NaN), f32x4.ge(x, sp(0)));
}

/** ln(1 + x): log(u) of u = 1 + x, plus the rounding error of u to first order, (x - (u - 1)) / u. */
@inline function vlog1p(x: v128): v128 {
  const u = f32x4.add(sp(1.0), x);
  const l = vlog(u);
  const r = f32x4.add(l, f32x4.div(f32x4.sub(x, f32x4.sub(u, sp(1.0))), u));
  // u = 0, inf, negative or NaN: the log alone is right; x = ±0 keeps its sign
  const ok = v128.and(f32x4.gt(u, sp(0)), f32x4.lt(u, sp(Infinity)));
  return v128.bitselect(x, v128.bitselect(r, l, ok), f32x4.eq(x, sp(0)));
}

@inline function vtanh(x: v128): v128 {
  const ax = v128.andnot(x, i32x4.splat(SIGN));
  const z = f32x4.mul(ax, ax);
  let p = mad(sp(-5.70498872745e-3), z, sp(2.06390887954e-2));
  p = mad(p, z, sp(-5.37397155531e-2));
  p = mad(p, z, sp(1.33314422036e-1));
  p = mad(p, z, sp(-3.33332819422e-1));
  const small = mad(f32x4.mul(p, z), ax, ax);
  const large = f32x4.sub(sp(1.0), f32x4.div(sp(2.0), f32x4.add(vexp(f32x4.add(ax, ax)), sp(1.0))));
  const r = v128.bitselect(small, large, f32x4.lt(ax, sp(0.625)));
  return v128.or(r, v128.and(x, i32x4.splat(SIGN)));
}

/**
 * 1 / (1 + e^-x) from e = e^-|x| alone: 1/(1+e) for x ≥ 0, e/(1+e) below (no overflow, subnormal results kept).
 * NOTE: 1 + e is corrected by its exact rounding error c (e ≤ 1), num/(d + c) ≈ q - q·c/d: without it the
 * three roundings reached 2.2 ulp, with it 1.9 (lab.ts).
 */
@inline function vsigmoid(x: v128): v128 {
  const e = vexp(v128.or(x, i32x4.splat(SIGN)));
  const d = f32x4.add(sp(1.0), e);
  const c = f32x4.add(f32x4.sub(sp(1.0), d), e);
  const q = f32x4.div(v128.bitselect(sp(1.0), e, f32x4.ge(x, sp(0))), d);
  return f32x4.sub(q, f32x4.div(f32x4.mul(q, c), d));
}

/** erf(u) - u for 0 ≤ u < 0.84375: musl's erff fit of that range, u · p(u²)/q(u²). */
@inline function erfSmallTerm(u: v128): v128 {
  const z = f32x4.mul(u, u);
  let p = mad(sp(-2.3763017452e-05), z, sp(-5.7702702470e-03));
  p = mad(p, z, sp(-2.8481749818e-02));
  p = mad(p, z, sp(-3.2504209876e-01));
  p = mad(p, z, sp(1.2837916613e-01));
  let q = mad(sp(-3.9602282413e-06), z, sp(1.3249473704e-04));
  q = mad(q, z, sp(5.0813062117e-03));
  q = mad(q, z, sp(6.5022252500e-02));
  q = mad(q, z, sp(3.9791721106e-01));
  q = mad(q, z, sp(1.0));
  return f32x4.mul(u, f32x4.div(p, q));
}

/** erf after musl's erff (FreeBSD s_erff.c): rational fits on [0, 0.84375), [0.84375, 1.25), then erfc's. */
@inline function verf(x: v128): v128 {
  const ax = v128.andnot(x, i32x4.splat(SIGN));
  let r = sp(1.0);
  // the branches run only when some lane needs them
  const mA = f32x4.lt(ax, sp(0.84375));
  if (v128.any_true(mA)) r = v128.bitselect(f32x4.add(ax, erfSmallTerm(ax)), r, mA);
  const mB = v128.and(f32x4.ge(ax, sp(0.84375)), f32x4.lt(ax, sp(1.25)));
  if (v128.any_true(mB)) {
    const s = f32x4.sub(ax, sp(1.0));
    let p = mad(sp(-2.1663755178e-03), s, sp(3.5478305072e-02));
    p = mad(p, s, sp(-1.1089469492e-01));
    p = mad(p, s, sp(3.1834661961e-01));
    p = mad(p, s, sp(-3.7220788002e-01));
    p = mad(p, s, sp(4.1485610604e-01));
    p = mad(p, s, sp(-2.3621185683e-03));
    let q = mad(sp(1.1984500103e-02), s, sp(1.3637083583e-02));
    q = mad(q, s, sp(1.2617121637e-01));
    q = mad(q, s, sp(7.1828655899e-02));
    q = mad(q, s, sp(5.4039794207e-01));
    q = mad(q, s, sp(1.0642088205e-01));
    q = mad(q, s, sp(1.0));
    r = v128.bitselect(f32x4.add(sp(8.4506291151e-01), f32x4.div(p, q)), r, mB);
  }
  // erf rounds to 1 from |x| ≈ 3.92 on
  const mC = v128.and(f32x4.ge(ax, sp(1.25)), f32x4.lt(ax, sp(4.0)));
  if (v128.any_true(mC)) {
    const s = f32x4.div(sp(1.0), f32x4.mul(ax, ax));
    const a = f32x4.lt(ax, sp(2.85714285714));
    // per lane, the [1.25, 1/0.35) coefficients (ra, sa) or the [1/0.35, 28) ones (rb, sb; padded with 0)
    let R = v128.bitselect(sp(-9.8143291473e+00), sp(0), a);
    R = mad(R, s, v128.bitselect(sp(-8.1287437439e+01), sp(-4.8351919556e+02), a));
    R = mad(R, s, v128.bitselect(sp(-1.8460508728e+02), sp(-1.0250950928e+03), a));
    R = mad(R, s, v128.bitselect(sp(-1.6239666748e+02), sp(-6.3756646729e+02), a));
    R = mad(R, s, v128.bitselect(sp(-6.2375331879e+01), sp(-1.6063638306e+02), a));
    R = mad(R, s, v128.bitselect(sp(-1.0558626175e+01), sp(-1.7757955551e+01), a));
    R = mad(R, s, v128.bitselect(sp(-6.9385856390e-01), sp(-7.9928326607e-01), a));
    R = mad(R, s, v128.bitselect(sp(-9.8649440333e-03), sp(-9.8649431020e-03), a));
    let S = v128.bitselect(sp(-6.0424413532e-02), sp(0), a);
    S = mad(S, s, v128.bitselect(sp(6.5702495575e+00), sp(-2.2440952301e+01), a));
    S = mad(S, s, v128.bitselect(sp(1.0863500214e+02), sp(4.7452853394e+02), a));
    S = mad(S, s, v128.bitselect(sp(4.2900814819e+02), sp(2.5530502930e+03), a));
    S = mad(S, s, v128.bitselect(sp(6.4538726807e+02), sp(3.1998581543e+03), a));
    S = mad(S, s, v128.bitselect(sp(4.3456588745e+02), sp(1.5367296143e+03), a));
    S = mad(S, s, v128.bitselect(sp(1.3765776062e+02), sp(3.2579251099e+02), a));
    S = mad(S, s, v128.bitselect(sp(1.9651271820e+01), sp(3.0338060379e+01), a));
    S = mad(S, s, sp(1.0));
    // exp(-x² - 0.5625 + R/S) with -x² = -z·z + (z - x)(z + x): z (x with its low 13 bits cleared, 11
    // significant bits) makes -z·z - 0.5625 exact (musl's 12 bits leave a 25-bit sum from |x| ≈ 1.85 on)
    const z = v128.and(ax, i32x4.splat(0xffffe000));
    const e = vexp2(f32x4.sub(f32x4.neg(f32x4.mul(z, z)), sp(0.5625)), mad(f32x4.sub(z, ax), f32x4.add(z, ax), f32x4.div(R, S)));
    r = v128.bitselect(f32x4.sub(sp(1.0), f32x4.div(e, ax)), r, mC);
  }
  r = v128.or(r, v128.and(x, i32x4.splat(SIGN)));
  return v128.bitselect(x, r, f32x4.ne(x, x));
}

/**
 * e^(-x²/2) for 0 ≤ ax ≤ 12.5 (a normal result) without the rounding of x²: -x²/2 = -h²/2 + (h - x)(h + x)/2
 * with h (x's low 12 bits cleared) exact.
 */
@inline function vgauss(ax: v128): v128 {
  const h = v128.and(ax, i32x4.splat(0xfffff000));
  return vexp2(f32x4.mul(f32x4.mul(h, h), sp(-0.5)), f32x4.mul(f32x4.mul(f32x4.sub(h, ax), f32x4.add(h, ax)), sp(0.5)), true);
}

// Φ(-a) e^(a²/2) for a = |x| ≤ 12.5 as a degree 4/5 rational in a (relative error 4.4e-9, fit_phi_tail.py),
// evaluated in float64: in float32 its roundings alone cost up to 7 ulp
@inline function tailRatio(a: v128): v128 {
  let n = f64x2.add(f64x2.mul(f64x2.splat(0.003949206002757444), a), f64x2.splat(0.039501399025100824));
  n = f64x2.add(f64x2.mul(n, a), f64x2.splat(0.17986616095860125));
  n = f64x2.add(f64x2.mul(n, a), f64x2.splat(0.4337264058829717));
  n = f64x2.add(f64x2.mul(n, a), f64x2.splat(0.5000000021583572));
  let d = f64x2.add(f64x2.mul(f64x2.splat(0.009899028374520058), a), f64x2.splat(0.09902346843615445));
  d = f64x2.add(f64x2.mul(d, a), f64x2.splat(0.46057891407433965));
  d = f64x2.add(f64x2.mul(d, a), f64x2.splat(1.188475860922445));
  d = f64x2.add(f64x2.mul(d, a), f64x2.splat(1.665337688643873));
  d = f64x2.add(f64x2.mul(d, a), f64x2.splat(1.0));
  return f64x2.div(n, d);
}

// Φ(x) and φ(x) = e^(-x²/2)/√(2π) of the last vexact() call, per half (lanes 0-1, 2-3), in float64
let PHI_LO: v128 = f64x2.splat(0);
let PHI_HI: v128 = f64x2.splat(0);
let DEN_LO: v128 = f64x2.splat(0);
let DEN_HI: v128 = f64x2.splat(0);

/**
 * Φ and φ of x (left in PHI_*, DEN_*): Φ(-|x|) = e^(-x²/2) · tailRatio(|x|), Φ(|x|) = 1 - Φ(-|x|). One exp
 * (vgauss) and one rational for the whole range replace erf's three regions (README, version 6); the
 * rational and the products run in float64, so Φ carries only the exp's ~1 ulp. Past |x| = 12.5 Φ is 0 or 1
 * (e is zeroed: no subnormal results, and ±inf · φ gives NaN as in the reference); NaN propagates.
 */
@inline function vexact(x: v128): void {
  const ax = v128.andnot(x, i32x4.splat(SIGN));
  const ac = f32x4.pmin(ax, sp(12.5));
  const e = v128.andnot(vgauss(ac), f32x4.gt(ax, sp(12.5)));
  const a0 = lo2(ac), a1 = hi2(ac), e0 = lo2(e), e1 = hi2(e);
  const t0 = f64x2.mul(e0, tailRatio(a0)), t1 = f64x2.mul(e1, tailRatio(a1));
  const n0 = f64x2.lt(lo2(x), f64x2.splat(0)), n1 = f64x2.lt(hi2(x), f64x2.splat(0));
  PHI_LO = v128.bitselect(t0, f64x2.sub(f64x2.splat(1.0), t0), n0);
  PHI_HI = v128.bitselect(t1, f64x2.sub(f64x2.splat(1.0), t1), n1);
  DEN_LO = f64x2.mul(e0, f64x2.splat(0.3989422804014327));
  DEN_HI = f64x2.mul(e1, f64x2.splat(0.3989422804014327));
}

/**
 * Φ(x) for |x| < 0.84375·√2 in all lanes: (1 + erf(u))/2 or erfc(u)/2, u = |x|/√2, from musl's erff fit of that
 * range (one division, no exp).
 */
@inline function vphiCentral(x: v128, u: v128): v128 {
  const y = erfSmallTerm(u);
  // erfc = 1 - (u + y), as musl: 0.5 - (y + (u - 0.5)) from u = 1/4 on, where u - 0.5 is exact
  const c = v128.bitselect(f32x4.sub(sp(1.0), f32x4.add(u, y)), f32x4.sub(sp(0.5), f32x4.add(y, f32x4.sub(u, sp(0.5)))), f32x4.lt(u, sp(0.25)));
  return f32x4.mul(v128.bitselect(f32x4.add(sp(1.0), f32x4.add(u, y)), c, f32x4.ge(x, sp(0))), sp(0.5));
}

/**
 * gelu(x) = x Φ(x). NOTE: vectors with all |x| < 1.19 (most of a layer's pre-activations) take the central fit,
 * ~2x cheaper than vexact's exp and float64 rational; the rest get vexact, rounded once.
 */
@inline function vgeluExact(x: v128): v128 {
  const u = f32x4.mul(v128.andnot(x, i32x4.splat(SIGN)), sp(0.70710678118654752));
  if (!v128.any_true(f32x4.ge(u, sp(0.84375)))) return f32x4.mul(x, vphiCentral(x, u));
  vexact(x);
  return join(f64x2.mul(lo2(x), PHI_LO), f64x2.mul(hi2(x), PHI_HI));
}

/** g gelu'(x) = g (Φ(x) + x φ(x)), rounded once. */
@inline function vgeluGradExact(x: v128, g: v128): v128 {
  vexact(x);
  const d0 = f64x2.add(PHI_LO, f64x2.mul(lo2(x), DEN_LO)), d1 = f64x2.add(PHI_HI, f64x2.mul(hi2(x), DEN_HI));
  return join(f64x2.mul(lo2(g), d0), f64x2.mul(hi2(g), d1));
}

// √(2/π) and the cubic coefficient of GELU's tanh form, whose 1 + tanh(w) is 2σ(2w) (no cancellation for w < 0)
@inline const K_BETA: f32 = 0.7978845608028654;
@inline const K_KAPPA: f32 = 0.044715;

// 2w = 2√(2/π)(x + κx³) as hi + lo (float64 arithmetic, split into two float32s): σ(2w) has relative
// sensitivity |2w| to its argument, so a float32 2w alone cost up to 42 ulp at x ≈ -5 (lab.ts)
let W_LO: v128 = f32x4.splat(0);

@inline function halfW2(x: v128): v128 {
  const k = <f64>K_KAPPA, b = 2 * <f64>K_BETA;
  return f64x2.mul(f64x2.mul(x, f64x2.add(f64x2.mul(f64x2.mul(x, x), f64x2.splat(k)), f64x2.splat(1.0))), f64x2.splat(b));
}

/** 2w's float32 high part; its low part is left in W_LO. */
@inline function vgeluW2(x: v128): v128 {
  const t0 = halfW2(f64x2.promote_low_f32x4(x)), t1 = halfW2(f64x2.promote_low_f32x4(f32x4.shuffle(x, x, 2, 3, 0, 1)));
  const h0 = f32x4.demote_f64x2_zero(t0), h1 = f32x4.demote_f64x2_zero(t1);
  const l0 = f32x4.demote_f64x2_zero(f64x2.sub(t0, f64x2.promote_low_f32x4(h0)));
  const l1 = f32x4.demote_f64x2_zero(f64x2.sub(t1, f64x2.promote_low_f32x4(h1)));
  const hi = f32x4.shuffle(h0, h1, 0, 1, 4, 5);
  // an infinite hi (x³ past float32 range) has no low part
  W_LO = v128.and(f32x4.shuffle(l0, l1, 0, 1, 4, 5), f32x4.lt(v128.andnot(hi, i32x4.splat(SIGN)), sp(Infinity)));
  return hi;
}

/** σ(hi + lo) for |lo| ≤ ulp(hi)/2, as vsigmoid with e^(-|hi + lo|) = e^(-|hi|)(1 ∓ lo). */
@inline function vsigmoid2(hi: v128, lo: v128): v128 {
  const neg = f32x4.lt(hi, sp(0));
  const e0 = vexp(v128.or(hi, i32x4.splat(SIGN)));
  const e = mad(e0, v128.bitselect(lo, f32x4.neg(lo), neg), e0);
  const d = f32x4.add(sp(1.0), e);
  const c = f32x4.add(f32x4.sub(sp(1.0), d), e);
  const q = f32x4.div(v128.bitselect(e, sp(1.0), neg), d);
  return f32x4.sub(q, f32x4.div(f32x4.mul(q, c), d));
}

/** gelu(x) = x Φ(x), or x σ(2w) with w = √(2/π)(x + κx³) for the tanh form. */
export function gelu(x: usize, o: usize, n: i32, tanh: i32): void {
  const n4 = n & ~3;
  let i0 = 0;
  // two vectors per iteration, as in unary()
  if (!tanh) {
    for (; i0 + 8 <= n; i0 += 8) {
      const p = x + (<usize>i0 << 2), q = o + (<usize>i0 << 2), a = v128.load(p), b = v128.load(p, 16);
      const ra = vgeluExact(a), rb = vgeluExact(b);
      v128.store(q, ra);
      v128.store(q, rb, 16);
    }
  }
  for (let i = i0; i <= n4; i += 4) {
    const k = min(n - i, 4);
    if (k <= 0) break;
    const p = x + (<usize>i << 2);
    const v = k == 4 ? v128.load(p) : loadPart(p, k);
    const r = tanh ? f32x4.mul(v, vsigmoid2(vgeluW2(v), W_LO)) : vgeluExact(v);
    if (k == 4) v128.store(o + (<usize>i << 2), r);
    else storePart(o + (<usize>i << 2), r, k);
  }
}

/**
 * o = g · gelu'(x): Φ(x) + x φ(x), or for the tanh form σ(2w) + 2x σ(2w) σ(-2w) β (1 + 3κx²) (the reference's
 * (1 + t)/2 + x (1 - t²) β (1 + 3κx²)/2 with t = tanh w). o may be g.
 */
export function gelu_backward(g: usize, x: usize, o: usize, n: i32, tanh: i32): void {
  const n4 = n & ~3;
  let i0 = 0;
  if (!tanh) {
    for (; i0 + 8 <= n; i0 += 8) {
      const px = x + (<usize>i0 << 2), pg = g + (<usize>i0 << 2), q = o + (<usize>i0 << 2);
      const a = v128.load(px), b = v128.load(px, 16), ga = v128.load(pg), gb = v128.load(pg, 16);
      const ra = vgeluGradExact(a, ga), rb = vgeluGradExact(b, gb);
      v128.store(q, ra);
      v128.store(q, rb, 16);
    }
  }
  for (let i = i0; i <= n4; i += 4) {
    const k = min(n - i, 4);
    if (k <= 0) break;
    const px = x + (<usize>i << 2), pg = g + (<usize>i << 2);
    const v = k == 4 ? v128.load(px) : loadPart(px, k), gv = k == 4 ? v128.load(pg) : loadPart(pg, k);
    let r: v128;
    if (tanh) {
      // past |x| = 1e4 the second term is 0 (σ(-2w) = 0); clamping keeps 3κx² finite, and infinite x give NaN as in the reference
      const vc = f32x4.pmin(f32x4.pmax(v, sp(-1e4)), sp(1e4));
      const w2 = vgeluW2(v), lo = W_LO, sp2 = vsigmoid2(w2, lo), sm2 = vsigmoid2(f32x4.neg(w2), f32x4.neg(lo));
      const poly = mad(f32x4.mul(vc, vc), sp(3 * K_KAPPA), sp(1.0));
      let d = f32x4.add(sp2, f32x4.mul(f32x4.mul(f32x4.mul(f32x4.add(vc, vc), sp2), sm2), f32x4.mul(poly, sp(K_BETA))));
      d = v128.bitselect(sp(NaN), d, f32x4.eq(v128.andnot(v, i32x4.splat(SIGN)), sp(Infinity)));
      r = f32x4.mul(gv, d);
    } else {
      r = vgeluGradExact(v, gv);
    }
    if (k == 4) v128.store(o + (<usize>i << 2), r);
    else storePart(o + (<usize>i << 2), r, k);
  }
}

// ---- unary: o[i] = f(x[i]) for i < n (o may be x) ----

@inline const NEG = 0;
@inline const ABS = 1;
@inline const SQRT = 2;
@inline const RELU = 3;
@inline const EXP = 4;
@inline const LOG = 5;
@inline const LOG1P = 6;
@inline const TANH = 7;
@inline const SIGMOID = 8;
@inline const ERF = 9;

@inline function uop(op: i32, v: v128): v128 {
  if (op == NEG) return v128.xor(v, i32x4.splat(SIGN));
  if (op == ABS) return v128.andnot(v, i32x4.splat(SIGN));
  if (op == SQRT) return f32x4.sqrt(v);
  // relu keeps NaN and maps -0 to +0, like the reference's v > 0 || v !== v ? v : 0
  if (op == RELU) return v128.and(v, v128.or(f32x4.gt(v, sp(0)), f32x4.ne(v, v)));
  if (op == EXP) return vexp(v);
  if (op == LOG) return vlog(v);
  if (op == LOG1P) return vlog1p(v);
  if (op == TANH) return vtanh(v);
  if (op == SIGMOID) return vsigmoid(v);
  return verf(v);
}

// NOTE: two vectors per iteration: the polynomials are latency-bound chains, and two independent ones overlap
// (gelu 9.4 → 7.5 ns/element)
@inline function unary(op: i32, x: usize, o: usize, n: i32): void {
  const n4 = n & ~3;
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const p = x + (<usize>i << 2), q = o + (<usize>i << 2);
    const a = uop(op, v128.load(p)), b = uop(op, v128.load(p, 16));
    v128.store(q, a);
    v128.store(q, b, 16);
  }
  for (; i < n4; i += 4) v128.store(o + (<usize>i << 2), uop(op, v128.load(x + (<usize>i << 2))));
  if (n > n4) storePart(o + (<usize>n4 << 2), uop(op, loadPart(x + (<usize>n4 << 2), n - n4)), n - n4);
}

export function u_neg(x: usize, o: usize, n: i32): void { unary(NEG, x, o, n); }
export function u_abs(x: usize, o: usize, n: i32): void { unary(ABS, x, o, n); }
export function u_sqrt(x: usize, o: usize, n: i32): void { unary(SQRT, x, o, n); }
export function u_relu(x: usize, o: usize, n: i32): void { unary(RELU, x, o, n); }
export function u_exp(x: usize, o: usize, n: i32): void { unary(EXP, x, o, n); }
export function u_log(x: usize, o: usize, n: i32): void { unary(LOG, x, o, n); }
export function u_log1p(x: usize, o: usize, n: i32): void { unary(LOG1P, x, o, n); }
export function u_tanh(x: usize, o: usize, n: i32): void { unary(TANH, x, o, n); }
export function u_sigmoid(x: usize, o: usize, n: i32): void { unary(SIGMOID, x, o, n); }
export function u_erf(x: usize, o: usize, n: i32): void { unary(ERF, x, o, n); }

// ---- binary over (rows, cols): each operand's mode says how it is read ----
// bit 0: a vector along the row (else one value splatted); bit 1: moves on with each row. So FULL = 3 reads
// [r·cols + c], ROW = 1 reads [c] (a repeated bias row), COL = 2 reads [r] (broadcast along the last dim),
// ONE = 0 reads [0].

@inline const ADD = 0;
@inline const SUB = 1;
@inline const MUL = 2;
@inline const DIV = 3;
@inline const MAX = 4;
@inline const MIN = 5;
@inline const RELU_BWD = 6;

@inline function bop(op: i32, a: v128, b: v128): v128 {
  if (op == ADD) return f32x4.add(a, b);
  if (op == SUB) return f32x4.sub(a, b);
  if (op == MUL) return f32x4.mul(a, b);
  if (op == DIV) return f32x4.div(a, b);
  // the reference's p > q ? p : q with NaN winning: a NaN p is picked by the mask, a NaN q by the fallback
  if (op == MAX) return v128.bitselect(a, b, v128.or(f32x4.gt(a, b), f32x4.ne(a, a)));
  if (op == MIN) return v128.bitselect(a, b, v128.or(f32x4.lt(a, b), f32x4.ne(a, a)));
  // reluBackward(g = a, y = b): g where y > 0, else +0
  return v128.and(a, f32x4.gt(b, sp(0)));
}

@inline function rowStart(p: usize, mode: i32, r: i32, cols: i32): usize {
  if (mode == 3) return p + (<usize>r * <usize>cols << 2);
  if (mode == 2) return p + (<usize>r << 2);
  return p;
}

@inline function binary(op: i32, a: usize, am: i32, b: usize, bm: i32, o: usize, rows: i32, cols: i32): void {
  const n4 = cols & ~3, t = cols - n4;
  for (let r = 0; r < rows; r++) {
    const ar = rowStart(a, am, r, cols), br = rowStart(b, bm, r, cols), orow = o + (<usize>r * <usize>cols << 2);
    const tail = <usize>n4 << 2;
    if ((am & 1) && (bm & 1)) {
      for (let i: usize = 0; i < tail; i += 16) v128.store(orow + i, bop(op, v128.load(ar + i), v128.load(br + i)));
      if (t) storePart(orow + tail, bop(op, loadPart(ar + tail, t), loadPart(br + tail, t)), t);
    } else if (am & 1) {
      const bv = f32x4.splat(load<f32>(br));
      for (let i: usize = 0; i < tail; i += 16) v128.store(orow + i, bop(op, v128.load(ar + i), bv));
      if (t) storePart(orow + tail, bop(op, loadPart(ar + tail, t), bv), t);
    } else {
      const av = f32x4.splat(load<f32>(ar));
      for (let i: usize = 0; i < tail; i += 16) v128.store(orow + i, bop(op, av, v128.load(br + i)));
      if (t) storePart(orow + tail, bop(op, av, loadPart(br + tail, t)), t);
    }
  }
}

export function b_add(a: usize, am: i32, b: usize, bm: i32, o: usize, rows: i32, cols: i32): void { binary(ADD, a, am, b, bm, o, rows, cols); }
export function b_sub(a: usize, am: i32, b: usize, bm: i32, o: usize, rows: i32, cols: i32): void { binary(SUB, a, am, b, bm, o, rows, cols); }
export function b_mul(a: usize, am: i32, b: usize, bm: i32, o: usize, rows: i32, cols: i32): void { binary(MUL, a, am, b, bm, o, rows, cols); }
export function b_div(a: usize, am: i32, b: usize, bm: i32, o: usize, rows: i32, cols: i32): void { binary(DIV, a, am, b, bm, o, rows, cols); }
export function b_maximum(a: usize, am: i32, b: usize, bm: i32, o: usize, rows: i32, cols: i32): void { binary(MAX, a, am, b, bm, o, rows, cols); }
export function b_minimum(a: usize, am: i32, b: usize, bm: i32, o: usize, rows: i32, cols: i32): void { binary(MIN, a, am, b, bm, o, rows, cols); }
export function b_relu_backward(a: usize, am: i32, b: usize, bm: i32, o: usize, rows: i32, cols: i32): void { binary(RELU_BWD, a, am, b, bm, o, rows, cols); }

// ---- reductions; sums accumulate in float64 like the reference, in a fixed order (deterministic) ----

/** o[r] = Σ_c x[r, c] for each of `rows` contiguous rows. */
export function sum_last(x: usize, o: usize, rows: i32, cols: i32): void {
  const n8 = cols & ~7;
  for (let r = 0; r < rows; r++) {
    const p = x + (<usize>r * <usize>cols << 2);
    let s0 = f64x2.splat(0), s1 = f64x2.splat(0), s2 = f64x2.splat(0), s3 = f64x2.splat(0);
    for (let i = 0; i < n8; i += 8) {
      const v0 = v128.load(p + (<usize>i << 2)), v1 = v128.load(p + (<usize>i << 2), 16);
      s0 = f64x2.add(s0, f64x2.promote_low_f32x4(v0));
      s1 = f64x2.add(s1, f64x2.promote_low_f32x4(f32x4.shuffle(v0, v0, 2, 3, 0, 1)));
      s2 = f64x2.add(s2, f64x2.promote_low_f32x4(v1));
      s3 = f64x2.add(s3, f64x2.promote_low_f32x4(f32x4.shuffle(v1, v1, 2, 3, 0, 1)));
    }
    const s = f64x2.add(f64x2.add(s0, s1), f64x2.add(s2, s3));
    let t = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
    for (let i = n8; i < cols; i++) t += <f64>load<f32>(p + (<usize>i << 2));
    store<f32>(o + (<usize>r << 2), <f32>t);
  }
}

/** o[c] = Σ_r x[r, c] over `rows` contiguous rows of `cols`, accumulated in the float64 scratch `acc` (cols). */
export function sum_lead(x: usize, o: usize, acc: usize, rows: i32, cols: i32): void {
  const n4 = cols & ~3;
  memory.fill(acc, 0, <usize>cols << 3);
  for (let r = 0; r < rows; r++) {
    const p = x + (<usize>r * <usize>cols << 2);
    for (let i = 0; i < n4; i += 4) {
      const v = v128.load(p + (<usize>i << 2)), q = acc + (<usize>i << 3);
      v128.store(q, f64x2.add(v128.load(q), f64x2.promote_low_f32x4(v)));
      v128.store(q, f64x2.add(v128.load(q, 16), f64x2.promote_low_f32x4(f32x4.shuffle(v, v, 2, 3, 0, 1))), 16);
    }
    for (let i = n4; i < cols; i++) {
      const q = acc + (<usize>i << 3);
      store<f64>(q, load<f64>(q) + <f64>load<f32>(p + (<usize>i << 2)));
    }
  }
  for (let i = 0; i < cols; i++) store<f32>(o + (<usize>i << 2), <f32>load<f64>(acc + (<usize>i << 3)));
}

/** o[r] = max_c x[r, c] (cols ≥ 1); a NaN wins, and a zero maximum is the row's first zero (its sign), as in the reference. */
export function max_last(x: usize, o: usize, rows: i32, cols: i32): void {
  const n4 = cols & ~3;
  for (let r = 0; r < rows; r++) {
    const p = x + (<usize>r * <usize>cols << 2);
    let m = sp(-Infinity);
    for (let i = 0; i < n4; i += 4) m = f32x4.max(m, v128.load(p + (<usize>i << 2)));
    let s = max<f32>(max<f32>(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), max<f32>(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
    for (let i = n4; i < cols; i++) s = max<f32>(s, load<f32>(p + (<usize>i << 2)));
    if (s == 0) {
      for (let i = 0; i < cols; i++) {
        const v = load<f32>(p + (<usize>i << 2));
        if (v == 0) { s = v; break; }
      }
    }
    store<f32>(o + (<usize>r << 2), s);
  }
}

/** o = the (n0, n1, n2, n3) view at x with element strides s0..s3, written contiguously. */
export function gather4(x: usize, o: usize, n0: i32, n1: i32, n2: i32, n3: i32, s0: i32, s1: i32, s2: i32, s3: i32): void {
  let q = o;
  for (let i0 = 0; i0 < n0; i0++) {
    for (let i1 = 0; i1 < n1; i1++) {
      for (let i2 = 0; i2 < n2; i2++) {
        let p = x + <usize>((i0 * s0 + i1 * s1 + i2 * s2) << 2);
        const step = <usize>(s3 << 2);
        for (let i3 = 0; i3 < n3; i3++, p += step, q += 4) store<f32>(q, load<f32>(p));
      }
    }
  }
}

// ---- row kernels over contiguous rows of `cols`: softmax and layer standardization, forward and backward ----
// Sums, means and the per-element arithmetic after them run in float64, as the reference does, so results
// differ from it only by summation order and the float32 exp.

@inline function lo2(v: v128): v128 { return f64x2.promote_low_f32x4(v); }
@inline function hi2(v: v128): v128 { return f64x2.promote_low_f32x4(f32x4.shuffle(v, v, 2, 3, 0, 1)); }
/** Four float64 lanes (a: 0, 1; b: 2, 3) rounded to float32 once. */
@inline function join(a: v128, b: v128): v128 { return f32x4.shuffle(f32x4.demote_f64x2_zero(a), f32x4.demote_f64x2_zero(b), 0, 1, 4, 5); }
@inline function hsum(v: v128): f64 { return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1); }

/**
 * e^(x - m) with the subtraction's rounding error restored (TwoSum), so large |x - m| keeps ~1 ulp; infinite
 * or NaN differences pass through as the plain exp.
 */
@inline function vexpDiff(x: v128, m: v128): v128 {
  const d = f32x4.sub(x, m), bb = f32x4.sub(d, x);
  let err = f32x4.sub(f32x4.sub(x, f32x4.sub(d, bb)), f32x4.add(m, bb));
  err = v128.and(err, f32x4.lt(v128.andnot(d, i32x4.splat(SIGN)), sp(Infinity)));
  // NOTE: results below float32's normal range (masked-out scores: d = -inf) are 0, not subnormal: x86 takes a
  // slow assist on every subnormal result (causal softmax rows 6.5 → 4.9 ns/element); relative to the row's
  // sum (≥ 1) they are far below the output's resolution
  const e = vexp(f32x4.pmax(d, sp(-87.0)));
  return v128.andnot(mad(e, err, e), f32x4.lt(d, sp(-87.0)));
}

/** softmax (log = 0) or log-softmax of each row; a NaN anywhere in a row makes the row NaN, as in the reference. */
export function softmax_last(x: usize, o: usize, rows: i32, cols: i32, log: i32): void {
  const n4 = cols & ~3, t = cols - n4;
  for (let r = 0; r < rows; r++) {
    const p = x + (<usize>r * <usize>cols << 2), q = o + (<usize>r * <usize>cols << 2);
    let mv = sp(-Infinity);
    for (let i = 0; i < n4; i += 4) mv = f32x4.max(mv, v128.load(p + (<usize>i << 2)));
    let m = max<f32>(max<f32>(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max<f32>(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
    for (let i = n4; i < cols; i++) m = max<f32>(m, load<f32>(p + (<usize>i << 2)));
    // log-softmax of a row with an infinite max shifts by 0 (a row of -inf gives NaN, as PyTorch)
    if (log && (m == Infinity || m == -Infinity)) m = 0;
    const ms = f32x4.splat(m);
    // pass 1: e = e^(x - m) into o (softmax) and its float64 sum
    // two vectors per iteration, as in unary() (4.9 → 4.3 ns/element)
    let s0 = f64x2.splat(0), s1 = f64x2.splat(0), s2 = f64x2.splat(0), s3 = f64x2.splat(0);
    let i = 0;
    for (; i + 8 <= n4; i += 8) {
      const e = vexpDiff(v128.load(p + (<usize>i << 2)), ms), f = vexpDiff(v128.load(p + (<usize>i << 2), 16), ms);
      if (!log) {
        v128.store(q + (<usize>i << 2), e);
        v128.store(q + (<usize>i << 2), f, 16);
      }
      s0 = f64x2.add(s0, lo2(e));
      s1 = f64x2.add(s1, hi2(e));
      s2 = f64x2.add(s2, lo2(f));
      s3 = f64x2.add(s3, hi2(f));
    }
    for (; i < n4; i += 4) {
      const e = vexpDiff(v128.load(p + (<usize>i << 2)), ms);
      if (!log) v128.store(q + (<usize>i << 2), e);
      s0 = f64x2.add(s0, lo2(e));
      s1 = f64x2.add(s1, hi2(e));
    }
    let s = hsum(f64x2.add(f64x2.add(s0, s1), f64x2.add(s2, s3)));
    if (t) {
      const e = vexpDiff(loadPart(p + (<usize>n4 << 2), t), ms);
      if (!log) storePart(q + (<usize>n4 << 2), e, t);
      s += <f64>f32x4.extract_lane(e, 0);
      if (t > 1) s += <f64>f32x4.extract_lane(e, 1);
      if (t > 2) s += <f64>f32x4.extract_lane(e, 2);
    }
    if (log) {
      // x - (log s + m) in float64, rounded once
      const lse = f64x2.splat(Math.log(s) + <f64>m);
      for (let i = 0; i < n4; i += 4) {
        const v = v128.load(p + (<usize>i << 2));
        v128.store(q + (<usize>i << 2), join(f64x2.sub(lo2(v), lse), f64x2.sub(hi2(v), lse)));
      }
      for (let i = n4; i < cols; i++) store<f32>(q + (<usize>i << 2), <f32>(<f64>load<f32>(p + (<usize>i << 2)) - f64x2.extract_lane(lse, 0)));
    } else {
      const rs = f64x2.splat(1 / s);
      for (let i = 0; i < n4; i += 4) {
        const e = v128.load(q + (<usize>i << 2));
        v128.store(q + (<usize>i << 2), join(f64x2.mul(lo2(e), rs), f64x2.mul(hi2(e), rs)));
      }
      for (let i = n4; i < cols; i++) store<f32>(q + (<usize>i << 2), <f32>(<f64>load<f32>(q + (<usize>i << 2)) * f64x2.extract_lane(rs, 0)));
    }
  }
}

/** softmax's input gradient y (g - Σ g y), or log-softmax's g - e^y Σ g, per row. o may be g. */
export function softmax_backward_last(g: usize, y: usize, o: usize, rows: i32, cols: i32, log: i32): void {
  const n4 = cols & ~3;
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>cols << 2, pg = g + off, py = y + off, q = o + off;
    let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
    for (let i = 0; i < n4; i += 4) {
      const gv = v128.load(pg + (<usize>i << 2));
      if (log) {
        s0 = f64x2.add(s0, lo2(gv));
        s1 = f64x2.add(s1, hi2(gv));
      } else {
        const yv = v128.load(py + (<usize>i << 2));
        s0 = f64x2.add(s0, f64x2.mul(lo2(gv), lo2(yv)));
        s1 = f64x2.add(s1, f64x2.mul(hi2(gv), hi2(yv)));
      }
    }
    let s = hsum(f64x2.add(s0, s1));
    for (let i = n4; i < cols; i++) {
      const gi = <f64>load<f32>(pg + (<usize>i << 2));
      s += log ? gi : gi * <f64>load<f32>(py + (<usize>i << 2));
    }
    if (log) {
      // g - e^y Σg cancels where the terms meet: e^y in float64 (scalar) keeps the reference's accuracy
      for (let i = 0; i < cols; i++) {
        store<f32>(q + (<usize>i << 2), <f32>(<f64>load<f32>(pg + (<usize>i << 2)) - Math.exp(<f64>load<f32>(py + (<usize>i << 2))) * s));
      }
      continue;
    }
    const sv = f64x2.splat(s);
    for (let i = 0; i < n4; i += 4) {
      const gv = v128.load(pg + (<usize>i << 2)), yv = v128.load(py + (<usize>i << 2));
      v128.store(q + (<usize>i << 2), join(f64x2.mul(lo2(yv), f64x2.sub(lo2(gv), sv)), f64x2.mul(hi2(yv), f64x2.sub(hi2(gv), sv))));
    }
    for (let i = n4; i < cols; i++) {
      store<f32>(q + (<usize>i << 2), <f32>(<f64>load<f32>(py + (<usize>i << 2)) * (<f64>load<f32>(pg + (<usize>i << 2)) - s)));
    }
  }
}

/** Mean and 1/√(biased variance + eps) of the row at p, two passes in float64; the result is left in LN_MU, LN_RS. */
let LN_MU: f64 = 0;
let LN_RS: f64 = 0;
@inline function rowStats(p: usize, cols: i32, eps: f64): void {
  const n4 = cols & ~3;
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
  for (let i = 0; i < n4; i += 4) {
    const v = v128.load(p + (<usize>i << 2));
    s0 = f64x2.add(s0, lo2(v));
    s1 = f64x2.add(s1, hi2(v));
  }
  let s = hsum(f64x2.add(s0, s1));
  for (let i = n4; i < cols; i++) s += <f64>load<f32>(p + (<usize>i << 2));
  const mu = s / <f64>cols, muv = f64x2.splat(mu);
  s0 = f64x2.splat(0);
  s1 = f64x2.splat(0);
  for (let i = 0; i < n4; i += 4) {
    const v = v128.load(p + (<usize>i << 2));
    const a = f64x2.sub(lo2(v), muv), b = f64x2.sub(hi2(v), muv);
    s0 = f64x2.add(s0, f64x2.mul(a, a));
    s1 = f64x2.add(s1, f64x2.mul(b, b));
  }
  let v2 = hsum(f64x2.add(s0, s1));
  for (let i = n4; i < cols; i++) { const c = <f64>load<f32>(p + (<usize>i << 2)) - mu; v2 += c * c; }
  LN_MU = mu;
  LN_RS = 1 / Math.sqrt(v2 / <f64>cols + eps);
}

/** (x - mean) / √(var + eps) over each row. */
export function layer_norm(x: usize, o: usize, rows: i32, cols: i32, eps: f64): void {
  const n4 = cols & ~3;
  for (let r = 0; r < rows; r++) {
    const p = x + (<usize>r * <usize>cols << 2), q = o + (<usize>r * <usize>cols << 2);
    rowStats(p, cols, eps);
    const mu = f64x2.splat(LN_MU), rs = f64x2.splat(LN_RS);
    for (let i = 0; i < n4; i += 4) {
      const v = v128.load(p + (<usize>i << 2));
      v128.store(q + (<usize>i << 2), join(f64x2.mul(f64x2.sub(lo2(v), mu), rs), f64x2.mul(f64x2.sub(hi2(v), mu), rs)));
    }
    for (let i = n4; i < cols; i++) store<f32>(q + (<usize>i << 2), <f32>((<f64>load<f32>(p + (<usize>i << 2)) - LN_MU) * LN_RS));
  }
}

/** layerNorm's input gradient per row: rs (g - mean(g) - x̂ mean(g x̂)), x̂ = (x - mean) rs. o may be g. */
export function layer_norm_backward(g: usize, x: usize, o: usize, rows: i32, cols: i32, eps: f64): void {
  const n4 = cols & ~3;
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>cols << 2, pg = g + off, px = x + off, q = o + off;
    rowStats(px, cols, eps);
    const mu = f64x2.splat(LN_MU), rs = f64x2.splat(LN_RS);
    let a0 = f64x2.splat(0), a1 = f64x2.splat(0), b0 = f64x2.splat(0), b1 = f64x2.splat(0);
    for (let i = 0; i < n4; i += 4) {
      const gv = v128.load(pg + (<usize>i << 2)), xv = v128.load(px + (<usize>i << 2));
      const g0 = lo2(gv), g1 = hi2(gv);
      a0 = f64x2.add(a0, g0);
      a1 = f64x2.add(a1, g1);
      b0 = f64x2.add(b0, f64x2.mul(f64x2.mul(g0, f64x2.sub(lo2(xv), mu)), rs));
      b1 = f64x2.add(b1, f64x2.mul(f64x2.mul(g1, f64x2.sub(hi2(xv), mu)), rs));
    }
    let sg = hsum(f64x2.add(a0, a1)), sgx = hsum(f64x2.add(b0, b1));
    for (let i = n4; i < cols; i++) {
      const gi = <f64>load<f32>(pg + (<usize>i << 2));
      sg += gi;
      sgx += gi * (<f64>load<f32>(px + (<usize>i << 2)) - LN_MU) * LN_RS;
    }
    const mg = f64x2.splat(sg / <f64>cols), mgx = f64x2.splat(sgx / <f64>cols);
    for (let i = 0; i < n4; i += 4) {
      const gv = v128.load(pg + (<usize>i << 2)), xv = v128.load(px + (<usize>i << 2));
      const c0 = f64x2.mul(f64x2.mul(f64x2.sub(lo2(xv), mu), rs), mgx), c1 = f64x2.mul(f64x2.mul(f64x2.sub(hi2(xv), mu), rs), mgx);
      v128.store(q + (<usize>i << 2), join(f64x2.mul(rs, f64x2.sub(f64x2.sub(lo2(gv), mg), c0)), f64x2.mul(rs, f64x2.sub(f64x2.sub(hi2(gv), mg), c1))));
    }
    const mgs = sg / <f64>cols, mgxs = sgx / <f64>cols;
    for (let i = n4; i < cols; i++) {
      const gi = <f64>load<f32>(pg + (<usize>i << 2)), xi = <f64>load<f32>(px + (<usize>i << 2));
      store<f32>(q + (<usize>i << 2), <f32>(LN_RS * (gi - mgs - (xi - LN_MU) * LN_RS * mgxs)));
    }
  }
}

/**
 * LayerNorm with its affine map, per row: o = x̂ · w (+ b), x̂ as layer_norm stores it (float32), then one float32
 * multiply and one add: bit-identical to layer_norm followed by the mul and add kernels, in one pass per row.
 * b may be 0 (no bias).
 */
export function layer_norm_affine(x: usize, o: usize, rows: i32, cols: i32, eps: f64, w: usize, b: usize): void {
  const n4 = cols & ~3;
  for (let r = 0; r < rows; r++) {
    const q = o + (<usize>r * <usize>cols << 2);
    layer_norm(x + (<usize>r * <usize>cols << 2), q, 1, cols, eps);
    for (let i = 0; i < n4; i += 4) {
      const at = q + (<usize>i << 2);
      let v = f32x4.mul(v128.load(at), v128.load(w + (<usize>i << 2)));
      if (b != 0) v = f32x4.add(v, v128.load(b + (<usize>i << 2)));
      v128.store(at, v);
    }
    for (let i = n4; i < cols; i++) {
      const at = q + (<usize>i << 2);
      let v = load<f32>(at) * load<f32>(w + (<usize>i << 2));
      if (b != 0) v += load<f32>(b + (<usize>i << 2));
      store<f32>(at, v);
    }
  }
}

/**
 * layer_norm_affine's gradients: per row dy = g · w (float32), dx = layer_norm_backward(dy, x) into o, and the
 * float64 column sums dw += g · x̂ (each product rounded to float32 first) and db += g, rounded once into dw and
 * db at the end: the kernels the composite runs (mul, layer_norm_backward, mul, sum_lead), row by row. `xh` is a
 * scratch row of cols floats, `acc` 2·cols doubles.
 */
export function layer_norm_affine_backward(g: usize, x: usize, o: usize, rows: i32, cols: i32, eps: f64, w: usize,
  dw: usize, db: usize, xh: usize, acc: usize): void {
  const n4 = cols & ~3, accB = acc + (<usize>cols << 3);
  memory.fill(acc, 0, <usize>cols << 4);
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>cols << 2, pg = g + off, q = o + off;
    layer_norm(x + off, xh, 1, cols, eps);
    for (let i = 0; i < n4; i += 4) {
      const gv = v128.load(pg + (<usize>i << 2)), aw = acc + (<usize>i << 3), ab = accB + (<usize>i << 3);
      const gx = f32x4.mul(gv, v128.load(xh + (<usize>i << 2)));
      v128.store(aw, f64x2.add(v128.load(aw), lo2(gx)));
      v128.store(aw, f64x2.add(v128.load(aw, 16), hi2(gx)), 16);
      v128.store(ab, f64x2.add(v128.load(ab), lo2(gv)));
      v128.store(ab, f64x2.add(v128.load(ab, 16), hi2(gv)), 16);
      v128.store(q + (<usize>i << 2), f32x4.mul(gv, v128.load(w + (<usize>i << 2))));
    }
    for (let i = n4; i < cols; i++) {
      const gi = load<f32>(pg + (<usize>i << 2)), aw = acc + (<usize>i << 3), ab = accB + (<usize>i << 3);
      store<f64>(aw, load<f64>(aw) + <f64>(gi * load<f32>(xh + (<usize>i << 2))));
      store<f64>(ab, load<f64>(ab) + <f64>gi);
      store<f32>(q + (<usize>i << 2), gi * load<f32>(w + (<usize>i << 2)));
    }
    layer_norm_backward(q, x + off, q, 1, cols, eps);
  }
  for (let i = 0; i < cols; i++) {
    store<f32>(dw + (<usize>i << 2), <f32>load<f64>(acc + (<usize>i << 3)));
    store<f32>(db + (<usize>i << 2), <f32>load<f64>(accB + (<usize>i << 3)));
  }
}
