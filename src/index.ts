// Public API of Kiln for Node.js: the platform-independent API plus file helpers (save/load, data.readCsv).
// Bundlers for browsers pick src/browser.ts through the package's "browser" export condition.
export * from "./api.js";
export * as data from "./data/node.js";
export { save, load } from "./io/save_load.js";
