// Load generation: wrk (Debian's package) when installed, else autocannon in a child process. Both report
// their own CPU time, since they share the machine's cores with workerd.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { cpuSeconds } from "./proc.mjs";

const MARKER = "__BENCH_JSON__";
const children = new Set();

/** Kills every load generator still running (cleanup on failure or Ctrl-C). */
export function killLoadGenerators() {
  for (const child of children) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
  }
  children.clear();
}

function luaString(text) {
  // A long bracket with enough '=' that the text cannot close it; no escaping needed inside.
  // Callers put spaces around it inside [ ]: "t[[=[" would open a long string.
  let level = "=";
  while (text.includes(`]${level}]`)) level += "=";
  return `[${level}[${text}]${level}]`;
}

function luaHeaders(headers) {
  return `{ ${Object.entries(headers)
    .map(([k, v]) => `[ ${luaString(k)} ] = ${luaString(v)}`)
    .join(", ")} }`;
}

// done() runs in wrk's main Lua state after every thread stopped: /proc/self/stat then covers all threads.
const LUA_DONE = `
local threads = {}
local thread_count = 0
function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

local function cpu_ticks()
  local f = io.open("/proc/self/stat", "r")
  if not f then return -1, -1 end
  local text = f:read("*a")
  f:close()
  local rest = text:match(".*%) (.*)")
  local fields = {}
  for field in rest:gmatch("%S+") do fields[#fields + 1] = field end
  return tonumber(fields[12]), tonumber(fields[13])
end

function done(summary, latency, requests)
  local ok, failed = 0, 0
  for _, thread in ipairs(threads) do
    ok = ok + (thread:get("chain_ok") or 0)
    failed = failed + (thread:get("chain_failed") or 0)
  end
  local utime, stime = cpu_ticks()
  local e = summary.errors
  io.write(string.format(
    '${MARKER}{"requests":%.0f,"duration_us":%.0f,"bytes":%.0f,"errors":{"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f},' ..
    '"latency_us":{"min":%.0f,"mean":%.1f,"max":%.0f,"p50":%.0f,"p90":%.0f,"p99":%.0f,"p999":%.0f},"cpu_ticks":{"utime":%.0f,"stime":%.0f},' ..
    '"chain":{"ok":%.0f,"failed":%.0f}}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    utime, stime, ok, failed))
end
`;

function staticScript(spec) {
  const lines = [`wrk.method = ${luaString(spec.method)}`];
  if (spec.body !== undefined) lines.push(`wrk.body = ${luaString(spec.body)}`);
  for (const [k, v] of Object.entries(spec.headers ?? {})) lines.push(`wrk.headers[ ${luaString(k)} ] = ${luaString(v)}`);
  return `${lines.join("\n")}\n${LUA_DONE}`;
}

/**
 * Refresh chains: each thread owns a queue of refresh tokens (its share of the pool file). A request
 * takes one; its 200 answer puts the rotated successor back. With as many tokens as connections, every
 * request carries a token that was never presented before.
 */
function chainScript(spec) {
  return `${LUA_DONE}
local headers = ${luaHeaders(spec.headers ?? {})}
function init(args)
  queue = {}
  chain_ok, chain_failed = 0, 0
  local n, i = tonumber(args[2]), 0
  for line in io.lines(args[1]) do
    if line ~= "" then
      if i % n == tid then queue[#queue + 1] = line end
      i = i + 1
    end
  end
end

function request()
  local token = table.remove(queue) or "pool-exhausted"
  return wrk.format(${luaString(spec.method)}, nil, headers, '{"${spec.chain.field}":"' .. token .. '"}')
end

function response(status, headers, body)
  if status == 200 then
    local successor = body:match('"${spec.chain.field}"%s*:%s*"([^"]+)"')
    if successor then
      queue[#queue + 1] = successor
      chain_ok = chain_ok + 1
      return
    end
  end
  chain_failed = chain_failed + 1
end
`;
}

function runChild(command, args, { timeoutMs, env }) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env: env ?? process.env });
    children.add(child);
    let stdout = "";
    let stderr = "";
    let lastCpu = null;
    // Fallback CPU reading, in case the child cannot report its own.
    const sampler = setInterval(() => {
      const cpu = cpuSeconds(child.pid);
      if (cpu !== null) lastCpu = cpu;
    }, 200);
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (error) => {
      clearInterval(sampler);
      clearTimeout(timer);
      children.delete(child);
      reject(error);
    });
    child.on("exit", (code, signal) => {
      clearInterval(sampler);
      clearTimeout(timer);
      children.delete(child);
      const line = stdout.split("\n").find((l) => l.startsWith(MARKER));
      if (!line) {
        reject(new Error(`${command} ended (${signal ?? `exit ${code}`}) without a result:\n${(stdout + stderr).slice(-2000)}`));
        return;
      }
      resolve({ report: JSON.parse(line.slice(MARKER.length)), sampledCpu: lastCpu, stderr });
    });
  });
}

/**
 * One bounded run against `url + spec.path` with `connections` connections for `durationSeconds`.
 * spec: { method, path, headers, body } or, for token chains, { method, path, headers, chain: { field, tokensFile, tokens } }.
 */
export async function runLoad(tool, { url, spec, connections, durationSeconds, threads, tmpDir, label }) {
  const target = new URL(spec.path, url).href;
  const timeoutMs = (durationSeconds + 30) * 1000;
  if (tool === "wrk") {
    const scriptPath = join(tmpDir, `${label}.lua`);
    writeFileSync(scriptPath, spec.chain ? chainScript(spec) : staticScript(spec));
    const t = Math.max(1, Math.min(threads, connections));
    const args = ["-t", String(t), "-c", String(connections), "-d", `${durationSeconds}s`, "--timeout", "10s", "-s", scriptPath, target];
    if (spec.chain) args.push("--", spec.chain.tokensFile, String(t));
    const { report, sampledCpu } = await runChild("wrk", args, { timeoutMs });
    const durationS = report.duration_us / 1e6;
    const ownCpu = report.cpu_ticks.utime >= 0 ? (report.cpu_ticks.utime + report.cpu_ticks.stime) / 100 : sampledCpu;
    return {
      tool: `wrk -t${t}`,
      requests: report.requests,
      duration_s: durationS,
      rps: report.requests / durationS,
      latency_ms: {
        p50: report.latency_us.p50 / 1000,
        p90: report.latency_us.p90 / 1000,
        p99: report.latency_us.p99 / 1000,
        max: report.latency_us.max / 1000,
        mean: report.latency_us.mean / 1000,
      },
      // wrk counts a status >= 400 as a "status" error; 3xx would pass silently (no route here answers one).
      errors: {
        bad_status: report.errors.status,
        connect: report.errors.connect,
        read: report.errors.read,
        write: report.errors.write,
        timeout: report.errors.timeout,
      },
      chain: spec.chain ? report.chain : undefined,
      loadgen_cpu_s: ownCpu,
    };
  }

  const configPath = join(tmpDir, `${label}.autocannon.json`);
  writeFileSync(configPath, JSON.stringify({ url: target, spec, connections, durationSeconds }));
  const child = fileURLToPath(new URL("./autocannon-child.mjs", import.meta.url));
  const { report } = await runChild(process.execPath, [child, configPath], { timeoutMs });
  return { tool: "autocannon", ...report };
}
