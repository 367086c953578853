#!/usr/bin/env node
// Where a request's JavaScript time goes: V8's sampling profiler (over workerd's inspector) while one scenario is
// loaded, self time per function, our files and the libraries apart. 127.0.0.1 only; bounded (PROFILE_SECONDS).
// Run: node bench/profile.mjs hello   (health, hello, verify; PROFILE_SECONDS=8 by default)
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { runLoad } from "./lib/load.mjs";
import { which } from "./lib/proc.mjs";
import { loadScenarios, seed } from "./lib/scenarios.mjs";
import { buildWorker, startWorker } from "./lib/server.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const name = process.argv[2] ?? "hello";
const seconds = Math.min(30, Number(process.env.PROFILE_SECONDS ?? 8));
const inspectorPort = Number(process.env.PROFILE_INSPECTOR_PORT ?? 9409);
const tmp = mkdtempSync(join(tmpdir(), "edge-auth-profile-"));
let server = null;

/** A minimal Chrome DevTools Protocol client: send(method, params) -> result. */
async function devtools(url) {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
  let id = 0;
  const pending = new Map();
  ws.on("message", (data) => {
    const message = JSON.parse(data);
    if (message.id && pending.has(message.id)) pending.get(message.id)(message);
  });
  return {
    send: (method, params = {}) =>
      new Promise((resolve, reject) => {
        pending.set(++id, (m) => (m.error ? reject(new Error(`${method}: ${m.error.message}`)) : resolve(m.result)));
        ws.send(JSON.stringify({ id, method, params }));
      }),
    close: () => ws.close(),
  };
}

try {
  const scriptPath = await buildWorker(root, join(tmp, "dist"));
  server = await startWorker({ root, scriptPath, persistDir: join(tmp, "persist"), inspectorPort });
  await seed(server.url, 20);
  const spec = await loadScenarios({ notes: 20, connections: 16 }, tmp)[name].spec({ url: server.url }, "probe");
  const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json();
  const target = targets.find((t) => !/miniflare|entry|loopback/i.test(t.title ?? "")) ?? targets[0];
  const cdp = await devtools(target.webSocketDebuggerUrl.replace("localhost", "127.0.0.1"));
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 100 });
  const tool = which("wrk") ? "wrk" : "autocannon";
  // Warm-up without the profiler: JIT and caches first.
  await runLoad(tool, { url: server.url, spec, connections: 16, durationSeconds: 2, threads: 1, tmpDir: tmp, label: "warmup" });
  await cdp.send("Profiler.start");
  const load = await runLoad(tool, {
    url: server.url,
    spec,
    connections: 16,
    durationSeconds: seconds,
    threads: 1,
    tmpDir: tmp,
    label: "run",
  });
  const { profile } = await cdp.send("Profiler.stop");
  cdp.close();

  const selfUs = new Map();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const deltas = profile.timeDeltas;
  for (let i = 0; i < profile.samples.length; i++) {
    const frame = byId.get(profile.samples[i]).callFrame;
    const file = frame.url.includes("node_modules")
      ? frame.url
          .replace(/.*node_modules\//, "")
          .split("/")
          .slice(0, 1)
          .join("/")
      : frame.url.split("/").pop() || "(runtime)";
    const key = `${frame.functionName || "(anonymous)"}  ${file}:${frame.lineNumber + 1}`;
    selfUs.set(key, (selfUs.get(key) ?? 0) + (deltas[i] ?? 0));
  }
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const perRequest = (us) => (us / load.requests).toFixed(2);
  console.log(
    `\n${name}: ${Math.round(load.rps)} req/s under the profiler (${tool}); JS samples ${(total / 1e6).toFixed(1)} s over ${load.requests} requests; self µs per request:`,
  );
  for (const [key, us] of [...selfUs].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`  ${perRequest(us).padStart(7)}  ${key}`);
} finally {
  await server?.stop();
  rmSync(tmp, { recursive: true, force: true });
}
