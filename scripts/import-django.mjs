#!/usr/bin/env node
/**
 * npm run import:django -- FILE [--remote] [--dry-run] [--persist-to DIR] [--config wrangler.toml] [--database DB]
 *
 * Imports `python manage.py dumpdata auth.user` JSON into the worker's D1 (local by default, `--remote` for the
 * deployed one) through `wrangler d1 execute`. Prints what it imports and what it skips, and why. Idempotent:
 * a user already present (same id, username or email) is reported and left as it is. The planning rules live
 * in src/auth/django-import.ts (bundled here with esbuild, which wrangler itself depends on).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

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
  await build({ entryPoints: [join(root, "src/auth/django-import.ts")], bundle: true, format: "esm", platform: "node", outfile, logLevel: "silent" });
  return import(pathToFileURL(outfile).href);
}

function wrangler(options, extra) {
  const args = ["wrangler", "d1", "execute", options.database, options.remote ? "--remote" : "--local", ...extra];
  if (options.persistTo) args.push("--persist-to", options.persistTo);
  if (options.config) args.push("--config", options.config);
  const run = spawnSync("npx", args, { cwd: root, encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" } });
  if (run.status !== 0) {
    console.error(run.stdout, run.stderr);
    throw new Error(`wrangler d1 execute failed (exit ${run.status})`);
  }
  return run.stdout;
}

function existingUsers(options) {
  const out = wrangler(options, ["--json", "--command", "SELECT id, username_key, lower(email) AS email FROM users"]);
  const rows = JSON.parse(out.slice(out.indexOf("[")))[0]?.results ?? [];
  return {
    ids: new Set(rows.map((r) => r.id)),
    usernameKeys: new Set(rows.map((r) => r.username_key)),
    emails: new Set(rows.map((r) => r.email).filter(Boolean)),
  };
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  let dump;
  try {
    dump = JSON.parse(readFileSync(options.file, "utf8"));
  } catch (error) {
    usage(`cannot read ${options.file} as JSON: ${error.message}`);
  }
  const workDir = mkdtempSync(join(tmpdir(), "import-django-"));
  try {
    const { planImport, importSql } = await loadPlanner(workDir);
    const existing = existingUsers(options);
    const plan = planImport(dump, existing);
    const where = options.remote ? "the remote D1" : `the local D1${options.persistTo ? ` (${options.persistTo})` : ""}`;
    console.log(`import:django: ${plan.users.length} to import into ${where}, ${plan.skipped.length} skipped`);
    for (const user of plan.users) {
      const flags = [user.isSuperuser && "superuser", user.isStaff && "staff", !user.isActive && "inactive"].filter(Boolean).join(", ");
      console.log(`  + ${user.username} (pk ${user.id}, ${user.passwordHash.split("$")[0]}${flags ? `, ${flags}` : ""})`);
    }
    for (const skip of plan.skipped) console.log(`  - ${skip.username ?? "?"} (pk ${JSON.stringify(skip.pk)}): ${skip.reason}`);
    if (plan.users.length === 0) return;
    const sqlFile = join(workDir, "import.sql");
    writeFileSync(sqlFile, importSql(plan.users));
    if (options.dryRun) {
      console.log(readFileSync(sqlFile, "utf8"));
      return;
    }
    wrangler(options, ["--file", sqlFile, "--yes"]);
    console.log(`import:django: done; each user's hash becomes argon2id at their first sign-in here`);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(`import:django: ${error.message}`);
  process.exit(1);
});
