#!/usr/bin/env node
// Cold start: a fresh workerd -> its first 200 on /health, for the one-line worker (the floor), ours as built now and,
// with BENCH_BASELINE=<git rev>, that revision's build; ROUNDS starts of each (default 5), interleaved, 127.0.0.1 only.
// Wall time moves with the machine's load; workerd's CPU time up to that answer (all threads, from schedstat: to the
// nanosecond) moves much less. Each start is compared with the floor's start of the same round (paired), and the
// median of those differences is reported: the machine's drift between rounds cancels out.
// Run: node bench/startup.mjs   (BENCH_BASELINE=66ffb32 node bench/startup.mjs: the renderer still parsed at start;
// BENCH_EXTRA="name=/tmp/x/index.js,..." adds bundles prepared by hand, e.g. one whose modules are compiled but not run;
// BENCH_SPLIT=1 adds ours cut into parse, compile and evaluation)
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os, { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { cpuSecondsPrecise } from "./lib/proc.mjs";
import { gitInfo } from "./lib/report.mjs";
import { saveRun } from "./lib/results.mjs";
import { splitBundle } from "./lib/split.mjs";
import { ONE_LINE_WORKER, buildRevision, buildWorker, modulesBeside, startScratchWorker, startWorker } from "./lib/server.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const ROUNDS = Number(process.env.ROUNDS ?? 9);
const tmp = mkdtempSync(join(tmpdir(), "edge-auth-startup-"));

/**
 * KiB of the main module, raw and gzip, and of everything wrangler would upload with it, gzip: the main module and
 * the modules beside it (a .gz Data module as it is, the others as wrangler gzips them), as scripts/check-bundle.mjs.
 */
function sizes(scriptPath) {
  const kib = (n) => Math.round(n / 1024);
  const main = readFileSync(scriptPath);
  const beside = modulesBeside(scriptPath).map(({ name, path }) =>
    name.endsWith(".gz") ? statSync(path).size : gzipSync(readFileSync(path)).length,
  );
  const mainGzip = gzipSync(main).length;
  return {
    main_kib: kib(main.length),
    main_gzip_kib: kib(mainGzip),
    upload_gzip_kib: kib(beside.reduce((n, b) => n + b, mainGzip)),
  };
}

/** One start: ms to the first /health answer and workerd's CPU ms by then. */
async function startOnce(start) {
  const t = performance.now();
  const server = await start();
  // Ready: workerd has loaded (compiled and evaluated) every worker; the first answer adds routing and cold paths.
  const readyCpuMs = (cpuSecondsPrecise(server.pid) ?? NaN) * 1000;
  const res = await fetch(`${server.url.replace(/\/$/, "")}/health`);
  await res.arrayBuffer();
  const ms = performance.now() - t;
  const cpuMs = (cpuSecondsPrecise(server.pid) ?? NaN) * 1000;
  await server.stop();
  if (res.status !== 200) throw new Error(`/health answered ${res.status}`);
  return { ms, cpuMs, readyCpuMs };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

try {
  const builds = [{ label: "ours", script: await buildWorker(root, join(tmp, "ours")) }];
  // BENCH_SPLIT=1: ours cut into pre-parse, top-level compile, evaluation and first request (bench/lib/split.mjs),
  // each beside a copy of ours's other modules.
  if (process.env.BENCH_SPLIT)
    for (const { label, js } of splitBundle(readFileSync(builds[0].script, "utf8"))) {
      const dir = join(tmp, `split-${label}`);
      mkdirSync(dir, { recursive: true });
      for (const { name, path } of modulesBeside(builds[0].script)) copyFileSync(path, join(dir, name));
      writeFileSync(join(dir, "index.js"), js);
      builds.push({ label: `  ${label}`, script: join(dir, "index.js") });
    }
  const rev = process.env.BENCH_BASELINE;
  if (rev)
    builds.push({
      label: `baseline ${rev}`,
      script: await buildRevision(root, execFileSync("git", ["rev-parse", "--short", rev], { cwd: root, encoding: "utf8" }).trim(), tmp),
    });
  // Variants built by hand (a bundle cut down to find where the time goes): BENCH_EXTRA="label=/path/index.js,...".
  for (const item of (process.env.BENCH_EXTRA ?? "").split(",").filter(Boolean)) {
    const [label, script] = item.split("=");
    builds.push({ label, script });
  }
  // The floor with wrangler.toml's bindings: Miniflare starts the same D1, Durable Object and rate-limit services
  // around it, so the difference to ours is our bundle's own start (its Durable Object classes are empty stand-ins).
  const floorScript = join(tmp, "floor", "index.js");
  mkdirSync(dirname(floorScript), { recursive: true });
  writeFileSync(floorScript, `${ONE_LINE_WORKER}\nexport class QrSession {}\nexport class AttemptCounter {}\n`);
  const rows = [
    {
      label: "one-line worker",
      main_kib: 0,
      runs: [],
      start: () => startWorker({ root, scriptPath: floorScript, persistDir: join(tmp, `floor-${Math.random()}`), migrate: false }),
    },
    {
      label: "  without bindings",
      runs: [],
      start: async () => {
        const w = await startScratchWorker(ONE_LINE_WORKER);
        return { url: w.url, pid: w.pid, stop: w.dispose };
      },
    },
  ];
  for (const b of builds)
    rows.push({
      ...b,
      ...sizes(b.script),
      runs: [],
      start: () =>
        startWorker({ root, scriptPath: b.script, persistDir: join(tmp, `${b.label}-${rows.length}-${Math.random()}`), migrate: false }),
    });
  const load = os.loadavg()[0].toFixed(2);
  for (let i = 0; i < ROUNDS; i++) for (const row of rows) row.runs.push(await startOnce(row.start));
  console.log(
    `\nfresh workerd -> first /health answer, ${ROUNDS} interleaved starts each, median (min-max); load ${load} -> ${os.loadavg()[0].toFixed(2)}:`,
  );
  const floor = rows[0];
  const summary = {
    date: new Date().toISOString(),
    commit: execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim(),
    // "ours" is the working tree: a run with uncommitted changes under src/ (or wrangler.toml) is not that commit's.
    uncommitted_src: gitInfo(root)?.uncommitted_changes_in_src ?? null,
    rounds: ROUNDS,
    load: Number(load),
    rows: [],
  };
  for (const row of rows) {
    const ms = row.runs.map((r) => r.ms);
    const cpu = row.runs.map((r) => r.cpuMs);
    const readyCpu = median(row.runs.map((r) => r.readyCpuMs));
    const size = row.main_kib
      ? `  main module ${row.main_kib} KiB (${row.main_gzip_kib} gzip), upload ${row.upload_gzip_kib} KiB gzip`
      : "";
    // Paired: this row's start minus the floor's start of the same round, then the median of those.
    const overMs = median(row.runs.map((r, i) => r.ms - floor.runs[i].ms));
    const overCpu = median(row.runs.map((r, i) => r.cpuMs - floor.runs[i].cpuMs));
    const overReadyCpu = median(row.runs.map((r, i) => r.readyCpuMs - floor.runs[i].readyCpuMs));
    const delta =
      row === floor
        ? ""
        : `  (+${Math.round(overMs)} ms, +${Math.round(overCpu)} ms CPU over the floor, +${Math.round(overReadyCpu)} by ready; paired medians)`;
    summary.rows.push({
      label: row.label.trim(),
      ms: Math.round(median(ms)),
      cpu_ms: Math.round(median(cpu)),
      ready_cpu_ms: Math.round(readyCpu),
      over_floor_ms: row === floor ? 0 : Math.round(overMs),
      over_floor_cpu_ms: row === floor ? 0 : Math.round(overCpu),
      over_floor_ready_cpu_ms: row === floor ? 0 : Math.round(overReadyCpu),
      main_gzip_kib: row.main_gzip_kib ?? null,
      upload_gzip_kib: row.upload_gzip_kib ?? null,
    });
    console.log(
      `  ${row.label.padEnd(18)} ${Math.round(median(ms))} ms (${Math.round(Math.min(...ms))}-${Math.round(Math.max(...ms))}), workerd CPU ${Math.round(median(cpu))} ms (${Math.round(Math.min(...cpu))}-${Math.round(Math.max(...cpu))}; ${Math.round(readyCpu)} when ready)${delta}${size}`,
    );
  }
  saveRun(root, "startup", summary, { startup: summary });
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
