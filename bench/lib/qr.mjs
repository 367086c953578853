// The QR scenario: N waiting QR logins, each with its browser WebSocket open, all approved through the
// HTTP API as protocol v3 has both people act (the phone scans and reads the code, the browser sends it on its
// socket, the phone approves); approve -> browser latency,
// creation rate, exactly-once delivery of the sealed pair (each opened with its browser's key), and
// workerd's memory before, at peak and after cleanup.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import WebSocket from "ws";
import { call, percentile, pool } from "./http.mjs";
import { cpuSeconds, liveHeapMiB, memoryKiB, openFilesLimit } from "./proc.mjs";

const round = (x, digits = 2) => (x === null || x === undefined || Number.isNaN(x) ? null : Math.round(x * 10 ** digits) / 10 ** digits);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const subtle = globalThis.crypto.subtle;
const ECDH = { name: "ECDH", namedCurve: "P-256" };

/** A browser's key as the login page makes it (private key non-extractable) and the body that starts a login with it. */
async function browserKey() {
  const pair = await subtle.generateKey(ECDH, false, ["deriveBits"]);
  const { kty, crv, x, y } = await subtle.exportKey("jwk", pair.publicKey);
  return { privateKey: pair.privateKey, body: { public_key: { kty, crv, x, y } } };
}

/** What the login page does with an `approved` event (src/qr/seal.ts, the other side). */
async function openSealed(privateKey, id, sealed) {
  const enc = new TextEncoder();
  const epk = await subtle.importKey("jwk", sealed.epk, ECDH, false, []);
  const shared = await subtle.deriveBits({ name: "ECDH", public: epk }, privateKey, 256);
  const ikm = await subtle.importKey("raw", shared, "HKDF", false, ["deriveKey"]);
  const key = await subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: enc.encode(id), info: enc.encode("qr-login pair v1") },
    ikm,
    { name: "AES-GCM", length: 256 },
    false,
    ["decrypt"],
  );
  const plain = await subtle.decrypt(
    { name: "AES-GCM", iv: Buffer.from(sealed.iv, "base64url"), additionalData: enc.encode(id) },
    key,
    Buffer.from(sealed.ciphertext, "base64url"),
  );
  return JSON.parse(new TextDecoder().decode(plain));
}

function stats(values) {
  return {
    p50: round(percentile(values, 50)),
    p99: round(percentile(values, 99)),
    max: round(values.length ? Math.max(...values) : null),
    n: values.length,
  };
}

// Browsers always offer permessage-deflate ("permessage-deflate; client_max_window_bits"), and so does
// `ws` by default: BENCH_QR_DEFLATE=0 opens the sockets without the offer, to see what compression costs.
const OFFER_DEFLATE = process.env.BENCH_QR_DEFLATE !== "0";

/** Opens the browser's socket and resolves at its first event (expected `pending`). */
function openBrowser(session, timeoutMs, url) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    // ws_url names the configured origin (JWT_ISSUER); the bench's worker listens on a port picked at start.
    const wsUrl = session.ws_url.replace(/^wss?:\/\/[^/]+/, String(url).replace(/\/$/, "").replace(/^http/, "ws"));
    const ws = new WebSocket(`${wsUrl}?secret=${encodeURIComponent(session.secret)}`, {
      handshakeTimeout: timeoutMs,
      perMessageDeflate: OFFER_DEFLATE,
    });
    const browser = {
      ws,
      events: [],
      scanned: false,
      sealed: null,
      approvedAt: null,
      closeFrameAt: null,
      closeCode: null,
      closedAt: null,
      closed: null,
      extensions: null,
    };
    ws.once("upgrade", (res) => (browser.extensions = res.headers["sec-websocket-extensions"] ?? ""));
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
      if (event.type === "scanned") browser.scanned = true;
      if (event.type === "approved") {
        browser.approvedAt = at;
        browser.sealed = event.sealed;
      }
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
 * What the RSS is made of and what is resident: anonymous (heap: V8 isolates, actors, sockets' buffers)
 * vs file-backed (binary, mapped SQLite) memory from smaps_rollup, and workerd's open files by kind. Each
 * Durable Object that is loaded holds its .sqlite file open, so `sqlite_fds` counts resident objects.
 */
function snapshot(pid) {
  const out = { rss_mib: rssMiB(pid), heap_live_mib: liveHeapMiB(pid) };
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(rollup)?.[1] ?? NaN);
    out.anon_mib = round(field("Anonymous") / 1024, 1);
    out.file_mib = round((field("Rss") - field("Anonymous")) / 1024, 1);
  } catch {
    // Not Linux, or no access.
  }
  try {
    const fds = { sockets: 0, sqlite: 0, other: 0 };
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      let target = "";
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      if (target.startsWith("socket:")) fds.sockets += 1;
      else if (/\.sqlite(-wal|-shm)?$/.test(target)) fds.sqlite += 1;
      else fds.other += 1;
    }
    out.fds = fds;
  } catch {
    // No access.
  }
  return out;
}

