#!/usr/bin/env node
/**
 * `npm run bench [-- scenario,scenario]`: builds the worker, runs it in one workerd process (Miniflare's
 * API, real D1 and Durable Objects, 127.0.0.1), seeds a user and notes, loads each scenario for a bounded
 * time with a fixed number of connections, prints a table and writes bench/results/<date>-<set>.json.
 * Settings come from BENCH_* environment variables (see bench/README.md).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { call, expectStatus, pool } from "./lib/http.mjs";
import { killLoadGenerators, runLoad } from "./lib/load.mjs";
import { commandVersion, cpuSeconds, machineCpuSeconds, machineInfo, memoryKiB, rssSampler, which } from "./lib/proc.mjs";
import { runQrScenario } from "./lib/qr.mjs";
import { ONE_LINE_WORKER, buildRevision, buildWorker, killBuildNow, startScratchWorker, startWorker, versions } from "./lib/server.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const startedAt = new Date();
const loadavgAtStart = os.loadavg().map((l) => Math.round(l * 100) / 100);

// ---- settings -------------------------------------------------------------------------------------------

function intSetting(name, fallback, min, max) {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    console.error(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return value;
}

// `floor` is the one-line worker: the runtime's own capacity, the yardstick of every ratio.
const ALL_SCENARIOS = ["floor", "health", "hello", "notes", "verify", "signin", "refresh", "qr"];
const requested = (process.argv[2] ?? process.env.BENCH_SCENARIOS ?? "").split(",").map((s) => s.trim()).filter(Boolean);
if (requested.length === 1 && requested[0] === "edge") {
  // The latency model far from the D1 primary: its own runner (bench/edge/run.mjs), not a load scenario.
  const { runEdgeBench } = await import("./edge/run.mjs");
  await runEdgeBench(fileURLToPath(new URL("..", import.meta.url)));
  process.exit(0);
}
for (const name of requested) {
  if (!ALL_SCENARIOS.includes(name)) {
    console.error(`unknown scenario "${name}"; known: ${ALL_SCENARIOS.join(", ")}`);
    process.exit(2);
  }
}
const wanted = requested.length ? requested : ALL_SCENARIOS;
// The floor (the one-line worker) and /health (the cost of our global chain) run whenever any HTTP load scenario does.
const scenarios = ALL_SCENARIOS.filter((s) => wanted.includes(s) || ((s === "floor" || s === "health") && wanted.some((w) => w !== "qr")));

/** `K=V,K=V` -> { K: "V" }; only names in the worker's upper-case setting style. */
function workerVars(text) {
  const vars = {};
  for (const pair of text.split(",").filter(Boolean)) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(pair.trim());
    if (!m) throw new Error(`BENCH_VARS: expected NAME=value, got ${JSON.stringify(pair)}`);
    vars[m[1]] = m[2];
  }
  return vars;
}

const settings = {
  duration_s: intSetting("BENCH_DURATION", 10, 1, 600),
  warmup_s: intSetting("BENCH_WARMUP", 2, 0, 60),
  connections: intSetting("BENCH_CONNECTIONS", 16, 1, 1024),
  // workerd under Miniflare stalls now and then (tens of ms, GC-like), so one run's p99 is noise:
  // every load scenario runs this many times, interleaved with the floor, and the medians are reported.
  rounds: intSetting("BENCH_ROUNDS", 3, 1, 20),
  wrk_threads: intSetting("BENCH_WRK_THREADS", 1, 1, 16),
  notes: intSetting("BENCH_NOTES", 20, 0, 100),
  qr_n: intSetting("BENCH_QR_N", 1000, 1, 20_000),
  qr_concurrency: intSetting("BENCH_QR_CONCURRENCY", 16, 1, 256),
  qr_ws_concurrency: intSetting("BENCH_QR_WS_CONCURRENCY", 64, 1, 1024),
  // Finished QR sessions are deleted FINISHED_RETENTION_MS (60 s) after they end (src/qr/session.ts).
  qr_cleanup_wait_s: intSetting("BENCH_QR_CLEANUP_WAIT", 70, 0, 600),
  // wrangler dev's workerd hibernates an idle object after about 25 s (seen locally).
  qr_idle_wait_s: intSetting("BENCH_QR_IDLE_WAIT", 30, 0, 600),
  loadgen: process.env.BENCH_LOADGEN ?? "auto",
  // Worker settings over wrangler.toml's [vars], e.g. BENCH_VARS=NOTES_CACHE_TTL=0,SESSION_CACHE_TTL=0.
  vars: workerVars(process.env.BENCH_VARS ?? ""),
  socket: process.env.BENCH_SOCKET ?? "direct",
  // A git revision whose build runs beside ours, every scenario interleaved: "no slower than before" in one run.
  baseline: process.env.BENCH_BASELINE || null,
  scenarios,
};
const perLoadScenario = (settings.baseline ? 2 : 1) * settings.rounds * (settings.duration_s + settings.warmup_s + 15) + 15;
const maxSeconds = intSetting(
  "BENCH_MAX_SECONDS",
  (settings.baseline ? 360 : 180) + scenarios.filter((s) => s !== "qr").length * perLoadScenario + (scenarios.includes("qr") ? 120 + settings.qr_cleanup_wait_s + settings.qr_idle_wait_s + settings.qr_n / 5 : 0),
  30,
  24 * 3600,
);
settings.max_s = Math.round(maxSeconds);

