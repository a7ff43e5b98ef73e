// The data namespace on Node.js: the platform-independent toolkit plus readCsv from the file system.
export * from "./index.js";
export { readCsv } from "./csv_file.js";
