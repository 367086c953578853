#!/usr/bin/env node
// Every relative link in the repository's markdown (README.md, docs/, bench/…) must point at a file that exists
// and, when it names a heading (#anchor) of a markdown file, at a heading that exists (GitHub's slugs).
// Usage: node scripts/check-links.mjs [root]; exits 1 and lists each broken link.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), ".."));
const SKIP = new Set(["node_modules", ".git", ".wrangler", "dist", "coverage"]);

/** Markdown files under dir, skipping dependencies and build output. */
function markdownFiles(dir) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...markdownFiles(path));
    else if (entry.name.endsWith(".md")) found.push(path);
  }
  return found;
}

/** The text outside fenced code blocks, line by line (links in code are examples, not links). */
function proseLines(text) {
  let fence = null;
  return text.split("\n").map((line) => {
    const open = /^\s*(```|~~~)/.exec(line);
    if (open) {
      if (fence === null) fence = open[1];
      else if (line.trim().startsWith(fence)) fence = null;
      return "";
    }
    return fence === null ? line : "";
  });
}

/** GitHub's heading anchor: markup dropped, lower case, punctuation removed, spaces to hyphens. */
function slug(heading) {
  const text = heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/<[^>]+>/g, "")
    .replace(/[`*]/g, "")
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
}

const anchorCache = new Map();
/** Every anchor a markdown file offers: its headings' slugs (repeats numbered as GitHub does). */
function anchorsOf(file) {
  if (!anchorCache.has(file)) {
    const seen = new Map();
    const anchors = new Set();
    for (const line of proseLines(readFileSync(file, "utf8"))) {
      const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
      if (!heading) continue;
      const base = slug(heading[1]);
      const count = seen.get(base) ?? 0;
      seen.set(base, count + 1);
      anchors.add(count === 0 ? base : `${base}-${count}`);
    }
    anchorCache.set(file, anchors);
  }
  return anchorCache.get(file);
}

/** Link targets in a line of prose: [text](target) and [label]: target, inline code removed first. */
function targets(line) {
  const prose = line.replace(/`[^`]*`/g, "");
  const found = [...prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]);
  const reference = /^\s*\[[^\]]+\]:\s*(\S+)/.exec(prose);
  if (reference) found.push(reference[1]);
  return found;
}

const broken = [];
let checked = 0;
for (const file of markdownFiles(root)) {
  proseLines(readFileSync(file, "utf8")).forEach((line, index) => {
    for (const target of targets(line)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto: are not ours to check offline
      checked++;
      const [pathPart, anchor] = target.split("#", 2);
      const path = pathPart === "" ? file : resolve(dirname(file), decodeURIComponent(pathPart));
      const where = `${relative(root, file)}:${index + 1}`;
      if (!existsSync(path)) {
        broken.push(`${where}: ${target} (no such file)`);
      } else if (anchor !== undefined && statSync(path).isFile() && path.endsWith(".md") && !anchorsOf(path).has(anchor)) {
        broken.push(`${where}: ${target} (no heading with that anchor)`);
      }
    }
  });
}

if (broken.length > 0) {
  console.error(`${broken.length} broken link(s) of ${checked}:\n${broken.join("\n")}`);
  process.exit(1);
}
console.log(`${checked} relative links, all resolve`);
