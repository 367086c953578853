#!/usr/bin/env node
/**
 * npm run import:django -- FILE [--remote] [--dry-run] [--persist-to DIR] [--config wrangler.toml] [--database DB]
 *
 * Imports `python manage.py dumpdata auth.user` JSON into the worker's D1 (local by default, `--remote` for the
 * deployed one) through `wrangler d1 execute`. Prints what it imports and what it skips, and why. Idempotent:
 * a user already present (same id, username or email) is reported and left as it is. The planning rules live
 * in src/auth/django-import.ts (bundled here with esbuild, which wrangler itself depends on).
 *
 * Bounded memory: the file is read in 1 MiB chunks and split into its entries as it goes (never parsed whole), the
 * SQL is written to files of USERS_PER_BATCH users, and wrangler's output goes to a file, not into this process.
 * The summary counts the users table before and after, so it says what was committed, not what was hoped.
 * Nothing read from the file reaches the terminal unescaped (printable(): control and bidi characters as \u{…}).
 */
import { spawnSync } from "node:child_process";
import { StringDecoder } from "node:string_decoder";
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** Users per `wrangler d1 execute --file`: each batch's SQL is a few MB at most. */
const USERS_PER_BATCH = 10_000;
/** Imported users listed one per line; beyond this, a count (skips are always listed, each with its reason). */
const LISTED_USERS = 20;

function usage(message) {
  if (message) console.error(`import:django: ${message}`);
  console.error("usage: npm run import:django -- FILE [--remote] [--dry-run] [--persist-to DIR] [--config wrangler.toml] [--database DB]");
  process.exit(2);
}

function parseArgs(argv) {
  const options = { file: null, remote: false, dryRun: false, persistTo: null, config: null, database: "DB" };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => argv[++i] ?? usage(`${arg} needs a value`);
    if (arg === "--remote") options.remote = true;
    else if (arg === "--dry-run") options.dryRun = true;
    else if (arg === "--persist-to") options.persistTo = value();
    else if (arg === "--config" || arg === "-c") options.config = value();
    else if (arg === "--database") options.database = value();
    else if (arg === "--help" || arg === "-h") usage();
    else if (arg.startsWith("-")) usage(`unknown option ${arg}`);
    else if (options.file === null) options.file = arg;
    else usage(`one FILE only, got ${arg} too`);
  }
  if (!options.file) usage("FILE is required");
  if (options.remote && options.persistTo) usage("--persist-to is for the local database only");
  return options;
}

async function loadPlanner(workDir) {
  const outfile = join(workDir, "django-import.mjs");
  // The argon2 core (weak hashes are wrapped in argon2id) is a .wasm module import in the worker: compiled from the file here.
  const wasmModule = {
    name: "wasm-module",
    setup(b) {
      b.onLoad({ filter: /\.wasm$/ }, (args) => ({
        contents: `import { readFileSync } from "node:fs"; export default new WebAssembly.Module(readFileSync(${JSON.stringify(args.path)}));`,
        loader: "js",
      }));
    },
  };
  await build({
    entryPoints: [join(root, "src/auth/django-import.ts")],
    bundle: true,
    format: "esm",
    platform: "node",
    outfile,
    logLevel: "silent",
    plugins: [wasmModule],
  });
  return import(pathToFileURL(outfile).href);
}

/** Runs `wrangler d1 execute`; its output goes to a file (never into this process's memory), returned as a path. */
function wrangler(options, extra, workDir) {
  const args = ["wrangler", "d1", "execute", options.database, options.remote ? "--remote" : "--local", ...extra];
  if (options.persistTo) args.push("--persist-to", options.persistTo);
  if (options.config) args.push("--config", options.config);
  const outPath = join(workDir, `wrangler-${Date.now()}-${Math.random().toString(36).slice(2)}.out`);
  const out = openSync(outPath, "w");
  try {
    const run = spawnSync("npx", args, {
      cwd: root,
      stdio: ["ignore", out, out],
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
    });
    if (run.status !== 0) {
      const text = readFileSync(outPath, "utf8");
      console.error(
        text
          .slice(-4000)
          .split("\n")
          .map((line) => printable(line, 400))
          .join("\n"),
      );
      throw new Error(`wrangler d1 execute failed (${run.error ? run.error.message : `exit ${run.status}`})`);
    }
  } finally {
    closeSync(out);
  }
  return outPath;
}

let printable = (text) => text;

function query(options, sql, workDir) {
  const text = readFileSync(wrangler(options, ["--json", "--command", sql], workDir), "utf8");
  return JSON.parse(text.slice(text.indexOf("[")))[0]?.results ?? [];
}

function existingUsers(options, workDir) {
  const rows = query(options, "SELECT id, username_key, lower(email) AS email FROM users", workDir);
  return {
    ids: new Set(rows.map((r) => r.id)),
    usernameKeys: new Set(rows.map((r) => r.username_key)),
    emails: new Set(rows.map((r) => r.email).filter(Boolean)),
  };
}

function userCount(options, workDir) {
  return query(options, "SELECT count(*) AS n FROM users", workDir)[0]?.n ?? 0;
}

/**
 * The entries of a dumpdata file (a JSON list), one at a time: read in 1 MiB chunks, each top-level element cut out
 * by tracking strings and nesting, then parsed on its own. Yields `{ entry }` or `{ error }` (an element that is
 * not JSON); throws if the file is not a JSON list.
 */
