/**
 * @module QR Engine — the browser's side of QR login as plain transitions: `next(state, event) → { state, effects }`.
 * No DOM, no socket, no timer, no crypto: events say what happened (a socket opened, a message came, a timer fired,
 * the keys and code arrived) with the time and the jitter as inputs, and effects are data (open a socket, send, arm a
 * timer, create a code, unseal, emit a state) that the driver (./qr-login.ts) performs. The server's side is
 * src/qr/policy.ts's `decide()`; this is its mirror.
 *
 *   starting ──created──▶ pending ──scanned──▶ scanned ──submit──▶ confirming ──approved──▶ signing-in ──▶ approved
 *      ▲  │                  │                    │                    │
 *      │  └─startFailed──▶ error (retry timer)     └───── denied (phone | code_mismatch | cancelled) ◀──┘
 *      └──────────── expired (server's event, the deadline's timer, or a 404/410 probe), when autoRenew
 *
 * Alongside: the socket reconnects with jittered exponential backoff, pings every 25 s and is abandoned when no pong
 * comes within 8 s; after three refused reconnects it probes whether the code still exists; the typed code is
 * re-sent on every new socket's `scanned` (the pair goes only to a socket that sent it).
 */
import type { BrowserCancel, BrowserCode, BrowserEvent, QrUser, SealedPair } from "../src/qr/policy";

export type { QrUser };

const PING_EVERY_MS = 25000;
const PONG_WITHIN_MS = 8000;
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 15000;
/** After the code's time is up, how long to wait for the server's own "expired" before starting over anyway. */
const EXPIRY_GRACE_MS = 2500;
/** Refused reconnects after which the engine asks whether the code still exists. */
const PROBE_AFTER_ATTEMPTS = 3;

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

/** The code being shown: what the server created, on this device's clock, with the private key its pair is sealed to. */
interface Code {
  id: string;
  secret: string;
  wsUrl: string;
  svgUrl: string;
  /** When the code ends, on this device's clock (ms). */
  deadline: number;
  privateKey: CryptoKey;
}

export interface EngineState {
  /** Start a new code by itself after `expired` or a failed start. */
  autoRenew: boolean;
  /** Bumped by every new code: answers to an older code's requests carry an older number and are ignored. */
  generation: number;
  code: Code | null;
  /** The code's login ended (approved, denied, expired, cancelled): nothing more is sent or reconnected. */
  finished: boolean;
  /** cancel() was called: the engine is silent for good. */
  stopped: boolean;
  /** A socket exists (opening or open); the driver knows whether it can send right now. */
  socket: boolean;
  /** What the user typed for this code, re-sent after every reconnect until the login ends. */
  typed: string | null;
  scannedBy: QrUser | null;
  /** Reconnects since the last message. */
  attempts: number;
  /** Failed starts in a row. */
  startFailures: number;
}

export type TimerName = "reconnect" | "ping" | "pong" | "expiry" | "retry";

/** This device's clock (ms) and a uniform draw in [0, 1) for backoff jitter: time and randomness are inputs. */
export interface Clock {
  now: number;
  jitter: number;
}

/** What a timer feeds back when it fires; the driver adds the Clock. */
type TimerEvent =
  | { type: "retryDue" }
  | { type: "pingDue" }
  | { type: "pongMissed" }
  | { type: "reconnectDue" }
  | { type: "expiryDue"; generation: number };

