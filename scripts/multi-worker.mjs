#!/usr/bin/env node
// `npm run test:multi-worker`: our worker and the consumer example in ONE `wrangler dev -c … -c …` (Cloudflare's
// multi-worker dev), rate limits on, as CI runs it. wrangler exposes only the first config's worker, so a check-only
// front worker (written to a temp dir) goes first and routes /api/* to ours and the rest to the consumer:
//   wrangler dev -c <tmp>/front.toml -c examples/consumer/wrangler.toml -c wrangler.toml
// Checks: register and sign in (our worker, not first: wrangler 4.86 dropped its [[ratelimits]] there and it answered
// 500 server_misconfigured), the consumer's GET /me through AuthService.authenticate, the per-IP sign-in limit
// answering 429, and still 429 after 12 s idle (the emulation in wrangler 4.86's miniflare forgot its counters after
// ~10 s idle; today's keeps them in a SQLite-backed object, per wall-clock-aligned window).
// 127.0.0.1 only; ports MULTI_WORKER_PORT (default 8960) and +1 (inspector); own state, registry and temp dir.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { ensureDevVars } from "./dev-vars.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const WRANGLER = join(root, "node_modules/wrangler/bin/wrangler.js");
const PORT = Number(process.env.MULTI_WORKER_PORT ?? 8960);
const BASE = `http://127.0.0.1:${PORT}`;
const READY_TIMEOUT_MS = 90_000;
// wrangler.toml: SIGNIN_IP_LIMITER = 20 per 60 s.
const SIGNIN_IP_LIMIT = 20;

const dir = mkdtempSync(join(tmpdir(), "multi-worker-"));
const env = {
  ...process.env,
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_SEND_METRICS: "false",
  NO_COLOR: "1",
  CI: "",
  // Our own dev registry: other checkouts' `wrangler dev` of the same worker names stay out of this run.
  WRANGLER_REGISTRY_PATH: join(dir, "registry"),
};
let child;
let output = "";

function log(message) {
  console.log(`[multi-worker] ${message}`);
}

function stop() {
  if (child?.exitCode === null) {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {}
  }
}

