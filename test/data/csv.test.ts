// Tests for parseCsv/readCsv: RFC 4180 quoting, line endings, class labels, and every error message with its line.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseCsv, readCsv } from "../../src/data/node.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const fixture = (name: string) => join(ROOT, "fixtures", "csv", name);
const IRIS_FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"];
const f32 = (rows: number[][]) => rows.map((r) => r.map((v) => Math.fround(v)));

describe("readCsv", () => {
  test("iris: float32 features and int32 class indices into the sorted labels", () => {
    const d = readCsv(fixture("iris.csv"), { target: "species" });
    assert.deepEqual(d.x.shape, [18, 4]);
    assert.equal(d.x.dtype, "float32");
    assert.deepEqual((d.x.tolist() as number[][])[0], f32([[5.1, 3.5, 1.4, 0.2]])[0]);
    assert.deepEqual(d.featureNames, IRIS_FEATURES);
    assert.equal(d.targetName, "species");
    assert.deepEqual(d.classes, ["setosa", "versicolor", "virginica"]);
    assert.equal(d.y!.dtype, "int32");
    assert.deepEqual(d.y!.tolist(), [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 1]);
  });

  test("CRLF line endings read the same as LF", () => {
    const lf = readCsv(fixture("iris.csv"), { target: "species" });
    const crlf = readCsv(fixture("iris_crlf.csv"), { target: "species" });
    assert.deepEqual(crlf.x.tolist(), lf.x.tolist());
    assert.deepEqual(crlf.y!.tolist(), lf.y!.tolist());
    assert.deepEqual(crlf.classes, lf.classes);
  });

  test("the target may be given by index, negative from the end", () => {
    const byName = readCsv(fixture("iris.csv"), { target: "species" });
    for (const target of [4, -1]) {
      const d = readCsv(fixture("iris.csv"), { target });
      assert.equal(d.targetName, "species");
      assert.deepEqual(d.y!.tolist(), byName.y!.tolist());
    }
  });

  test("a numeric target gives float32 y; columns picks the features", () => {
    const d = readCsv(fixture("iris.csv"), { target: "petal_width", columns: ["petal_length", 0] });
    assert.deepEqual(d.featureNames, ["petal_length", "sepal_length"]);
    assert.deepEqual((d.x.tolist() as number[][])[5], f32([[4.7, 7.0]])[0]);
    assert.equal(d.y!.dtype, "float32");
    assert.equal(d.classes, undefined);
    assert.deepEqual((d.y!.tolist() as number[]).slice(0, 2), [Math.fround(0.2), Math.fround(0.2)]);
  });

  test("quoted fields: delimiters, doubled quotes, line breaks, whitespace, CRLF, blank lines", () => {
    const d = readCsv(fixture("quoted.csv"), { target: "label", columns: ["x1", "x2"] });
    assert.deepEqual(d.x.tolist(), f32([[1.5, 2], [-300, 4], [0.25, 5]]));
    assert.deepEqual(d.classes, ["cat", "dog"]);
    assert.deepEqual(d.y!.tolist(), [0, 1, 0]);
    const notes = readCsv(fixture("quoted.csv"), { target: "note, free text", columns: ["id"] });
    assert.deepEqual(notes.classes, ["padded", 'says "hi"', "two\r\nlines"]);
    assert.deepEqual(notes.y!.tolist(), [1, 2, 0]);
    assert.deepEqual(notes.x.tolist(), [[1], [2], [3]]);
  });

  test("a non-numeric feature names the file, line, column and value", () => {
    const path = fixture("iris_bad_value.csv");
    assert.throws(() => readCsv(path, { target: "species" }), {
      message: `[readCsv] ${path} line 17, column 'petal_width': cannot parse 'abc' as a number`,
    });
  });

  test("an empty feature cell is a missing value", () => {
    const path = fixture("iris_missing.csv");
    assert.throws(() => readCsv(path, { target: "species" }), { message: `[readCsv] ${path} line 10, column 'sepal_width': missing value` });
  });

  test("a ragged row names its line and the field counts", () => {
    const path = fixture("iris_ragged.csv");
    assert.throws(() => readCsv(path, { target: "species" }), { message: `[readCsv] ${path} line 6: expected 5 fields, got 4` });
  });

  test("class labels in a feature column are a parse error (pick columns to leave them out)", () => {
    const path = fixture("iris.csv");
    assert.throws(() => readCsv(path), { message: `[readCsv] ${path} line 2, column 'species': cannot parse 'setosa' as a number` });
    assert.deepEqual(readCsv(path, { columns: IRIS_FEATURES }).x.shape, [18, 4]);
  });

  test("a file that cannot be read", () => {
    const path = fixture("no_such_file.csv");
    assert.throws(() => readCsv(path), (e: Error) => e.message.startsWith(`[readCsv] could not read '${path}': ENOENT`));
  });
});

