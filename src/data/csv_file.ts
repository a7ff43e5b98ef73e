// readCsv: parseCsv on a file read with node:fs, kept apart so csv.ts stays free of Node imports.
import { readFileSync } from "node:fs";
import { parseCsvFrom, type CsvData, type CsvOptions } from "./csv.js";

/**
 * Read a UTF-8 CSV file and parse it as parseCsv does; errors name the file as given, e.g.
 * `[readCsv] iris.csv line 17, column 'petal_width': cannot parse 'abc' as a number`.
 * @example
 * const { x, y, classes } = readCsv("iris.csv", { target: "species" });
 */
export function readCsv(path: string, opts?: CsvOptions): CsvData {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`[readCsv] could not read '${path}': ${(e as Error).message}`, { cause: e });
  }
  return parseCsvFrom(text, opts ?? {}, { op: "readCsv", file: path });
}
