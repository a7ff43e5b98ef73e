// End-to-end: the SpamAssassin example in quick mode (1,500 training / 500 test messages) and its tokenizer.
import { test } from "node:test";
import assert from "node:assert/strict";
import { main, messageText, tokenize, Vocabulary } from "../../examples/spam.js";

test("spam example: headers and markup are stripped, the Subject kept; tokens are lower-case words", () => {
  const raw = "From a@b.c  Mon Jun 24 2002\r\nReceived: from mx.example.com\r\nSubject: FREE Money\r\n  now\r\n\r\n" +
    "<html><style>p { color: red }</style><p>Click&nbsp;HERE, don't wait=\r\n!</p></html>";
  const text = messageText(raw);
  assert.doesNotMatch(text, /received|example|color|nbsp|<p>/i);
  assert.deepEqual(tokenize(text), ["free", "money", "now", "click", "here", "don't", "wait"]);
  const vocab = new Vocabulary([["b", "a", "b", "c"], ["c", "b"]], 2); // b×3, c×2, a×1
  assert.deepEqual(vocab.words, ["b", "c"]);
  assert.deepEqual(Array.from(vocab.encode([["a", "c", "b", "b"]], 2).ids.toTypedArray()), [2, 1]); // a unknown; first 2 known words
});

test("spam example (quick): ≥ 0.9 held-out accuracy, spam precision and recall ≥ 0.85 (measured 0.978 / 0.986 / 0.941)", async () => {
  const m = await main({ quick: true, log: () => {} });
  assert.equal(m.trainSize, 1500);
  assert.equal(m.testSize, 500);
  // always answering "ham" scores 1 - 0.31 = 0.69 here; the bound needs real spam detection
  assert.ok(m.testSpam > 100 && m.testSpam < 200, `test spam ${m.testSpam}`);
  assert.ok(m.accuracy >= 0.9, `held-out accuracy ${m.accuracy}`);
  assert.ok(m.precision >= 0.85, `spam precision ${m.precision}`);
  assert.ok(m.recall >= 0.85, `spam recall ${m.recall}`);
});
