#!/usr/bin/env node
/**
 * `npm run soak [-- --seconds N] [-- --no-faults]`: ordinary mixed traffic against `wrangler dev` for a bounded
 * time (127.0.0.1 only), with D1 made to fail from outside at intervals, then a check that nothing was lost.
 *
 * Traffic: bearer reads (GET /api/hello/) over many users, refresh rotations, note writes, note lists, QR logins
 * (create, socket, scan, approve). Faults: the local D1's SQLite file is held with BEGIN EXCLUSIVE from another
 * process (every query, reads included, then fails) for SOAK_FAULT_HOLD seconds every SOAK_FAULT_EVERY seconds.
 * The contract: every request answers (no hang, no reset) with what its route promises — 2xx, 401 for a
 * revoked session, 503 while D1 is down — never a 500; afterwards every acknowledged note is readable and every
 * user's last refresh token still refreshes. It also counts the runtime's own cancellation lines ("code had
 * hung", "I/O on behalf of a different request"). Exits 1 if any of that fails.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { generateJwks } from "../scripts/keys.mjs";
import { percentile } from "./lib/http.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at === -1 ? fallback : Number(args[at + 1]);
};
const SECONDS = option("--seconds", Number(process.env.SOAK_SECONDS ?? 45));
const FAULTS = !flag("--no-faults");
const FAULT_EVERY_S = Number(process.env.SOAK_FAULT_EVERY ?? 15);
const FAULT_HOLD_S = Number(process.env.SOAK_FAULT_HOLD ?? 4);
const PORT = Number(process.env.SOAK_PORT ?? option("--port", 8830));
const USERS = Number(process.env.SOAK_USERS ?? 24);
const READERS = Number(process.env.SOAK_READERS ?? 8);
const REQUEST_TIMEOUT_MS = 20_000;
if (!(SECONDS > 0 && SECONDS <= 600)) throw new Error("--seconds must be within 1..600");
const BASE = `http://127.0.0.1:${PORT}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (line) => console.log(`[soak] ${line}`);

// ---- the server -------------------------------------------------------------------------------------------

const stateDir = mkdtempSync(join(os.tmpdir(), "soak-state-"));
const registryDir = mkdtempSync(join(os.tmpdir(), "soak-registry-"));
const WRANGLER = join(root, "node_modules/wrangler/bin/wrangler.js");
const env = {
  ...process.env,
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_SEND_METRICS: "false",
  CI: "true",
  WRANGLER_REGISTRY_PATH: registryDir,
  FORCE_COLOR: "0",
};
const vars = {
  JWT_SIGNING_KEYS: JSON.stringify(generateJwks("ES256", "soak")),
  JWT_ISSUER: BASE,
  JWT_AUDIENCE: BASE,
  RATE_LIMITS: "off",
};

const migrate = spawnSync(process.execPath, [WRANGLER, "d1", "migrations", "apply", "DB", "--local", "--persist-to", stateDir], {
  cwd: root,
  env,
  encoding: "utf8",
});
if (migrate.status !== 0) {
  console.error(migrate.stdout, migrate.stderr);
  process.exit(1);
}
const server = spawn(
  process.execPath,
  [
    WRANGLER,
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(PORT),
    "--inspector-port",
    String(PORT + 1),
    "--persist-to",
    stateDir,
    "--show-interactive-dev-session=false",
    ...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
  ],
  { cwd: root, env, stdio: ["ignore", "pipe", "pipe"], detached: true },
);
const runtime = { lines: 0, cancelled: 0, otherRequestIo: 0, tail: [] };
for (const stream of [server.stdout, server.stderr]) {
  let partial = "";
  stream.on("data", (chunk) => {
    const text = partial + chunk;
    const lines = text.split("\n");
    partial = lines.pop();
    for (const line of lines) {
      runtime.lines += 1;
      if (/canceled this request because it detected that your Worker's code had hung/.test(line)) runtime.cancelled += 1;
      if (/on behalf of a different request/.test(line)) runtime.otherRequestIo += 1;
      if (/error|canceled|different request/i.test(line) && runtime.tail.length < 20) runtime.tail.push(line.slice(0, 300));
    }
  });
}
function stopServer() {
  try {
    process.kill(-server.pid, "SIGTERM");
  } catch {
    // Already gone.
  }
}
process.on("exit", () => {
  stopServer();
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(registryDir, { recursive: true, force: true });
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(130));

async function waitReady() {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`wrangler dev exited (${server.exitCode}):\n${runtime.tail.join("\n")}`);
    try {
      const res = await fetch(`${BASE}/health`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch {
      // Not listening yet.
    }
    await sleep(300);
  }
  throw new Error("wrangler dev did not answer /health within 90 s");
}

// ---- the client -------------------------------------------------------------------------------------------

/** Per operation: status counts, latencies, requests that got no answer (hang, reset). */
const ops = {};
function record(op, status, ms) {
  const o = (ops[op] ??= { statuses: {}, latencies: [], unanswered: 0, reasons: {} });
  if (status === null) o.unanswered += 1;
  else o.statuses[status] = (o.statuses[status] ?? 0) + 1;
  if (ms !== null) o.latencies.push(ms);
}

