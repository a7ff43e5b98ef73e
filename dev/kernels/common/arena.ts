// AssemblyScript: the growable arena of the kernel modules that own their memory (elementwise, conv, optim).
// NOTE: scripts/build_wasm.mjs puts this file in front of each such module's sources; the glue copies operands to
// the arena, runs a kernel, and copies the result out.

const ARENA: usize = (__heap_base + 63) & ~63;

/** Grow memory so `bytes` fit at the arena start; returns the arena's address (64-byte aligned). */
export function arena(bytes: usize): usize {
  const end = ARENA + bytes;
  const have = <usize>memory.size() << 16;
  if (end > have) {
    if (memory.grow(<i32>((end - have + 0xffff) >> 16)) < 0) unreachable();
  }
  return ARENA;
}