const wrkPath = which("wrk");
let tool;
if (settings.loadgen === "wrk" || (settings.loadgen === "auto" && wrkPath)) {
  if (!wrkPath) {
    console.error("BENCH_LOADGEN=wrk but wrk is not installed (apt-get install wrk)");
    process.exit(2);
  }
  tool = "wrk";
} else if (settings.loadgen === "autocannon" || settings.loadgen === "auto") {
  tool = "autocannon";
} else {
  console.error(`BENCH_LOADGEN must be auto, wrk or autocannon, got ${JSON.stringify(settings.loadgen)}`);
  process.exit(2);
}

// ---- cleanup, always ---------------------------------------------------------------------------------------

const tmpDir = mkdtempSync(join(os.tmpdir(), "edge-auth-bench-"));
let server = null;
// The one-line worker (the floor) and the BENCH_BASELINE build, each in its own workerd.
let floorServer = null;
let baseServer = null;
let cleaningUp = null;

function cleanup() {
  cleaningUp ??= (async () => {
    killBuildNow();
    killLoadGenerators();
    if (server) await server.stop();
    if (baseServer) await baseServer.stop();
    if (floorServer) await floorServer.dispose().catch(() => {});
    rmSync(tmpDir, { recursive: true, force: true });
  })();
  return cleaningUp;
}

async function abort(reason, code = 1) {
  console.error(`\nbench: ${reason}; cleaning up`);
  const tail = server?.outputTail?.() ?? [];
  if (tail.length && code !== 130) console.error(tail.slice(-15).join("\n"));
  await cleanup();
  process.exit(code);
}

// Miniflare registers its own signal hooks that may call process.exit() before async cleanup ends:
// whatever happens, the exit event still kills workerd and the load generator and removes the temp dir.
process.on("exit", () => {
  killBuildNow();
  killLoadGenerators();
  server?.killNow?.();
  baseServer?.killNow?.();
  try {
    if (floorServer?.pid) process.kill(floorServer.pid, "SIGKILL");
  } catch {
    // Already gone.
  }
  rmSync(tmpDir, { recursive: true, force: true });
});
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => abort(`got ${signal}`, 130));
process.on("uncaughtException", (error) => abort(`uncaught ${error.stack ?? error}`));
process.on("unhandledRejection", (error) => abort(`unhandled rejection ${error?.stack ?? error}`));
setTimeout(() => abort(`exceeded BENCH_MAX_SECONDS=${maxSeconds}`), maxSeconds * 1000).unref();

const log = (line) => console.log(`[bench] ${line}`);

// ---- the worker ------------------------------------------------------------------------------------------

const USER = { username: "bench", email: "bench@example.com", password: "bench-Pass-7f3k2q9z" };
const credentials = { username: USER.username, password: USER.password };

async function signIn(url) {
  return expectStatus(200, url, "POST", "/api/token/", { json: credentials });
}

/** Refresh tokens of `count` brand-new sessions, one a line: each starts one rotation chain. */
async function refreshPool(url, count, file) {
  const pairs = await pool(Array.from({ length: count }), 4, () => signIn(url));
  writeFileSync(file, `${pairs.map((p) => p.refresh).join("\n")}\n`);
  return file;
}

const round = (x, digits = 2) => (x === null || x === undefined || Number.isNaN(x) ? null : Math.round(x * 10 ** digits) / 10 ** digits);