function* dumpEntries(path) {
  const fd = openSync(path, "r");
  const buffer = Buffer.alloc(1 << 20);
  const decoder = new StringDecoder("utf8");
  let opened = false;
  let closed = false;
  let element = "";
  let depth = 0;
  let inString = false;
  let escaped = false;
  let index = 0;
  const finish = function* () {
    const text = element.trim();
    element = "";
    if (text === "") return;
    index += 1;
    try {
      yield { entry: JSON.parse(text) };
    } catch {
      yield { error: `entry ${index} is not valid JSON` };
    }
  };
  try {
    for (;;) {
      const read = readSync(fd, buffer, 0, buffer.length, null);
      const chunk = read === 0 ? decoder.end() : decoder.write(buffer.subarray(0, read));
      let start = 0;
      for (let i = 0; i < chunk.length; i++) {
        const ch = chunk[i];
        if (!opened) {
          if (ch === "[") {
            opened = true;
            start = i + 1;
          } else if (!/\s/.test(ch) && ch !== "\ufeff") throw new Error("not a dumpdata document: expected a JSON list of objects");
          continue;
        }
        if (closed) {
          if (!/\s/.test(ch)) throw new Error("not a dumpdata document: text after the closing ]");
          continue;
        }
        if (inString) {
          if (escaped) escaped = false;
          else if (ch === "\\") escaped = true;
          else if (ch === '"') inString = false;
          continue;
        }
        if (ch === '"') inString = true;
        else if (ch === "{" || ch === "[") depth += 1;
        else if (ch === "}" || (ch === "]" && depth > 0)) depth -= 1;
        else if (depth === 0 && (ch === "," || ch === "]")) {
          element += chunk.slice(start, i);
          start = i + 1;
          yield* finish();
          if (ch === "]") closed = true;
        }
      }
      if (opened && !closed) element += chunk.slice(start);
      if (read === 0) break;
    }
  } finally {
    closeSync(fd);
  }
  if (!opened || !closed) throw new Error("not a dumpdata document: the JSON list is not closed");
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const workDir = mkdtempSync(join(tmpdir(), "import-django-"));
  try {
    const planner = await loadPlanner(workDir);
    printable = planner.printable;
    const existing = existingUsers(options, workDir);
    const plan = planner.createPlanner(existing);
    const where = options.remote ? "the remote D1" : `the local D1${options.persistTo ? ` (${printable(options.persistTo, 200)})` : ""}`;
    const batches = [];
    let batch = null;
    let planned = 0;
    let skipped = 0;
    try {
      for (const item of dumpEntries(options.file)) {
        const outcome = item.error ? { skipped: { pk: null, username: null, reason: item.error } } : plan.add(item.entry);
        if (outcome.skipped) {
          skipped += 1;
          const { pk, username, reason } = outcome.skipped;
          console.log(
            `  - ${username === null ? "?" : printable(username, 60)} (pk ${printable(JSON.stringify(pk) ?? "?", 40)}): ${reason}`,
          );
          continue;
        }
        const user = outcome.user;
        planned += 1;
        if (planned <= LISTED_USERS) {
          const flags = [user.isSuperuser && "superuser", user.isStaff && "staff", !user.isActive && "inactive"].filter(Boolean).join(", ");
          console.log(
            `  + ${printable(user.username, 60)} (pk ${user.id}, ${printable(user.passwordHash.split("$")[0], 40)}${flags ? `, ${flags}` : ""})`,
          );
        }
        if (!batch || batch.users === USERS_PER_BATCH) {
          if (batch) closeSync(batch.fd);
          const path = join(workDir, `import-${batches.length}.sql`);
          batch = { path, fd: openSync(path, "w"), users: 0 };
          batches.push(batch);
        }
        writeSync(batch.fd, planner.importSql([user]));
        batch.users += 1;
      }
    } catch (error) {
      usage(`cannot read ${printable(options.file, 200)}: ${printable(String(error.message), 200)}`);
    } finally {
      if (batch) closeSync(batch.fd);
    }
    if (planned > LISTED_USERS) console.log(`  + … and ${planned - LISTED_USERS} more`);
    console.log(`import:django: ${planned} to import into ${where}, ${skipped} skipped`);
    if (planned === 0) return;
    if (options.dryRun) {
      for (const { path } of batches)
        for (const line of readFileSync(path, "utf8").split("\n")) if (line) console.log(printable(line, 10_000));
      return;
    }
    const before = userCount(options, workDir);
    let failure = null;
    for (const [i, { path, users }] of batches.entries()) {
      try {
        wrangler(options, ["--file", path, "--yes"], workDir);
        console.log(`import:django: batch ${i + 1}/${batches.length} (${users} users) done`);
      } catch (error) {
        failure = error;
        break;
      }
    }
    const imported = userCount(options, workDir) - before;
    console.log(
      `import:django: ${imported} of ${planned} users imported (the users table went from ${before} to ${before + imported})${failure ? "; stopped at the failed batch above" : ""}`,
    );
    if (failure) throw failure;
    if (imported !== planned)
      throw new Error(`${planned - imported} planned users were not written (a user added meanwhile with the same id, username or email?)`);
    console.log("import:django: done; each user's hash becomes argon2id at their first sign-in here");
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(`import:django: ${printable(String(error.message), 400)}`);
  process.exit(1);
});
