// What `npm run bench` prints and records: the table, the rounds, the goals (shown, never asserted) and the QR block.
import { execFileSync } from "node:child_process";
import { round } from "./measure.mjs";

export function pad(text, width, right = false) {
  const s = String(text ?? "-");
  return right ? s.padStart(width) : s.padEnd(width);
}

export function printRounds(results) {
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

export function printTable(results, floor) {
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

export function goals(byName) {
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
    if (r && !r.skipped)
      add(name, "req/s vs the one-line worker", `${Math.round(ratio(r) * 100)} %`, `>= ${share * 100} %`, ratio(r) >= share);
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
      add(
        "qr",
        `live heap per waiting session (after ${qr.memory.idle?.idle_s} s idle)`,
        `${live} KiB`,
        "<= 100 KB (97.7 KiB)",
        live * 1024 <= 100_000,
      );
    } else {
      const idleKib = qr.memory.per_idle_session_kib ?? qr.memory.per_waiting_session_kib;
      add(
        "qr",
        "RSS per waiting session (no gdb: live heap unknown)",
        `${idleKib} KiB`,
        "<= 100 KB (97.7 KiB)",
        idleKib !== null && idleKib * 1024 <= 100_000,
      );
    }
    const sqliteBefore = qr.memory.before?.fds?.sqlite;
    const sqliteAfter = qr.memory.after_cleanup?.fds?.sqlite;
    if (sqliteBefore != null && sqliteAfter != null) {
      // Each loaded object holds its .sqlite files open: back to the baseline = no session object in memory.
      add(
        "qr",
        "objects unloaded after expiry (open .sqlite files)",
        `${sqliteAfter}`,
        `<= ${sqliteBefore} (before)`,
        sqliteAfter <= sqliteBefore,
      );
    }
    const failures = Object.values(qr.failures).reduce((a, v) => a + Object.values(v).reduce((x, y) => x + y, 0), 0);
    const delivered = qr.n - failures - qr.approved_events_missing;
    add("qr", "sessions created, opened, approved and delivered", `${delivered}/${qr.n}`, "all", delivered === qr.n);
    if (qr.sealed_pairs) {
      const { twice, opened, unopenable } = qr.sealed_pairs;
      add(
        "qr",
        "sealed pairs opened with their browser's key, none delivered twice",
        `${opened} opened, ${unopenable} not, ${twice} twice`,
        "all opened, 0 twice",
        twice === 0 && unopenable === 0 && opened === delivered,
      );
    }
    if (qr.memory.after_cleanup) {
      const [gone, sampled] = qr.memory.after_cleanup.sampled_ids_gone.split("/").map(Number);
      add("qr", "storage deleted after cleanup (sampled ids 404)", `${gone}/${sampled}`, "all", gone === sampled);
    }
  }
}

export function printQr(qr) {
  if (qr.skipped) {
    console.log(`\nQR: skipped: ${qr.skipped}`);
    return;
  }
  const m = qr.memory;
  console.log(`\nQR login, N=${qr.n} waiting sessions, ${qr.concurrency} HTTP requests in flight`);
  const failed = Object.entries(qr.failures).filter(([, v]) => Object.keys(v).length);
  if (failed.length) console.log(`  FAILURES          ${failed.map(([step, v]) => `${step}: ${JSON.stringify(v)}`).join("; ")}`);
  console.log(
    `  created           ${qr.sessions_created} at ${qr.created_per_s} sessions/s (POST /api/qr/ p50 ${qr.create_ms.p50} ms, p99 ${qr.create_ms.p99} ms)`,
  );
  console.log(
    `  sockets opened    ${qr.sockets_open} in ${qr.sockets_open_s} s (handshake->pending p50 ${qr.handshake_ms.p50} ms, p99 ${qr.handshake_ms.p99} ms)`,
  );
  console.log(
    `  approved          ${qr.approved_per_s} /s; HTTP status ${JSON.stringify(qr.approve_http_status)}; approve HTTP p50 ${qr.approve_http_ms.p50} ms, p99 ${qr.approve_http_ms.p99} ms`,
  );
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
  if (m.after_cleanup)
    console.log(
      `                    after cleanup ${files(m.after_cleanup.do_files)}; sampled ids answering 404: ${m.after_cleanup.sampled_ids_gone}`,
    );
}

export function gitInfo(root) {
  try {
    const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "src", "migrations", "wrangler.toml"], {
      cwd: root,
      encoding: "utf8",
    }).trim();
    return { commit, uncommitted_changes_in_src: dirty ? dirty.split("\n").length : 0 };
  } catch {
    return null;
  }
}
