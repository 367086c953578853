#!/usr/bin/env node
// The worker's main module stays small (issue 25: <= 350 KiB gzip): what every start parses. Run after `npm run build`
// (reads dist/index.js). The modules beside it (the docs renderer's gzipped Data modules, argon2's wasm) are uploaded but
// never parsed as script; large Text modules are refused: 1.9 MB of them cost a fresh workerd 11-24 ms CPU at start.
// A regression seen before: `import { z } from "zod"` instead of `import * as z` brought back zod's 64 locales (+364 KiB);
// the bundle's "zod" is now src/lib/zod-lazy.ts (wrangler.toml [alias]), which exports zod's members and no `z` at all.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const LIMIT_KIB = 350;
const dir = process.argv[2] ?? "dist";
const kib = (bytes) => Math.round(bytes / 1024);
const main = readFileSync(join(dir, "index.js"));
const mainGzip = gzipSync(main).length;
const others = readdirSync(dir).filter((f) => /\.(txt|wasm|bin|gz)$/.test(f));
// A .gz module is uploaded as it is; the others as wrangler gzips them.
const othersGzip = others.reduce((n, f) => {
  const bytes = readFileSync(join(dir, f));
  return n + (f.endsWith(".gz") ? bytes.length : gzipSync(bytes).length);
}, 0);
console.log(
  `[bundle] main module ${kib(main.length)} KiB, ${kib(mainGzip)} KiB gzip (limit ${LIMIT_KIB}); beside it ${others.length} modules, ${kib(othersGzip)} KiB gzip`,
);
const TEXT_LIMIT_KIB = 64;
const largeText = others.filter((f) => f.endsWith(".txt") && readFileSync(join(dir, f)).length > TEXT_LIMIT_KIB * 1024);
if (largeText.length) {
  console.error(
    `[bundle] Text modules over ${TEXT_LIMIT_KIB} KiB slow every start; gzip them as Data modules (src/openapi/docs.tsx): ${largeText.join(", ")}`,
  );
  process.exit(1);
}
// 300 KiB gzip with the old import in one file: under the limit, so the import form is checked on its own.
const valueImport = /^import\s*\{\s*z\s*\}\s*from\s*"zod"/m;
const offenders = readdirSync("src", { recursive: true }).filter(
  (f) => /\.tsx?$/.test(f) && valueImport.test(readFileSync(join("src", f), "utf8")),
);
if (offenders.length) {
  console.error(
    `[bundle] import * as z from "zod", not import { z } (the bundle's zod, src/lib/zod-lazy.ts, has no z; zod's own keeps its 64 locales): ${offenders.join(", ")}`,
  );
  process.exit(1);
}
if (kib(mainGzip) > LIMIT_KIB) {
  console.error(`[bundle] the main module is over ${LIMIT_KIB} KiB gzip: every worker start parses it (bench/startup.mjs)`);
  process.exit(1);
}
