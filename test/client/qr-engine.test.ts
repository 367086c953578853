/**
 * The browser's QR login engine (client/qr-engine.ts) as a table: from a named state, one event, the exact effects
 * the driver must perform and what the state becomes. Pure: no socket, timer, fetch or key is involved; time and
 * jitter are inputs (jitter 0.5 gives the backoff's base value: 500, 1000, 2000 ms…).
 */
import { describe, expect, it } from "vitest";
import { backoff, initialState, next, type Effect, type EngineEvent, type EngineState } from "../../client/qr-engine";

const KEY = { type: "private" } as CryptoKey;
const ID = "A".repeat(28);
const SECRET = "s/+".repeat(14);
const WS = `wss://auth.test/api/qr/${ID}/ws/`;
const SVG_URL = `https://auth.test/api/qr/${ID}/svg/`;
const ALICE = { id: 1, username: "alice" };
const T0 = 1_000_000;
/** The server's clock runs 4 s ahead of this device's. */
const SKEW = 4000;
const DEADLINE = T0 + 120_000;
const SEALED = { epk: { kty: "EC", crv: "P-256", x: "x", y: "y" }, iv: "iv", ciphertext: "ct" } as const;
const CLOCK = { now: T0 + 1000, jitter: 0.5 };

function run(state: EngineState, ...events: EngineEvent[]): { state: EngineState; effects: Effect[] } {
  let effects: Effect[] = [];
  for (const event of events) {
    const step = next(state, event);
    state = step.state;
    effects = step.effects;
  }
  return { state, effects };
}

const created = (generation = 1): EngineEvent => ({
  type: "created",
  generation,
  id: ID,
  secret: SECRET,
  qrUrl: `https://auth.test/qr/${ID}`,
  wsUrl: WS,
  svgUrl: SVG_URL,
  svg: "<svg/>",
  expiresAt: DEADLINE + SKEW,
  serverNow: T0 + SKEW,
  now: T0,
  privateKey: KEY,
});

// The states every row starts from, each reached by events only.
const fresh = initialState({ autoRenew: true });
const starting = run(fresh, { type: "start" }).state;
const pending = run(starting, created()).state;
const live = run(pending, { type: "socketOpen" }, { type: "message", event: { type: "pending", expires_at: "" } }).state;
const scanned = run(live, { type: "message", event: { type: "scanned", user: ALICE, expires_at: "" } }).state;
const confirming = run(scanned, { type: "submit", text: "47" }).state;
const approving = run(confirming, { type: "message", event: { type: "approved", sealed: SEALED } }).state;
const dropped = (times: number) => {
  let s = live;
  for (let i = 0; i < times; i++) s = run(s, { type: "socketClosed", ...CLOCK }, { type: "reconnectDue" }).state;
  return s;
};
const manual = run(initialState({ autoRenew: false }), { type: "start" }).state;

const OPEN: Effect = { type: "open", url: `${WS}?secret=${encodeURIComponent(SECRET)}` };
const STOP_SOCKET: Effect[] = [
  { type: "clear", name: "reconnect" },
  { type: "clear", name: "ping" },
  { type: "clear", name: "pong" },
  { type: "close", code: 1000, reason: "done" },
  { type: "connection", connection: { status: "closed" } },
];
const CLEAR_TIMERS: Effect[] = [
  { type: "clear", name: "expiry" },
  { type: "clear", name: "retry" },
];
const newCode = (generation: number, socket = true): Effect[] => [
  ...STOP_SOCKET.filter((e) => socket || e.type !== "close"),
  ...CLEAR_TIMERS,
  { type: "emit", state: { state: "starting" } },
  { type: "create", generation },
];
const CODE = { type: "send", message: { type: "code", code: "47" } } as const;
const CONFIRMING = { type: "emit", state: { state: "confirming", id: ID, user: ALICE, code: "47", expiresAt: DEADLINE } } as const;

