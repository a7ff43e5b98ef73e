// Runs one example by name: `npm run example -- <name> [--quick]`; prints its wall time and the peak RSS.
const examples: Record<string, { file: string; about: string; load: () => Promise<{ main: (o: { quick?: boolean }) => unknown }> }> = {
  tabular: { file: "tabular.ts", about: "Iris: MLP classification and regression, save/load", load: () => import("./tabular.js") },
  "mnist-cnn": { file: "mnist_cnn.ts", about: "MNIST digits with a small CNN", load: () => import("./mnist_cnn.js") },
  gan: { file: "gan.ts", about: "GAN on a ring of 8 Gaussians", load: () => import("./gan.js") },
  "mnist-resnet": { file: "mnist_resnet.ts", about: "MNIST digits with a small ResNet (BasicBlocks, BatchNorm)", load: () => import("./mnist_resnet.js") },
  spam: { file: "spam.ts", about: "SpamAssassin e-mails: tokenizer, vocabulary, embedding-bag classifier", load: () => import("./spam.js") },
  "names-gpt": { file: "names_gpt.ts", about: "Character-level GPT on English first names, KV-cache sampling", load: () => import("./names_gpt.js") },
};

const args = process.argv.slice(2);
const name = args.find((a) => !a.startsWith("--"));
const unknownFlags = args.filter((a) => a.startsWith("--") && a !== "--quick");
if (!name || !(name in examples) || unknownFlags.length > 0) {
  if (name && !(name in examples)) console.error(`unknown example '${name}'`);
  if (unknownFlags.length > 0) console.error(`unknown option(s) ${unknownFlags.join(" ")}`);
  console.error("usage: npm run example -- <name> [--quick]\n\nexamples:");
  for (const [n, e] of Object.entries(examples)) console.error(`  ${n.padEnd(14)} ${e.about} (examples/${e.file})`);
  process.exit(2);
}

const quick = args.includes("--quick");
const t0 = performance.now();
const { main } = await examples[name].load();
await main({ quick });
const seconds = (performance.now() - t0) / 1000;
const rssMiB = process.resourceUsage().maxRSS / 1024; // maxRSS is in KiB
console.log(`\n${name}${quick ? " --quick" : ""}: wall ${seconds.toFixed(1)} s, peak RSS ${rssMiB.toFixed(0)} MiB`);
