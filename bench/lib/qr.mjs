// The QR scenario: N waiting QR logins, each with its browser WebSocket open, all approved through the
// HTTP API; approve -> browser latency, creation rate, and workerd's memory before, at peak and after cleanup.
import WebSocket from "ws";
import { call, percentile, pool } from "./http.mjs";
import { cpuSeconds, memoryKiB, openFilesLimit } from "./proc.mjs";

const round = (x, digits = 2) => (x === null || x === undefined || Number.isNaN(x) ? null : Math.round(x * 10 ** digits) / 10 ** digits);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function stats(values) {
  return {
    p50: round(percentile(values, 50)),
    p99: round(percentile(values, 99)),
    max: round(values.length ? Math.max(...values) : null),
    n: values.length,
  };
}

/** Opens the browser's socket and resolves at its first event (expected `pending`). */
function openBrowser(session, timeoutMs) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const ws = new WebSocket(`${session.ws_url}?secret=${encodeURIComponent(session.secret)}`, { handshakeTimeout: timeoutMs });
    const browser = { ws, events: [], approvedAt: null, closeFrameAt: null, closeCode: null, closedAt: null, closed: null };
    // When the server's close frame arrives (ws's receiver event; 'close' itself waits for the TCP end).
    ws.once("open", () => ws._receiver?.once("conclude", () => (browser.closeFrameAt = performance.now())));
    browser.closed = new Promise((r) =>
      ws.once("close", (code) => {
        browser.closedAt = performance.now();
        r((browser.closeCode = code));
      }),
    );
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`socket ${session.id}: no first event within ${timeoutMs} ms`));
    }, timeoutMs);
    ws.on("message", (data) => {
      const at = performance.now();
      const event = JSON.parse(String(data));
      browser.events.push(event.type);
      if (event.type === "approved") browser.approvedAt = at;
      if (browser.events.length === 1) {
        clearTimeout(timer);
        if (event.type === "pending") resolve({ browser, handshakeMs: at - started });
        else reject(new Error(`socket ${session.id}: first event ${event.type}, expected pending`));
      }
    });
    ws.once("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`socket ${session.id}: ${error.message}`));
    });
  });
}

function rssMiB(pid) {
  const m = memoryKiB(pid);
  return m ? round(m.rss / 1024, 1) : null;
}

/**
 * options: { url, pid, token (the phone's access token), n, concurrency, wsConcurrency, cleanupWaitSeconds,
 * durableObjectFiles(), log(line) }
 */