async function request(op, method, path, { token, json } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (json !== undefined) headers["content-type"] = "application/json";
  const started = performance.now();
  try {
    const res = await fetch(BASE + path, {
      method,
      headers,
      body: json === undefined ? undefined : JSON.stringify(json),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await res.text();
    record(op, res.status, performance.now() - started);
    let body = null;
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON.
    }
    return { status: res.status, body, retryAfter: Number(res.headers.get("retry-after") ?? 0) };
  } catch (error) {
    record(op, null, null);
    const o = ops[op];
    const reason = error.name === "TimeoutError" ? "no answer within 20 s" : `${error.message} ${error.cause?.code ?? ""}`.trim();
    o.reasons[reason] = (o.reasons[reason] ?? 0) + 1;
    return { status: null, body: null, retryAfter: 0 };
  }
}

const users = [];
const notes = []; // acknowledged writes: { user, id, title }
const PASSWORD = "soak passphrase that is long enough";

async function setUp() {
  for (let i = 0; i < USERS; i++) {
    const username = `soak${i}_${Math.random().toString(36).slice(2, 7)}`;
    const reg = await request("setup", "POST", "/api/auth/register/", {
      json: { username, email: `${username}@example.com`, password: PASSWORD },
    });
    if (reg.status !== 201) throw new Error(`register: ${reg.status} ${JSON.stringify(reg.body)}`);
    const pair = await request("setup", "POST", "/api/token/", { json: { username, password: PASSWORD } });
    if (pair.status !== 200) throw new Error(`sign-in: ${pair.status} ${JSON.stringify(pair.body)}`);
    users.push({ username, access: pair.body.access, refresh: pair.body.refresh, rotating: false });
  }
}

const pick = (list) => list[Math.floor(Math.random() * list.length)];
let stopAt = 0;
const running = () => Date.now() < stopAt;

async function reader() {
  while (running()) await request("GET /api/hello/", "GET", "/api/hello/", { token: pick(users).access });
}

async function lister() {
  while (running()) await request("GET /api/notes/", "GET", "/api/notes/?page_size=5", { token: pick(users).access });
}

async function writer(index) {
  let n = 0;
  while (running()) {
    const user = pick(users);
    const title = `soak w${index} #${n++}`;
    const res = await request("POST /api/notes/", "POST", "/api/notes/", {
      token: user.access,
      json: { title, body: "x".repeat(200 + (n % 7) * 300) },
    });
    if (res.status === 201) notes.push({ user, id: res.body.id, title });
    else if (res.status === 503) await sleep(200);
  }
}

/** Each rotator owns its users: a refresh token is rotated by one client at a time, as one device does. */
async function rotator(owned) {
  while (running()) {
    for (const user of owned) {
      if (!running()) break;
      const res = await request("POST /api/token/refresh/", "POST", "/api/token/refresh/", { json: { refresh: user.refresh } });
      if (res.status === 200) {
        user.refresh = res.body.refresh;
        user.access = res.body.access;
      } else if (res.status === 503 || res.status === null) {
        // The rotation may or may not have committed: present the same token again soon (the reuse interval
        // answers with the successor already issued), as a client retrying after Retry-After would.
        await sleep(500);
      }
      await sleep(300 / owned.length);
    }
  }
}

async function qrLogin(phoneUser) {
  const ecdh = { name: "ECDH", namedCurve: "P-256" };
  const pair = await crypto.subtle.generateKey(ecdh, false, ["deriveBits"]);
  const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", pair.publicKey);
  const created = await request("POST /api/qr/", "POST", "/api/qr/", { json: { public_key: { kty, crv, x, y } } });
  if (created.status !== 201) return;
  const { id, secret, ws_url: wsUrl } = created.body;
  const events = [];
  let scannedCode = null;
  const ws = new WebSocket(`${wsUrl.replace(/^https?:\/\/[^/]+/, BASE.replace("http", "ws"))}?secret=${encodeURIComponent(secret)}`, {
    headers: { origin: BASE },
  });
  const final = new Promise((resolve) => {
    const timer = setTimeout(() => resolve("no final event"), REQUEST_TIMEOUT_MS);
    ws.on("message", (data) => {
      const event = JSON.parse(String(data));
      events.push(event.type);
      if (event.type === "scanned" && event.code) scannedCode = event.code;
      if (["approved", "denied", "expired"].includes(event.type)) {
        clearTimeout(timer);
        resolve(event.type);
      }
    });
    ws.on("error", () => {
      clearTimeout(timer);
      resolve("socket error");
    });
  });
  const opened = await new Promise((resolve) => {
    ws.once("open", () => resolve(true));
    ws.once("error", () => resolve(false));
  });
  if (!opened) {
    record("QR socket", null, null);
    ops["QR socket"].reasons["did not open"] = (ops["QR socket"].reasons["did not open"] ?? 0) + 1;
    return;
  }
  const scan = await request("POST /api/qr/{id}/scan/", "POST", `/api/qr/${id}/scan/`, { token: phoneUser.access, json: {} });
  if (scan.status === 200) {
    // Protocol v3: the phone shows the code and the browser's user types it; v2: the browser showed it.
    if (typeof scan.body?.code === "string") ws.send(JSON.stringify({ type: "code", code: scan.body.code }));
    for (let i = 0; i < 50 && !scannedCode && typeof scan.body?.code !== "string"; i++) await sleep(20);
    const code = typeof scan.body?.code === "string" ? undefined : scannedCode;
    let approve;
    for (let attempt = 0; attempt < 10; attempt++) {
      approve = await request("POST /api/qr/{id}/approve/", "POST", `/api/qr/${id}/approve/`, {
        token: phoneUser.access,
        json: code ? { code } : {},
      });
      if (approve.status !== 503 || !running()) break;
      await sleep(500);
    }
    const outcome = approve.status === 200 ? await final : "not approved";
    record(`QR browser: ${outcome}`, 0, null);
  }
  ws.close();
}

async function qrClient() {
  while (running()) {
    await qrLogin(pick(users));
    await sleep(100);
  }
}

function d1Files() {
  const dir = join(stateDir, "v3", "d1", "miniflare-D1DatabaseObject");
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith(".sqlite"))
      .map((f) => join(dir, f));
  } catch {
    return [];
  }
}