describe("parseCsv", () => {
  test("header row, trailing newline optional, surrounding whitespace trimmed", () => {
    for (const text of ["a, b ,c\n1,2,3\n4 , 5,6", "a, b ,c\n1,2,3\n4 , 5,6\n", "a, b ,c\n1,2,3\n\n4 , 5,6\n\n\n"]) {
      const d = parseCsv(text);
      assert.deepEqual(d.featureNames, ["a", "b", "c"]);
      assert.deepEqual(d.x.tolist(), [[1, 2, 3], [4, 5, 6]]);
      assert.equal(d.y, undefined);
      assert.equal(d.targetName, undefined);
    }
  });

  test("without a header, columns are named by their index", () => {
    const d = parseCsv("1,2,x\n3,4,y\n", { header: false, target: 2 });
    assert.deepEqual(d.featureNames, ["0", "1"]);
    assert.equal(d.targetName, "2");
    assert.deepEqual(d.x.tolist(), [[1, 2], [3, 4]]);
    assert.deepEqual(d.classes, ["x", "y"]);
    assert.deepEqual(parseCsv("1,2\n", { header: false, target: "0" }).y!.tolist(), [1]);
  });

  test("other delimiters", () => {
    assert.deepEqual(parseCsv("a;b\n1.5;2\n", { delimiter: ";" }).x.tolist(), [[1.5, 2]]);
    assert.deepEqual(parseCsv("a\tb\n 1\t2 \n", { delimiter: "\t" }).x.tolist(), [[1, 2]]);
    assert.throws(() => parseCsv("a;b\n1,5;2\n", { delimiter: ";" }), { message: "[parseCsv] line 2, column 'a': cannot parse '1,5' as a number" });
  });

  test("numbers follow Python float(): signs, exponents, bare points, nan and inf", () => {
    const d = parseCsv("v\n1e3\n-.5\n+2.\n-1.5E-2\nnan\n-inf\nInfinity\n");
    assert.deepEqual(d.x.tolist(), [[1000], [-0.5], [2], [Math.fround(-0.015)], [NaN], [-Infinity], [Infinity]]);
    for (const bad of ["0x10", "1_000", "1.2.3", "e5", "--1", "12abc"]) {
      assert.throws(() => parseCsv(`v\n${bad}\n`), { message: `[parseCsv] line 2, column 'v': cannot parse '${bad}' as a number` });
    }
  });

  test("quoted numbers are numbers; a quoted empty row is a row", () => {
    assert.deepEqual(parseCsv('a,b\n"1"," 2 "\n').x.tolist(), [[1, 2]]);
    assert.throws(() => parseCsv('a\n1\n""\n'), { message: "[parseCsv] line 3, column 'a': missing value" });
  });

  test("a byte-order mark is skipped", () => {
    assert.deepEqual(parseCsv("\uFEFFa,b\n1,2\n").featureNames, ["a", "b"]);
  });

  test("line numbers count physical lines, also inside quoted line breaks", () => {
    const text = 'a,b\n1,"x\ny"\r\n2,"z\r\n\r\nw"\n\nbad,"w"\n';
    // header 1; record "1" spans lines 2-3 and record "2" lines 4-6; line 7 is blank
    assert.throws(() => parseCsv(text, { target: "b" }), { message: "[parseCsv] line 8, column 'a': cannot parse 'bad' as a number" });
  });

  test("empty target cells are missing values, numeric or label", () => {
    assert.throws(() => parseCsv("a,t\n1,2\n3,\n", { target: "t" }), { message: "[parseCsv] line 3, column 't': missing value" });
    assert.throws(() => parseCsv("a,t\n1,cat\n3, \n", { target: "t" }), { message: "[parseCsv] line 3, column 't': missing value" });
  });

  test("a target with any non-numeric value holds labels, sorted as strings", () => {
    const d = parseCsv("a,t\n1,10\n2,9\n3,b\n4,10\n", { target: "t" });
    assert.deepEqual(d.classes, ["10", "9", "b"]);
    assert.deepEqual(d.y!.tolist(), [0, 1, 2, 0]);
  });

  test("a header alone gives zero rows", () => {
    const d = parseCsv("a,b,t\n", { target: "t" });
    assert.deepEqual(d.x.shape, [0, 2]);
    assert.deepEqual(d.y!.shape, [0]);
  });

  test("errors in the structure", () => {
    assert.throws(() => parseCsv('a,b\n1,"2\n3,4\n'), { message: "[parseCsv] line 2: unterminated quoted field (the quote that opens field 2 is never closed)" });
    assert.throws(() => parseCsv('a,b\n1,2\n3,"4"x\n'), { message: "[parseCsv] line 3: unexpected character 'x' after the closing quote of field 2" });
    assert.throws(() => parseCsv("a,b\n1,2\n3\n"), { message: "[parseCsv] line 3: expected 2 fields, got 1" });
    assert.throws(() => parseCsv("a,b\n1,2,3\n"), { message: "[parseCsv] line 2: expected 2 fields, got 3" });
    assert.throws(() => parseCsv("a,b,a\n1,2,3\n"), { message: "[parseCsv] line 1: duplicate column name 'a' in the header" });
    assert.throws(() => parseCsv(""), { message: "[parseCsv] the input is empty" });
    assert.throws(() => parseCsv("\n \n"), { message: "[parseCsv] the input is empty" });
  });

  test("errors in the options", () => {
    assert.throws(() => parseCsv("a,b\n1,2\n", { target: "c" }), { message: "[parseCsv] target column 'c' not found; columns are: a, b" });
    assert.throws(() => parseCsv("a,b\n1,2\n", { target: 2 }), { message: "[parseCsv] target column index 2 is out of range for 2 columns" });
    assert.throws(() => parseCsv("a,b\n1,2\n", { columns: ["a", "z"] }), { message: "[parseCsv] column 'z' not found; columns are: a, b" });
    assert.throws(() => parseCsv("a,b\n1,2\n", { target: "b", columns: [1] }), { message: "[parseCsv] column 'b' is the target; it cannot also be a feature" });
    assert.throws(() => parseCsv("a,b\n1,2\n", { delimiter: ";;" }), { message: '[parseCsv] delimiter must be a single character other than a quote or line break, got ";;"' });
    assert.throws(() => parseCsv("a,b\n1,2\n", { delimiter: '"' }), { message: /^\[parseCsv\] delimiter must be/ });
  });

  test("the parser module has no Node imports (it is meant to run in browsers too)", () => {
    const src = readFileSync(join(ROOT, "src", "data", "csv.ts"), "utf8");
    assert.doesNotMatch(src, /from "node:/);
  });
});
