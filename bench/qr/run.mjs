#!/usr/bin/env node
/**
 * QR login benchmark: N concurrent QR sessions, each with its browser WebSocket open, approved through
 * the HTTP API; prints approve → browser-message latency (p50/p99/max) and workerd's memory before and after.
 *
 *   node bench/qr/run.mjs                    # starts its own `wrangler dev` on 127.0.0.1:8788, N = 1000
 *   node bench/qr/run.mjs --n 200 --concurrency 20 --deadline 60
 *   node bench/qr/run.mjs --url http://127.0.0.1:8788   # an already running `wrangler dev` (same machine)
 *
 * Bounded: 127.0.0.1 only, N sessions, at most --concurrency requests in flight, and --deadline seconds
 * for the whole run (then it stops and reports what it measured). The server it starts uses its own
 * local state directory, with RATE_LIMITS off, and is stopped at the end.
 */
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

// Node 20 has a WebSocket client only behind a flag (global from Node 22): re-run with it.
if (typeof globalThis.WebSocket === "undefined") {
  const again = spawnSync(process.execPath, ["--experimental-websocket", "--no-warnings", ...process.argv.slice(1)], { stdio: "inherit" });
  process.exit(again.status ?? 1);
}

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const N = Number(option("n", process.env.N ?? 1000));
const CONCURRENCY = Number(option("concurrency", 50));
const DEADLINE_S = Number(option("deadline", 180));
const PORT = Number(option("port", 8788));
const EXISTING = option("url", null);
const BASE = EXISTING ?? `http://127.0.0.1:${PORT}`;
if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(BASE)) throw new Error("benchmarks run against 127.0.0.1 only");
const ROOT = new URL("../../", import.meta.url).pathname;
const started = performance.now();
const deadline = started + DEADLINE_S * 1000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const left = () => deadline - performance.now();

class DeadlineError extends Error {}
function checkDeadline() {
  if (left() <= 0) throw new DeadlineError(`deadline of ${DEADLINE_S} s reached`);
}

// ---- the server -------------------------------------------------------------------------------

let server = null;
let stateDir = null;
let serverLog = "";

/**
 * `wrangler dev` on a snapshot of the worker: bundled once into a temporary directory with its own
 * config and state, so edits to the working tree during the run do not reload the server under load.
 */
