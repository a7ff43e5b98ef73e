// Crash-safe file replacement for Node: write a sibling temp file, fsync it, then rename it over the target.

import { closeSync, fsyncSync, openSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { basename, dirname, join } from "node:path";

/**
 * Writes `bytes` to `path` so that readers (and a crash) see either the old file or the complete new one,
 * never a partial write. On failure the temp file is removed, any existing file is left untouched, and an
 * error starting with `[save]` and naming `path` is thrown (the original error is its `cause`).
 *
 * @example
 * writeFileAtomic("model.safetensors", bytes);
 */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  // Same directory, so rename stays on one file system and is atomic; the random part keeps concurrent
  // writers apart and "wx" refuses to reuse a name that somehow exists.
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(6).toString("hex")}.tmp`);
  let fd: number | undefined;
  let created = false;
  try {
    // Replacing a file must not silently change its permissions to the umask default.
    const mode = statSync(path, { throwIfNoEntry: false })?.mode ?? 0o666;
    fd = openSync(tmp, "wx", mode & 0o7777);
    created = true;
    for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) closeQuietly(fd);
    if (created) unlinkQuietly(tmp);
    throw new Error(`[save] could not write '${path}': ${(e as Error).message}`, { cause: e });
  }
  syncDirectory(dirname(path));
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // The write already failed; that error is the one worth reporting.
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // The write already failed; that error is the one worth reporting.
  }
}

// The rename is only durable once the directory entry is flushed. Windows cannot open directories, and the
// data is already safely in place, so this is best effort.
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // Best effort, see above.
  } finally {
    if (fd !== undefined) closeQuietly(fd);
  }
}
