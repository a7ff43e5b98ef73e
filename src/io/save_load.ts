// torch.save / torch.load counterparts for Node: records of tensors to and from .safetensors files.

import { readFileSync } from "node:fs";
import type { Tensor } from "../tensor.js";
import { writeFileAtomic } from "./fs_atomic.js";
import { loadFromBytes, saveToBytes, type SaveOptions } from "./safetensors.js";

/**
 * Saves a record of tensors (e.g. a state dict) to a safetensors file that PyTorch's
 * `safetensors.torch.load_file` reads. The file is replaced atomically: a failed save leaves any existing
 * file as it was. Errors start with `[save]`.
 *
 * @example
 * save(model.stateDict(), "model.safetensors", { metadata: { format: "pt" } });
 */
export function save(obj: Record<string, Tensor>, path: string, opts: SaveOptions = {}): void {
  writeFileAtomic(path, saveToBytes(obj, opts));
}

/**
 * Loads every tensor of a safetensors file (written by Kiln or by `safetensors.torch.save_file`). F16/BF16
 * load as float32 and I64/I16/I8/U8 as int32. Errors start with `[load]` and name the file.
 *
 * @example
 * model.loadStateDict(load("model.safetensors"));
 */
export function load(path: string): Record<string, Tensor> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`[load] could not read '${path}': ${(e as Error).message}`, { cause: e });
  }
  try {
    return loadFromBytes(bytes);
  } catch (e) {
    // The codec does not know the file name; splice it in after the "[load] " every codec error starts with.
    const message = (e as Error).message.replace(/^\[load\] /, "");
    throw new Error(`[load] '${path}': ${message}`, { cause: e });
  }
}