export async function runQrScenario(options) {
  const { url, pid, n, concurrency, log } = options;
  const probe = await call(url, "POST", "/api/qr/", { json: {} });
  if (probe.status === 404) return { skipped: "POST /api/qr/ answered 404: the QR API is not served by this build" };
  if (probe.status !== 201) return { skipped: `POST /api/qr/ answered ${probe.status}: ${JSON.stringify(probe.body).slice(0, 200)}` };

  const fdLimit = Math.min(openFilesLimit(pid) ?? Infinity, openFilesLimit(process.pid) ?? Infinity);
  if (n + 200 > fdLimit) return { skipped: `BENCH_QR_N=${n} needs more open files than the limit (${fdLimit}); raise ulimit -n` };

  // Let the probe settle, then the baseline.
  await sleep(1000);
  const before = { rss_mib: rssMiB(pid), do_files: options.durableObjectFiles() };
  const cpu0 = cpuSeconds(pid);

  // 1. Create N sessions through the API.
  log(`qr: creating ${n} sessions (${concurrency} at a time)`);
  let t = performance.now();
  const createMs = [];
  const failures = { create: {}, open: {}, approve: {} };
  const fail = (step, reason) => (failures[step][reason] = (failures[step][reason] ?? 0) + 1);
  const created = await pool(Array.from({ length: n }), concurrency, async () => {
    const started = performance.now();
    try {
      const res = await call(url, "POST", "/api/qr/", { json: {} });
      createMs.push(performance.now() - started);
      if (res.status === 201) return res.body;
      fail("create", `status ${res.status}`);
    } catch (error) {
      fail("create", error.message);
    }
    return null;
  });
  const createSeconds = (performance.now() - t) / 1000;
  const sessions = created.filter(Boolean);

  // 2. Open every browser socket and wait for its `pending`.
  log(`qr: opening ${n} browser WebSockets (${options.wsConcurrency} at a time)`);
  t = performance.now();
  const attempts = await pool(sessions, options.wsConcurrency, (session) =>
    openBrowser(session, 15_000).catch((error) => {
      fail("open", error.message.replace(/^socket \S+: /, ""));
      return null;
    }),
  );
  const openSeconds = (performance.now() - t) / 1000;
  const waiting = sessions.filter((_, i) => attempts[i] !== null);
  const opened = attempts.filter(Boolean);
  const browsers = opened.map((o) => o.browser);
  await sleep(1000);
  const peak = { rss_mib: rssMiB(pid), do_files: options.durableObjectFiles() };
  // Waiting sessions sit idle until the phone acts: give the runtime time to hibernate the objects.
  let idle = null;
  if (options.idleWaitSeconds > 0) {
    log(`qr: ${browsers.length} sessions waiting; idle for ${options.idleWaitSeconds} s`);
    await sleep(options.idleWaitSeconds * 1000);
    idle = { rss_mib: rssMiB(pid), idle_s: options.idleWaitSeconds };
  }

  // 3. Approve them all as the phone; latency is from sending the approve to the browser's `approved` event.
  log(`qr: approving ${n} sessions (${concurrency} at a time)`);
  t = performance.now();
  const approveHttpMs = [];
  const approveStatus = {};
  const sentAt = new Array(waiting.length);
  await pool(waiting, concurrency, async (session, index) => {
    sentAt[index] = performance.now();
    try {
      const res = await call(url, "POST", `/api/qr/${session.id}/approve/`, { token: options.token, json: {} });
      approveHttpMs.push(performance.now() - sentAt[index]);
      approveStatus[res.status] = (approveStatus[res.status] ?? 0) + 1;
    } catch (error) {
      fail("approve", error.message);
    }
  });
  const approveSeconds = (performance.now() - t) / 1000;
  // Every approved socket gets its event and then a close; bounded wait for stragglers (ws gives up after 30 s).
  await Promise.race([Promise.all(browsers.map((b) => b.closed)), sleep(35_000)]);
  const latencies = [];
  const closeAfterApproved = [];
  const closeFrameAfterApproved = [];
  let missing = 0;
  browsers.forEach((b, i) => {
    if (b.approvedAt === null) missing += 1;
    else latencies.push(b.approvedAt - sentAt[i]);
    if (b.approvedAt !== null && b.closedAt !== null) closeAfterApproved.push(b.closedAt - b.approvedAt);
    if (b.approvedAt !== null && b.closeFrameAt !== null) closeFrameAfterApproved.push(b.closeFrameAt - b.approvedAt);
  });
  const closeCodes = {};
  for (const b of browsers) closeCodes[b.closeCode ?? "open"] = (closeCodes[b.closeCode ?? "open"] ?? 0) + 1;
  const afterApproval = { rss_mib: rssMiB(pid), do_files: options.durableObjectFiles() };
  const cpuBusy = cpuSeconds(pid) - cpu0;
  for (const b of browsers) if (b.closeCode === null) b.ws.terminate();

  // 4. After the finished sessions' retention, their cleanup alarms delete everything.
  let afterCleanup = null;
  if (options.cleanupWaitSeconds > 0) {
    log(`qr: waiting ${options.cleanupWaitSeconds} s for the cleanup alarms`);
    await sleep(options.cleanupWaitSeconds * 1000);
    afterCleanup = { rss_mib: rssMiB(pid), do_files: options.durableObjectFiles() };
    // Only a sample, and only after reading memory: each request wakes (re-creates) an object.
    const sample = sessions.filter((_, i) => i % Math.max(1, Math.floor(n / 20)) === 0).slice(0, 20);
    const gone = await pool(sample, 4, async (s) => (await call(url, "GET", `/api/qr/${s.id}/svg/`)).status === 404);
    afterCleanup.sampled_ids_gone = `${gone.filter(Boolean).length}/${sample.length}`;
  }

  const perSession = (rss) => (rss !== null && rss !== undefined && before.rss_mib !== null && opened.length ? round(((rss - before.rss_mib) * 1024) / opened.length, 1) : null);
  return {
    n,
    concurrency,
    sessions_created: sessions.length,
    sockets_open: opened.length,
    failures,
    created_per_s: round(sessions.length / createSeconds, 1),
    create_ms: stats(createMs),
    sockets_open_s: round(openSeconds, 2),
    handshake_ms: stats(opened.map((o) => o.handshakeMs)),
    approved_per_s: round(waiting.length / approveSeconds, 1),
    approve_http_ms: stats(approveHttpMs),
    approve_http_status: approveStatus,
    approve_to_browser_ms: stats(latencies),
    approved_events_missing: missing,
    approved_to_close_frame_ms: stats(closeFrameAfterApproved),
    approved_to_close_ms: stats(closeAfterApproved),
    browser_close_codes: closeCodes,
    workerd_cpu_s: round(cpuBusy, 2),
    memory: {
      before,
      peak,
      idle,
      after_approval: afterApproval,
      after_cleanup: afterCleanup,
      // (RSS - RSS before) / open sockets: right after opening, and after the idle wait.
      per_waiting_session_kib: perSession(peak.rss_mib),
      per_idle_session_kib: perSession(idle?.rss_mib),
    },
  };
}
