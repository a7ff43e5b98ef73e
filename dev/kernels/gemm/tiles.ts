// Micro-kernel tile sweep: generates MR×(4·NR4) f32x4 micro-kernels (A by load32_splat, or pre-splatted), unrolled
// 1 or 2 times, and times each on L1-resident panels (kc = 256, or KC), so the tile shape is measured without packing.
// Usage: [KC=32] npx tsx dev/kernels/gemm/tiles.ts  |  node --experimental-wasm-relaxed-simd --import tsx dev/kernels/gemm/tiles.ts --relaxed
import asc from "assemblyscript/asc";

const relaxed = process.argv.includes("--relaxed");
const madd = (a: string, b: string, c: string) => relaxed ? `${c} = f32x4.relaxed_madd(${a}, ${b}, ${c});` : `${c} = f32x4.add(${c}, f32x4.mul(${a}, ${b}));`;
type ALoad = (i: number, u: number) => string;
const splat = (mr: number): ALoad => (i, u) => `v128.load32_splat(ap, ${(u * mr + i) * 4})`;
const presplat = (mr: number): ALoad => (i, u) => `v128.load(ap, ${(u * mr + i) * 16})`;

/** One kernel: C tile (mr × 4·nr4) over kc, A panel advancing `aStep` bytes a k. */
function kernel(name: string, mr: number, nr4: number, unroll: number, aload: ALoad, aStep: number): string {
  let acc = "", out = "", body = "";
  for (let i = 0; i < mr; i++) {
    for (let j = 0; j < nr4; j++) {
      acc += `let c${i}_${j} = f32x4.splat(0);\n`;
      out += `v128.store(c, c${i}_${j}, ${(i * nr4 + j) * 16});\n`;
    }
  }
  for (let u = 0; u < unroll; u++) {
    for (let j = 0; j < nr4; j++) body += `const b${u}_${j} = v128.load(bp, ${(u * nr4 + j) * 16});\n`;
    for (let i = 0; i < mr; i++) {
      body += `const a${u}_${i} = ${aload(i, u)};\n`;
      for (let j = 0; j < nr4; j++) body += madd(`a${u}_${i}`, `b${u}_${j}`, `c${i}_${j}`) + "\n";
    }
  }
  return `export function ${name}(kc: i32, ap: usize, bp: usize, c: usize): void {
${acc}const end = ap + <usize>(kc * ${aStep});
while (ap < end) {
${body}ap += ${aStep * unroll};
bp += ${nr4 * 16 * unroll};
}
${out}}\n`;
}

const variants: [string, number, number, number, ALoad, number][] = [];
for (const [mr, nr4] of [[4, 2], [5, 2], [6, 2], [7, 2], [3, 3], [4, 3], [2, 4], [3, 4]]) {
  for (const unroll of [1, 2]) variants.push([`t${mr}x${nr4 * 4}u${unroll}`, mr, nr4, unroll, splat(mr), mr * 4]);
}
for (const mr of [4, 5, 6]) variants.push([`t${mr}x8presplat`, mr, 2, 1, presplat(mr), mr * 16]);

const r = await asc.compileString(variants.map((v) => kernel(...v)).join("\n"), {
  optimizeLevel: 3, runtime: "stub", noAssert: true, enable: relaxed ? ["simd", "relaxed-simd"] : ["simd"],
});
if (r.error || !r.binary) throw new Error(`[tiles] compile failed: ${r.stderr.toString()}`);
const ex = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(r.binary)), {}).exports as Record<string, unknown>;
const memory = ex.memory as WebAssembly.Memory;
memory.grow(16);
new Float32Array(memory.buffer).forEach((_, i, a) => { a[i] = ((i * 7919) % 1000) / 1000; });

const kc = Number(process.env.KC ?? 256), calls = Math.round(40000 * 256 / kc);
console.log(`${relaxed ? "relaxed SIMD" : "SIMD"}, kc = ${kc}, GFLOP/s median (best) of 5 rounds of ${calls} calls`);
for (const [name, mr, nr4] of variants) {
  const fn = ex[name] as (kc: number, ap: number, bp: number, c: number) => void;
  for (let i = 0; i < calls / 2; i++) fn(kc, 65536, 4 * 65536, 8 * 65536);
  const rates: number[] = [];
  for (let round = 0; round < 5; round++) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) fn(kc, 65536, 4 * 65536, 8 * 65536);
    rates.push((2 * mr * nr4 * 4 * kc * calls) / ((performance.now() - t0) * 1e6));
  }
  rates.sort((x, y) => x - y);
  console.log(`${name.padEnd(14)} ${rates[2].toFixed(1)} (${rates[4].toFixed(1)})`);
}
