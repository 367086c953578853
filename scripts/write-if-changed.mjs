// Writes a generated file only when its bytes changed: wrangler dev rebuilds on every write under src/ (watch_dir).
import { readFileSync, writeFileSync } from "node:fs";

/** Writes `content` (a string or bytes) to `path` unless the file already holds exactly that. */
export function writeIfChanged(path, content) {
  const bytes = typeof content === "string" ? Buffer.from(content) : content;
  let previous = null;
  try {
    previous = readFileSync(path);
  } catch {
    // First build.
  }
  if (previous === null || !previous.equals(bytes)) writeFileSync(path, bytes);
}