async function measure(name, url, pid, makeSpec) {
  const common = { url, connections: settings.connections, threads: settings.wrk_threads, tmpDir };
  if (settings.warmup_s > 0) {
    await runLoad(tool, { ...common, spec: await makeSpec("warmup"), durationSeconds: settings.warmup_s, label: `${name}-warmup` });
  }
  const spec = await makeSpec("run");
  const workerdCpu0 = cpuSeconds(pid);
  const machine0 = machineCpuSeconds();
  const harness0 = process.cpuUsage();
  const rssBefore = memoryKiB(pid)?.rss ?? null;
  const sampler = rssSampler(pid);
  const t0 = performance.now();
  const result = await runLoad(tool, { ...common, spec, durationSeconds: settings.duration_s, label: name });
  const wall = (performance.now() - t0) / 1000;
  const rssMax = sampler.stop();
  const workerdCpu = cpuSeconds(pid) - workerdCpu0;
  const machine1 = machineCpuSeconds();
  const harnessUsage = process.cpuUsage(harness0);
  const harnessCpu = (harnessUsage.user + harnessUsage.system) / 1e6;
  const machineBusy = machine1.busy - machine0.busy;
  const pct = (seconds) => round((seconds / wall) * 100, 0);
  return {
    scenario: name,
    method: spec.method,
    path: spec.path,
    connections: settings.connections,
    tool: result.tool,
    requests: result.requests,
    duration_s: round(result.duration_s, 2),
    rps: round(result.rps, 1),
    latency_ms: Object.fromEntries(Object.entries(result.latency_ms).map(([k, v]) => [k, round(v, 2)])),
    errors: result.errors,
    chain: result.chain,
    cpu_pct: {
      // 100 = one core busy for the whole run; the machine has os.availableParallelism() cores.
      workerd: pct(workerdCpu),
      loadgen: pct(result.loadgen_cpu_s ?? 0),
      harness: pct(harnessCpu),
      machine: pct(machineBusy),
      others: pct(Math.max(0, machineBusy - workerdCpu - (result.loadgen_cpu_s ?? 0) - harnessCpu)),
    },
    workerd_rss_mib: { before: round(rssBefore / 1024, 1), max: round(rssMax / 1024, 1) },
    // workerd's CPU per request: what the worker costs, much less moved by a busy machine than req/s.
    workerd_cpu_us_per_request: result.requests ? round((workerdCpu * 1e6) / result.requests, 1) : null,
  };
}

