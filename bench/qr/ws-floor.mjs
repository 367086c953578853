// What one open WebSocket costs workerd itself, with no application code: the floor under the QR
// scenario's "memory per waiting session". A stand-in worker (below) either accepts the socket itself or
// hands it to a Durable Object that accepts it with the hibernation API (what src/qr/session.ts does);
// N sockets are opened, left idle until the objects are evicted, and workerd's live heap (tcmalloc, via
// gdb) and RSS are read before and after. Served both as `npm run bench` serves the worker (its own
// socket) and through Miniflare's entry worker (what `wrangler dev` puts in front).
//
//   node bench/qr/ws-floor.mjs [N=1000]        (needs gdb for the live heap; 127.0.0.1 only; ~2 min)
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import WebSocket from "ws";
import { liveHeapMiB, memoryKiB } from "../lib/proc.mjs";
import { startScratchWorker } from "../lib/server.mjs";

const N = Number(process.argv[2] ?? 1000);
const IDLE_S = 15; // local workerd evicts an object after 10 s without events
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const WORKER = `
import { DurableObject } from "cloudflare:workers";
export class Waiting extends DurableObject {
  async fetch() {
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    pair[1].send("pending");
    return new Response(null, { status: 101, webSocket: pair[0] });
  }
  webSocketMessage() {}
}
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.searchParams.get("mode") === "worker") {
      const pair = new WebSocketPair();
      pair[1].accept();
      pair[1].send("pending");
      return new Response(null, { status: 101, webSocket: pair[0] });
    }
    const res = await env.WAITING.get(env.WAITING.idFromName(url.searchParams.get("id"))).fetch(request);
    return new Response(null, { status: 101, webSocket: res.webSocket });
  },
};`;

async function measure(entry, mode) {
  const { url, pid, dispose } = await startScratchWorker(WORKER, {
    direct: entry === "direct",
    // The project's flag: no compression is agreed, so none is measured.
    compatibilityFlags: ["no_web_socket_compression"],
    durableObjects: { WAITING: { className: "Waiting", useSQLite: true } },
  });
  try {
    const open = (i) =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(`${new URL(`/?mode=${mode}&id=s${i}`, url).href.replace(/^http/, "ws")}`, {
          perMessageDeflate: false,
          handshakeTimeout: 10_000,
        });
        ws.once("message", () => resolve(ws));
        ws.once("error", reject);
      });
    // Warm-up: first-time allocations (isolate, code, pools) are not a socket's cost.
    for (const ws of await Promise.all(Array.from({ length: 20 }, (_, i) => open(`warm${i}`)))) ws.close();
    await sleep(IDLE_S * 1000);
    const before = { live: liveHeapMiB(pid), rss: memoryKiB(pid).rss };
    const sockets = [];
    for (let i = 0; i < N; i += 50)
      sockets.push(...(await Promise.all(Array.from({ length: Math.min(50, N - i) }, (_, j) => open(i + j)))));
    await sleep(IDLE_S * 1000);
    const idle = { live: liveHeapMiB(pid), rss: memoryKiB(pid).rss };
    for (const ws of sockets) ws.terminate();
    const perSocket = (a, b, scale) => (a === null || b === null ? null : Math.round(((b - a) * scale * 10) / N) / 10);
    return {
      entry,
      mode,
      n: N,
      live_kib_per_socket: perSocket(before.live, idle.live, 1024),
      rss_kib_per_socket: perSocket(before.rss, idle.rss, 1),
    };
  } finally {
    await dispose();
  }
}

const rows = [];
for (const entry of ["direct", "miniflare-entry"]) {
  for (const mode of ["worker", "object"]) {
    const row = await measure(entry, mode);
    rows.push(row);
    console.log(JSON.stringify(row));
  }
}
console.log(`\nidle open WebSocket, KiB per socket (N=${N}, ${IDLE_S} s idle, no compression)`);
console.log("served by              accepted by                          live heap    RSS");
for (const r of rows) {
  const who = r.mode === "worker" ? "the worker (no object)" : "an object, hibernated (evicted)";
  console.log(
    `${r.entry.padEnd(22)} ${who.padEnd(36)} ${String(r.live_kib_per_socket).padStart(9)} ${String(r.rss_kib_per_socket).padStart(6)}`,
  );
}
const out = join(
  import.meta.dirname ?? new URL(".", import.meta.url).pathname,
  "..",
  "results",
  `${new Date().toISOString().slice(0, 16).replace(/:/g, "")}-ws-floor.json`,
);
writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), n: N, idle_s: IDLE_S, rows }, null, 2));
console.log(`results: ${out}`);