function startServer() {
  stateDir = mkdtempSync(join(tmpdir(), "qr-bench-"));
  const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false", CI: "true" };
  const wrangler = join(ROOT, "node_modules/wrangler/bin/wrangler.js");
  const run = (args, cwd) => {
    const r = spawnSync(process.execPath, [wrangler, ...args], { cwd, env, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`wrangler ${args[0]} failed:\n${r.stdout}\n${r.stderr}`);
  };
  run(["deploy", "--dry-run", "--outdir", join(stateDir, "dist")], ROOT);
  const config = readFileSync(join(ROOT, "wrangler.toml"), "utf8").replace(/^main = .*$/m, 'main = "dist/index.js"\nno_bundle = true');
  writeFileSync(join(stateDir, "wrangler.toml"), config);
  cpSync(join(ROOT, "migrations"), join(stateDir, "migrations"), { recursive: true });
  if (existsSync(join(ROOT, ".dev.vars"))) cpSync(join(ROOT, ".dev.vars"), join(stateDir, ".dev.vars"));
  run(["d1", "migrations", "apply", "DB", "--local", "--persist-to", join(stateDir, "state")], stateDir);
  // Its own process group, so stopping it stops wrangler's children (workerd) and nothing else.
  server = spawn(
    process.execPath,
    [
      wrangler,
      "dev",
      "--port",
      String(PORT),
      "--ip",
      "127.0.0.1",
      "--persist-to",
      join(stateDir, "state"),
      "--var",
      "RATE_LIMITS:off",
      "--var",
      `JWT_ISSUER:http://127.0.0.1:${PORT}`,
      "--var",
      `JWT_AUDIENCE:http://127.0.0.1:${PORT}`,
    ],
    { cwd: stateDir, env, detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  // Kept: everything but the per-request info lines, to explain failures.
  const keep = (d) => {
    const lines = String(d)
      .split("\n")
      .filter((l) => l && !/\[wrangler:info\]|"level":"info"/.test(l));
    if (lines.length) serverLog = (serverLog + lines.join("\n") + "\n").slice(-50_000);
  };
  server.stdout.on("data", keep);
  server.stderr.on("data", keep);
  server.on("exit", (code) => {
    if (server) console.error(`wrangler dev exited early (${code}):\n${serverLog.slice(-2000)}`);
  });
}

function stopServer() {
  if (!server) return;
  const { pid } = server;
  server = null;
  try {
    process.kill(-pid, "SIGTERM");
  } catch {
    // Already gone.
  }
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
}

async function waitHealthy() {
  for (;;) {
    checkDeadline();
    try {
      const res = await fetch(`${BASE}/health`);
      if (res.ok) return;
    } catch {
      // Not listening yet.
    }
    await sleep(250);
  }
}

// ---- memory: the workerd processes under the wrangler that serves BASE ----------------------------

function proc(pid, file) {
  try {
    return readFileSync(`/proc/${pid}/${file}`, "utf8");
  } catch {
    return null;
  }
}

function parentOf(pid) {
  const stat = proc(pid, "stat");
  return stat ? Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) : 0;
}

function cmdline(pid) {
  return (proc(pid, "cmdline") ?? "").split("\0").join(" ");
}

/** workerd processes whose ancestor is our wrangler (spawned) or a wrangler started with `--port PORT`. */
function workerdPids() {
  const port = Number(new URL(BASE).port);
  const pids = readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .map(Number);
  return pids.filter((pid) => {
    if (!/\bworkerd serve\b/.test(cmdline(pid))) return false;
    for (let p = parentOf(pid), hops = 0; p > 1 && hops < 8; p = parentOf(p), hops++) {
      if (server && p === server.pid) return true;
      const cmd = cmdline(p);
      if (/wrangler/.test(cmd) && new RegExp(`--port[ =]${port}\\b`).test(cmd)) return true;
    }
    return false;
  });
}

function rssMiB(pid) {
  const m = (proc(pid, "status") ?? "").match(/^VmRSS:\s+(\d+) kB/m);
  return m ? Number(m[1]) / 1024 : NaN;
}

function memory() {
  const pids = workerdPids();
  const each = pids.map((pid) => ({ pid, rssMiB: rssMiB(pid), role: /--inspector-addr/.test(cmdline(pid)) ? "worker" : "proxy" }));
  return { each, totalMiB: each.reduce((s, p) => s + p.rssMiB, 0) };
}

function showMemory(m) {
  return `${m.totalMiB.toFixed(1)} MiB (${m.each.map((p) => `${p.role} pid ${p.pid}: ${p.rssMiB.toFixed(1)}`).join(", ") || "no workerd found"})`;
}

// ---- the flow --------------------------------------------------------------------------------------

async function json(path, init = {}, expected = 200) {
  checkDeadline();
  const res = await fetch(`${BASE}${path}`, { ...init, headers: { "content-type": "application/json", ...(init.headers ?? {}) } });
  const text = await res.text();
  if (res.status !== expected) throw new Error(`${init.method ?? "GET"} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

/** Runs `task(i)` for i < count with at most `limit` in flight; stops starting new ones at the deadline. */
async function pool(count, limit, task) {
  let next = 0;
  const errors = [];
  const worker = async () => {
    while (next < count && left() > 0) {
      const i = next++;
      try {
        await task(i);
      } catch (error) {
        errors.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
  return errors;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function summary(label, values) {
  const s = [...values].sort((a, b) => a - b);
  const f = (x) => `${x.toFixed(1)} ms`;
  return `${label}: n=${s.length}  p50 ${f(percentile(s, 50))}  p99 ${f(percentile(s, 99))}  max ${f(s[s.length - 1] ?? NaN)}`;
}

async function main() {
  if (!EXISTING) startServer();
  await waitHealthy();
  console.log(
    `server ${BASE} healthy after ${((performance.now() - started) / 1000).toFixed(1)} s; N=${N}, concurrency=${CONCURRENCY}, deadline=${DEADLINE_S} s`,
  );

  const username = `bench_${Date.now().toString(36)}`;
  const password = "bench correct horse battery";
  await json(
    "/api/auth/register/",
    { method: "POST", body: JSON.stringify({ username, email: `${username}@example.com`, password }) },
    201,
  );
  const { access: phoneToken } = await json("/api/token/", { method: "POST", body: JSON.stringify({ username, password }) });

  await sleep(500);
  const before = memory();
  console.log(`workerd RSS before:        ${showMemory(before)}`);

  // N sessions, each with its browser socket open and its `pending` event received.
  const sessions = new Array(N);
  const t0 = performance.now();
  const openErrors = await pool(N, CONCURRENCY, async (i) => {
    const qr = await json("/api/qr/", { method: "POST" }, 201);
    const s = { qr, approveSentAt: 0, approvedAt: 0, approveHttpMs: 0, event: null, closed: false, socket: null };
    sessions[i] = s;
    await new Promise((resolve, reject) => {
      const ws = new WebSocket(`${qr.ws_url.replace(/^wss?:\/\/[^/]+/, BASE.replace(/^http/, "ws"))}?secret=${qr.secret}`);
      s.socket = ws;
      const timer = setTimeout(() => reject(new Error("no pending event within 15 s")), 15_000);
      ws.onmessage = (message) => {
        const event = JSON.parse(message.data);
        if (event.type === "pending") {
          clearTimeout(timer);
          resolve();
        } else if (event.type === "approved") {
          s.approvedAt = performance.now();
          s.event = event;
        }
      };
      ws.onclose = () => (s.closed = true);
      ws.onerror = () => reject(new Error("socket error"));
    });
  });
  const opened = sessions.filter((s) => s && s.socket?.readyState === WebSocket.OPEN).length;
  console.log(
    `opened ${opened}/${N} sessions with sockets in ${((performance.now() - t0) / 1000).toFixed(1)} s (${openErrors.length} errors${openErrors[0] ? `: ${openErrors[0].message}` : ""})`,
  );
  const withSockets = memory();
  console.log(`workerd RSS, all open:     ${showMemory(withSockets)}`);

  // Approve them all through the HTTP API.
  const ready = sessions.filter((s) => s && s.socket?.readyState === WebSocket.OPEN);
  const t1 = performance.now();
  const approveErrors = await pool(ready.length, CONCURRENCY, async (i) => {
    const s = ready[i];
    s.approveSentAt = performance.now();
    await json(`/api/qr/${s.qr.id}/approve/`, { method: "POST", headers: { authorization: `Bearer ${phoneToken}` } });
    s.approveHttpMs = performance.now() - s.approveSentAt;
  });
  while (ready.some((s) => s.approveHttpMs && !s.approvedAt) && left() > 0) await sleep(50);
  const approveWall = (performance.now() - t1) / 1000;
  await sleep(500);
  const after = memory();

  const delivered = ready.filter((s) => s.approvedAt);
  console.log(
    `approved ${delivered.length}/${ready.length} in ${approveWall.toFixed(1)} s (${(delivered.length / approveWall).toFixed(0)}/s; ${approveErrors.length} errors${approveErrors[0] ? `: ${approveErrors[0].message}` : ""})`,
  );
  console.log(
    summary(
      "approve → browser message",
      delivered.map((s) => s.approvedAt - s.approveSentAt),
    ),
  );
  console.log(
    summary(
      "approve HTTP round trip  ",
      ready.filter((s) => s.approveHttpMs).map((s) => s.approveHttpMs),
    ),
  );
  // CLOSING counts: the server's close frame arrived (wrangler dev's proxy then holds the TCP connection ~10 s).
  console.log(
    `sockets closed by the server after approval: ${delivered.filter((s) => s.closed || s.socket.readyState >= WebSocket.CLOSING).length}/${delivered.length}`,
  );
  console.log(`workerd RSS after:         ${showMemory(after)}`);

  // A sample of the delivered tokens must work as the phone's user.
  for (const s of delivered.slice(0, 3)) {
    const me = await json("/api/auth/me/", { headers: { authorization: `Bearer ${s.event.access}` } });
    if (me.username !== username) throw new Error(`token signed in as ${me.username}, not ${username}`);
  }
  console.log(`sample of delivered tokens authenticates as ${username}: ok`);
  for (const s of sessions) s?.socket?.close();
}

const cleanup = () => stopServer();
process.on("SIGINT", () => {
  cleanup();
  process.exit(130);
});
try {
  await main();
} catch (error) {
  console.error(error instanceof DeadlineError ? `stopped: ${error.message}` : error);
  process.exitCode = 1;
} finally {
  // BENCH_SERVER_LOG=1: the server's last non-info lines, to see why requests failed.
  if (process.env.BENCH_SERVER_LOG) console.error(serverLog.split("\n").slice(-60).join("\n"));
  cleanup();
}
process.exit(process.exitCode ?? 0);