async function call(path, { method = "GET", body, headers = {} } = {}) {
  const res = await fetch(`${BASE}${path}`, {
    method,
    headers: { ...(body ? { "content-type": "application/json" } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, json, text };
}

function expect(condition, message, detail) {
  if (!condition) throw new Error(`${message}${detail === undefined ? "" : `: ${JSON.stringify(detail)}`}`);
  log(`ok  ${message}`);
}

async function main() {
  // Like `npm run dev`: a non-first worker reads its own .dev.vars (--var reaches only the first one).
  if (ensureDevVars(join(root, ".dev.vars"))) log("wrote .dev.vars with fresh local keys (git-ignored)");
  const state = join(dir, "state");
  const migrate = spawnSync(process.execPath, [WRANGLER, "d1", "migrations", "apply", "DB", "--local", "--persist-to", state], {
    cwd: root,
    env: { ...env, CI: "true" },
    encoding: "utf8",
  });
  if (migrate.status !== 0) throw new Error(`migrations failed:\n${migrate.stdout}${migrate.stderr}`);

  writeFileSync(
    join(dir, "front.toml"),
    [
      'name = "multi-worker-front"',
      'main = "front.js"',
      'compatibility_date = "2026-04-01"',
      "[[services]]",
      'binding = "AUTH_WORKER"',
      'service = "edge-auth-worker"',
      "[[services]]",
      'binding = "CONSUMER"',
      'service = "consumer-example"',
      "",
    ].join("\n"),
  );
  writeFileSync(
    join(dir, "front.js"),
    'export default { fetch(request, env) { return (new URL(request.url).pathname.startsWith("/api/") ? env.AUTH_WORKER : env.CONSUMER).fetch(request); } };\n',
  );

  const args = [WRANGLER, "dev", "-c", join(dir, "front.toml"), "-c", "examples/consumer/wrangler.toml", "-c", "wrangler.toml"];
  args.push(
    "--ip",
    "127.0.0.1",
    "--port",
    String(PORT),
    "--inspector-port",
    String(PORT + 1),
    "--persist-to",
    state,
    "--show-interactive-dev-session=false",
  );
  log(`wrangler ${args.slice(1).join(" ")}`);
  const started = Date.now();
  // From the root (our [build] command is relative to it). wrangler 4.164 compares ./worker-configuration.d.ts, ours,
  // with every config it serves, so it prints "Your types might be out of date" for the consumer's: harmless here.
  child = spawn(process.execPath, args, { cwd: root, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}`);
    if (Date.now() - started > READY_TIMEOUT_MS) throw new Error(`wrangler dev not ready on ${BASE} within ${READY_TIMEOUT_MS} ms`);
    try {
      if ((await call("/")).status === 200) break;
    } catch {}
    await sleep(500);
  }
  log(`three workers ready on ${BASE} in ${Date.now() - started} ms`);
  expect(
    /SIGNIN_IP_LIMITER/.test(output.split("edge-auth-worker has access")[1] ?? ""),
    "our worker (third config) lists its rate-limit bindings",
  );

  const username = `mw_${Date.now().toString(36)}`;
  const password = "correct horse battery staple";
  const ip = { "cf-connecting-ip": "198.51.100.7" };
  const registered = await call("/api/auth/register/", {
    method: "POST",
    body: { username, email: `${username}@example.com`, password },
    headers: ip,
  });
  expect(registered.status === 201, "POST /api/auth/register/ answers 201 through the front worker", registered);
  const pair = await call("/api/token/", { method: "POST", body: { username, password }, headers: ip });
  expect(
    pair.status === 200 && typeof pair.json?.access === "string",
    "POST /api/token/ signs in (rate limits on, not 500 server_misconfigured)",
    pair,
  );

  const me = await call("/me", { headers: { authorization: `Bearer ${pair.json.access}` } });
  expect(me.status === 200 && me.json?.hello === username, "the consumer's GET /me accepts the token via AuthService.authenticate", me);
  const forged = await call("/me", { headers: { authorization: `Bearer ${pair.json.access.slice(0, -4)}AAAA` } });
  expect(
    forged.status === 401 && forged.json?.code === "token_not_valid",
    "the consumer's GET /me refuses a tampered token with 401",
    forged,
  );

  // The emulated limiter's windows are aligned to the wall clock (a fresh count every whole minute): the burst and
  // the idle wait must fit in one minute, so start at the next one when less than 40 s remain.
  const leftInMinute = 60_000 - (Date.now() % 60_000);
  if (leftInMinute < 40_000) {
    log(`waiting ${Math.ceil(leftInMinute / 1000)} s for the next rate-limit window`);
    await sleep(leftInMinute + 500);
  }
  // Distinct unknown usernames: the per-account lock-out (10) never trips; only the per-IP limiter can answer 429.
  // Sent at once: each refusal is held to the sign-in refusal floor (1.5 s), so one after another the burst alone
  // would take 30 s and the idle wait below could cross into the next window.
  const attacker = { "cf-connecting-ip": "203.0.113.9" };
  const burstStarted = Date.now();
  const statuses = await Promise.all(
    Array.from({ length: SIGNIN_IP_LIMIT + 1 }, (_, i) =>
      call("/api/token/", {
        method: "POST",
        body: { username: `nobody_${i}_${username}`, password: "wrong password" },
        headers: attacker,
      }).then((r) => r.status),
    ),
  );
  const count = (status) => statuses.filter((s) => s === status).length;
  expect(
    count(401) === SIGNIN_IP_LIMIT && count(429) === 1,
    `${SIGNIN_IP_LIMIT + 1} wrong sign-ins at once from one IP: ${SIGNIN_IP_LIMIT} get 401, one 429 (SIGNIN_IP_LIMITER)`,
    statuses,
  );
  log(`burst answered in ${Date.now() - burstStarted} ms`);
  await sleep(12_000);
  const afterIdle = await call("/api/token/", {
    method: "POST",
    body: { username: `late_${username}`, password: "wrong password" },
    headers: attacker,
  });
  expect(afterIdle.status === 429, "after 12 s idle the same IP still gets 429 (the window is 60 s)", afterIdle.status);
  const other = await call("/api/token/", {
    method: "POST",
    body: { username, password },
    headers: { "cf-connecting-ip": "198.51.100.8" },
  });
  expect(other.status === 200, "another IP still signs in", other.status);
}

const timer = setTimeout(() => {
  console.error("[multi-worker] timed out after 240 s");
  stop();
  process.exit(1);
}, 240_000);
try {
  await main();
  log("passed");
} catch (error) {
  console.error(`[multi-worker] FAILED: ${error.message}\n--- wrangler output ---\n${output}`);
  process.exitCode = 1;
} finally {
  clearTimeout(timer);
  stop();
  await sleep(500);
  rmSync(dir, { recursive: true, force: true });
}
