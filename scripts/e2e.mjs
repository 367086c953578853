#!/usr/bin/env node
// `npm run test:e2e [-- <phase or file filter>]`: the browser tests (test/e2e/) in Debian's Chromium,
// driven by playwright-core, against `wrangler dev` on 127.0.0.1 with a fresh, migrated local D1.
// Each phase starts its own wrangler dev with its own settings (a short QR lifetime for expiry),
// runs its test files with node:test, and stops wrangler again. Exits non-zero if anything failed.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { generateJwks } from "./keys.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const WRANGLER = join(root, "node_modules/wrangler/bin/wrangler.js");
const PORT = Number(process.env.E2E_PORT ?? 8791);
const INSPECTOR_PORT = Number(process.env.E2E_INSPECTOR_PORT ?? PORT + 1);
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const BASE_URL = `http://127.0.0.1:${PORT}`;
const READY_TIMEOUT_MS = 90_000;

/** Settings per phase; each phase is one wrangler dev. */
const PHASES = [
  // QR_DEV_PLACES: local clients may name their place (X-Dev-Place), so a phone can be put far away; never set deployed.
  {
    name: "journey",
    vars: { QR_DEV_PLACES: "on", QR_MAX_DISTANCE_KM: "5000" },
    files: ["test/e2e/journey.test.mjs", "test/e2e/docs.test.mjs"],
  },
  // Codes that expire in 6 s and access tokens that live 5 s: expiry and token refresh without waiting minutes.
  { name: "short-lived", vars: { QR_LOGIN_TTL: "6", ACCESS_TOKEN_LIFETIME: "5" }, files: ["test/e2e/short-lived.test.mjs"] },
  // The refresh token in an HttpOnly cookie (REFRESH_COOKIE=on), on wrangler dev's plain-http 127.0.0.1.
  { name: "cookie", vars: { REFRESH_COOKIE: "on" }, files: ["test/e2e/cookie.test.mjs"] },
  // examples/app on a second origin (its own port), allowed by CORS_ORIGINS, with the refresh cookie on.
  // Account mail (issue 24): djoser's endpoints, activation on, each mail a file wrangler dev writes.
  {
    name: "mail",
    vars: { MAIL_FROM: "auth@example.com", ACTIVATION_EMAIL: "on", ACCOUNT_MAIL_FLOOR_MS: "0" },
    files: ["test/e2e/mail.test.mjs", "test/e2e/djoser-client.test.mjs"],
  },
  { name: "app", vars: { REFRESH_COOKIE: "on", CORS_ORIGINS: `http://127.0.0.1:${PORT + 10}` }, files: ["test/e2e/app.test.mjs"] },
];

const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" };

function log(message) {
  console.log(`[e2e] ${message}`);
}

function migrate(stateDir) {
  const result = spawnSync(process.execPath, [WRANGLER, "d1", "migrations", "apply", "DB", "--local", "--persist-to", stateDir], {
    cwd: root,
    env: { ...env, CI: "true" },
    encoding: "utf8",
  });
  if (result.status !== 0) {
    process.stderr.write(result.stdout + result.stderr);
    throw new Error("migrating the local D1 failed");
  }
}

async function startWrangler(stateDir, vars) {
  // JWT_ISSUER/JWT_AUDIENCE are required (never taken from the Host header): the origin the tests call.
  const allVars = {
    JWT_SIGNING_KEYS: JSON.stringify(generateJwks("ES256", "e2e-key")),
    JWT_ISSUER: BASE_URL,
    JWT_AUDIENCE: BASE_URL,
    RATE_LIMITS: "off",
    ...vars,
  };
  const args = [
    WRANGLER,
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(PORT),
    "--inspector-port",
    String(INSPECTOR_PORT),
    "--persist-to",
    stateDir,
    "--show-interactive-dev-session=false",
    "--log-level",
    "warn",
  ];
  for (const [name, value] of Object.entries(allVars)) args.push("--var", `${name}:${value}`);
  // Its own process group, so anything it leaves behind can be stopped by that group's id.
  const child = spawn(process.execPath, args, { cwd: root, env: { ...env, CI: "" }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  const started = Date.now();
  while (Date.now() - started < READY_TIMEOUT_MS) {
    if (child.exitCode !== null) break;
    try {
      const res = await fetch(`${BASE_URL}/health`);
      if (res.ok) {
        log(`wrangler dev ready on ${BASE_URL} in ${Date.now() - started} ms (pid ${child.pid})`);
        return { child, exited, output: () => output };
      }
    } catch {
      // Not listening yet.
    }
    await sleep(250);
  }
  process.stderr.write(output);
  await stopWrangler({ child, exited });
  throw new Error(`wrangler dev did not become ready on ${BASE_URL}`);
}

async function stopWrangler({ child, exited }) {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill("SIGTERM");
    const stopped = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
    if (!stopped) child.kill("SIGKILL");
  }
  // workerd is wrangler's child in the same group: make sure nothing of this group holds the port.
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // The group is already gone.
  }
  await exited;
}

function runTests(files, vars) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--test", "--test-concurrency=1", "--test-reporter=spec", ...files], {
      cwd: root,
      env: {
        ...env,
        E2E_BASE_URL: BASE_URL,
        E2E_APP_PORT: String(PORT + 10),
        E2E_FOREIGN_PORT: String(PORT + 11),
        CHROMIUM_PATH: CHROMIUM,
        E2E_QR_TTL: vars.QR_LOGIN_TTL ?? "120",
        E2E_ACCESS_LIFETIME: vars.ACCESS_TOKEN_LIFETIME ?? "300",
      },
      stdio: "inherit",
    });
    child.on("exit", (code) => resolve(code ?? 1));
  });
}

async function main() {
  if (!existsSync(CHROMIUM)) {
    console.error(`[e2e] no Chromium at ${CHROMIUM}: install Debian's package (apt-get install -y chromium) or set CHROMIUM_PATH`);
    process.exit(2);
  }
  const filter = process.argv[2];
  const phases = PHASES.filter((p) => !filter || p.name.includes(filter) || p.files.some((f) => f.includes(filter)));
  if (phases.length === 0) {
    console.error(`[e2e] no phase matches ${filter}; phases: ${PHASES.map((p) => p.name).join(", ")}`);
    process.exit(2);
  }
  const stateDir = mkdtempSync(join(tmpdir(), "edge-auth-e2e-"));
  let failed = false;
  let current = null;
  const cleanup = async () => {
    if (current) await stopWrangler(current);
    current = null;
    rmSync(stateDir, { recursive: true, force: true });
  };
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, () => cleanup().finally(() => process.exit(130)));
  }
  try {
    migrate(stateDir);
    log(`fresh local D1 migrated in ${stateDir}`);
    for (const phase of phases) {
      log(`phase ${phase.name}: ${JSON.stringify(phase.vars)}`);
      current = await startWrangler(stateDir, phase.vars);
      const code = await runTests(phase.files, phase.vars);
      if (code !== 0) {
        failed = true;
        log(`phase ${phase.name} failed; wrangler output follows`);
        process.stderr.write(current.output().slice(-8000));
      }
      await stopWrangler(current);
      current = null;
    }
  } catch (error) {
    failed = true;
    console.error(`[e2e] ${error instanceof Error ? error.message : error}`);
  } finally {
    await cleanup();
  }
  log(failed ? "FAILED" : "passed");
  process.exit(failed ? 1 : 0);
}

await main();
