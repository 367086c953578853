#!/usr/bin/env node
/**
 * `npm run bench [-- scenario,scenario]`: builds the worker, runs it in one workerd process (Miniflare's
 * API, real D1 and Durable Objects, 127.0.0.1), seeds a user and notes, loads each scenario for a bounded
 * time with a fixed number of connections, prints a table and writes bench/results/<date>-<set>.json.
 * Settings come from BENCH_* environment variables (see bench/README.md).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { killLoadGenerators } from "./lib/load.mjs";
import { measure, round, summarise } from "./lib/measure.mjs";
import { commandVersion, machineInfo, which } from "./lib/proc.mjs";
import { runQrScenario } from "./lib/qr.mjs";
import { gitInfo, goals, pad, printQr, printRounds, printTable } from "./lib/report.mjs";
import { loadSummary, qrSummary, saveRun } from "./lib/results.mjs";
import { USER, loadScenarios, seed, signIn } from "./lib/scenarios.mjs";
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
const requested = (process.argv[2] ?? process.env.BENCH_SCENARIOS ?? "")
  .split(",")
  .map((s) => s.trim())
  .filter(Boolean);
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
  (settings.baseline ? 360 : 180) +
    scenarios.filter((s) => s !== "qr").length * perLoadScenario +
    (scenarios.includes("qr") ? 120 + settings.qr_cleanup_wait_s + settings.qr_idle_wait_s + settings.qr_n / 5 : 0),
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
const LOAD_SCENARIOS = loadScenarios(settings, tmpDir);

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

  log(
    `scenarios: ${scenarios.join(", ")}; ${settings.duration_s} s each after ${settings.warmup_s} s warm-up, ${settings.connections} connections, load from ${tool}, ${settings.socket === "direct" ? "the worker's own socket" : "through Miniflare's entry worker"}${Object.keys(settings.vars).length ? `; worker vars ${JSON.stringify(settings.vars)}` : ""}`,
  );
  log("building the worker (wrangler deploy --dry-run)");
  const scriptPath = await buildWorker(root, join(tmpDir, "dist"));
  server = await startWorker({ root, scriptPath, persistDir: join(tmpDir, "persist"), extraVars: settings.vars });
  const { url, pid } = server;
  log(
    `workerd pid ${pid} serving ${url}; migrations: ${server.migrations.join(", ")}; Durable Objects: ${JSON.stringify(server.durableObjects)}`,
  );

  const seeded = await seed(url, settings.notes);
  log(
    seeded.notesUnavailable
      ? `seeded user "${USER.username}"; notes: ${seeded.notesUnavailable}`
      : `seeded user "${USER.username}" and ${settings.notes} notes`,
  );
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
    baseCtx = { url: baseServer.url, pid: baseServer.pid, rev, ...(await seed(baseServer.url, settings.notes)) };
    log(`baseline: ${rev} on workerd pid ${baseServer.pid} serving ${baseServer.url}`);
  }
  // What each round loads: the floor, ours, and (BENCH_BASELINE) the baseline build's twin of each of ours.
  const targets = [];
  for (const name of loadNames) {
    if (LOAD_SCENARIOS[name].target === "floor") targets.push({ key: name, name, ctx: floorCtx, label: LOAD_SCENARIOS[name].label });
    else {
      targets.push({ key: name, name, ctx, label: LOAD_SCENARIOS[name].label });
      if (baseCtx)
        targets.push({ key: `${name}@${baseCtx.rev}`, name, ctx: baseCtx, label: `${LOAD_SCENARIOS[name].label} @${baseCtx.rev}` });
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
      log(
        `${t.key}: ${t.label}, ${settings.duration_s} s (round ${roundNo}/${settings.rounds}; load average ${os.loadavg()[0].toFixed(2)})`,
      );
      const run = await measure({ ...settings, tool }, tmpDir, t.key, t.ctx.url, t.ctx.pid, (phase) =>
        phase === "run" && roundNo === 1 ? probes[t.key] : scenario.spec(t.ctx, `${t.key}-${phase}-${roundNo}`),
      );
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
      await seed(qrUrl, settings.notes);
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
    for (const g of goalRows)
      console.log(`  ${g.met ? "MET " : "MISS"}  ${pad(g.scenario, 7)} ${pad(g.goal, 48)} ${pad(g.value, 12, true)}  (goal ${g.target})`);
  }

  const runtimeErrors = runtimeErrorsAll();
  if (runtimeErrors.count) {
    console.log(`\nworkerd reported ${runtimeErrors.count} error line(s) (stderr or level=error); the first:`);
    for (const line of runtimeErrors.first.slice(0, 5)) console.log(`  ${line.slice(0, 400)}`);
  }
  const machine = {
    ...machineInfo(),
    loadavg_at_start: loadavgAtStart,
    loadavg_at_end: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
  const report = {
    date: startedAt.toISOString(),
    machine,
    versions: {
      node: process.version,
      ...versions,
      workerd: commandVersion(join(dirname(require.resolve("wrangler/package.json")), "node_modules/workerd/bin/workerd"), ["--version"]),
      load_generator: tool === "wrk" ? commandVersion("wrk", ["-v"]) : `autocannon ${autocannonVersion}`,
      git: gitInfo(root),
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
  const smoke =
    (settings.duration_s < 10 ? "-smoke" : "") +
    (settings.socket === "direct" ? "" : `-${settings.socket}`) +
    Object.entries(settings.vars)
      .map(([k, v]) => `-${k}=${v}`)
      .join("");
  const file = saveRun(root, `${set}${smoke}`, report, {
    ...(results.length ? { load: loadSummary(report) } : {}),
    ...(report.qr ? { qr: qrSummary(report) } : {}),
  });
  console.log(
    `\nmachine: ${machine.nproc} CPUs (${machine.cpu_model}), ${machine.memory_mib} MiB; load average at start ${machine.loadavg_at_start.join(" ")}, at end ${machine.loadavg_at_end.join(" ")}`,
  );
  console.log(`results: ${file.slice(root.length + 1)}`);
}

try {
  await main();
  await cleanup();
  process.exit(0);
} catch (error) {
  await abort(error?.stack ?? String(error));
}