const median = (values) => {
  const sorted = values.filter((v) => typeof v === "number" && !Number.isNaN(v)).sort((a, b) => a - b);
  if (!sorted.length) return null;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** Medians over the rounds (each number on its own), every round kept, and the ratios to each round's floor. */
function summarise(runs, floorRuns) {
  const last = runs[runs.length - 1];
  const med = (pick, digits = 2) => round(median(runs.map(pick)), digits);
  const sum = (pick) => runs.reduce((a, r) => a + (pick(r) ?? 0), 0);
  const errorKeys = Object.keys(last.errors);
  const out = {
    ...last,
    requests: sum((r) => r.requests),
    duration_s: round(sum((r) => r.duration_s), 2),
    rps: med((r) => r.rps, 1),
    latency_ms: Object.fromEntries(Object.keys(last.latency_ms).map((k) => [k, med((r) => r.latency_ms[k])])),
    errors: Object.fromEntries(errorKeys.map((k) => [k, sum((r) => r.errors[k])])),
    cpu_pct: Object.fromEntries(Object.keys(last.cpu_pct).map((k) => [k, med((r) => r.cpu_pct[k], 0)])),
    workerd_rss_mib: { before: runs[0].workerd_rss_mib.before, max: Math.max(...runs.map((r) => r.workerd_rss_mib.max ?? 0)) },
    loadavg_1m: med((r) => r.loadavg_1m),
    workerd_cpu_us_per_request: med((r) => r.workerd_cpu_us_per_request, 1),
    rounds: runs.map((r) => ({ rps: r.rps, latency_ms: r.latency_ms, cpu_pct: r.cpu_pct, loadavg_1m: r.loadavg_1m })),
  };
  if (last.chain) out.chain = { ok: sum((r) => r.chain?.ok), failed: sum((r) => r.chain?.failed) };
  if (floorRuns?.length === runs.length) {
    const rpsPct = runs.map((r, i) => (r.rps / floorRuns[i].rps) * 100);
    const p99x = runs.map((r, i) => r.latency_ms.p99 / floorRuns[i].latency_ms.p99);
    out.vs_floor = {
      rps_pct: round(median(rpsPct), 0),
      p99_x: round(median(p99x), 2),
      rps_pct_rounds: rpsPct.map((v) => round(v, 0)),
      p99_x_rounds: p99x.map((v) => round(v, 2)),
    };
  }
  return out;
}

// ---- scenarios -------------------------------------------------------------------------------------------

function bearer(token) {
  return { authorization: `Bearer ${token}` };
}
const JSON_HEADERS = { "content-type": "application/json" };

/** Each: a preflight that must pass (so we never benchmark an error page), then the load spec. */
const LOAD_SCENARIOS = {
  floor: {
    label: "one-line worker (the floor)",
    // Served by its own workerd (bench/lib/server.mjs ONE_LINE_WORKER), on its own socket like ours.
    target: "floor",
    async spec(ctx) {
      const body = await expectStatus(200, ctx.url, "GET", "/health");
      if (body.status !== "ok") throw new Error(`the one-line worker answered ${JSON.stringify(body)}`);
      return { method: "GET", path: "/health" };
    },
  },
  health: {
    label: "GET /health (the global chain)",
    async spec(ctx) {
      await expectStatus(200, ctx.url, "GET", "/health");
      return { method: "GET", path: "/health" };
    },
  },
  hello: {
    label: "GET /api/hello/ (bearer)",
    async spec(ctx) {
      const { access } = await signIn(ctx.url);
      const body = await expectStatus(200, ctx.url, "GET", "/api/hello/", { token: access });
      if (body.message !== "Hello, World!") throw new Error(`unexpected /api/hello/ body ${JSON.stringify(body)}`);
      return { method: "GET", path: "/api/hello/", headers: bearer(access) };
    },
  },
  notes: {
    label: `GET /api/notes/ (page of ${settings.notes})`,
    async spec(ctx) {
      if (ctx.notesUnavailable) return { skip: ctx.notesUnavailable };
      const { access } = await signIn(ctx.url);
      const body = await expectStatus(200, ctx.url, "GET", "/api/notes/", { token: access });
      if (!Array.isArray(body.results) || body.results.length !== Math.min(settings.notes, 20)) {
        throw new Error(`GET /api/notes/ gave ${body.results?.length} results, expected ${Math.min(settings.notes, 20)}`);
      }
      return { method: "GET", path: "/api/notes/", headers: bearer(access) };
    },
  },
  verify: {
    label: "POST /api/token/verify/",
    async spec(ctx) {
      const { access } = await signIn(ctx.url);
      await expectStatus(200, ctx.url, "POST", "/api/token/verify/", { json: { token: access } });
      return { method: "POST", path: "/api/token/verify/", headers: JSON_HEADERS, body: JSON.stringify({ token: access }) };
    },
  },
  signin: {
    label: "POST /api/token/ (sign-in)",
    async spec(ctx) {
      await signIn(ctx.url);
      return { method: "POST", path: "/api/token/", headers: JSON_HEADERS, body: JSON.stringify(credentials) };
    },
  },
  refresh: {
    label: "POST /api/token/refresh/ (fresh)",
    async spec(ctx, phase) {
      const probe = await signIn(ctx.url);
      await expectStatus(200, ctx.url, "POST", "/api/token/refresh/", { json: { refresh: probe.refresh } });
      // One session per connection, plus spares; a token once presented is never sent again.
      const count = settings.connections + 4;
      const tokensFile = await refreshPool(ctx.url, count, join(tmpDir, `refresh-${phase}.txt`));
      return { method: "POST", path: "/api/token/refresh/", headers: JSON_HEADERS, chain: { field: "refresh", tokensFile, tokens: count } };
    },
  },
};

async function seed(url) {
  await expectStatus(201, url, "POST", "/api/auth/register/", { json: USER });
  const { access } = await signIn(url);
  const probe = await call(url, "GET", "/api/notes/", { token: access });
  if (probe.status === 404) return { notesUnavailable: "GET /api/notes/ answered 404: the notes API is not served by this build" };
  if (probe.status !== 200) return { notesUnavailable: `GET /api/notes/ answered ${probe.status}: ${JSON.stringify(probe.body).slice(0, 200)}` };
  await pool(Array.from({ length: settings.notes }), 4, (_, i) =>
    expectStatus(201, url, "POST", "/api/notes/", {
      token: access,
      json: { title: `Bench note ${i + 1}`, body: `Body of bench note ${i + 1}. `.repeat(8) },
    }),
  );
  return { notesUnavailable: null };
}

// ---- output ----------------------------------------------------------------------------------------------

function pad(text, width, right = false) {
  const s = String(text ?? "-");
  return right ? s.padStart(width) : s.padEnd(width);
}

function printRounds(results) {
  const shown = results.filter((r) => !r.skipped && r.rounds?.length > 1);
  if (!shown.length) return;
  console.log(`\nper round (${shown[0].rounds.length}; the table shows medians): req/s | % floor | p99 ms | p99/floor`);
  for (const r of shown) {
    const vs = r.vs_floor;
    console.log(
      `  ${pad(r.scenario, 16)} ${r.rounds.map((x) => x.rps).join(" / ")}  |  ${vs ? vs.rps_pct_rounds.join(" / ") : "-"}  |  ${r.rounds.map((x) => x.latency_ms.p99).join(" / ")}  |  ${vs ? vs.p99_x_rounds.join(" / ") : "-"}`,
    );
  }
}

function printTable(results, floor) {
  const cols = [
    ["scenario", 44, false],
    ["req/s", 9, true],
    ["% floor", 8, true],
    ["p50 ms", 8, true],
    ["p99 ms", 8, true],
    ["p99/floor", 9, true],
    ["errors", 7, true],
    ["µs CPU/req", 10, true],
    ["workerd CPU%", 12, true],
    ["loadgen CPU%", 12, true],
    ["others CPU%", 11, true],
    ["RSS MiB", 8, true],
    ["load 1m", 7, true],
  ];
  const line = (values) => cols.map(([, w, r], i) => pad(values[i], w, r)).join("  ");
  console.log(`\n${line(cols.map(([h]) => h))}`);
  console.log(cols.map(([, w]) => "-".repeat(w)).join("  "));
  for (const r of results) {
    if (r.skipped) {
      console.log(`${pad(r.label, 44)}  skipped: ${r.skipped}`);
      continue;
    }
    const errors = Object.values(r.errors).reduce((a, b) => a + (b ?? 0), 0);
    const none = r.requests === 0;
    console.log(
      line([
        r.label,
        r.rps,
        r.vs_floor ? `${r.vs_floor.rps_pct} %` : "-",
        none ? "none done" : r.latency_ms.p50,
        none ? "-" : r.latency_ms.p99,
        r.vs_floor && !none ? `${round(r.vs_floor.p99_x, 1)}x` : "-",
        errors,
        r.workerd_cpu_us_per_request,
        r.cpu_pct.workerd,
        r.cpu_pct.loadgen,
        r.cpu_pct.others,
        r.workerd_rss_mib.max,
        r.loadavg_1m,
      ]),
    );
  }
}

function goals(byName) {
  const floor = byName.floor;
  const out = [];
  const add = (name, what, value, target, ok) => out.push({ scenario: name, goal: what, value, target, met: ok });
  if (!floor || floor.skipped) {
    qrGoals(byName.qr, add);
    return out;
  }
  // Medians of the per-round ratios (summarise()).
  const ratio = (r) => r.vs_floor.rps_pct / 100;
  const p99x = (r) => r.vs_floor.p99_x;
  // Issue 16: shares of the one-line worker's req/s.
  const shareGoals = { health: 0.7, hello: 0.6, verify: 0.5, notes: 0.5 };
  for (const [name, share] of Object.entries(shareGoals)) {
    const r = byName[name];
    if (r && !r.skipped) add(name, "req/s vs the one-line worker", `${Math.round(ratio(r) * 100)} %`, `>= ${share * 100} %`, ratio(r) >= share);
  }
  const hello = byName.hello;
  if (hello && !hello.skipped) add("hello", "p99 vs the one-line worker", `${round(p99x(hello), 2)}x`, "<= 2x", p99x(hello) <= 2);
  // Issue 16: no scenario slower in absolute req/s than the BENCH_BASELINE build, medians of the same rounds.
  for (const [key, base] of Object.entries(byName)) {
    const ours = byName[key.split("@")[0]];
    if (!key.includes("@") || base.skipped || !ours || ours.skipped) continue;
    add(ours.scenario, `req/s vs @${base.baseline} in this run`, `${ours.rps} vs ${base.rps}`, ">= baseline", ours.rps >= base.rps);
  }
  qrGoals(byName.qr, add);
  return out;
}

/** The QR scenario's goals: they need no floor. */
function qrGoals(qr, add) {
  if (qr && !qr.skipped) {
    // The path's own latency: approvals one at a time while N sessions wait (the concurrent phase's
    // latency is queueing behind 15 others on 2 cores, printed above, and is no goal).
    const serial = qr.approve_to_browser_serial_ms ?? qr.approve_to_browser_ms;
    add("qr", `approve->browser p99, one in flight (N=${qr.n})`, `${serial.p99} ms`, "<= 25 ms", serial.p99 !== null && serial.p99 <= 25);
    // What waiting sessions hold: the allocator's live bytes once idle objects are evicted (needs gdb).
    // RSS is printed too, but keeps the high-water mark of the N objects that were loaded at once.
    const live = qr.memory.per_idle_session_live_kib;
    if (live !== null && live !== undefined) {
      add("qr", `live heap per waiting session (after ${qr.memory.idle?.idle_s} s idle)`, `${live} KiB`, "<= 100 KB (97.7 KiB)", live * 1024 <= 100_000);
    } else {
      const idleKib = qr.memory.per_idle_session_kib ?? qr.memory.per_waiting_session_kib;
      add("qr", "RSS per waiting session (no gdb: live heap unknown)", `${idleKib} KiB`, "<= 100 KB (97.7 KiB)", idleKib !== null && idleKib * 1024 <= 100_000);
    }
    const sqliteBefore = qr.memory.before?.fds?.sqlite;
    const sqliteAfter = qr.memory.after_cleanup?.fds?.sqlite;
    if (sqliteBefore != null && sqliteAfter != null) {
      // Each loaded object holds its .sqlite files open: back to the baseline = no session object in memory.
      add("qr", "objects unloaded after expiry (open .sqlite files)", `${sqliteAfter}`, `<= ${sqliteBefore} (before)`, sqliteAfter <= sqliteBefore);
    }
    const failures = Object.values(qr.failures).reduce((a, v) => a + Object.values(v).reduce((x, y) => x + y, 0), 0);
    const delivered = qr.n - failures - qr.approved_events_missing;
    add("qr", "sessions created, opened, approved and delivered", `${delivered}/${qr.n}`, "all", delivered === qr.n);
    if (qr.sealed_pairs) {
      const { twice, opened, unopenable } = qr.sealed_pairs;
      add("qr", "sealed pairs opened with their browser's key, none delivered twice", `${opened} opened, ${unopenable} not, ${twice} twice`, "all opened, 0 twice", twice === 0 && unopenable === 0 && opened === delivered);
    }
    if (qr.memory.after_cleanup) {
      const [gone, sampled] = qr.memory.after_cleanup.sampled_ids_gone.split("/").map(Number);
      add("qr", "storage deleted after cleanup (sampled ids 404)", `${gone}/${sampled}`, "all", gone === sampled);
    }
  }
}

function printQr(qr) {
  if (qr.skipped) {
    console.log(`\nQR: skipped: ${qr.skipped}`);
    return;
  }
  const m = qr.memory;
  console.log(`\nQR login, N=${qr.n} waiting sessions, ${qr.concurrency} HTTP requests in flight`);
  const failed = Object.entries(qr.failures).filter(([, v]) => Object.keys(v).length);
  if (failed.length) console.log(`  FAILURES          ${failed.map(([step, v]) => `${step}: ${JSON.stringify(v)}`).join("; ")}`);
  console.log(`  created           ${qr.sessions_created} at ${qr.created_per_s} sessions/s (POST /api/qr/ p50 ${qr.create_ms.p50} ms, p99 ${qr.create_ms.p99} ms)`);
  console.log(`  sockets opened    ${qr.sockets_open} in ${qr.sockets_open_s} s (handshake->pending p50 ${qr.handshake_ms.p50} ms, p99 ${qr.handshake_ms.p99} ms)`);
  console.log(`  approved          ${qr.approved_per_s} /s; HTTP status ${JSON.stringify(qr.approve_http_status)}; approve HTTP p50 ${qr.approve_http_ms.p50} ms, p99 ${qr.approve_http_ms.p99} ms`);
  if (qr.approve_to_browser_serial_ms) {
    const s1 = qr.approve_to_browser_serial_ms;
    console.log(`  approve->browser  one in flight: p50 ${s1.p50} ms, p99 ${s1.p99} ms, max ${s1.max} ms (n=${s1.n})`);
  }
  console.log(
    `  approve->browser  ${qr.approve_concurrency ?? qr.concurrency} in flight: p50 ${qr.approve_to_browser_ms.p50} ms, p99 ${qr.approve_to_browser_ms.p99} ms, max ${qr.approve_to_browser_ms.max} ms (${qr.approved_events_missing} missing)`,
  );
  console.log(
    `  browser closed    ${JSON.stringify(qr.browser_close_codes)} (close code: sockets); approved->close frame p50 ${qr.approved_to_close_frame_ms.p50} ms, p99 ${qr.approved_to_close_frame_ms.p99} ms; ->TCP closed p50 ${qr.approved_to_close_ms.p50} ms, max ${qr.approved_to_close_ms.max} ms`,
  );
  console.log(
    `  workerd RSS MiB   before ${m.before.rss_mib}, all open ${m.peak.rss_mib} (${m.per_waiting_session_kib} KiB/session), ${m.idle ? `after ${m.idle.idle_s} s idle ${m.idle.rss_mib} (${m.per_idle_session_kib} KiB/session)` : "no idle wait"}, after approval ${m.after_approval.rss_mib}, after cleanup ${m.after_cleanup?.rss_mib ?? "(not waited)"}`,
  );
  if (m.per_idle_session_live_kib != null) {
    console.log(
      `  live heap KiB/session (tcmalloc, what sessions hold) all open ${m.per_waiting_session_live_kib}, after idle ${m.per_idle_session_live_kib}, after approval ${m.after_approval_live_kib_per_session}, after cleanup ${m.after_cleanup_live_kib_per_session ?? "(not waited)"}; socket extensions agreed: ${JSON.stringify(m.socket_extensions)}`,
    );
  }
  const files = (f) => `${f.files} files, ${round(f.bytes / 1048576, 1)} MiB ${JSON.stringify(f.kinds)}`;
  console.log(`  DO storage        before ${files(m.before.do_files)}`);
  console.log(`                    peak   ${files(m.peak.do_files)}`);
  if (m.after_cleanup) console.log(`                    after cleanup ${files(m.after_cleanup.do_files)}; sampled ids answering 404: ${m.after_cleanup.sampled_ids_gone}`);
}

function gitInfo() {
  try {
    const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "src", "migrations", "wrangler.toml"], { cwd: root, encoding: "utf8" }).trim();
    return { commit, uncommitted_changes_in_src: dirty ? dirty.split("\n").length : 0 };
  } catch {
    return null;
  }
}

