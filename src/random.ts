// Seeded counter-based random numbers (Philox4x32-10): the same seed gives the same stream on any machine.

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** High 32 bits of the unsigned 64-bit product a*b. */
function mulhi(a: number, b: number): number {
  const aLo = a & 0xffff, aHi = a >>> 16;
  const bLo = b & 0xffff, bHi = b >>> 16;
  const lo = aLo * bLo;
  const mid1 = aHi * bLo;
  const mid2 = aLo * bHi;
  const carry = ((lo >>> 16) + (mid1 & 0xffff) + (mid2 & 0xffff)) >>> 16;
  return (aHi * bHi + (mid1 >>> 16) + (mid2 >>> 16) + carry) >>> 0;
}

/**
 * A random number generator with its own state, like `torch.Generator`.
 * @example
 * const g = new Generator().manualSeed(42);
 * const x = randn([2, 3], { generator: g });
 */
export class Generator {
  private k0 = 0;
  private k1 = 0;
  private ctr = 0; // blocks of 4 words consumed so far
  private buf = new Uint32Array(4);
  private bufPos = 4;
  private spare: number | null = null;
  private seedValue = 0;

  constructor(seed = 0) {
    this.manualSeed(seed);
  }

  manualSeed(seed: number): this {
    if (!Number.isFinite(seed)) throw new Error(`[manualSeed] seed must be a finite number, got ${seed}`);
    const s = Math.floor(Math.abs(seed));
    this.seedValue = s;
    this.k0 = s >>> 0;
    this.k1 = Math.floor(s / 4294967296) >>> 0;
    this.ctr = 0;
    this.bufPos = 4;
    this.spare = null;
    return this;
  }

  initialSeed(): number {
    return this.seedValue;
  }

  /** The full state, to save and restore a stream exactly. */
  getState(): { seed: number; ctr: number; pos: number; spare: number | null } {
    return { seed: this.seedValue, ctr: this.ctr, pos: this.bufPos, spare: this.spare };
  }

  setState(s: { seed: number; ctr: number; pos: number; spare: number | null }): this {
    this.manualSeed(s.seed);
    this.ctr = s.ctr;
    if (s.pos < 4) {
      this.ctr -= 1;
      this.refill();
    }
    this.bufPos = s.pos;
    this.spare = s.spare;
    return this;
  }

  private refill(): void {
    let c0 = this.ctr >>> 0, c1 = Math.floor(this.ctr / 4294967296) >>> 0, c2 = 0, c3 = 0;
    let k0 = this.k0, k1 = this.k1;
    for (let r = 0; r < 10; r++) {
      const hi0 = mulhi(M0, c0), lo0 = Math.imul(M0, c0) >>> 0;
      const hi1 = mulhi(M1, c2), lo1 = Math.imul(M1, c2) >>> 0;
      const n0 = (hi1 ^ c1 ^ k0) >>> 0;
      const n2 = (hi0 ^ c3 ^ k1) >>> 0;
      c0 = n0; c1 = lo1; c2 = n2; c3 = lo0;
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const b = this.buf;
    b[0] = c0; b[1] = c1; b[2] = c2; b[3] = c3;
    this.ctr += 1;
    this.bufPos = 0;
  }

  /** Next uniform 32-bit unsigned integer. */
  nextUint32(): number {
    if (this.bufPos >= 4) this.refill();
    return this.buf[this.bufPos++];
  }

  /** Uniform in [0, 1) with 24 random bits, exactly representable in float32 (as PyTorch's float path). */
  nextFloat(): number {
    return (this.nextUint32() >>> 8) * 5.9604644775390625e-8;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  nextDouble(): number {
    const a = this.nextUint32() >>> 5, b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** Standard normal via Box–Muller; pairs are cached so each call costs half a transform. */
  nextNormal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    const u1 = 1 - this.nextDouble(); // (0, 1]: log is finite
    const u2 = this.nextDouble();
    const r = Math.sqrt(-2 * Math.log(u1));
    const th = 2 * Math.PI * u2;
    this.spare = r * Math.sin(th);
    return r * Math.cos(th);
  }

  /** Uniform integer in [0, n) without bias (Lemire's multiply-shift with rejection for n <= 2^21). */
  nextInt(n: number): number {
    if (n > 2097152) return Math.floor(this.nextDouble() * n);
    // x * n < 2^53 stays exact in a double, so the high/low 32-bit halves are exact too (and computed without a
    // floating-point %, which cost half of randperm's time)
    let m = this.nextUint32() * n;
    let hi = Math.floor(m / 4294967296);
    let lo = m - hi * 4294967296;
    if (lo < n) {
      const t = (4294967296 - n) % n;
      while (lo < t) {
        m = this.nextUint32() * n;
        hi = Math.floor(m / 4294967296);
        lo = m - hi * 4294967296;
      }
    }
    return hi;
  }
}

/** The process-wide default generator, seeded by `manualSeed`. */
export const defaultGenerator = new Generator(0);

/**
 * Seed the default generator, like `torch.manual_seed`.
 * @example
 * manualSeed(0);
 */
export function manualSeed(seed: number): Generator {
  return defaultGenerator.manualSeed(seed);
}
