// Public API of Kiln for browsers: everything but the Node file helpers (use saveToBytes/loadFromBytes and
// data.parseCsv on text you fetched).
export * from "./api.js";
export * as data from "./data/index.js";
