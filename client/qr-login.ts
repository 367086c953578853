/**
 * @module QR Login (headless) — the browser's side of the QR login protocol, for any page on an allowed origin:
 * makes an ECDH P-256 key pair (private key non-extractable), starts a code with its public key, follows the
 * login's WebSocket (pending → scanned, naming the account → the user types the phone's two digits, `submitCode()` →
 * confirming → approved | denied | expired) with keep-alive pings and reconnects with exponential backoff (the
 * server re-sends the current state on connect; the typed code is re-sent with it, as the pair goes only to a socket
 * that sent it), and opens the sealed pair with its private key. It calls back with every state; drawing them is
 * the caller's (our /login page, the <qr-login> element, through ./qr-text.ts). No DOM, no storage.
 *
 * What to do is decided by the pure engine (./qr-engine.ts: `next(state, event) → { state, effects }`); this file is
 * its driver: it owns the socket, the timers, the keys and fetch, feeds what happens to `next` and performs the effects.
 */
import {
  canSubmit,
  initialState,
  next,
  type Clock,
  type EngineEvent,
  type EngineState,
  type Effect,
  type QrConnection,
  type QrLoginState,
  type TimerName,
} from "./qr-engine";
import { newKeys, openSealed } from "./seal";
import type { QrCreated } from "../src/qr/wire";

export type { QrConnection, QrLoginState, QrUser } from "./qr-engine";

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

function clock(): Clock {
  return { now: Date.now(), jitter: Math.random() };
}

function detach(s: WebSocket): void {
  s.onopen = s.onmessage = s.onclose = s.onerror = null;
}

/** What a failed start threw: a refusal's Retry-After (seconds), if it had one. */
function retryAfterOf(problem: unknown): number | null {
  return problem && typeof problem === "object" && "retryAfter" in problem && typeof problem.retryAfter === "number"
    ? problem.retryAfter
    : null;
}

/** Starts a QR login at once; see QrLoginState for what `onState` hears. */
export function startQrLogin(options: QrLoginOptions): QrLoginHandle {
  const base = (options.baseUrl ?? "").replace(/\/+$/, "");
  let state: EngineState = initialState({ autoRenew: options.autoRenew !== false });
  let socket: WebSocket | null = null;
  const timers = new Map<TimerName, ReturnType<typeof setTimeout>>();
  // Events raised while effects are being performed (a callback calling restart(), a socket that fails at once) wait
  // their turn, so effects always run in the order one transition produced them.
  const queue: EngineEvent[] = [];
  let busy = false;

  function dispatch(event: EngineEvent): void {
    queue.push(event);
    if (busy) return;
    busy = true;
    try {
      for (let e = queue.shift(); e; e = queue.shift()) {
        const step = next(state, e);
        state = step.state;
        for (const effect of step.effects) perform(effect);
      }
    } finally {
      busy = false;
    }
  }

  function perform(effect: Effect): void {
    switch (effect.type) {
      case "emit":
        options.onState(effect.state);
        return;
      case "connection":
        options.onConnection?.(effect.connection);
        return;
      case "create":
        return create(effect.generation);
      case "open":
        return open(effect.url);
      case "close":
        return closeSocket(effect.code, effect.reason);
      case "send":
        if (socket && socket.readyState === WebSocket.OPEN)
          socket.send(typeof effect.message === "string" ? effect.message : JSON.stringify(effect.message));
        return;
      case "timer": {
        clearTimeout(timers.get(effect.name));
        const fire = effect.event;
        timers.set(
          effect.name,
          setTimeout(() => {
            timers.delete(effect.name);
            // The ping goes out only on an open socket; a closing one reports its close instead.
            if (fire.type === "pingDue" && (!socket || socket.readyState !== 1)) return;
            dispatch(Object.assign(clock(), fire) as EngineEvent);
          }, effect.ms),
        );
        return;
      }
      case "clear":
        clearTimeout(timers.get(effect.name));
        timers.delete(effect.name);
        return;
      case "probe":
        fetch(effect.url, { cache: "no-store", credentials: "omit" }).then(
          (res) => dispatch({ type: "probed", generation: effect.generation, status: res.status }),
          () => {
            // Offline: keep backing off.
          },
        );
        return;
      case "unseal":
        openSealed(effect.privateKey, effect.id, effect.sealed).then(
          (pair) =>
            dispatch({
              type: "unsealed",
              generation: effect.generation,
              pair: { access: pair.access, refresh: pair.refresh },
              user: pair.user,
            }),
          () => dispatch({ type: "unsealFailed", generation: effect.generation }),
        );
        return;
    }
  }

  function create(generation: number): void {
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
        dispatch({
          type: "created",
          generation,
          id: created.id,
          secret: created.secret,
          qrUrl: created.qr_url,
          wsUrl: created.ws_url,
          svgUrl: created.svg_url,
          svg,
          expiresAt: Date.parse(created.expires_at),
          serverNow,
          now: Date.now(),
          privateKey: keys.privateKey,
        });
      })
      .catch((problem: unknown) =>
        dispatch({ type: "startFailed", generation, retryAfterSeconds: retryAfterOf(problem), jitter: Math.random() }),
      );
  }

  function open(url: string): void {
    let s: WebSocket;
    try {
      s = new WebSocket(url);
    } catch {
      return dispatch(Object.assign(clock(), { type: "socketClosed" as const }));
    }
    socket = s;
    // Only the current socket speaks: an older one was detached when it was replaced or closed.
    s.onopen = () => {
      if (s === socket) dispatch({ type: "socketOpen" });
    };
    s.onmessage = (e: MessageEvent) => {
      if (s !== socket) return;
      if (e.data === "pong") return dispatch({ type: "pong" });
      let event: EngineEvent;
      try {
        event = { type: "message", event: JSON.parse(e.data as string) };
      } catch {
        return;
      }
      dispatch(event);
    };
    s.onclose = () => {
      if (s !== socket) return;
      socket = null;
      dispatch(Object.assign(clock(), { type: "socketClosed" as const }));
    };
  }

  function closeSocket(code: number, reason: string): void {
    const s = socket;
    if (!s) return;
    socket = null;
    detach(s);
    try {
      s.close(code, reason);
    } catch {
      // Already closed.
    }
  }

  const nudge = () => dispatch({ type: "nudge" });
  const onVisible = () => {
    if (!document.hidden) nudge();
  };
  window.addEventListener("online", nudge);
  document.addEventListener("visibilitychange", onVisible);

  dispatch({ type: "start" });

  return {
    cancel() {
      dispatch({ type: "cancel" });
      window.removeEventListener("online", nudge);
      document.removeEventListener("visibilitychange", onVisible);
    },
    restart() {
      dispatch({ type: "restart" });
    },
    submitCode(text: string) {
      // Decided on the current state, so the answer is right even when called from inside an onState callback.
      if (!canSubmit(state, text)) return false;
      dispatch({ type: "submit", text });
      return true;
    },
  };
}
