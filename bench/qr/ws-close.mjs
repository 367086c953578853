// Who holds the TCP connection open after a WebSocket's close handshake? A stand-in worker in its own
// workerd (the same Miniflare as `npm run bench`) closes each socket right after its first message, in
// the ways src/qr/session.ts could; a Node `ws` client (what the QR bench uses) times the server's close
// frame and then the TCP end ('close' fires only when the socket ends, or after ws's 30 s closeTimeout).
// No application code of ours runs here: if the gap shows up, the runtime holds the connection.
// Modes: worker (accept() in the worker), plain (accept() in a Durable Object), object (the hibernation
// API with a webSocketClose handler, as src/qr/session.ts), bare (the hibernation API, no handler).
//
//   node bench/qr/ws-close.mjs [N=5]           (127.0.0.1 only; ~1-3 min)
import WebSocket from "ws";
import { startScratchWorker } from "../lib/server.mjs";

const N = Number(process.argv[2] ?? 5);

const WORKER = `
import { DurableObject } from "cloudflare:workers";
export class Closer extends DurableObject {
  async fetch(request) {
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    pair[1].send("final");
    pair[1].close(1000, "done");
    return new Response(null, { status: 101, webSocket: pair[0] });
  }
  // What src/qr/session.ts does on the client's echo: answer it (needed before 2026-04-07's auto-reply).
  webSocketClose(ws, code) {
    try { ws.close(code === 1005 ? 1000 : code, "closed"); } catch {}
  }
}
// The same without a close handler: the runtime answers (or not) the client's echo by itself.
export class Bare extends DurableObject {
  async fetch() {
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    pair[1].send("final");
    pair[1].close(1000, "done");
    return new Response(null, { status: 101, webSocket: pair[0] });
  }
}
// A Durable Object that does not use the hibernation API: accept() as a plain worker would.
export class Plain extends DurableObject {
  async fetch() {
    const pair = new WebSocketPair();
    pair[1].accept();
    pair[1].send("final");
    pair[1].close(1000, "done");
    return new Response(null, { status: 101, webSocket: pair[0] });
  }
}
export default {
  async fetch(request, env) {
    const mode = new URL(request.url).searchParams.get("mode");
    if (mode === "worker") {
      const pair = new WebSocketPair();
      pair[1].accept();
      pair[1].send("final");
      pair[1].close(1000, "done");
      return new Response(null, { status: 101, webSocket: pair[0] });
    }
    const ns = mode === "bare" ? env.BARE : mode === "plain" ? env.PLAIN : env.CLOSER;
    const res = await ns.get(ns.newUniqueId()).fetch(request);
    return new Response(null, { status: 101, webSocket: res.webSocket });
  },
};`;

function once(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 10_000 });
    const t = { frame: null, closed: null };
    ws.once("open", () => ws._receiver?.once("conclude", () => (t.frame = performance.now())));
    ws.once("close", (code) => {
      t.closed = performance.now();
      resolve({ code, frameToTcpMs: t.frame === null ? null : Math.round(t.closed - t.frame) });
    });
    ws.once("error", reject);
  });
}

const results = [];
for (const compatibilityDate of (process.env.WS_CLOSE_DATES ?? "2026-04-01,2026-04-20").split(",")) {
  for (const direct of [true, false]) {
    const { url, dispose } = await startScratchWorker(WORKER, {
      direct,
      compatibilityDate,
      compatibilityFlags: ["no_web_socket_compression"],
      durableObjects: {
        CLOSER: { className: "Closer", useSQLite: true },
        BARE: { className: "Bare", useSQLite: true },
        PLAIN: { className: "Plain", useSQLite: true },
      },
    });
    try {
      for (const mode of ["worker", "plain", "object", "bare"]) {
        const runs = [];
        for (let i = 0; i < N; i++) runs.push(await once(`${url.replace(/^http/, "ws").replace(/\/$/, "")}/?mode=${mode}`));
        const gaps = runs.map((r) => r.frameToTcpMs);
        results.push({
          compatibilityDate,
          socket: direct ? "own socket" : "entry worker",
          mode,
          codes: [...new Set(runs.map((r) => r.code))],
          close_frame_to_tcp_end_ms: gaps,
        });
        console.log(
          `${compatibilityDate} ${direct ? "own socket  " : "entry worker"} ${mode.padEnd(6)} close frame -> TCP end (ms): ${gaps.join(", ")}`,
        );
      }
    } finally {
      await dispose();
    }
  }
}
console.log(JSON.stringify(results));