/**
 * options: { url, pid, token (the phone's access token), n, concurrency, wsConcurrency, cleanupWaitSeconds,
 * durableObjectFiles(), log(line) }
 */
export async function runQrScenario(options) {
  const { url, pid, n, concurrency, log } = options;
  const probe = await call(url, "POST", "/api/qr/", { json: (await browserKey()).body });
  if (probe.status === 404) return { skipped: "POST /api/qr/ answered 404: the QR API is not served by this build" };
  if (probe.status !== 201) return { skipped: `POST /api/qr/ answered ${probe.status}: ${JSON.stringify(probe.body).slice(0, 200)}` };

  const fdLimit = Math.min(openFilesLimit(pid) ?? Infinity, openFilesLimit(process.pid) ?? Infinity);
  if (n + 200 > fdLimit) return { skipped: `BENCH_QR_N=${n} needs more open files than the limit (${fdLimit}); raise ulimit -n` };

  // Let the probe settle, then the baseline.
  await sleep(1000);
  const before = { ...snapshot(pid), do_files: options.durableObjectFiles() };
  const cpu0 = cpuSeconds(pid);

  // 1-2. Create N sessions through the API and open every browser socket (waiting for its `pending`).
  // BENCH_QR_WAVES > 1 does this in waves with BENCH_QR_WAVE_PAUSE seconds between them, so the objects of
  // one wave are evicted (workerd: after 10 s idle) before the next wave loads its own: RSS then shows the
  // cost of a *hibernated* waiting session instead of the high-water mark of N objects loaded at once.
  const waves = Math.max(1, Math.min(n, Number(process.env.BENCH_QR_WAVES ?? 1)));
  const wavePauseS = Math.max(0, Number(process.env.BENCH_QR_WAVE_PAUSE ?? 15));
  const failures = { create: {}, open: {}, approve: {} };
  const fail = (step, reason) => (failures[step][reason] = (failures[step][reason] ?? 0) + 1);
  const createMs = [];
  const sessions = [];
  const attempts = [];
  const waveMemory = [];
  let createSeconds = 0;
  let openSeconds = 0;
  for (let w = 0; w < waves; w++) {
    const size = Math.floor(((w + 1) * n) / waves) - Math.floor((w * n) / waves);
    if (w > 0) {
      log(`qr: wave ${w}/${waves} done; idle ${wavePauseS} s so its objects are evicted`);
      await sleep(wavePauseS * 1000);
      waveMemory.push({ after_wave: w, sessions: sessions.length, ...snapshot(pid) });
    }
    log(`qr: creating ${size} sessions (${concurrency} at a time)${waves > 1 ? `, wave ${w + 1}/${waves}` : ""}`);
    let t = performance.now();
    const created = await pool(Array.from({ length: size }), concurrency, async () => {
      const key = await browserKey();
      const started = performance.now();
      try {
        const res = await call(url, "POST", "/api/qr/", { json: key.body });
        createMs.push(performance.now() - started);
        if (res.status === 201) return { ...res.body, privateKey: key.privateKey };
        fail("create", `status ${res.status}`);
      } catch (error) {
        fail("create", error.message);
      }
      return null;
    });
    createSeconds += (performance.now() - t) / 1000;
    const wave = created.filter(Boolean);
    log(`qr: opening ${wave.length} browser WebSockets (${options.wsConcurrency} at a time)`);
    t = performance.now();
    const opens = await pool(wave, options.wsConcurrency, (session) =>
      openBrowser(session, 15_000, url).catch((error) => {
        fail("open", error.message.replace(/^socket \S+: /, ""));
        return null;
      }),
    );
    openSeconds += (performance.now() - t) / 1000;
    sessions.push(...wave);
    attempts.push(...opens);
  }
  let t = performance.now();
  const waiting = sessions.filter((_, i) => attempts[i] !== null);
  const opened = attempts.filter(Boolean);
  const browsers = opened.map((o) => o.browser);
  await sleep(1000);
  const peak = { ...snapshot(pid), do_files: options.durableObjectFiles() };
  // Waiting sessions sit idle until the phone acts: give the runtime time to hibernate the objects.
  let idle = null;
  if (options.idleWaitSeconds > 0) {
    log(`qr: ${browsers.length} sessions waiting; idle for ${options.idleWaitSeconds} s`);
    await sleep(options.idleWaitSeconds * 1000);
    idle = { ...snapshot(pid), idle_s: options.idleWaitSeconds };
  }

  // 3. Approve them all as the phone. Latency is per approval: from sending its HTTP approve to its browser
  // receiving `approved`. First a serial sample (one approval in flight: the path itself, no queueing), then
  // the rest at a fixed concurrency (throughput; by Little's law its latency is >= concurrency / throughput).
  const serialN = Math.min(waiting.length, Math.max(0, Number(process.env.BENCH_QR_SERIAL_N ?? 100)));
  const approveConcurrency = Math.max(1, Number(process.env.BENCH_QR_APPROVE_CONCURRENCY ?? concurrency));
  const approveHttpMs = [];
  const approveStatus = {};
  const sentAt = new Array(waiting.length);
  const approveOne = async (session, index) => {
    try {
      // Not timed: the scan binds the login and shows the phone the code; the browser's user types it (the code
      // message on its socket) and the object has taken it, so the approval below is the step that releases the pair.
      const scanned = await call(url, "POST", `/api/qr/${session.id}/scan/`, { token: options.token, json: {} });
      if (scanned.status !== 200) return fail("approve", `scan status ${scanned.status}`);
      for (let i = 0; i < 2000 && !browsers[index].scanned; i++) await sleep(1);
      if (!browsers[index].scanned) return fail("approve", "no scanned event");
      browsers[index].ws.send(JSON.stringify({ type: "code", code: scanned.body.code }));
      let taken = false;
      for (let i = 0; i < 100 && !taken; i++) {
        const view = await call(url, "GET", `/api/qr/${session.id}/`, { token: options.token });
        taken = view.body?.code_entered === true;
        if (!taken) await sleep(2);
      }
      if (!taken) return fail("approve", "code not taken");
      sentAt[index] = performance.now();
      const res = await call(url, "POST", `/api/qr/${session.id}/approve/`, { token: options.token, json: {} });
      approveHttpMs.push(performance.now() - sentAt[index]);
      approveStatus[res.status] = (approveStatus[res.status] ?? 0) + 1;
      // Serial: wait for this browser's event before the next approval (bounded).
      if (serialPhase) for (let i = 0; i < 200 && browsers[index].approvedAt === null; i++) await sleep(1);
    } catch (error) {
      fail("approve", error.message);
    }
  };
  let serialPhase = true;
  log(`qr: approving ${serialN} sessions one at a time (path latency)`);
  const serialStarted = performance.now();
  await pool(waiting.slice(0, serialN), 1, (session, index) => approveOne(session, index));
  const serialSeconds = (performance.now() - serialStarted) / 1000;
  serialPhase = false;
  log(`qr: approving ${waiting.length - serialN} sessions (${approveConcurrency} at a time)`);
  t = performance.now();
  await pool(waiting.slice(serialN), approveConcurrency, (session, index) => approveOne(session, serialN + index));
  const approveSeconds = (performance.now() - t) / 1000 || Infinity;
  // Every approved socket gets its event and then a close; bounded wait for stragglers (ws gives up after 30 s).
  await Promise.race([Promise.all(browsers.map((b) => b.closed)), sleep(35_000)]);
  const latencies = [];
  const closeAfterApproved = [];
  const closeFrameAfterApproved = [];
  let missing = 0;
  const serialLatencies = [];
  browsers.forEach((b, i) => {
    if (b.approvedAt === null) missing += 1;
    else (i < serialN ? serialLatencies : latencies).push(b.approvedAt - sentAt[i]);
    if (b.approvedAt !== null && b.closedAt !== null) closeAfterApproved.push(b.closedAt - b.approvedAt);
    if (b.approvedAt !== null && b.closeFrameAt !== null) closeFrameAfterApproved.push(b.closeFrameAt - b.approvedAt);
  });
  const serialStats = stats(serialLatencies);
  log(
    `qr: approve->browser, one in flight: p50 ${serialStats.p50} ms, p99 ${serialStats.p99} ms, max ${serialStats.max} ms (n=${serialStats.n})`,
  );
  // Exactly once: no browser got two `approved` events, and every sealed pair opens with its own browser's key.
  const deliveries = {
    twice: browsers.filter((b) => b.events.filter((e) => e === "approved").length > 1).length,
    opened: 0,
    unopenable: 0,
  };
  await pool(
    browsers.map((b, i) => [b, waiting[i]]).filter(([b]) => b.sealed),
    8,
    async ([b, session]) => {
      try {
        const pair = await openSealed(session.privateKey, session.id, b.sealed);
        if (typeof pair.access === "string" && typeof pair.refresh === "string") deliveries.opened += 1;
        else deliveries.unopenable += 1;
      } catch {
        deliveries.unopenable += 1;
      }
    },
  );
  log(`qr: sealed pairs delivered twice ${deliveries.twice}, opened ${deliveries.opened}, unopenable ${deliveries.unopenable}`);
  const closeCodes = {};
  for (const b of browsers) closeCodes[b.closeCode ?? "open"] = (closeCodes[b.closeCode ?? "open"] ?? 0) + 1;
  const afterApproval = { ...snapshot(pid), do_files: options.durableObjectFiles() };
  const cpuBusy = cpuSeconds(pid) - cpu0;
  for (const b of browsers) if (b.closeCode === null) b.ws.terminate();

  // 4. After the finished sessions' retention, their cleanup alarms delete everything.
  let afterCleanup = null;
  if (options.cleanupWaitSeconds > 0) {
    log(`qr: waiting ${options.cleanupWaitSeconds} s for the cleanup alarms`);
    await sleep(options.cleanupWaitSeconds * 1000);
    afterCleanup = { ...snapshot(pid), do_files: options.durableObjectFiles() };
    // Only a sample, and only after reading memory: each request wakes (re-creates) an object.
    const sample = sessions.filter((_, i) => i % Math.max(1, Math.floor(n / 20)) === 0).slice(0, 20);
    const gone = await pool(sample, 4, async (s) => (await call(url, "GET", `/api/qr/${s.id}/svg/`)).status === 404);
    afterCleanup.sampled_ids_gone = `${gone.filter(Boolean).length}/${sample.length}`;
  }

  const perSession = (rss) =>
    rss !== null && rss !== undefined && before.rss_mib !== null && opened.length
      ? round(((rss - before.rss_mib) * 1024) / opened.length, 1)
      : null;
  const livePerSession = (snap) =>
    snap?.heap_live_mib != null && before.heap_live_mib != null && opened.length
      ? round(((snap.heap_live_mib - before.heap_live_mib) * 1024) / opened.length, 1)
      : null;
  const live = {
    per_waiting_session_live_kib: livePerSession(peak),
    per_idle_session_live_kib: livePerSession(idle),
    after_approval_live_kib_per_session: livePerSession(afterApproval),
    after_cleanup_live_kib_per_session: livePerSession(afterCleanup),
  };
  if (live.per_waiting_session_live_kib !== null) {
    log(
      `qr: live heap (tcmalloc) per session: all open ${live.per_waiting_session_live_kib} KiB, after idle ${live.per_idle_session_live_kib} KiB, ` +
        `after approval ${live.after_approval_live_kib_per_session} KiB, after cleanup ${live.after_cleanup_live_kib_per_session} KiB; ` +
        `browser offered deflate: ${OFFER_DEFLATE}, agreed: ${JSON.stringify(browsers[0]?.extensions ?? null)}`,
    );
  }
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
    approve_concurrency: approveConcurrency,
    approved_per_s: round((waiting.length - serialN) / approveSeconds, 1),
    serial_approved_per_s: round(serialN / serialSeconds, 1),
    approve_http_ms: stats(approveHttpMs),
    approve_http_status: approveStatus,
    // At `approve_concurrency` in flight (the rest after the serial sample): includes queueing.
    approve_to_browser_ms: stats(latencies),
    // One approval in flight: the path's own latency.
    approve_to_browser_serial_ms: stats(serialLatencies),
    approved_events_missing: missing,
    sealed_pairs: deliveries,
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
      // (live heap - live heap before) / open sockets, at each step (null without gdb): what sessions hold.
      ...live,
      browser_offers_deflate: OFFER_DEFLATE,
      socket_extensions: browsers[0]?.extensions ?? null,
      waves,
      wave_pause_s: waves > 1 ? wavePauseS : null,
      // RSS after each wave's objects were evicted (sockets still open), to see the hibernated cost.
      after_waves: waveMemory,
    },
  };
}