interface Row {
  title: string;
  from: EngineState;
  event: EngineEvent;
  effects: Effect[];
  state?: Partial<EngineState>;
}

const rows: Row[] = [
  // --- getting a code
  {
    title: "starting asks for a code and says so",
    from: fresh,
    event: { type: "start" },
    effects: newCode(1, false),
    state: { generation: 1, code: null },
  },
  {
    title: "the code counts down on this device's clock from the server's view of what is left, and its socket opens",
    from: starting,
    event: created(),
    effects: [
      { type: "emit", state: { state: "pending", id: ID, url: `https://auth.test/qr/${ID}`, svg: "<svg/>", expiresAt: DEADLINE } },
      { type: "timer", name: "expiry", ms: 120_000 + 2500, event: { type: "expiryDue", generation: 1 } },
      { type: "clear", name: "reconnect" },
      OPEN,
    ],
    state: { socket: true, code: { id: ID, secret: SECRET, wsUrl: WS, svgUrl: SVG_URL, deadline: DEADLINE, privateKey: KEY } },
  },
  {
    title: "without a readable Date header the code's own expires_at is the deadline",
    from: starting,
    event: { ...created(), serverNow: Number.NaN } as EngineEvent,
    effects: [
      { type: "emit", state: { state: "pending", id: ID, url: `https://auth.test/qr/${ID}`, svg: "<svg/>", expiresAt: DEADLINE + SKEW } },
      { type: "timer", name: "expiry", ms: 120_000 + SKEW + 2500, event: { type: "expiryDue", generation: 1 } },
      { type: "clear", name: "reconnect" },
      OPEN,
    ],
  },
  {
    title: "a code created for an older request is ignored",
    from: run(starting, { type: "restart" }).state,
    event: created(1),
    effects: [],
    state: { code: null },
  },
  {
    title: "a failed start shows an error with the wait, and retries by itself",
    from: starting,
    event: { type: "startFailed", generation: 1, retryAfterSeconds: null, jitter: 0.5 },
    effects: [
      { type: "emit", state: { state: "error", message: "Could not get a sign-in code.", retryInMs: 500 } },
      { type: "timer", name: "retry", ms: 500, event: { type: "retryDue" } },
    ],
    state: { startFailures: 1 },
  },
  {
    title: "failed starts back off: the second waits twice as long",
    from: run(starting, { type: "startFailed", generation: 1, retryAfterSeconds: null, jitter: 0.5 }, { type: "retryDue" }).state,
    event: { type: "startFailed", generation: 2, retryAfterSeconds: null, jitter: 0.5 },
    effects: [
      { type: "emit", state: { state: "error", message: "Could not get a sign-in code.", retryInMs: 1000 } },
      { type: "timer", name: "retry", ms: 1000, event: { type: "retryDue" } },
    ],
  },
  {
    title: "a throttled start waits as long as Retry-After says",
    from: starting,
    event: { type: "startFailed", generation: 1, retryAfterSeconds: 30, jitter: 0.5 },
    effects: [
      { type: "emit", state: { state: "error", message: "Could not get a sign-in code.", retryInMs: 30_000 } },
      { type: "timer", name: "retry", ms: 30_000, event: { type: "retryDue" } },
    ],
  },
  {
    title: "without autoRenew a failed start waits for the user",
    from: manual,
    event: { type: "startFailed", generation: 1, retryAfterSeconds: null, jitter: 0.5 },
    effects: [{ type: "emit", state: { state: "error", message: "Could not get a sign-in code.", retryInMs: null } }],
  },
  { title: "the retry asks for a new code", from: starting, event: { type: "retryDue" }, effects: newCode(2, false) },

  // --- the socket
  {
    title: "an open socket pings every 25 s",
    from: pending,
    event: { type: "socketOpen" },
    effects: [{ type: "timer", name: "ping", ms: 25_000, event: { type: "pingDue" } }],
  },
  {
    title: "a ping expects its pong within 8 s",
    from: live,
    event: { type: "pingDue" },
    effects: [
      { type: "send", message: "ping" },
      { type: "timer", name: "pong", ms: 8000, event: { type: "pongMissed" } },
      { type: "timer", name: "ping", ms: 25_000, event: { type: "pingDue" } },
    ],
  },
  { title: "a pong keeps the socket", from: live, event: { type: "pong" }, effects: [{ type: "clear", name: "pong" }] },
  {
    title: "no pong: the socket is abandoned and replaced after a backoff",
    from: live,
    event: { type: "pongMissed", ...CLOCK },
    effects: [
      { type: "close", code: 4000, reason: "no pong" },
      { type: "clear", name: "ping" },
      { type: "connection", connection: { status: "reconnecting", retryInMs: 500 } },
      { type: "timer", name: "reconnect", ms: 500, event: { type: "reconnectDue" } },
    ],
    state: { socket: false, attempts: 1 },
  },
  {
    title: "a dropped socket reconnects after a backoff, said as reconnecting",
    from: live,
    event: { type: "socketClosed", ...CLOCK },
    effects: [
      { type: "clear", name: "ping" },
      { type: "clear", name: "pong" },
      { type: "connection", connection: { status: "reconnecting", retryInMs: 500 } },
      { type: "timer", name: "reconnect", ms: 500, event: { type: "reconnectDue" } },
    ],
    state: { socket: false, attempts: 1 },
  },
  {
    title: "the reconnect opens a socket with the same secret",
    from: run(live, { type: "socketClosed", ...CLOCK }).state,
    event: { type: "reconnectDue" },
    effects: [{ type: "clear", name: "reconnect" }, OPEN],
  },
  {
    title: "the third refused reconnect also asks whether the code still exists",
    from: dropped(2),
    event: { type: "socketClosed", ...CLOCK },
    effects: [
      { type: "clear", name: "ping" },
      { type: "clear", name: "pong" },
      { type: "connection", connection: { status: "reconnecting", retryInMs: 2000 } },
      { type: "probe", generation: 1, url: SVG_URL },
      { type: "timer", name: "reconnect", ms: 2000, event: { type: "reconnectDue" } },
    ],
  },
  {
    title: "a code that is gone (404/410) counts as expired, and a new one comes",
    from: dropped(3),
    event: { type: "probed", generation: 1, status: 410 },
    effects: [...STOP_SOCKET, ...CLEAR_TIMERS, { type: "emit", state: { state: "expired" } }, ...newCode(2, false)],
  },
  {
    title: "a code that still exists keeps the reconnects going",
    from: dropped(3),
    event: { type: "probed", generation: 1, status: 200 },
    effects: [],
  },
  {
    title: "a drop after the deadline ends the code instead of reconnecting",
    from: live,
    event: { type: "socketClosed", now: DEADLINE, jitter: 0.5 },
    effects: [
      { type: "clear", name: "ping" },
      { type: "clear", name: "pong" },
      ...STOP_SOCKET.filter((e) => e.type !== "close"),
      ...CLEAR_TIMERS,
      { type: "emit", state: { state: "expired" } },
      ...newCode(2, false),
    ],
  },
  {
    title: "back online with no socket: reconnect now",
    from: run(live, { type: "socketClosed", ...CLOCK }).state,
    event: { type: "nudge" },
    effects: [{ type: "clear", name: "reconnect" }, OPEN],
  },
  { title: "back online with a socket: nothing", from: live, event: { type: "nudge" }, effects: [] },
  {
    title: "any message means live, and resets the backoff",
    from: dropped(2),
    event: { type: "message", event: { type: "pending", expires_at: "" } },
    effects: [{ type: "connection", connection: { status: "live" } }],
    state: { attempts: 0 },
  },

  // --- the code step
  {
    title: "scanned names the account and asks for the number",
    from: live,
    event: { type: "message", event: { type: "scanned", user: ALICE, expires_at: "" } },
    effects: [
      { type: "connection", connection: { status: "live" } },
      { type: "emit", state: { state: "scanned", id: ID, user: ALICE, expiresAt: DEADLINE } },
    ],
    state: { scannedBy: ALICE },
  },
  {
    title: "a number typed before anyone scanned is not taken",
    from: live,
    event: { type: "submit", text: "47" },
    effects: [],
    state: { typed: null },
  },
  {
    title: "the typed number is sent once, spaces dropped, and the page waits for the phone",
    from: scanned,
    event: { type: "submit", text: " 4 7 " },
    effects: [CODE, CONFIRMING],
    state: { typed: "47" },
  },
  ...["", "4", "470", "ab", "4a", "-1"].map(
    (text): Row => ({
      title: `"${text}" is not two digits: nothing sent`,
      from: scanned,
      event: { type: "submit", text },
      effects: [],
      state: { typed: null },
    }),
  ),
  { title: "one try: a second number is not sent", from: confirming, event: { type: "submit", text: "48" }, effects: [] },
  {
    title: "a number typed while the socket is down is kept for the next socket",
    from: run(scanned, { type: "socketClosed", ...CLOCK }).state,
    event: { type: "submit", text: "47" },
    effects: [CONFIRMING],
    state: { typed: "47" },
  },
  {
    title: "after a reconnect the new socket's scanned re-sends the number, and the state stays confirming",
    from: run(confirming, { type: "socketClosed", ...CLOCK }, { type: "reconnectDue" }).state,
    event: { type: "message", event: { type: "scanned", user: ALICE, expires_at: "" } },
    effects: [{ type: "connection", connection: { status: "live" } }, CODE, CONFIRMING],
  },

  // --- the end
  {
    title: "approved: signing in, and the pair is opened with this code's private key",
    from: confirming,
    event: { type: "message", event: { type: "approved", sealed: SEALED } },
    effects: [
      { type: "connection", connection: { status: "live" } },
      ...CLEAR_TIMERS,
      { type: "emit", state: { state: "signing-in" } },
      { type: "unseal", generation: 1, privateKey: KEY, id: ID, sealed: SEALED },
    ],
    state: { finished: true },
  },
  {
    title: "the opened pair signs in and closes the socket",
    from: approving,
    event: { type: "unsealed", generation: 1, pair: { access: "a", refresh: "r" }, user: ALICE },
    effects: [...STOP_SOCKET, { type: "emit", state: { state: "approved", pair: { access: "a", refresh: "r" }, user: ALICE } }],
  },
  {
    title: "a pair that does not open with this key is never used: an error, then a new code",
    from: approving,
    event: { type: "unsealFailed", generation: 1 },
    effects: [
      { type: "emit", state: { state: "error", message: "The sign-in could not be opened on this page.", retryInMs: 0 } },
      ...newCode(2),
    ],
  },
  {
    title: "the server closing the socket after approval is only a closed connection",
    from: approving,
    event: { type: "socketClosed", ...CLOCK },
    effects: [
      { type: "clear", name: "ping" },
      { type: "clear", name: "pong" },
      { type: "connection", connection: { status: "closed" } },
    ],
  },
  {
    title: "a wrong number: denied with its reason, the socket closed, no new code",
    from: confirming,
    event: { type: "message", event: { type: "denied", reason: "code_mismatch" } },
    effects: [
      { type: "connection", connection: { status: "live" } },
      ...CLEAR_TIMERS,
      ...STOP_SOCKET,
      { type: "emit", state: { state: "denied", reason: "code_mismatch" } },
    ],
    state: { finished: true },
  },
  {
    title: "denied without a reason was the phone's Deny",
    from: scanned,
    event: { type: "message", event: { type: "denied" } },
    effects: [
      { type: "connection", connection: { status: "live" } },
      ...CLEAR_TIMERS,
      ...STOP_SOCKET,
      { type: "emit", state: { state: "denied", reason: "phone" } },
    ],
  },
  {
    title: "the server's expired ends the code and a new one comes",
    from: scanned,
    event: { type: "message", event: { type: "expired" } },
    effects: [
      { type: "connection", connection: { status: "live" } },
      ...STOP_SOCKET,
      ...CLEAR_TIMERS,
      { type: "emit", state: { state: "expired" } },
      ...newCode(2, false),
    ],
  },
  {
    title: "without autoRenew an expired code stays expired",
    from: run(initialState({ autoRenew: false }), { type: "start" }, created()).state,
    event: { type: "message", event: { type: "expired" } },
    effects: [
      { type: "connection", connection: { status: "live" } },
      ...STOP_SOCKET,
      ...CLEAR_TIMERS,
      { type: "emit", state: { state: "expired" } },
    ],
  },
  {
    title: "past the deadline and its grace with no word from the server: expired anyway",
    from: pending,
    event: { type: "expiryDue", generation: 1 },
    effects: [...STOP_SOCKET, ...CLEAR_TIMERS, { type: "emit", state: { state: "expired" } }, ...newCode(2, false)],
  },
  {
    title: "an older code's deadline does nothing",
    from: run(pending, { type: "restart" }).state,
    event: { type: "expiryDue", generation: 1 },
    effects: [],
  },
  { title: "a finished login does not expire", from: approving, event: { type: "expiryDue", generation: 1 }, effects: [] },

  // --- the user walks away or starts over
  {
    title: "cancel tells the server to end the open login and stops everything",
    from: scanned,
    event: { type: "cancel" },
    effects: [{ type: "send", message: { type: "cancel" } }, ...STOP_SOCKET, ...CLEAR_TIMERS],
    state: { stopped: true, finished: true, socket: false },
  },
  {
    title: "restart cancels the open login on the server and starts a new code",
    from: scanned,
    event: { type: "restart" },
    effects: [{ type: "send", message: { type: "cancel" } }, ...newCode(2)],
    state: { generation: 2, code: null, typed: null, scannedBy: null },
  },
  {
    title: "restart after the login ended sends no cancel",
    from: run(scanned, { type: "message", event: { type: "denied" } }).state,
    event: { type: "restart" },
    effects: newCode(2, false),
  },
];

