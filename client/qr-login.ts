/**
 * @module QR Login (headless) — the browser's side of the QR login protocol, for any page on an allowed origin:
 * makes an ECDH P-256 key pair (private key non-extractable), starts a code with its public key, follows the
 * login's WebSocket (pending → scanned, naming the account → the user types the phone's two digits, `submitCode()` →
 * confirming → approved | denied | expired) with keep-alive pings and reconnects with exponential backoff (the
 * server re-sends the current state on connect; the typed code is re-sent with it, as the pair goes only to a socket
 * that sent it), and opens the sealed pair with its private key. It calls back with every state; drawing them is
 * the caller's (our /login page, the <qr-login> element, through ./qr-text.ts). No DOM, no storage.
 */
import type { BrowserCancel, BrowserCode, BrowserEvent, QrUser } from "../src/qr/policy";
import type { QrCreated } from "../src/qr/wire";
import { newKeys, openSealed, type BrowserKeys } from "./seal";

const PING_EVERY_MS = 25000;
const PONG_WITHIN_MS = 8000;
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 15000;
/** After the code's time is up, how long to wait for the server's own "expired" before starting over anyway. */
const EXPIRY_GRACE_MS = 2500;

export type { QrUser };

/** What the login is doing; `expiresAt` is on this device's clock (ms), corrected by the server's Date when readable. */
export type QrLoginState =
  | { state: "starting" }
  | { state: "pending"; id: string; url: string; svg: string; expiresAt: number }
  /** `user` scanned it; type the two digits their phone shows (`submitCode`). */
  | { state: "scanned"; id: string; user: QrUser; expiresAt: number }
  /** The code was sent; waiting for the phone's approval (or a wrong code's `denied`). */
  | { state: "confirming"; id: string; user: QrUser; code: string; expiresAt: number }
  | { state: "signing-in" }
  | { state: "approved"; pair: { access: string; refresh: string }; user: QrUser }
  | { state: "denied"; reason: "phone" | "code_mismatch" | "cancelled" }
  | { state: "expired" }
  | { state: "error"; message: string; retryInMs: number | null };

/** The socket: live, reconnecting (with the wait before the next attempt), or closed (no code, or finished). */
export type QrConnection = { status: "live" } | { status: "reconnecting"; retryInMs: number } | { status: "closed" };

export interface QrLoginOptions {
  /** The auth worker's origin, e.g. "https://auth.example.com"; "" (default): this page's own origin. */
  baseUrl?: string;
  onState(state: QrLoginState): void;
  onConnection?(connection: QrConnection): void;
  /** Start a new code by itself after `expired` or a failed start (default true). */
  autoRenew?: boolean;
}

export interface QrLoginHandle {
  /** Walks away: an open login ends denied on the server (so whoever scanned can no longer approve it); all stops. */
  cancel(): void;
  /** Cancels the current code, if open, and starts a new one. */
  restart(): void;
  /**
   * Sends the two digits the phone shows ("00"–"99"; spaces are dropped) while the state is `scanned`. One try: a
   * wrong code ends the login (`denied`, reason `code_mismatch`). False (nothing sent) if malformed or not now.
   */
  submitCode(code: string): boolean;
}

interface Code {
  id: string;
  secret: string;
  ws_url: string;
  svg_url: string;
  keys: BrowserKeys;
  deadline: number;
}

function backoff(n: number): number {
  const ms = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * Math.pow(2, n));
  return Math.round(ms * (0.75 + Math.random() * 0.5));
}

function detach(s: WebSocket): void {
  s.onopen = s.onmessage = s.onclose = s.onerror = null;
}

