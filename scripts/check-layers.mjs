#!/usr/bin/env node
// The layering rule dpdm cannot state: the shared layers (src/http/, src/deps.ts, src/db/, src/lib/, config, keys,
// env, mail) never import a feature module or the composition root, type-only imports included. Exit 1 naming each.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const root = resolve(dirname(new URL(import.meta.url).pathname), "..");
const SHARED = ["src/http", "src/deps.ts", "src/db", "src/lib", "src/mail", "src/config.ts", "src/keys.ts", "src/env.ts"];
const ABOVE = ["src/auth", "src/qr", "src/notes", "src/pages", "src/openapi", "src/app.ts", "src/index.ts"];
// Every static, type-only, side-effect and dynamic import or re-export, by its specifier.
const IMPORT = /(?:^|[\s;])(?:import|export)\b(?:[^'"`;]*?\bfrom\s*)?\s*["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']\s*\)/g;

function files(path) {
  const full = join(root, path);
  if (!statSync(full, { throwIfNoEntry: false })) return [];
  if (statSync(full).isFile()) return [path];
  return readdirSync(full).flatMap((name) => files(join(path, name)));
}

const within = (path, places) =>
  places.some((place) => path === place || path.startsWith(`${place}/`) || path.replace(/\.tsx?$/, "") === place.replace(/\.tsx?$/, ""));

const problems = [];
for (const file of SHARED.flatMap(files).filter((f) => /\.tsx?$/.test(f))) {
  const text = readFileSync(join(root, file), "utf8");
  for (const match of text.matchAll(IMPORT)) {
    const specifier = match[1] ?? match[2];
    if (!specifier.startsWith(".")) continue;
    const target = relative(root, resolve(root, dirname(file), specifier));
    if (within(target, ABOVE)) problems.push(`${file} imports ${specifier} (${target}): a shared layer may not import a feature module`);
  }
}

if (problems.length > 0) {
  console.error(problems.join("\n"));
  console.error("Hand the piece down at composition time instead (src/app.ts), or move the shared type below both.");
  process.exit(1);
}
console.log(`layers: ${SHARED.join(", ")} import no feature module`);