describe("the QR login engine: next(state, event)", () => {
  it.each(rows)("$title", ({ from, event, effects, state }) => {
    const step = next(from, event);
    expect(step.effects).toEqual(effects);
    if (state) expect(step.state).toMatchObject(state);
  });

  it("after cancel nothing more is said, sent or armed, whatever arrives", () => {
    const cancelled = run(live, { type: "cancel" }).state;
    const events: EngineEvent[] = [
      { type: "message", event: { type: "scanned", user: ALICE, expires_at: "" } },
      { type: "submit", text: "47" },
      { type: "restart" },
      { type: "start" },
      { type: "nudge" },
      { type: "expiryDue", generation: 1 },
      { type: "socketClosed", ...CLOCK },
      created(1),
    ];
    for (const event of events) expect(next(cancelled, event), event.type).toEqual({ state: cancelled, effects: [] });
  });

  it("never changes the state it is given", () => {
    const before = JSON.stringify(scanned);
    next(scanned, { type: "submit", text: "47" });
    next(scanned, { type: "restart" });
    expect(JSON.stringify(scanned)).toBe(before);
  });

  it("backs off from 0.5 s doubling to 15 s, ±25 %", () => {
    expect([0, 1, 2, 3, 4, 5, 6, 10].map((n) => backoff(n, 0.5))).toEqual([500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]);
    expect(backoff(0, 0)).toBe(375);
    expect(backoff(0, 0.999999)).toBe(625);
  });
});
