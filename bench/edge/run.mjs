// `npm run bench -- edge`: the worker "far" from its D1 primary (bench/edge/far-d1.ts: primary RTT 150 ms, replica
// 5 ms, replication lag 500 ms; EDGE_PRIMARY_RTT_MS, EDGE_REPLICA_RTT_MS, EDGE_REPLICATION_LAG_MS override), under three
// strategies: (a) the primary every time (SESSION_CACHE_TTL=0), (b) today's isolate cache over the primary,
// (c) the replica design (Sessions API + cache). For each: p50/p99 of hello, verify, notes, refresh and the QR
// approval, one request at a time (EDGE_N each, default 30), and how long after a revocation made elsewhere this
// location still accepts the session (EDGE_TRIALS, default 8; max reported). Bounded in count and time; 127.0.0.1.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import WebSocket from "ws";
import { expectStatus, percentile } from "../lib/http.mjs";
import { saveRun } from "../lib/results.mjs";
import { buildWorker, startWorker } from "../lib/server.mjs";

const N = Number(process.env.EDGE_N ?? 30);
const TRIALS = Number(process.env.EDGE_TRIALS ?? 8);
const MODEL = {
  EDGE_PRIMARY_RTT_MS: process.env.EDGE_PRIMARY_RTT_MS ?? "150",
  EDGE_REPLICA_RTT_MS: process.env.EDGE_REPLICA_RTT_MS ?? "5",
  EDGE_REPLICATION_LAG_MS: process.env.EDGE_REPLICATION_LAG_MS ?? "500",
};
const STRATEGIES = [
  { name: "(a) primary every time", vars: { EDGE_STRATEGY: "primary", SESSION_CACHE_TTL: "0", NOTES_CACHE_TTL: "0" } },
  { name: "(b) isolate cache, primary", vars: { EDGE_STRATEGY: "primary", SESSION_CACHE_TTL: "2", NOTES_CACHE_TTL: "2" } },
  { name: "(c) replicas + cache", vars: { EDGE_STRATEGY: "replica", SESSION_CACHE_TTL: "2", NOTES_CACHE_TTL: "2" } },
];
const PASSWORD = "bench password 123";

async function timed(fn) {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function series(n, fn) {
  const samples = [];
  for (let i = 0; i < n; i++) samples.push(await timed(() => fn(i)));
  return { p50: Math.round(percentile(samples, 50)), p99: Math.round(percentile(samples, 99)) };
}

function sidOf(token) {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString()).sid;
}

async function publicKey() {
  const keys = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"]);
  const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", keys.publicKey);
  return { kty, crv, x, y };
}

/** One QR login up to the phone's approval: returns the approval's duration (ms). */
async function qrApproval(base, access) {
  const created = await expectStatus(201, base, "POST", "/api/qr/", { json: { public_key: await publicKey() } });
  const ws = new WebSocket(`${created.ws_url}?secret=${created.secret}`, { perMessageDeflate: false });
  const scanned = new Promise((resolve, reject) => {
    ws.on("message", (data) => {
      const event = JSON.parse(String(data));
      if (event.type === "scanned") resolve(event.code);
    });
    ws.on("error", reject);
    setTimeout(() => reject(new Error("no scanned event")), 10_000);
  });
  await new Promise((resolve) => ws.once("open", resolve));
  await expectStatus(200, base, "POST", `/api/qr/${created.id}/scan/`, { token: access, json: {} });
  const code = await scanned;
  const ms = await timed(() => expectStatus(200, base, "POST", `/api/qr/${created.id}/approve/`, { token: access, json: { code } }));
  ws.close();
  return ms;
}