/** Starts a QR login at once; see QrLoginState for what `onState` hears. */
export function startQrLogin(options: QrLoginOptions): QrLoginHandle {
  const base = (options.baseUrl ?? "").replace(/\/+$/, "");
  const autoRenew = options.autoRenew !== false;
  let code: Code | null = null;
  let generation = 0;
  let socket: WebSocket | null = null;
  let finished = false;
  let stopped = false;
  let attempts = 0;
  let startFailures = 0;
  // What the user typed for this code, re-sent after every reconnect until the login ends.
  let typed: string | null = null;
  let scannedBy: QrUser | null = null;
  let reconnectTimer = 0;
  let pingTimer = 0;
  let pongTimer = 0;
  let expiryTimer = 0;
  let retryTimer = 0;

  const emit = (state: QrLoginState) => {
    if (!stopped) options.onState(state);
  };
  const connection = (c: QrConnection) => {
    if (!stopped || c.status === "closed") options.onConnection?.(c);
  };

  function stopSocket(): void {
    clearTimeout(reconnectTimer);
    clearInterval(pingTimer);
    clearTimeout(pongTimer);
    if (socket) {
      const s = socket;
      socket = null;
      detach(s);
      try {
        s.close(1000, "done");
      } catch {
        // Already closed.
      }
    }
    connection({ status: "closed" });
  }

  function clearTimers(): void {
    clearTimeout(expiryTimer);
    clearTimeout(retryTimer);
  }

  function expired(): void {
    finished = true;
    stopSocket();
    clearTimers();
    emit({ state: "expired" });
    if (autoRenew) fresh();
  }

  function armExpiry(): void {
    clearTimeout(expiryTimer);
    if (!code) return;
    const mine = generation;
    // The server's alarm sends "expired"; if it does not arrive (socket down), start over anyway.
    expiryTimer = setTimeout(() => {
      if (mine === generation && !finished) expired();
    }, Math.max(0, code.deadline - Date.now()) + EXPIRY_GRACE_MS);
  }

  function failedStart(problem: unknown): void {
    startFailures += 1;
    let wait = backoff(startFailures - 1);
    const retryAfter = problem && typeof problem === "object" && "retryAfter" in problem && typeof problem.retryAfter === "number" ? problem.retryAfter : null;
    if (retryAfter) wait = Math.max(wait, retryAfter * 1000);
    emit({ state: "error", message: "Could not get a sign-in code.", retryInMs: autoRenew ? wait : null });
    if (autoRenew) retryTimer = setTimeout(fresh, wait);
  }

  function fresh(): void {
    stopSocket();
    clearTimers();
    code = null;
    typed = null;
    scannedBy = null;
    finished = false;
    generation += 1;
    const mine = generation;
    emit({ state: "starting" });
    newKeys()
      .then(async (keys) => {
        const res = await fetch(base + "/api/qr/", {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json" },
          body: JSON.stringify({ public_key: keys.publicJwk }),
          cache: "no-store",
          credentials: "omit",
        });
        if (!res.ok) throw { status: res.status, retryAfter: Number(res.headers.get("retry-after")) || null };
        const created = (await res.json()) as QrCreated;
        const serverNow = Date.parse(res.headers.get("date") || "");
        const svgRes = await fetch(created.svg_url, { cache: "no-store", credentials: "omit" });
        if (!svgRes.ok) throw { status: svgRes.status };
        const svg = await svgRes.text();
        if (mine !== generation || stopped) return;
        const expiresAt = Date.parse(created.expires_at);
        // Count down on this device's clock, from the server's view of how long is left.
        const deadline = Date.now() + (isNaN(serverNow) ? expiresAt - Date.now() : expiresAt - serverNow);
        code = { id: created.id, secret: created.secret, ws_url: created.ws_url, svg_url: created.svg_url, keys, deadline };
        startFailures = 0;
        attempts = 0;
        emit({ state: "pending", id: created.id, url: created.qr_url, svg, expiresAt: deadline });
        armExpiry();
        connect();
      })
      .catch((problem: unknown) => {
        if (mine === generation && !stopped) failedStart(problem);
      });
  }

  function connect(): void {
    clearTimeout(reconnectTimer);
    if (!code || finished || stopped) return;
    const mine = generation;
    let s: WebSocket;
    try {
      s = new WebSocket(code.ws_url + "?secret=" + encodeURIComponent(code.secret));
    } catch {
      return dropped(mine);
    }
    socket = s;
    s.onmessage = (e: MessageEvent) => {
      if (mine !== generation || s !== socket) return;
      if (e.data === "pong") {
        clearTimeout(pongTimer);
        return;
      }
      let event: BrowserEvent;
      try {
        event = JSON.parse(e.data as string) as BrowserEvent;
      } catch {
        return;
      }
      attempts = 0;
      connection({ status: "live" });
      handle(event);
    };
    s.onopen = () => {
      if (mine !== generation || s !== socket) return;
      clearInterval(pingTimer);
      // A keep-alive the server answers without waking its object; no answer means a dead connection.
      pingTimer = setInterval(() => {
        if (s.readyState !== 1) return;
        s.send("ping");
        clearTimeout(pongTimer);
        pongTimer = setTimeout(() => {
          if (s === socket) abandon(s, mine);
        }, PONG_WITHIN_MS);
      }, PING_EVERY_MS);
    };
    s.onclose = () => {
      if (s !== socket) return;
      socket = null;
      clearInterval(pingTimer);
      clearTimeout(pongTimer);
      if (mine !== generation || finished) return connection({ status: "closed" });
      dropped(mine);
    };
  }

  /** A connection that stopped answering: stop listening to it and reconnect now. */
  function abandon(s: WebSocket, mine: number): void {
    detach(s);
    try {
      s.close(4000, "no pong");
    } catch {
      // Already closed.
    }
    socket = null;
    clearInterval(pingTimer);
    dropped(mine);
  }

  function dropped(mine: number): void {
    if (mine !== generation || finished || stopped) return;
    if (code && Date.now() >= code.deadline) return expired();
    const wait = backoff(attempts);
    attempts += 1;
    connection({ status: "reconnecting", retryInMs: wait });
    // After a few refusals, ask whether the code still exists (a finished or purged session refuses the handshake).
    if (attempts >= 3 && code) {
      fetch(code.svg_url, { cache: "no-store", credentials: "omit" }).then(
        (res) => {
          if (mine === generation && !finished && (res.status === 404 || res.status === 410)) expired();
        },
        () => {
          // Offline: keep backing off.
        },
      );
    }
    reconnectTimer = setTimeout(connect, wait);
  }

  function handle(event: BrowserEvent): void {
    if (!code) return;
    switch (event.type) {
      case "pending":
        // A reconnect while nobody scanned: the code on screen is still the one.
        break;
      case "scanned":
        scannedBy = event.user;
        if (typed) {
          // A reconnect: the new socket must send the code itself before the pair can come on it.
          sendCode();
          emit({ state: "confirming", id: code.id, user: event.user, code: typed, expiresAt: code.deadline });
        } else {
          emit({ state: "scanned", id: code.id, user: event.user, expiresAt: code.deadline });
        }
        break;
      case "approved": {
        finished = true;
        clearTimers();
        emit({ state: "signing-in" });
        const current = code;
        const mine = generation;
        openSealed(current.keys.privateKey, current.id, event.sealed).then(
          (pair) => {
            if (mine !== generation) return;
            stopSocket();
            emit({ state: "approved", pair: { access: pair.access, refresh: pair.refresh }, user: pair.user });
          },
          () => {
            // Not sealed to this page's key: never use it.
            if (mine !== generation) return;
            emit({ state: "error", message: "The sign-in could not be opened on this page.", retryInMs: autoRenew ? 0 : null });
            if (autoRenew) fresh();
          },
        );
        break;
      }
      case "denied":
        finished = true;
        clearTimers();
        stopSocket();
        emit({ state: "denied", reason: event.reason ?? "phone" });
        break;
      case "expired":
        expired();
        break;
    }
  }

  function sendCode(): void {
    if (socket && socket.readyState === WebSocket.OPEN && typed && !finished) socket.send(JSON.stringify({ type: "code", code: typed } satisfies BrowserCode));
  }

  function sendCancel(): void {
    if (socket && socket.readyState === WebSocket.OPEN && !finished) socket.send(JSON.stringify({ type: "cancel" } satisfies BrowserCancel));
  }

  // Back online or back in view: reconnect now instead of waiting out the backoff.
  const nudge = () => {
    if (code && !finished && !socket && !stopped) connect();
  };
  const onVisible = () => {
    if (!document.hidden) nudge();
  };
  window.addEventListener("online", nudge);
  document.addEventListener("visibilitychange", onVisible);

  fresh();

  return {
    cancel() {
      sendCancel();
      finished = true;
      stopSocket();
      clearTimers();
      stopped = true;
      window.removeEventListener("online", nudge);
      document.removeEventListener("visibilitychange", onVisible);
    },
    restart() {
      sendCancel();
      fresh();
    },
    submitCode(text: string) {
      const digits = String(text).replace(/\s+/g, "");
      if (!/^\d{2}$/.test(digits) || !code || !scannedBy || typed || finished || stopped) return false;
      typed = digits;
      // Not connected now: the next connection's `scanned` sends it.
      sendCode();
      emit({ state: "confirming", id: code.id, user: scannedBy, code: digits, expiresAt: code.deadline });
      return true;
    },
  };
}