// ---- main ------------------------------------------------------------------------------------------------

async function main() {
  const require = createRequire(import.meta.url);
  const autocannonVersion = (() => {
    try {
      return require("autocannon/package.json").version;
    } catch {
      return null;
    }
  })();
  if (tool === "autocannon" && !autocannonVersion) throw new Error("wrk is not installed and autocannon is missing: npm install");

  log(`scenarios: ${scenarios.join(", ")}; ${settings.duration_s} s each after ${settings.warmup_s} s warm-up, ${settings.connections} connections, load from ${tool}, ${settings.socket === "direct" ? "the worker's own socket" : "through Miniflare's entry worker"}${Object.keys(settings.vars).length ? `; worker vars ${JSON.stringify(settings.vars)}` : ""}`);
  log("building the worker (wrangler deploy --dry-run)");
  const scriptPath = await buildWorker(root, join(tmpDir, "dist"));
  server = await startWorker({ root, scriptPath, persistDir: join(tmpDir, "persist"), extraVars: settings.vars });
  const { url, pid } = server;
  log(`workerd pid ${pid} serving ${url}; migrations: ${server.migrations.join(", ")}; Durable Objects: ${JSON.stringify(server.durableObjects)}`);

  const seeded = await seed(url);
  log(seeded.notesUnavailable ? `seeded user "${USER.username}"; notes: ${seeded.notesUnavailable}` : `seeded user "${USER.username}" and ${settings.notes} notes`);
  const ctx = { url, pid, ...seeded };
  const loadNames = scenarios.filter((s) => s !== "qr");
  if (loadNames.length) {
    floorServer = await startScratchWorker(ONE_LINE_WORKER);
    log(`floor: the one-line worker, workerd pid ${floorServer.pid} serving ${floorServer.url}`);
  }
  const floorCtx = floorServer ? { url: new URL(floorServer.url).origin, pid: floorServer.pid } : null;
  let baseCtx = null;
  if (settings.baseline && loadNames.length) {
    const rev = execFileSync("git", ["rev-parse", "--short", settings.baseline], { cwd: root, encoding: "utf8" }).trim();
    log(`baseline: building ${rev} (git archive, this checkout's node_modules)`);
    const baseScript = await buildRevision(root, rev, tmpDir);
    baseServer = await startWorker({ root, scriptPath: baseScript, persistDir: join(tmpDir, "persist-base"), extraVars: settings.vars });
    baseCtx = { url: baseServer.url, pid: baseServer.pid, rev, ...(await seed(baseServer.url)) };
    log(`baseline: ${rev} on workerd pid ${baseServer.pid} serving ${baseServer.url}`);
  }
  // What each round loads: the floor, ours, and (BENCH_BASELINE) the baseline build's twin of each of ours.
  const targets = [];
  for (const name of loadNames) {
    if (LOAD_SCENARIOS[name].target === "floor") targets.push({ key: name, name, ctx: floorCtx, label: LOAD_SCENARIOS[name].label });
    else {
      targets.push({ key: name, name, ctx, label: LOAD_SCENARIOS[name].label });
      if (baseCtx) targets.push({ key: `${name}@${baseCtx.rev}`, name, ctx: baseCtx, label: `${LOAD_SCENARIOS[name].label} @${baseCtx.rev}` });
    }
  }

  const results = [];
  const byName = {};
  const probes = {};
  // The load scenarios' workerd, when the QR scenario gets a fresh one: its output counts are kept.
  let loadPhaseRuntime = null;
  const runtimeErrorsAll = () => {
    const now = server.runtimeErrors();
    if (!loadPhaseRuntime) return now;
    return { count: loadPhaseRuntime.errors.count + now.count, first: [...loadPhaseRuntime.errors.first, ...now.first].slice(0, 20) };
  };
  const live = [];
  for (const t of targets) {
    // The phase names the scenario's temp files (refresh tokens): the target's key keeps a baseline twin's apart.
    const probe = await LOAD_SCENARIOS[t.name].spec(t.ctx, `${t.key}-probe`);
    if (probe.skip) {
      log(`${t.key}: skipped: ${probe.skip}`);
      results.push((byName[t.key] = { scenario: t.key, label: t.label, skipped: probe.skip }));
      continue;
    }
    probes[t.key] = probe;
    live.push(t);
  }
  // Rounds interleave the scenarios, so a slow spell of the machine hits them alike; each ratio is taken
  // against the floor of its own round.
  const rounds = Object.fromEntries(live.map((t) => [t.key, []]));
  for (let roundNo = 1; roundNo <= settings.rounds; roundNo++) {
    for (const t of live) {
      const scenario = LOAD_SCENARIOS[t.name];
      log(`${t.key}: ${t.label}, ${settings.duration_s} s (round ${roundNo}/${settings.rounds}; load average ${os.loadavg()[0].toFixed(2)})`);
      const run = await measure(t.key, t.ctx.url, t.ctx.pid, (phase) => (phase === "run" && roundNo === 1 ? probes[t.key] : scenario.spec(t.ctx, `${t.key}-${phase}-${roundNo}`)));
      run.loadavg_1m = round(os.loadavg()[0], 2);
      rounds[t.key].push(run);
    }
  }
  for (const t of live) {
    results.push((byName[t.key] = { label: t.label, ...summarise(rounds[t.key], rounds.floor) }));
    if (t.ctx === baseCtx) byName[t.key].baseline = baseCtx.rev;
  }
  // The baseline build and the floor are not needed beyond the load rounds.
  await baseServer?.stop();
  baseServer = null;
  await floorServer?.dispose();
  floorServer = null;

  if (scenarios.includes("qr")) {
    let qrUrl = url;
    let qrPid = pid;
    if (Object.keys(probes).length) {
      // A fresh workerd for the QR scenario: its memory readings start from a quiet baseline, not from
      // the load scenarios' garbage (freed during the QR phase, it made the per-session figures read low).
      loadPhaseRuntime = { lines: server.outputLines(), errors: server.runtimeErrors() };
      await server.stop();
      server = await startWorker({ root, scriptPath, persistDir: join(tmpDir, "persist-qr"), extraVars: settings.vars });
      ({ url: qrUrl, pid: qrPid } = server);
      await seed(qrUrl);
      log(`qr: on a fresh workerd, pid ${qrPid}`);
    }
    const { access } = await signIn(qrUrl);
    byName.qr = await runQrScenario({
      url: qrUrl,
      pid: qrPid,
      token: access,
      n: settings.qr_n,
      concurrency: settings.qr_concurrency,
      wsConcurrency: settings.qr_ws_concurrency,
      cleanupWaitSeconds: settings.qr_cleanup_wait_s,
      idleWaitSeconds: settings.qr_idle_wait_s,
      durableObjectFiles: server.durableObjectFiles,
      log,
    });
  }

  const floor = byName.floor && !byName.floor.skipped ? byName.floor : null;
  if (results.length) {
    printTable(results, floor);
    printRounds(results);
  }
  if (byName.qr) printQr(byName.qr);
  const goalRows = goals(byName);
  if (goalRows.length) {
    console.log("\nGoals (issues 7 and 16; shown, never asserted):");
    for (const g of goalRows) console.log(`  ${g.met ? "MET " : "MISS"}  ${pad(g.scenario, 7)} ${pad(g.goal, 48)} ${pad(g.value, 12, true)}  (goal ${g.target})`);
  }

  const runtimeErrors = runtimeErrorsAll();
  if (runtimeErrors.count) {
    console.log(`\nworkerd reported ${runtimeErrors.count} error line(s) (stderr or level=error); the first:`);
    for (const line of runtimeErrors.first.slice(0, 5)) console.log(`  ${line.slice(0, 400)}`);
  }
  const machine = { ...machineInfo(), loadavg_at_start: loadavgAtStart, loadavg_at_end: os.loadavg().map((l) => Math.round(l * 100) / 100) };
  const report = {
    date: startedAt.toISOString(),
    machine,
    versions: {
      node: process.version,
      ...versions,
      workerd: commandVersion(join(dirname(require.resolve("wrangler/package.json")), "node_modules/workerd/bin/workerd"), ["--version"]),
      load_generator: tool === "wrk" ? commandVersion("wrk", ["-v"]) : `autocannon ${autocannonVersion}`,
      git: gitInfo(),
    },
    settings,
    worker: {
      url,
      vars: server.vars,
      d1_databases: server.d1Databases,
      durable_objects: server.durableObjects,
      ratelimits: server.ratelimits,
      migrations: server.migrations,
      runtime_output_lines: server.outputLines() + (loadPhaseRuntime?.lines ?? 0),
      runtime_errors: runtimeErrors,
    },
    results: Object.fromEntries(results.map((r) => [r.scenario, r])),
    qr: byName.qr ?? null,
    goals: goalRows,
    notes: [
      "cpu_pct: 100 = one core for the whole run; the load generator, workerd and everything else share the machine's cores.",
      "errors.bad_status: wrk counts responses with status >= 400; autocannon counts any non-2xx.",
    ],
  };
  const set = requested.length ? requested.join("+") : "all";
  const stamp = startedAt.toISOString().slice(0, 16).replace(":", "");
  const smoke = (settings.duration_s < 10 ? "-smoke" : "") + (settings.socket === "direct" ? "" : `-${settings.socket}`) + Object.entries(settings.vars).map(([k, v]) => `-${k}=${v}`).join("");
  mkdirSync(join(root, "bench/results"), { recursive: true });
  let file = join(root, "bench/results", `${stamp}-${set}${smoke}.json`);
  for (let i = 2; existsSync(file); i++) file = join(root, "bench/results", `${stamp}-${set}${smoke}-${i}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nmachine: ${machine.nproc} CPUs (${machine.cpu_model}), ${machine.memory_mib} MiB; load average at start ${machine.loadavg_at_start.join(" ")}, at end ${machine.loadavg_at_end.join(" ")}`);
  console.log(`results: ${file.slice(root.length + 1)}`);
}

try {
  await main();
  await cleanup();
  process.exit(0);
} catch (error) {
  await abort(error?.stack ?? String(error));
}