/** How long after a revocation made elsewhere this location still answers 200 for the session (ms). */
async function revocationWindow(base, username) {
  const { access } = await expectStatus(200, base, "POST", "/api/token/", { json: { username, password: PASSWORD } });
  await expectStatus(200, base, "GET", "/api/hello/", { token: access });
  // Let the isolate's copy be as fresh as a busy location's: read again just before the revocation.
  await expectStatus(200, base, "GET", "/api/hello/", { token: access });
  const res = await fetch(`${base}/__bench/revoke?sid=${sidOf(access)}`, { method: "POST" });
  if (res.status !== 204) throw new Error(`revoke probe: ${res.status}`);
  const revoked = performance.now();
  for (;;) {
    const hello = await fetch(`${base}/api/hello/`, { headers: { authorization: `Bearer ${access}` } });
    await hello.arrayBuffer();
    if (hello.status === 401) return Math.round(performance.now() - revoked);
    if (performance.now() - revoked > 15_000) throw new Error("still accepted after 15 s");
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function runEdgeBench(root) {
  const tmp = mkdtempSync(join(tmpdir(), "edge-auth-edge-"));
  const rows = [];
  let server = null;
  try {
    console.log(
      `[edge] model: primary ${MODEL.EDGE_PRIMARY_RTT_MS} ms, replica ${MODEL.EDGE_REPLICA_RTT_MS} ms, lag ${MODEL.EDGE_REPLICATION_LAG_MS} ms; N=${N}, revocation trials ${TRIALS}`,
    );
    const scriptPath = await buildWorker(root, join(tmp, "dist"), { entry: "bench/edge/worker.ts" });
    for (const [i, strategy] of STRATEGIES.entries()) {
      server = await startWorker({ root, scriptPath, persistDir: join(tmp, `p${i}`), extraVars: { ...MODEL, ...strategy.vars } });
      const base = server.url;
      const username = `edge${i}`;
      await expectStatus(201, base, "POST", "/api/auth/register/", {
        json: { username, email: `${username}@example.com`, password: PASSWORD },
      });
      const pair = await expectStatus(200, base, "POST", "/api/token/", { json: { username, password: PASSWORD } });
      for (let n = 0; n < 20; n++)
        await expectStatus(201, base, "POST", "/api/notes/", { token: pair.access, json: { title: `note ${n}` } });
      let refresh = pair.refresh;
      const row = { strategy: strategy.name };
      row.hello = await series(N, () => expectStatus(200, base, "GET", "/api/hello/", { token: pair.access }));
      row.verify = await series(N, () => expectStatus(200, base, "POST", "/api/token/verify/", { json: { token: pair.access } }));
      row.notes = await series(N, () => expectStatus(200, base, "GET", "/api/notes/", { token: pair.access }));
      row.refresh = await series(N, async () => {
        refresh = (await expectStatus(200, base, "POST", "/api/token/refresh/", { json: { refresh } })).refresh;
      });
      const approvals = [];
      for (let q = 0; q < Math.min(N, 15); q++) approvals.push(await qrApproval(base, pair.access));
      row.qr_approve = { p50: Math.round(percentile(approvals, 50)), p99: Math.round(percentile(approvals, 99)) };
      const windows = [];
      for (let t = 0; t < TRIALS; t++) windows.push(await revocationWindow(base, username));
      row.revoked_still_accepted_ms = { max: Math.max(...windows), p50: Math.round(percentile(windows, 50)) };
      rows.push(row);
      console.log(`[edge] ${strategy.name}: ${JSON.stringify(row)}`);
      await server.stop();
      server = null;
    }
  } finally {
    await server?.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
  const cell = (r) => `${String(r.p50).padStart(4)} / ${String(r.p99).padStart(4)}`;
  console.log(
    `\nfar from the primary (${MODEL.EDGE_PRIMARY_RTT_MS} ms), replica ${MODEL.EDGE_REPLICA_RTT_MS} ms, lag ${MODEL.EDGE_REPLICATION_LAG_MS} ms — p50 / p99 ms, one request at a time:`,
  );
  console.log(
    `  ${"strategy".padEnd(28)} ${"hello".padEnd(11)} ${"verify".padEnd(11)} ${"notes".padEnd(11)} ${"refresh".padEnd(11)} ${"qr approve".padEnd(11)} revoked, still accepted (max / p50 ms)`,
  );
  for (const r of rows) {
    console.log(
      `  ${r.strategy.padEnd(28)} ${cell(r.hello)} ${cell(r.verify)} ${cell(r.notes)} ${cell(r.refresh)} ${cell(r.qr_approve)} ${r.revoked_still_accepted_ms.max} / ${r.revoked_still_accepted_ms.p50}`,
    );
  }
  let commit = "unknown";
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root }).toString().trim();
  } catch {
    // Not a checkout.
  }
  const run = { date: new Date().toISOString(), commit, model: MODEL, n: N, trials: TRIALS, rows };
  const file = saveRun(root, "edge", run, { edge: run });
  console.log(`results: ${file}`);
}