/** What the driver feeds in. */
export type EngineEvent =
  | { type: "start" }
  | { type: "restart" }
  | { type: "cancel" }
  /** The code the server created (POST /api/qr/ and its SVG), for the keys made for `generation`. */
  | {
      type: "created";
      generation: number;
      id: string;
      secret: string;
      qrUrl: string;
      wsUrl: string;
      svgUrl: string;
      svg: string;
      /** `expires_at` parsed (ms); `serverNow` the answer's Date header parsed (ms), NaN when unreadable. */
      expiresAt: number;
      serverNow: number;
      now: number;
      privateKey: CryptoKey;
    }
  /** Making keys or creating the code failed; `retryAfterSeconds` from a 429/503's Retry-After. */
  | { type: "startFailed"; generation: number; retryAfterSeconds: number | null; jitter: number }
  | { type: "retryDue" }
  | { type: "socketOpen" }
  | { type: "message"; event: BrowserEvent }
  | { type: "pong" }
  /** The ping timer fired while the socket is open (the driver checks that). */
  | { type: "pingDue" }
  | ({ type: "pongMissed" } & Clock)
  /** The socket closed, or could not be made. */
  | ({ type: "socketClosed" } & Clock)
  | { type: "reconnectDue" }
  | { type: "expiryDue"; generation: number }
  /** The answer to a `probe`: the code's SVG URL's status. */
  | { type: "probed"; generation: number; status: number }
  | { type: "unsealed"; generation: number; pair: { access: string; refresh: string }; user: QrUser }
  | { type: "unsealFailed"; generation: number }
  /** Back online or back in view: reconnect now instead of waiting out the backoff. */
  | { type: "nudge" }
  /** The user's typed code, as typed. */
  | { type: "submit"; text: string };

/** What the driver performs, in order. */
export type Effect =
  | { type: "emit"; state: QrLoginState }
  | { type: "connection"; connection: QrConnection }
  /** Make keys for `generation` and create a code with their public half; answer `created` or `startFailed`. */
  | { type: "create"; generation: number }
  | { type: "open"; url: string }
  /** Stop listening to the current socket and close it. */
  | { type: "close"; code: number; reason: string }
  | { type: "send"; message: BrowserCode | BrowserCancel | "ping" }
  /** Arms `name` (replacing it if armed); when it fires, the driver feeds `event` with the Clock. */
  | { type: "timer"; name: TimerName; ms: number; event: TimerEvent }
  | { type: "clear"; name: TimerName }
  /** GET the code's SVG URL; answer `probed` with its status (nothing when offline). */
  | { type: "probe"; generation: number; url: string }
  /** Open the sealed pair with the code's private key; answer `unsealed` or `unsealFailed`. */
  | { type: "unseal"; generation: number; privateKey: CryptoKey; id: string; sealed: SealedPair };

export interface Step {
  state: EngineState;
  effects: Effect[];
}

export function initialState(options: { autoRenew: boolean }): EngineState {
  return {
    autoRenew: options.autoRenew,
    generation: 0,
    code: null,
    finished: false,
    stopped: false,
    socket: false,
    typed: null,
    scannedBy: null,
    attempts: 0,
    startFailures: 0,
  };
}

/** The wait before reconnect `n` (0-based): doubling from 0.5 s to 15 s, ±25 % so a fleet of tabs does not reconnect in step. */
export function backoff(n: number, jitter: number): number {
  const ms = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * Math.pow(2, n));
  return Math.round(ms * (0.75 + jitter * 0.5));
}

/** Two digits with spaces dropped ("4 7" → "47"), or null. */
function codeDigits(text: string): string | null {
  const digits = String(text).replace(/\s+/g, "");
  return /^\d{2}$/.test(digits) ? digits : null;
}

/** Whether `submit` with `text` would be taken now: two digits, scanned, nothing typed yet, still open. */
export function canSubmit(s: EngineState, text: string): boolean {
  return codeDigits(text) !== null && !!s.code && !!s.scannedBy && !s.typed && !s.finished && !s.stopped;
}

/** Collects a transition's state and effects; `emit` and `connection` are dropped once stopped, as callers expect. */
class Builder {
  effects: Effect[] = [];
  constructor(public s: EngineState) {}
  set(patch: Partial<EngineState>): void {
    // Object.assign, not spread: the pages target ES2017, where spread costs a 400-byte helper.
    this.s = Object.assign({}, this.s, patch);
  }
  do(...effects: Effect[]): void {
    this.effects.push(...effects);
  }
  emit(state: QrLoginState): void {
    if (!this.s.stopped) this.effects.push({ type: "emit", state });
  }
  connection(connection: QrConnection): void {
    // "closed" is said even while stopping: the caller learns the socket is gone.
    if (!this.s.stopped || connection.status === "closed") this.effects.push({ type: "connection", connection });
  }
  done(): Step {
    return { state: this.s, effects: this.effects };
  }
}

