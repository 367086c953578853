// Shared by every load scenario (bench/run.mjs, bench/floor-variants.mjs): one measured run, and the medians of rounds.
import { runLoad } from "./load.mjs";
import { cpuSeconds, machineCpuSeconds, memoryKiB, rssSampler } from "./proc.mjs";

export const round = (x, digits = 2) =>
  x === null || x === undefined || Number.isNaN(x) ? null : Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * One measured load of `name` against `url` (after an unmeasured warm-up): req/s and latency from the load generator,
 * workerd's CPU per request, every process's CPU share, workerd's largest RSS. `makeSpec(phase)` gives the load spec
 * ("warmup", then "run"). settings: { tool, connections, wrk_threads, warmup_s, duration_s }.
 */
export async function measure(settings, tmpDir, name, url, pid, makeSpec) {
  const tool = settings.tool;
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

export const median = (values) => {
  const sorted = values.filter((v) => typeof v === "number" && !Number.isNaN(v)).sort((a, b) => a - b);
  if (!sorted.length) return null;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** Medians over the rounds (each number on its own), every round kept, and the ratios to each round's floor. */
export function summarise(runs, floorRuns) {
  const last = runs[runs.length - 1];
  const med = (pick, digits = 2) => round(median(runs.map(pick)), digits);
  const sum = (pick) => runs.reduce((a, r) => a + (pick(r) ?? 0), 0);
  const errorKeys = Object.keys(last.errors);
  const out = {
    ...last,
    requests: sum((r) => r.requests),
    duration_s: round(
      sum((r) => r.duration_s),
      2,
    ),
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
