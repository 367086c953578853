#!/usr/bin/env node
// Cold start, without workerd's own start: one workerd stays up, and each start is a fresh isolate made by a Worker
// Loader (env.LOADER.load: the bundle compiled, evaluated and sent its first /health), for the one-line worker (the
// floor), ours as built now and, with BENCH_BASELINE=<git rev>, that revision's build; ROUNDS of each, interleaved.
// bench/startup.mjs measures the same thing through a whole new workerd, whose own ~430 ms of CPU moves its figures by
// ±10-30 ms between runs; here only the isolate's start is counted (workerd's CPU across one request, from schedstat),
// so paired medians settle to a millisecond or two within a run (between runs the same build read +29 to +44 on
// 2026-12-02: compare builds only within one run). 127.0.0.1 only.
// Run: node bench/isolate-start.mjs   (BENCH_BASELINE=11f2e65 ROUNDS=40 node bench/isolate-start.mjs; BENCH_EXTRA as in
// bench/startup.mjs adds bundles prepared by hand; BENCH_SPLIT=1 adds ours cut into parse, compile and evaluation)
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os, { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { cpuSecondsPrecise } from "./lib/proc.mjs";
import { gitInfo } from "./lib/report.mjs";
import { saveRun } from "./lib/results.mjs";
import { splitBundle } from "./lib/split.mjs";
import { ONE_LINE_WORKER, buildRevision, buildWorker, modulesBeside, startScratchWorker } from "./lib/server.mjs";
import { generateJwks } from "../scripts/keys.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const ROUNDS = Number(process.env.ROUNDS ?? 30);
const tmp = mkdtempSync(join(tmpdir(), "edge-auth-isolate-start-"));
const ORIGIN = "http://127.0.0.1:8787";

/** wrangler.toml's compatibility date, flags and [vars] (read by wrangler itself, as bench/lib/server.mjs does). */
async function wranglerSettings() {
  const { unstable_readConfig } = await import("wrangler");
  const config = unstable_readConfig({ config: join(root, "wrangler.toml") }, { hideWarnings: true });
  return { date: config.compatibility_date, flags: config.compatibility_flags, vars: config.vars };
}

/** A built bundle's modules as the loader takes them: the main module's source, wasm and Data modules' bytes, Text modules. */
function modulesOf(scriptPath) {
  const modules = { "index.js": { js: readFileSync(scriptPath, "utf8") } };
  for (const { name, path, type } of modulesBeside(scriptPath))
    if (type === "CompiledWasm") modules[name] = { wasm: [...readFileSync(path)] };
    else if (type === "Data") modules[name] = { data: [...readFileSync(path)] };
    else modules[name] = { text: readFileSync(path, "utf8") };
  return modules;
}

/**
 * The harness: keeps each variant's modules (registered once, values only) and, per /start, loads a fresh isolate
 * with them and answers with the status of its first /health. Bytes travel as number arrays (JSON), turned into
 * ArrayBuffers once at registration.
 */
const HARNESS = `
const variants = new Map();
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/register") {
      const { name, modules, settings } = await request.json();
      for (const m of Object.values(modules)) {
        if (m.wasm) m.wasm = new Uint8Array(m.wasm).buffer;
        if (m.data) m.data = new Uint8Array(m.data).buffer;
      }
      variants.set(name, { modules, settings });
      return new Response("ok");
    }
    const { modules, settings } = variants.get(url.searchParams.get("variant"));
    const worker = env.LOADER.load({
      compatibilityDate: settings.date,
      compatibilityFlags: settings.flags,
      mainModule: "index.js",
      modules,
      env: settings.env,
      globalOutbound: null,
    });
    const res = await worker.getEntrypoint().fetch(new Request(${JSON.stringify(ORIGIN)} + "/health"));
    const body = await res.text();
    return new Response(JSON.stringify({ status: res.status, body }), { headers: { "content-type": "application/json" } });
  },
};
`;

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const harness = await startScratchWorker(HARNESS, { workerLoaders: { LOADER: {} } });
try {
  const { date, flags, vars } = await wranglerSettings();
  const env = { ...vars, JWT_ISSUER: ORIGIN, JWT_AUDIENCE: ORIGIN, JWT_SIGNING_KEYS: JSON.stringify(generateJwks("ES256", "bench")) };
  const variants = [{ label: "one-line worker", modules: { "index.js": { js: ONE_LINE_WORKER } }, kib: 0 }];
  const ours = await buildWorker(root, join(tmp, "ours"));
  variants.push({ label: "ours", modules: modulesOf(ours), kib: Math.round(gzipSync(readFileSync(ours)).length / 1024) });
  // BENCH_SPLIT=1: ours cut into pre-parse, top-level compile, evaluation and first request (bench/lib/split.mjs).
  if (process.env.BENCH_SPLIT)
    for (const { label, js } of splitBundle(variants[1].modules["index.js"].js))
      variants.push({ label: `  ${label}`, modules: { ...variants[1].modules, "index.js": { js } }, kib: 0 });
  const rev = process.env.BENCH_BASELINE;
  if (rev) {
    const short = execFileSync("git", ["rev-parse", "--short", rev], { cwd: root, encoding: "utf8" }).trim();
    const script = await buildRevision(root, short, tmp);
    variants.push({
      label: `baseline ${short}`,
      modules: modulesOf(script),
      kib: Math.round(gzipSync(readFileSync(script)).length / 1024),
    });
  }
  // Variants built by hand (a bundle cut down to find where the time goes): BENCH_EXTRA="label=/path/index.js,...".
  for (const item of (process.env.BENCH_EXTRA ?? "").split(",").filter(Boolean)) {
    const [label, script] = item.split("=");
    variants.push({ label, modules: modulesOf(script), kib: Math.round(gzipSync(readFileSync(script)).length / 1024) });
  }
  for (const [i, variant] of variants.entries()) {
    const res = await fetch(`${harness.url}register`, {
      method: "POST",
      body: JSON.stringify({ name: String(i), modules: variant.modules, settings: { date, flags, env } }),
    });
    if (!res.ok) throw new Error(`registering ${variant.label}: ${res.status} ${await res.text()}`);
    variant.cpu = [];
    variant.wall = [];
  }
  /** One fresh isolate of `variant`: workerd's CPU ms and the wall ms across the request that loads and calls it. */
  async function startOnce(i) {
    const before = cpuSecondsPrecise(harness.pid);
    const t = performance.now();
    const res = await fetch(`${harness.url}start?variant=${i}`);
    const text = await res.text();
    if (!res.ok) throw new Error(`${variants[i].label}: the harness answered ${res.status}: ${text.slice(0, 300)}`);
    const answer = JSON.parse(text);
    const wall = performance.now() - t;
    const cpu = (cpuSecondsPrecise(harness.pid) - before) * 1000;
    if (answer.status !== 200) throw new Error(`${variants[i].label}: /health answered ${answer.status}: ${answer.body.slice(0, 300)}`);
    return { cpu, wall };
  }
  // A few starts of each first: the harness's own first requests (its routes, the loader) are not counted.
  for (let k = 0; k < 3; k++) for (const i of variants.keys()) await startOnce(i);
  const loadBefore = os.loadavg()[0];
  for (let round = 0; round < ROUNDS; round++) {
    // Rotated each round: no variant always runs right after another.
    for (let k = 0; k < variants.length; k++) {
      const i = (round + k) % variants.length;
      const { cpu, wall } = await startOnce(i);
      variants[i].cpu.push(cpu);
      variants[i].wall.push(wall);
    }
  }
  const loadAfter = os.loadavg()[0];
  const floor = variants[0];
  const fmt = (n) => n.toFixed(1);
  console.log(
    `\nfresh isolate (Worker Loader) -> first /health answer, in one workerd, ${ROUNDS} interleaved starts each; load ${loadBefore.toFixed(2)} -> ${loadAfter.toFixed(2)}:`,
  );
  const rows = [];
  for (const variant of variants) {
    const overCpu = median(variant.cpu.map((c, r) => c - floor.cpu[r]));
    const overWall = median(variant.wall.map((w, r) => w - floor.wall[r]));
    const row = {
      label: variant.label.trim(),
      cpu_ms: Number(fmt(median(variant.cpu))),
      wall_ms: Number(fmt(median(variant.wall))),
      over_floor_cpu_ms: Number(fmt(overCpu)),
      over_floor_wall_ms: Number(fmt(overWall)),
      main_gzip_kib: variant.kib,
    };
    rows.push(row);
    const over = variant === floor ? "" : `  (+${fmt(overCpu)} ms CPU, +${fmt(overWall)} ms wall over the floor; paired medians)`;
    console.log(
      `  ${variant.label.padEnd(18)} workerd CPU ${fmt(median(variant.cpu))} ms (${fmt(Math.min(...variant.cpu))}-${fmt(Math.max(...variant.cpu))}), wall ${fmt(median(variant.wall))} ms${over}`,
    );
  }
  const summary = {
    date: new Date().toISOString(),
    commit: execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim(),
    // "ours" is the working tree: a run with uncommitted changes under src/ (or wrangler.toml) is not that commit's.
    uncommitted_src: gitInfo(root)?.uncommitted_changes_in_src ?? null,
    rounds: ROUNDS,
    load: loadBefore,
    rows,
  };
  saveRun(root, "isolate-start", summary, { "isolate-start": summary });
} finally {
  await harness.dispose();
  rmSync(tmp, { recursive: true, force: true });
}