function stopSocket(b: Builder): void {
  b.do({ type: "clear", name: "reconnect" }, { type: "clear", name: "ping" }, { type: "clear", name: "pong" });
  if (b.s.socket) b.do({ type: "close", code: 1000, reason: "done" });
  b.set({ socket: false });
  b.connection({ status: "closed" });
}

function clearTimers(b: Builder): void {
  b.do({ type: "clear", name: "expiry" }, { type: "clear", name: "retry" });
}

function sendCode(b: Builder): void {
  if (b.s.socket && b.s.typed && !b.s.finished) b.do({ type: "send", message: { type: "code", code: b.s.typed } });
}

function sendCancel(b: Builder): void {
  if (b.s.socket && !b.s.finished) b.do({ type: "send", message: { type: "cancel" } });
}

function fresh(b: Builder): void {
  stopSocket(b);
  clearTimers(b);
  const generation = b.s.generation + 1;
  b.set({ code: null, typed: null, scannedBy: null, finished: false, generation });
  b.emit({ state: "starting" });
  b.do({ type: "create", generation });
}

function expired(b: Builder): void {
  b.set({ finished: true });
  stopSocket(b);
  clearTimers(b);
  b.emit({ state: "expired" });
  if (b.s.autoRenew) fresh(b);
}

function connect(b: Builder): void {
  b.do({ type: "clear", name: "reconnect" });
  const code = b.s.code;
  if (!code || b.s.finished || b.s.stopped) return;
  b.do({ type: "open", url: code.wsUrl + "?secret=" + encodeURIComponent(code.secret) });
  b.set({ socket: true });
}

function dropped(b: Builder, now: number, jitter: number): void {
  if (b.s.finished || b.s.stopped) return;
  const code = b.s.code;
  if (code && now >= code.deadline) return expired(b);
  const wait = backoff(b.s.attempts, jitter);
  const attempts = b.s.attempts + 1;
  b.set({ attempts });
  b.connection({ status: "reconnecting", retryInMs: wait });
  // A finished or purged session refuses the handshake: after a few refusals, ask whether the code still exists.
  if (attempts >= PROBE_AFTER_ATTEMPTS && code) b.do({ type: "probe", generation: b.s.generation, url: code.svgUrl });
  b.do({ type: "timer", name: "reconnect", ms: wait, event: { type: "reconnectDue" } });
}

function onServer(b: Builder, event: BrowserEvent): void {
  const code = b.s.code;
  if (!code) return;
  switch (event.type) {
    case "pending":
      // A reconnect while nobody scanned: the code on screen is still the one.
      return;
    case "scanned":
      b.set({ scannedBy: event.user });
      if (b.s.typed) {
        // A reconnect: the new socket must send the code itself before the pair can come on it.
        sendCode(b);
        b.emit({ state: "confirming", id: code.id, user: event.user, code: b.s.typed, expiresAt: code.deadline });
      } else {
        b.emit({ state: "scanned", id: code.id, user: event.user, expiresAt: code.deadline });
      }
      return;
    case "approved":
      b.set({ finished: true });
      clearTimers(b);
      b.emit({ state: "signing-in" });
      b.do({ type: "unseal", generation: b.s.generation, privateKey: code.privateKey, id: code.id, sealed: event.sealed });
      return;
    case "denied":
      b.set({ finished: true });
      clearTimers(b);
      stopSocket(b);
      b.emit({ state: "denied", reason: event.reason ?? "phone" });
      return;
    case "expired":
      return expired(b);
  }
}

