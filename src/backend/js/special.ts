// Special functions the JS standard library lacks, computed in double precision.

const TWO_OVER_SQRT_PI = 1.1283791670955126;

/** The error function, accurate to about 1e-15 (series below 3, continued fraction for erfc above). */
export function erf(x: number): number {
  if (x !== x) return NaN;
  const ax = Math.abs(x);
  if (ax < 3) {
    // erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_n 2^n x^(2n+1) / (1*3*...*(2n+1)); every term is positive
    const x2 = ax * ax;
    let term = ax, sum = ax;
    for (let n = 0; n < 200; n++) {
      term *= (2 * x2) / (2 * n + 3);
      sum += term;
      if (term < sum * 1e-17) break;
    }
    const r = TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
    return x < 0 ? -r : r;
  }
  if (ax > 6) return x < 0 ? -1 : 1;
  return x < 0 ? erfc(ax) - 1 : 1 - erfc(ax);
}

/** erfc for x >= 3 by the Laplace continued fraction, evaluated backwards. */
function erfc(x: number): number {
  let f = x;
  for (let n = 60; n >= 1; n--) f = x + n / 2 / f;
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}
