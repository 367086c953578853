// Where runs go: the full JSON of each run to bench/results/<time>-<name>.json (git-ignored), and one summary line
// per run appended to bench/results/<family>.jsonl (committed): load, qr, startup, signin-timing, edge, ws-floor.
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const round = (x, digits = 1) => (typeof x === "number" ? Math.round(x * 10 ** digits) / 10 ** digits : (x ?? null));

/** A load run's line (bench/run.mjs): per scenario req/s, share of the floor, latency and CPU per request. */
export function loadSummary(run) {
  const scenarios = {};
  for (const [name, r] of Object.entries(run.results ?? {})) {
    if (!r || r.skipped || r.rps === undefined) continue;
    scenarios[name] = {
      rps: round(r.rps, 0),
      pct_floor: r.vs_floor?.rps_pct ?? null,
      p50_ms: r.latency_ms?.p50 ?? null,
      p99_ms: r.latency_ms?.p99 ?? null,
      us_cpu: round(r.workerd_cpu_us_per_request),
      errors: Object.values(r.errors ?? {}).reduce((n, e) => n + (Number(e) || 0), 0),
      load: r.loadavg_1m ?? null,
    };
  }
  return {
    ...runHeader(run),
    scenarios,
    missed: (run.goals ?? []).filter((g) => g.met === false).map((g) => `${g.scenario}: ${g.goal} ${g.value} (${g.target})`),
  };
}

/** A QR run's line: creation and approval rates, approve -> browser latency, memory per waiting session. */
export function qrSummary(run) {
  const qr = run.qr;
  const mem = qr.memory ?? {};
  return {
    ...runHeader(run),
    n: qr.n,
    created: qr.sessions_created,
    created_per_s: qr.created_per_s,
    approved_per_s: qr.approved_per_s,
    approve_to_browser_serial_ms: qr.approve_to_browser_serial_ms ?? null,
    approve_to_browser_ms: qr.approve_to_browser_ms ?? null,
    approved_events_missing: qr.approved_events_missing ?? null,
    failures: qr.failures ?? null,
    kib_per_waiting_session: {
      live: mem.per_waiting_session_live_kib ?? null,
      idle_live: mem.per_idle_session_live_kib ?? null,
      rss: mem.per_waiting_session_kib ?? null,
    },
    do_files_peak: mem.peak?.do_files ?? null,
    sampled_ids_gone: mem.after_cleanup?.sampled_ids_gone ?? null,
  };
}

function runHeader(run) {
  const s = run.settings ?? {};
  return {
    date: run.date,
    commit: run.versions?.git?.commit ?? null,
    uncommitted_src: run.versions?.git?.uncommitted_changes_in_src ?? null,
    load_at_start: run.machine?.loadavg_at_start?.[0] ?? null,
    cpu: run.machine ? `${run.machine.nproc} x ${run.machine.cpu_model}` : null,
    loadgen: run.versions?.load_generator ?? null,
    settings: {
      duration_s: s.duration_s,
      rounds: s.rounds,
      connections: s.connections,
      socket: s.socket,
      baseline: s.baseline ?? null,
      vars: s.vars ?? {},
    },
  };
}

/** Writes the full run (git-ignored) and appends each family's summary line, e.g. { load: loadSummary(run) }. */
export function saveRun(root, name, run, summaries) {
  const dir = join(root, "bench/results");
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().slice(0, 16).replace(/:/g, "");
  let file = join(dir, `${stamp}-${name}.json`);
  for (let i = 2; existsSync(file); i++) file = join(dir, `${stamp}-${name}-${i}.json`);
  writeFileSync(file, `${JSON.stringify(run, null, 2)}\n`);
  for (const [family, summary] of Object.entries(summaries))
    appendFileSync(join(dir, `${family}.jsonl`), `${JSON.stringify({ file: file.slice(dir.length + 1), ...summary })}\n`);
  return file;
}