/** Holds every local D1 file with BEGIN EXCLUSIVE for `seconds` (Python's sqlite3: no extra dependency). */
function holdD1(seconds) {
  const files = d1Files();
  const script = [
    "import sqlite3, sys, time",
    "conns = []",
    "for path in sys.argv[2:]:",
    "    c = sqlite3.connect(path, timeout=10, isolation_level=None)",
    "    c.execute('BEGIN EXCLUSIVE')",
    "    conns.append(c)",
    "time.sleep(float(sys.argv[1]))",
    "for c in conns: c.execute('ROLLBACK')",
  ].join("\n");
  return new Promise((resolve) => {
    const child = spawn("python3", ["-c", script, String(seconds), ...files], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    child.on("exit", (code) => resolve(code === 0 ? null : err.trim().split("\n").pop()));
  });
}

const faults = [];
async function faultInjector() {
  while (running()) {
    await sleep(FAULT_EVERY_S * 1000 * (faults.length === 0 ? 0.5 : 1));
    if (!running()) break;
    const at = Math.round((Date.now() - (stopAt - SECONDS * 1000)) / 100) / 10;
    const error = await holdD1(FAULT_HOLD_S);
    faults.push({ at_s: at, held_s: FAULT_HOLD_S, error });
  }
}

// ---- the run ----------------------------------------------------------------------------------------------

function table() {
  const rows = [];
  for (const [op, o] of Object.entries(ops)) {
    if (op === "setup" || op.startsWith("check")) continue;
    const p99 = percentile(o.latencies, 99);
    const statuses = Object.entries(o.statuses)
      .map(([s, n]) => (s === "0" ? `${n}` : `${s}×${n}`))
      .join(" ");
    rows.push({
      op,
      statuses,
      unanswered: o.unanswered,
      p99_ms: p99 === null ? "" : Math.round(p99),
      reasons: Object.keys(o.reasons).length ? JSON.stringify(o.reasons) : "",
    });
  }
  return rows;
}

async function main() {
  log(
    `wrangler dev on ${BASE}, ${SECONDS} s, ${FAULTS ? `D1 held ${FAULT_HOLD_S} s every ${FAULT_EVERY_S} s` : "no faults"}, ${USERS} users, ${READERS} readers`,
  );
  await waitReady();
  await setUp();
  stopAt = Date.now() + SECONDS * 1000;
  const rotators = 4;
  const owned = Array.from({ length: rotators }, (_, r) => users.filter((_, i) => i % rotators === r));
  await Promise.all([
    ...Array.from({ length: READERS }, reader),
    ...Array.from({ length: 2 }, lister),
    ...Array.from({ length: 4 }, (_, i) => writer(i)),
    ...owned.map(rotator),
    ...Array.from({ length: 2 }, qrClient),
    ...(FAULTS ? [faultInjector()] : []),
  ]);
  // Let a fault in progress end before the checks.
  await sleep(500);

  // Every acknowledged write is readable, every user's last refresh token still refreshes.
  let lostNotes = 0;
  for (const note of notes) {
    const res = await request("check note", "GET", `/api/notes/${note.id}/`, { token: note.user.access });
    if (res.status !== 200 || res.body?.title !== note.title) lostNotes += 1;
  }
  let deadRefresh = 0;
  for (const user of users) {
    const res = await request("check refresh", "POST", "/api/token/refresh/", { json: { refresh: user.refresh } });
    if (res.status !== 200) deadRefresh += 1;
  }

  const rows = table();
  console.table(rows);
  const totals = Object.entries(ops).filter(([op]) => op !== "setup" && !op.startsWith("check"));
  const count500 = totals.reduce(
    (n, [, o]) =>
      n +
      Object.entries(o.statuses)
        .filter(([s]) => Number(s) >= 500 && s !== "503")
        .reduce((m, [, c]) => m + c, 0),
    0,
  );
  const unanswered = totals.reduce((n, [, o]) => n + o.unanswered, 0);
  const summary = {
    seconds: SECONDS,
    faults,
    requests: totals.reduce((n, [, o]) => n + Object.values(o.statuses).reduce((a, b) => a + b, 0) + o.unanswered, 0),
    errors_5xx_other_than_503: count500,
    unanswered,
    acknowledged_notes: notes.length,
    lost_notes: lostNotes,
    users: users.length,
    dead_refresh_tokens: deadRefresh,
    runtime_cancelled: runtime.cancelled,
    runtime_other_request_io: runtime.otherRequestIo,
    loadavg: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
  console.log(JSON.stringify(summary, null, 2));
  const failed =
    count500 > 0 ||
    unanswered > 0 ||
    lostNotes > 0 ||
    deadRefresh > 0 ||
    runtime.cancelled > 0 ||
    runtime.otherRequestIo > 0 ||
    faults.some((f) => f.error);
  if (failed) {
    if (runtime.tail.length) console.log(runtime.tail.join("\n"));
    log("FAILED: see the counts above");
    process.exit(1);
  }
  log("passed: every request answered as the contract says, nothing lost");
  process.exit(0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