/** The one transition function: what `event` does to `state`, and what the driver must do about it. */
export function next(state: EngineState, event: EngineEvent): Step {
  const b = new Builder(state);
  // Cancelled for good: nothing is created, sent, armed or said any more.
  if (state.stopped) return b.done();
  const current = (generation: number) => generation === b.s.generation;
  switch (event.type) {
    case "start":
      fresh(b);
      break;
    case "restart":
      sendCancel(b);
      fresh(b);
      break;
    case "cancel":
      sendCancel(b);
      b.set({ finished: true });
      stopSocket(b);
      clearTimers(b);
      b.set({ stopped: true });
      break;
    case "created": {
      if (!current(event.generation)) break;
      // Count down on this device's clock, from the server's view of how long is left.
      const deadline = event.now + (Number.isNaN(event.serverNow) ? event.expiresAt - event.now : event.expiresAt - event.serverNow);
      b.set({
        code: { id: event.id, secret: event.secret, wsUrl: event.wsUrl, svgUrl: event.svgUrl, deadline, privateKey: event.privateKey },
        startFailures: 0,
        attempts: 0,
      });
      b.emit({ state: "pending", id: event.id, url: event.qrUrl, svg: event.svg, expiresAt: deadline });
      // The server's alarm sends "expired"; if it does not arrive (socket down), start over anyway.
      b.do({
        type: "timer",
        name: "expiry",
        ms: Math.max(0, deadline - event.now) + EXPIRY_GRACE_MS,
        event: { type: "expiryDue", generation: event.generation },
      });
      connect(b);
      break;
    }
    case "startFailed": {
      if (!current(event.generation)) break;
      const startFailures = b.s.startFailures + 1;
      b.set({ startFailures });
      let wait = backoff(startFailures - 1, event.jitter);
      if (event.retryAfterSeconds) wait = Math.max(wait, event.retryAfterSeconds * 1000);
      b.emit({ state: "error", message: "Could not get a sign-in code.", retryInMs: b.s.autoRenew ? wait : null });
      if (b.s.autoRenew) b.do({ type: "timer", name: "retry", ms: wait, event: { type: "retryDue" } });
      break;
    }
    case "retryDue":
      fresh(b);
      break;
    case "socketOpen":
      // A keep-alive the server answers without waking its object; no answer means a dead connection.
      b.do({ type: "timer", name: "ping", ms: PING_EVERY_MS, event: { type: "pingDue" } });
      break;
    case "pingDue":
      b.do(
        { type: "send", message: "ping" },
        { type: "timer", name: "pong", ms: PONG_WITHIN_MS, event: { type: "pongMissed" } },
        { type: "timer", name: "ping", ms: PING_EVERY_MS, event: { type: "pingDue" } },
      );
      break;
    case "pong":
      b.do({ type: "clear", name: "pong" });
      break;
    case "pongMissed":
      // A connection that stopped answering: stop listening to it and reconnect now.
      if (!b.s.socket) break;
      b.do({ type: "close", code: 4000, reason: "no pong" }, { type: "clear", name: "ping" });
      b.set({ socket: false });
      dropped(b, event.now, event.jitter);
      break;
    case "socketClosed":
      if (!b.s.socket) break;
      b.set({ socket: false });
      b.do({ type: "clear", name: "ping" }, { type: "clear", name: "pong" });
      if (b.s.finished) b.connection({ status: "closed" });
      else dropped(b, event.now, event.jitter);
      break;
    case "reconnectDue":
      connect(b);
      break;
    case "message":
      b.set({ attempts: 0 });
      b.connection({ status: "live" });
      onServer(b, event.event);
      break;
    case "expiryDue":
      if (current(event.generation) && !b.s.finished) expired(b);
      break;
    case "probed":
      if (current(event.generation) && !b.s.finished && (event.status === 404 || event.status === 410)) expired(b);
      break;
    case "unsealed":
      if (!current(event.generation)) break;
      stopSocket(b);
      b.emit({ state: "approved", pair: event.pair, user: event.user });
      break;
    case "unsealFailed":
      // Not sealed to this page's key: never use it.
      if (!current(event.generation)) break;
      b.emit({ state: "error", message: "The sign-in could not be opened on this page.", retryInMs: b.s.autoRenew ? 0 : null });
      if (b.s.autoRenew) fresh(b);
      break;
    case "nudge":
      if (b.s.code && !b.s.finished && !b.s.socket) connect(b);
      break;
    case "submit": {
      const digits = codeDigits(event.text);
      if (!digits || !canSubmit(b.s, digits)) break;
      b.set({ typed: digits });
      // Not connected now: the next connection's `scanned` sends it.
      sendCode(b);
      const code = b.s.code!;
      b.emit({ state: "confirming", id: code.id, user: b.s.scannedBy!, code: digits, expiresAt: code.deadline });
      break;
    }
  }
  return b.done();
}
