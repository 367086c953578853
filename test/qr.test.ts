/** QR login through HTTP and real WebSocket upgrades, inside workerd: the browser's side, the phone's side, expiry, eviction. */
import { DatabaseUnavailable } from "../src/db/guard";
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { ORIGIN, api, decodeJwt, rig, rowCounts, signIn, signUp, withTimeout, type Call, type Rig, type User, type Via } from "./helpers";
import { browserKey, checkCodeOf, createQr, openPair, qrRecord, type CreatedQr } from "./qr-helpers";

type Json = Record<string, any>;

const CHROME_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
const FINAL = ["approved", "denied", "expired"];
// The entry point with request.cf settable (test/helpers' `api` does not pass it).
const worker = (exports as unknown as { default: Fetcher }).default;

let alice: User;
let mallory: User;

beforeAll(async () => {
  [alice, mallory] = await Promise.all([signUp(), signUp()]);
});

afterEach(() => {
  vi.useRealTimers();
});

/** The phone's two taps: Continue (scan), then Approve. The browser's user still has to type the code. */
async function scanAndApprove(phone: User, qr: CreatedQr, via: Via = api): Promise<Response> {
  const scanned = await phoneCall(phone, via)(qr.id, "scan");
  expect(scanned.status).toBe(200);
  return phoneCall(phone, via)(qr.id, "approve");
}

/** The browser's user types the code the phone shows; resolves once the object has taken it. */
async function typeCode(browser: Browser | WebSocket, qr: CreatedQr, code?: string): Promise<void> {
  const ws = browser instanceof Browser ? browser.ws : browser;
  ws.send(JSON.stringify({ type: "code", code: code ?? (await checkCodeOf(qr.id)) }));
  for (let i = 0; !(await qrRecord(qr.id))?.codeEntered; i++) {
    if (i > 200) throw new Error("the object never took the code");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Both people act: the phone scans, the browser types the code, the phone approves. The approve answer. */
async function complete(phone: User, qr: CreatedQr, browser: Browser | WebSocket, via: Via = api): Promise<Response> {
  expect((await phoneCall(phone, via)(qr.id, "scan")).status).toBe(200);
  await typeCode(browser, qr);
  return phoneCall(phone, via)(qr.id, "approve");
}

/** The tokens an `approved` event carries, opened with the login's browser key. */
function opened(qr: CreatedQr, event: Json) {
  expect(Object.keys(event).sort()).toEqual(["sealed", "type"]);
  return openPair(qr.key, qr.id, event.sealed);
}

function stubFor(id: string) {
  return env.QR_SESSION.get(env.QR_SESSION.idFromName(id));
}

async function qrSessionsOf(userId: number): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM sessions WHERE user_id = ? AND method = 'qr'")
    .bind(userId)
    .first<{ n: number }>();
  return row!.n;
}

function phoneCall(phone: User | null, via: Via = api) {
  return async (id: string, action: "scan" | "approve" | "deny" | "", call: Call = {}): Promise<Response> =>
    via(`/api/qr/${id}/${action ? `${action}/` : ""}`, { method: action ? "POST" : "GET", token: phone?.access, ...call });
}

/** A code that is not `code`: what a guesser types. */
function otherThan(code: string): string {
  return String((Number(code) + 1) % 100).padStart(2, "0");
}

type Cf = { country?: string; city?: string; latitude?: string; longitude?: string };

/** Starts a login from `ip`, placed by Cloudflare at `cf` (request.cf as the edge sets it). */
async function createAt(ip: string, cf: Cf, via?: Rig): Promise<CreatedQr> {
  const key = await browserKey();
  const init = {
    method: "POST",
    headers: { "user-agent": CHROME_WINDOWS, "cf-connecting-ip": ip, "content-type": "application/json" },
    body: JSON.stringify({ public_key: key.publicJwk }),
    cf,
  };
  const res = via ? await via.request("/api/qr/", init) : await worker.fetch(new Request(`${ORIGIN}/api/qr/`, init));
  expect(res.status).toBe(201);
  const qr = { ...((await res.json()) as Omit<CreatedQr, "key">), key };
  // The login page opens its socket at once: the phone can scan only a code whose browser listens.
  await (await connect(qr, via?.call)).next();
  return qr;
}

/** The phone (alice) acting from `ip`, placed at `cf`. */
function phoneAt(id: string, action: "scan" | "approve" | "", ip: string, cf: Cf, via?: Rig): Promise<Response> {
  const path = `/api/qr/${id}/${action ? `${action}/` : ""}`;
  const headers = {
    authorization: `Bearer ${alice.access}`,
    "cf-connecting-ip": ip,
    ...(action ? { "content-type": "application/json" } : {}),
  };
  const init = { method: action ? "POST" : "GET", headers, ...(action ? { body: "{}" } : {}), cf };
  return via ? via.request(path, init) : worker.fetch(new Request(`${ORIGIN}${path}`, init));
}

// Well-formed (28 base64url characters) but never issued by the worker: their MAC does not check out.
const FORGED_IDS = ["A".repeat(28), "x".repeat(28), "Zm9yZ2VkLWlkLXdpdGgtYS1iYWQt"];

/** The browser's end of the socket: queued messages, and the close (answered, as browsers do). */
class Browser {
  private readonly queue: Json[] = [];
  private waiting: ((message: Json) => void) | null = null;
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(readonly ws: WebSocket) {
    ws.accept();
    ws.addEventListener("message", (event) => {
      const message = typeof event.data === "string" && event.data.startsWith("{") ? (JSON.parse(event.data) as Json) : { raw: event.data };
      if (this.waiting) {
        this.waiting(message);
        this.waiting = null;
      } else {
        this.queue.push(message);
      }
    });
    this.closed = new Promise((resolve) => {
      ws.addEventListener("close", (event) => {
        try {
          ws.close(event.code === 1005 ? 1000 : event.code, "ok");
        } catch {
          // Already answered by the runtime.
        }
        resolve({ code: event.code, reason: event.reason });
      });
    });
  }

  next(ms = 2000): Promise<Json> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    const waiting = withTimeout(new Promise<Json>((resolve) => (this.waiting = resolve)), ms, "a WebSocket message");
    // A wait that timed out must not swallow the next message.
    waiting.catch(() => (this.waiting = null));
    return waiting;
  }

  /** Every message until the socket closes. */
  async rest(ms = 2000): Promise<Json[]> {
    await withTimeout(this.closed, ms, "the socket to close");
    return this.queue.splice(0);
  }

  waitClosed(ms = 2000) {
    return withTimeout(this.closed, ms, "the socket to close");
  }

  /** What the browser sends once its user typed the phone's code. */
  sendCode(code: string): void {
    this.ws.send(JSON.stringify({ type: "code", code }));
  }
}

async function openSocket(id: string, secret: string | null, via: Via = api, headers: Record<string, string> = {}): Promise<Response> {
  const query = secret === null ? "" : `?secret=${encodeURIComponent(secret)}`;
  return via(`/api/qr/${id}/ws/${query}`, { headers: { upgrade: "websocket", ...headers } });
}

async function connect(qr: CreatedQr, via: Via = api): Promise<Browser> {
  const res = await openSocket(qr.id, qr.secret, via);
  expect(res.status).toBe(101);
  return new Browser(res.webSocket!);
}

describe("starting a QR login", () => {
  it("answers 201 with an unguessable id, a separate secret, the phone page URL, socket and image URLs and an ISO expiry", async () => {
    const app = rig({ clock: Date.UTC(2030, 0, 1, 12, 0, 0) });
    const res = await app.call("/api/qr/", { body: { public_key: (await browserKey()).publicJwk } });
    expect(res.status).toBe(201);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const qr = (await res.json()) as CreatedQr;
    expect(Object.keys(qr).sort()).toEqual(["expires_at", "id", "qr_url", "secret", "svg_url", "ws_url"]);
    expect(qr.id).toMatch(/^[A-Za-z0-9_-]{28}$/);
    expect(qr.secret).toMatch(/^[A-Za-z0-9_-]{43,4096}$/);
    expect(qr.qr_url).toBe(`${ORIGIN}/qr/${qr.id}`);
    expect(qr.ws_url).toBe(`wss://auth.example.test/api/qr/${qr.id}/ws/`);
    expect(qr.svg_url).toBe(`${ORIGIN}/api/qr/${qr.id}/svg/`);
    for (const url of [qr.qr_url, qr.ws_url, qr.svg_url]) expect(url).not.toContain(qr.secret);
    expect(qr.expires_at).toBe("2030-01-01T12:02:00.000Z");
  });

  it("gives every login its own id and secret", async () => {
    const [a, b] = await Promise.all([createQr(), createQr()]);
    expect(a.id).not.toBe(b.id);
    expect(a.secret).not.toBe(b.secret);
  });

  it("stores nothing and addresses no object until someone acts; then the object keeps the public half of the browser's key and no secret", async () => {
    let addressed = 0;
    const counting = new Proxy(env.QR_SESSION, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          addressed += 1;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const app = rig({ env: { QR_SESSION: counting } });
    const qr = await createQr(app.call);
    expect(addressed).toBe(0);
    const listed = () =>
      runInDurableObject(stubFor(qr.id), async (_instance, state) => ({
        keys: [...(await state.storage.list()).keys()],
        alarm: await state.storage.getAlarm(),
      }));
    const browser = await connect(qr);
    expect((await browser.next()).type).toBe("pending");
    expect((await phoneCall(alice)(qr.id, "")).status).toBe(200);
    expect((await api(`/api/qr/${qr.id}/svg/`)).status).toBe(200);
    expect(await listed()).toEqual({ keys: [], alarm: null });
    expect((await phoneCall(alice)(qr.id, "scan")).status).toBe(200);
    expect(await listed()).toEqual({ keys: ["qr", "socket"], alarm: Date.parse(qr.expires_at) });
    const stored = await runInDurableObject(stubFor(qr.id), async (_instance, state) =>
      JSON.stringify([...(await state.storage.list()).entries()]),
    );
    expect(stored).not.toContain(qr.secret);
    expect(stored).not.toContain("secret");
    expect((await qrRecord(qr.id))!.publicKey).toEqual(qr.key.publicJwk);
  });

  it("serves the code as an SVG of the phone page URL that shared caches may not keep", async () => {
    const qr = await createQr();
    const res = await api(`/api/qr/${qr.id}/svg/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^image\/svg\+xml/);
    expect(res.headers.get("cache-control")).toMatch(/^private, max-age=1[01]\d$/);
    const svg = await res.text();
    expect(svg).toMatch(/^<svg [^>]*viewBox="0 0 256 256"/);
    expect(svg).not.toContain("<?xml");
  });

  it("refuses a body that is not JSON with 415, and ignores unknown fields as DRF does", async () => {
    const notJson = await api("/api/qr/", { raw: "hello", headers: { "content-type": "text/plain" } });
    expect(notJson.status).toBe(415);
    expect(await notJson.json()).toMatchObject({ code: "unsupported_media_type" });
    const key = await browserKey();
    const extra = await api("/api/qr/", { body: { public_key: { ...key.publicJwk, ext: true, key_ops: [] }, user: 1 } });
    expect(extra.status).toBe(201);
    const prototypeNamed = await api("/api/qr/", {
      raw: `{"public_key": ${JSON.stringify(key.publicJwk)}, "toString": 1, "__proto__": {"x": 1}}`,
    });
    expect(prototypeNamed.status).toBe(201);
  });

  it("needs the browser's public key: missing or malformed, it answers 400 naming public_key and starts nothing", async () => {
    const key = await browserKey();
    const { x, y } = key.publicJwk;
    // A point that is not on P-256: (x, x) almost surely is not.
    const offCurve = { kty: "EC", crv: "P-256", x, y: x };
    const cases: unknown[] = [
      {},
      { public_key: null },
      { public_key: "not a key" },
      { public_key: { kty: "RSA", n: "AQAB", e: "AQAB" } },
      { public_key: { kty: "EC", crv: "P-384", x, y } },
      { public_key: { kty: "EC", crv: "P-256", x } },
      { public_key: { kty: "EC", crv: "P-256", x: "short", y } },
      { public_key: { ...key.publicJwk, d: "A".repeat(43) } },
      { public_key: offCurve },
    ];
    for (const body of cases) {
      const res = await api("/api/qr/", { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(Object.keys((await res.json()) as object)).toEqual(["public_key"]);
    }
    expect(y).not.toBe(x);
  });
});

describe("the whole flow", () => {
  it("create → connect → scan → approve → the browser types the code: pending, scanned (the account, no code), then tokens that work as the phone's user, and the socket closes", async () => {
    const before = await qrSessionsOf(alice.id);
    const qr = await createQr(api, { method: "POST", headers: { "user-agent": CHROME_WINDOWS } });
    const browser = await connect(qr);
    expect(await browser.next()).toEqual({ type: "pending", expires_at: qr.expires_at });

    const phone = phoneCall(alice);
    const scanned = await phone(qr.id, "scan");
    expect(scanned.status).toBe(200);
    const view = (await scanned.json()) as Json;
    expect(view).toMatchObject({ id: qr.id, status: "scanned" });
    expect(view.code).toMatch(/^\d{2}$/);
    expect(await browser.next()).toEqual({ type: "scanned", user: { id: alice.id, username: alice.username }, expires_at: qr.expires_at });

    // The phone's half: nothing is released yet.
    const approved = await phone(qr.id, "approve");
    expect(approved.status).toBe(200);
    expect(await approved.json()).toMatchObject({ status: "scanned", code: view.code, phone_approved: true, code_entered: false });
    await expect(browser.next(200)).rejects.toThrow(/timed out/);
    expect(await qrSessionsOf(alice.id)).toBe(before);

    // The browser's half: its user types what the phone shows.
    browser.sendCode(view.code);
    const event = await opened(qr, await browser.next());
    expect(event.user).toEqual({ id: alice.id, username: alice.username });
    expect(await browser.waitClosed()).toEqual({ code: 1000, reason: "approved" });

    const me = await api("/api/auth/me/", { token: event.access });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ id: alice.id, username: alice.username });
    const refreshed = await api("/api/token/refresh/", { body: { refresh: event.refresh } });
    expect(refreshed.status).toBe(200);
    expect(decodeJwt(event.access).payload).toMatchObject({ iss: ORIGIN, aud: ORIGIN, user_id: alice.id, token_type: "access" });

    expect(await qrSessionsOf(alice.id)).toBe(before + 1);
    const row = await env.DB.prepare("SELECT method, user_agent FROM sessions WHERE id = ?")
      .bind(decodeJwt(event.access).payload.sid)
      .first();
    expect(row).toEqual({ method: "qr", user_agent: CHROME_WINDOWS });
  });

  it("code first, then approve: the browser types the code, the phone approves, the pair arrives once", async () => {
    const before = await qrSessionsOf(alice.id);
    const qr = await createQr();
    const browser = await connect(qr);
    await browser.next();
    const view = (await (await phoneCall(alice)(qr.id, "scan")).json()) as Json;
    await browser.next();
    await typeCode(browser, qr, view.code);
    expect(await (await phoneCall(alice)(qr.id, "")).json()).toMatchObject({
      status: "scanned",
      phone_approved: false,
      code_entered: true,
    });
    await expect(browser.next(200)).rejects.toThrow(/timed out/);
    const approved = await phoneCall(alice)(qr.id, "approve");
    expect(await approved.json()).toMatchObject({ status: "approved", code: null });
    const rest = await browser.rest();
    expect(rest.map((e) => e.type)).toEqual(["approved"]);
    expect((await opened(qr, rest[0]!)).user).toMatchObject({ id: alice.id });
    expect(await qrSessionsOf(alice.id)).toBe(before + 1);
  });

  it("approve takes no code: a code field, right or wrong, is ignored", async () => {
    const qr = await createQr();
    const browser = await connect(qr);
    await browser.next();
    const view = (await (await phoneCall(alice)(qr.id, "scan")).json()) as Json;
    const res = await phoneCall(alice)(qr.id, "approve", { body: { code: otherThan(view.code) } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "scanned", phone_approved: true });
    // Repeating the approval (a retry after a dropped answer) changes nothing.
    expect(await (await phoneCall(alice)(qr.id, "approve", { body: { code: view.code } })).json()).toMatchObject({
      status: "scanned",
      phone_approved: true,
    });
    browser.sendCode(view.code);
    expect((await browser.rest()).map((e) => e.type)).toEqual(["scanned", "approved"]);
  });

  it("deny: the browser sees denied, the socket closes, and no session is created", async () => {
    const before = await rowCounts();
    const qr = await createQr();
    const browser = await connect(qr);
    await browser.next();
    expect((await phoneCall(alice)(qr.id, "scan")).status).toBe(200);
    expect((await browser.next()).type).toBe("scanned");
    const res = await phoneCall(alice)(qr.id, "deny");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "denied" });
    expect(await browser.next()).toEqual({ type: "denied" });
    expect(await browser.waitClosed()).toEqual({ code: 1000, reason: "denied" });
    expect(await rowCounts()).toEqual(before);
    expect((await phoneCall(alice)(qr.id, "approve")).status).toBe(409);
  });
});

// Each call through the pool's entry point costs more than the last (test/helpers.ts rig): later tests get time.
vi.setConfig({ testTimeout: 20_000 });

describe("the browser's socket", () => {
  it("is refused without the secret", async () => {
    const qr = await createQr();
    const res = await openSocket(qr.id, null);
    expect(res.status).toBe(403);
    expect(res.webSocket).toBeNull();
    expect(await res.json()).toMatchObject({ code: "permission_denied" });
  });

  it("is refused with a wrong secret, well-formed or not", async () => {
    const qr = await createQr();
    const other = await createQr();
    for (const secret of [other.secret, "short", `${qr.secret}x`]) {
      const res = await openSocket(qr.id, secret);
      expect(res.status).toBe(403);
      expect(res.webSocket).toBeNull();
    }
  });

  it("is refused for an unknown session with 404", async () => {
    const qr = await createQr();
    const res = await openSocket(FORGED_IDS[0]!, qr.secret);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ detail: "Not found." });
  });

  it("answers a plain GET (no upgrade) with 426", async () => {
    const qr = await createQr();
    const res = await api(`/api/qr/${qr.id}/ws/?secret=${qr.secret}`);
    expect(res.status).toBe(426);
    expect(res.headers.get("upgrade")).toBe("websocket");
    expect(await res.json()).toMatchObject({ code: "upgrade_required" });
  });

  it("ignores a secret header a client sends itself", async () => {
    const qr = await createQr();
    const res = await openSocket(qr.id, "A".repeat(43), api, { "x-qr-secret": qr.secret });
    expect(res.status).toBe(403);
  });

  it("a reconnect after scanned receives scanned again", async () => {
    const qr = await createQr();
    const first = await connect(qr);
    await first.next();
    await phoneCall(alice)(qr.id, "scan");
    expect((await first.next()).type).toBe("scanned");
    first.ws.close(1001, "tab closed");
    await first.waitClosed();

    const second = await connect(qr);
    expect(await second.next()).toEqual({ type: "scanned", user: { id: alice.id, username: alice.username }, expires_at: qr.expires_at });
  });

  it("a new socket replaces the old one, which is closed; events go to the new one only", async () => {
    const qr = await createQr();
    const first = await connect(qr);
    await first.next();
    const second = await connect(qr);
    await second.next();
    expect(await first.waitClosed()).toEqual({ code: 4001, reason: "replaced by a newer connection" });
    await phoneCall(alice)(qr.id, "scan");
    expect((await second.next()).type).toBe("scanned");
    expect(await first.rest()).toEqual([]);
  });

  it("declines the compression every browser offers: the 101 agrees to no extension, and events flow", async () => {
    const qr = await createQr();
    const res = await openSocket(qr.id, qr.secret, api, { "sec-websocket-extensions": "permessage-deflate; client_max_window_bits" });
    expect(res.status).toBe(101);
    expect(res.headers.get("sec-websocket-extensions")).toBeNull();
    expect(await new Browser(res.webSocket!).next()).toMatchObject({ type: "pending" });
  });

  it("answers ping with pong", async () => {
    const qr = await createQr();
    const browser = await connect(qr);
    await browser.next();
    browser.ws.send("ping");
    expect(await browser.next()).toEqual({ raw: "pong" });
  });

  it("a browser that was offline when the phone approved gets the tokens when it reconnects and types the code, and never again once received", async () => {
    const qr = await createQr();
    const first = await connect(qr);
    await first.next();
    expect((await phoneCall(alice)(qr.id, "scan")).status).toBe(200);
    first.ws.close(1001, "network dropped");
    await first.waitClosed();
    expect((await phoneCall(alice)(qr.id, "approve")).status).toBe(200);

    const second = await connect(qr);
    expect((await second.next()).type).toBe("scanned");
    second.sendCode(await checkCodeOf(qr.id));
    const [raw] = await second.rest();
    const event = await opened(qr, raw!);
    expect(event.user).toMatchObject({ id: alice.id });
    expect((await api("/api/auth/me/", { token: event.access })).status).toBe(200);

    // The clean close was the receipt: the sealed pair has left storage and is not sent again.
    const stored = await runInDurableObject(stubFor(qr.id), async (_instance, state) =>
      JSON.stringify([...(await state.storage.list()).entries()]),
    );
    expect(stored).not.toContain(raw!.sealed.ciphertext);
    expect(stored).not.toContain(event.access);
    const third = await openSocket(qr.id, qr.secret);
    expect(third.status).toBe(409);
    expect(await third.json()).toMatchObject({ code: "qr_not_pending" });
  });

  it("keeps the tokens for a reconnect when the socket that carried them dropped before the close handshake; the reconnect re-sends the code", async () => {
    const qr = await createQr();
    const res = await openSocket(qr.id, qr.secret);
    const ws = res.webSocket!;
    ws.accept();
    expect((await complete(alice, qr, ws)).status).toBe(200);
    // No close reply: from the object's side, receipt is unconfirmed.
    const again = await connect(qr);
    expect((await again.next()).type).toBe("scanned");
    again.sendCode(await checkCodeOf(qr.id));
    const [raw] = await again.rest();
    const event = await opened(qr, raw!);
    expect(event.user).toMatchObject({ id: alice.id });
    expect((await api("/api/auth/me/", { token: event.access })).status).toBe(200);
  });

  it("after approval, storage names the socket that carried the pair and no longer lists it as open; without a socket, sentTo is null", async () => {
    type Stored = {
      pair?: { status: string; sentTo?: string | null };
      socket?: string;
      qr?: { state: string; cleanupAtMs: number | null };
      alarm: number | null;
    };
    const read = (id: string) =>
      runInDurableObject(
        stubFor(id),
        async (_i, state): Promise<Stored> => ({
          ...Object.fromEntries(await state.storage.list()),
          alarm: await state.storage.getAlarm(),
        }),
      );

    const withSocket = await createQr();
    const res = await openSocket(withSocket.id, withSocket.secret);
    const ws = res.webSocket!;
    ws.accept();
    expect(await read(withSocket.id)).toEqual({ alarm: null });
    expect((await phoneCall(alice)(withSocket.id, "scan")).status).toBe(200);
    const tag = (await read(withSocket.id)).socket;
    expect(tag).toEqual(expect.any(String));
    await typeCode(ws, withSocket);
    expect((await phoneCall(alice)(withSocket.id, "approve")).status).toBe(200);
    // No close reply yet: the pair stays, marked as sent on that socket.
    const after = await read(withSocket.id);
    expect(after.pair).toMatchObject({ status: "ready", sentTo: tag });
    expect(after.socket).toBeUndefined();
    expect(after.qr).toMatchObject({ state: "approved" });
    expect(after.alarm).toBe(after.qr!.cleanupAtMs);

    // The browser typed the code, then dropped before the phone approved.
    const offline = await createQr();
    const gone = await connect(offline);
    await gone.next();
    await phoneCall(alice)(offline.id, "scan");
    await typeCode(gone, offline);
    gone.ws.close(1001, "network dropped");
    await gone.waitClosed();
    expect((await phoneCall(alice)(offline.id, "approve")).status).toBe(200);
    expect((await read(offline.id)).pair).toMatchObject({ status: "ready", sentTo: null });
  });
});

describe("the phone's side", () => {
  it("shows who is asking: browser and system, country and city (never the IP), how far, until when, the code, and warns when country, network and distance differ", async () => {
    // request.cf is what Cloudflare says about the client; the test sets it as the edge would.
    const qr = await createAt("203.0.113.7", { country: "NG", city: "Lagos", latitude: "6.45", longitude: "3.39" });
    expect((await phoneCall(alice)(qr.id, "scan")).status).toBe(200);
    const res = await phoneAt(qr.id, "", "198.51.100.20", { country: "DE", city: "Berlin", latitude: "52.52", longitude: "13.40" });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      id: qr.id,
      status: "scanned",
      created_at: expect.stringMatching(/Z$/),
      expires_at: qr.expires_at,
      requester: {
        country: "NG",
        city: "Lagos",
        user_agent: CHROME_WINDOWS,
        browser: "Chrome",
        browser_version: "124",
        os: "Windows",
        os_version: "10/11",
        device_type: "desktop",
        description: "Chrome 124 on Windows 10/11",
      },
      phone: { country: "DE", city: "Berlin" },
      mismatch: { country: true, network: true },
      distance: { km: 5204, far: true, over_limit: false },
      warnings: ["different_country", "different_network", "far_apart"],
      code: await checkCodeOf(qr.id),
      phone_approved: false,
      code_entered: false,
    });
    expect(JSON.stringify(await (await phoneAt(qr.id, "", "198.51.100.20", {})).json())).not.toContain("203.0.113.7");
  });

  it("locally (a loopback or private address) it shows no place at all rather than wrangler dev's made-up one", async () => {
    const austin = { country: "US", city: "Austin", latitude: "30.27130", longitude: "-97.74260" };
    for (const ip of ["127.0.0.1", "::1", "10.1.2.3", "192.168.1.20", "fd00::1"]) {
      const qr = await createAt(ip, austin);
      const view = (await (await phoneAt(qr.id, "scan", ip, austin)).json()) as Json;
      expect(view, ip).toMatchObject({
        requester: { country: null, city: null },
        phone: { country: null, city: null },
        distance: null,
        warnings: [],
      });
    }
  });

  it("QR_MAX_DISTANCE_KM refuses the approval of a phone farther than it (403 qr_too_far), the login stays open; a near phone or an unknown distance may approve", async () => {
    const far = rig({ env: { QR_MAX_DISTANCE_KM: "200" } });
    const paris = { country: "FR", city: "Paris", latitude: "48.8566", longitude: "2.3522" };
    const qr = await createAt("203.0.113.7", paris, far);
    const browser = await connect(qr);
    await browser.next();
    const sydney = { country: "AU", city: "Sydney", latitude: "-33.87", longitude: "151.21" };
    const view = (await (await phoneAt(qr.id, "scan", "198.51.100.20", sydney, far)).json()) as Json;
    await browser.next();
    expect(view.distance).toEqual({ km: 16961, far: true, over_limit: true });
    const refused = await phoneAt(qr.id, "approve", "198.51.100.20", sydney, far);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ code: "qr_too_far" });
    expect((await qrRecord(qr.id))!).toMatchObject({ state: "scanned", phoneApproved: false });
    await typeCode(browser, qr);
    await expect(browser.next(200)).rejects.toThrow(/timed out/);
    const versailles = { country: "FR", city: "Versailles", latitude: "48.80", longitude: "2.13" };
    expect((await phoneAt(qr.id, "approve", "198.51.100.20", versailles, far)).status).toBe(200);
    expect((await browser.rest()).map((e) => e.type)).toEqual(["approved"]);
    // Without places (locally) the limit cannot apply, and nothing false is claimed.
    const local = await createQr(far.call);
    await (await connect(local, far.call)).next();
    expect((await scanAndApprove(alice, local, far.call)).status).toBe(200);
  });

  it("shows no warning when the phone is on the browser's network", async () => {
    const qr = await createQr(api, { headers: { "cf-connecting-ip": "2001:db8:aa:1::5" } });
    await (await connect(qr)).next();
    await phoneCall(alice)(qr.id, "scan");
    const res = await phoneCall(alice)(qr.id, "", { headers: { "cf-connecting-ip": "2001:db8:aa:2::9" } });
    expect(await res.json()).toMatchObject({ mismatch: { network: false }, warnings: [] });
  });

  it("reading who is asking changes nothing: the browser sees no event", async () => {
    const qr = await createQr();
    const browser = await connect(qr);
    await browser.next();
    expect((await phoneCall(alice)(qr.id, "")).status).toBe(200);
    await expect(browser.next(200)).rejects.toThrow(/timed out/);
  });

  it("an approve after completion answers 409 qr_not_pending and issues nothing more", async () => {
    const qr = await createQr();
    const browser = await connect(qr);
    await browser.next();
    expect((await complete(alice, qr, browser)).status).toBe(200);
    const after = await qrSessionsOf(alice.id);
    const again = await phoneCall(alice)(qr.id, "approve");
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ code: "qr_not_pending" });
    expect((await phoneCall(alice)(qr.id, "deny")).status).toBe(409);
    expect((await phoneCall(alice)(qr.id, "scan")).status).toBe(409);
    expect(await qrSessionsOf(alice.id)).toBe(after);
  });

  it("concurrent approves issue exactly one session and one approved event (20 rounds: the race is timing-dependent)", {
    timeout: 60_000,
  }, async () => {
    for (let round = 0; round < 20; round++) {
      const qr = await createQr();
      const browser = await connect(qr);
      await browser.next();
      await phoneCall(alice)(qr.id, "scan");
      await typeCode(browser, qr);
      const before = await qrSessionsOf(alice.id);
      const results = await Promise.all(Array.from({ length: 5 }, () => phoneCall(alice)(qr.id, "approve")));
      expect(results.map((r) => r.status).sort(), `round ${round}`).toEqual([200, 409, 409, 409, 409]);
      expect((await browser.rest()).map((e) => e.type)).toEqual(["scanned", "approved"]);
      expect(await qrSessionsOf(alice.id)).toBe(before + 1);
    }
  });

  it("the code racing the approval, in both orders and at once, delivers exactly one pair (20 rounds)", { timeout: 60_000 }, async () => {
    for (let round = 0; round < 20; round++) {
      const qr = await createQr();
      const browser = await connect(qr);
      await browser.next();
      await phoneCall(alice)(qr.id, "scan");
      await browser.next();
      const code = await checkCodeOf(qr.id);
      const before = await qrSessionsOf(alice.id);
      const approve = async () => {
        await new Promise((resolve) => setTimeout(resolve, round % 5));
        return phoneCall(alice)(qr.id, "approve");
      };
      browser.sendCode(code);
      const [res] = await Promise.all([approve(), Promise.resolve(browser.sendCode(code))]);
      expect(res.status, `round ${round}`).toBe(200);
      const events = await browser.rest();
      expect(
        events.map((e) => e.type),
        `round ${round}`,
      ).toEqual(["approved"]);
      expect(await qrSessionsOf(alice.id)).toBe(before + 1);
    }
  });

  it("another user's scan answers 409 qr_claimed, and so do their approve, deny and view", async () => {
    const qr = await createQr();
    const browser = await connect(qr);
    await browser.next();
    expect((await phoneCall(alice)(qr.id, "scan")).status).toBe(200);
    const before = await qrSessionsOf(mallory.id);
    for (const action of ["scan", "approve", "deny", ""] as const) {
      const res = await phoneCall(mallory)(qr.id, action);
      expect(res.status).toBe(409);
      expect(await res.json()).toMatchObject({ code: "qr_claimed" });
    }
    expect(await qrSessionsOf(mallory.id)).toBe(before);
    expect(await browser.next()).toMatchObject({ type: "scanned", user: { id: alice.id } });
    await expect(browser.next(200)).rejects.toThrow(/timed out/);
  });

  it("a scan repeated by the same phone succeeds and changes nothing", async () => {
    const qr = await createQr();
    const browser = await connect(qr);
    await browser.next();
    expect((await phoneCall(alice)(qr.id, "scan")).status).toBe(200);
    expect((await phoneCall(alice)(qr.id, "scan")).status).toBe(200);
    expect((await browser.next()).type).toBe("scanned");
    await expect(browser.next(200)).rejects.toThrow(/timed out/);
  });
});

describe("expiry", () => {
  it("once scanned, at expires_at the alarm tells the browser expired and closes the socket", async () => {
    const qr = await createQr();
    const browser = await connect(qr);
    await browser.next();
    await phoneCall(alice)(qr.id, "scan");
    expect((await browser.next()).type).toBe("scanned");
    expect(await runDurableObjectAlarm(stubFor(qr.id))).toBe(true);
    expect(await browser.next()).toEqual({ type: "expired" });
    expect(await browser.waitClosed()).toEqual({ code: 1000, reason: "expired" });
  });

  it("approve after expiry answers 410 qr_expired and creates no session", async () => {
    const qr = await createQr();
    await (await connect(qr)).next();
    await phoneCall(alice)(qr.id, "scan");
    const before = await rowCounts();
    expect(await runDurableObjectAlarm(stubFor(qr.id))).toBe(true);
    for (const action of ["approve", "scan", "deny", ""] as const) {
      const res = await phoneCall(alice)(qr.id, action);
      expect(res.status).toBe(410);
      expect(await res.json()).toMatchObject({ code: "qr_expired" });
    }
    expect((await api(`/api/qr/${qr.id}/svg/`)).status).toBe(410);
    expect(await rowCounts()).toEqual(before);
  });

  it("approve after expires_at answers 410 even before the alarm has run", async () => {
    const app = rig();
    const qr = await createQr(app.call);
    app.advance(120);
    const res = await phoneCall(alice, app.call)(qr.id, "approve");
    expect(res.status).toBe(410);
    const browser = await connect(qr, app.call);
    expect(await browser.rest()).toEqual([{ type: "expired" }]);
  });

  it("a reconnecting browser is told expired", async () => {
    const qr = await createQr();
    await (await connect(qr)).next();
    await phoneCall(alice)(qr.id, "scan");
    await runDurableObjectAlarm(stubFor(qr.id));
    const browser = await connect(qr);
    expect(await browser.rest()).toEqual([{ type: "expired" }]);
  });

  it("a login nobody acted on has no alarm: it expires by the clock, nothing is stored, and a socket that speaks after expires_at is told expired", async () => {
    const app = rig();
    const qr = await createQr(app.call);
    const browser = await connect(qr, app.call);
    expect((await browser.next()).type).toBe("pending");
    expect(await runDurableObjectAlarm(stubFor(qr.id))).toBe(false);
    app.advance(120);
    expect((await phoneCall(alice, app.call)(qr.id, "scan")).status).toBe(410);
    expect((await app.call(`/api/qr/${qr.id}/svg/`)).status).toBe(410);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.parse(qr.expires_at) + 1);
    browser.sendCode("12");
    expect(await browser.rest()).toEqual([{ type: "expired" }]);
    vi.useRealTimers();
    expect(await runInDurableObject(stubFor(qr.id), async (_i, state) => (await state.storage.list()).size)).toBe(0);
    // A minute after expiry the id itself is 404, before any object is addressed.
    app.advance(60);
    expect((await phoneCall(alice, app.call)(qr.id, "")).status).toBe(404);
  });

  it("the phone cannot scan a code whose browser is not listening and nobody acted on (409 qr_browser_away); it can once the browser connects", async () => {
    const qr = await createQr();
    const scan = await phoneCall(alice)(qr.id, "scan");
    expect(scan.status).toBe(409);
    expect(await scan.json()).toMatchObject({ code: "qr_browser_away" });
    expect(await qrRecord(qr.id)).toBeUndefined();
    const browser = await connect(qr);
    await browser.next();
    expect((await phoneCall(alice)(qr.id, "scan")).status).toBe(200);
    expect((await browser.next()).type).toBe("scanned");
  });

  it("clears the object's storage a minute after the code's expiry (not before: the browser's secret could reopen it); then the id is unknown", async () => {
    const qr = await createQr();
    const stub = stubFor(qr.id);
    await (await connect(qr)).next();
    await phoneCall(alice)(qr.id, "scan");
    expect((await phoneCall(alice)(qr.id, "deny")).status).toBe(200);
    // Before its time the cleanup alarm only re-arms itself.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await runInDurableObject(stub, async (_i, state) => (await state.storage.list()).size)).toBeGreaterThan(0);
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBe(Date.parse(qr.expires_at) + 60_000);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.parse(qr.expires_at) + 61_000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await runInDurableObject(stub, async (_i, state) => (await state.storage.list()).size)).toBe(0);
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBeNull();
    expect((await phoneCall(alice)(qr.id, "")).status).toBe(404);
    expect((await openSocket(qr.id, qr.secret)).status).toBe(404);
  });

  it("an expiry alarm that fires while the approval is creating the session does not expire it: one outcome, approved", async () => {
    const qr = await createQr();
    const stub = stubFor(qr.id);
    const browser = await connect(qr);
    await browser.next();
    await phoneCall(alice)(qr.id, "scan");
    await browser.next();
    await typeCode(browser, qr);
    const before = await qrSessionsOf(alice.id);
    type Held = { issuePair: (...args: unknown[]) => Promise<unknown>; entered?: boolean; unblock?: () => void };
    await runInDurableObject(stub, (instance) => {
      // Hold the approval at its D1 call, after its compare-and-set, to run the alarm exactly there.
      // (The gate lives in the object: a promise resolved from the test's context would move the D1 call out of it.)
      const target = instance as unknown as Held;
      const original = target.issuePair.bind(instance);
      const held = new Promise<void>((resolve) => (target.unblock = resolve));
      target.issuePair = async (...args) => {
        target.entered = true;
        await held;
        return original(...args);
      };
    });
    const approving = phoneCall(alice)(qr.id, "approve");
    for (let i = 0; !(await runInDurableObject(stub, (instance) => (instance as unknown as Held).entered)); i++) {
      if (i > 200) throw new Error("the approval never reached D1");
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await runInDurableObject(stub, (instance) => (instance as unknown as Held).unblock!());
    expect((await approving).status).toBe(200);
    expect((await browser.rest()).map((e) => e.type)).toEqual(["approved"]);
    expect(await qrSessionsOf(alice.id)).toBe(before + 1);
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBeGreaterThan(Date.now());
  });

  it("an approval whose D1 write fails (D1 down) is 503 with Retry-After; approved again once D1 answers, the browser gets exactly one pair", async () => {
    const qr = await createQr();
    const stub = stubFor(qr.id);
    const browser = await connect(qr);
    await browser.next();
    await phoneCall(alice)(qr.id, "scan");
    await browser.next();
    await typeCode(browser, qr);
    const before = await qrSessionsOf(alice.id);
    type Failing = { issuePair: (...args: unknown[]) => Promise<unknown> };
    await runInDurableObject(stub, (instance) => {
      const target = instance as unknown as Failing;
      const original = target.issuePair.bind(instance);
      let failures = 1;
      target.issuePair = async (...args) => {
        if (failures-- > 0) throw new DatabaseUnavailable("no answer within 3000 ms");
        return original(...args);
      };
    });
    const down = await phoneCall(alice)(qr.id, "approve");
    expect(down.status).toBe(503);
    expect(down.headers.get("retry-after")).toBe("5");
    expect(await down.json()).toMatchObject({ code: "service_unavailable" });
    expect(await qrRecord(qr.id)).toMatchObject({ state: "scanned", phoneApproved: false, codeEntered: true });
    expect(await qrSessionsOf(alice.id)).toBe(before);
    const again = await phoneCall(alice)(qr.id, "approve");
    expect(again.status).toBe(200);
    expect((await browser.rest()).map((e) => e.type)).toEqual(["approved"]);
    expect(await qrSessionsOf(alice.id)).toBe(before + 1);
  });

  it("when the browser's code completes the login and D1 is down, nothing is issued; the phone sees it reopened and approves again; one pair", async () => {
    const qr = await createQr();
    const stub = stubFor(qr.id);
    const browser = await connect(qr);
    await browser.next();
    await phoneCall(alice)(qr.id, "scan");
    await browser.next();
    expect((await phoneCall(alice)(qr.id, "approve")).status).toBe(200);
    const before = await qrSessionsOf(alice.id);
    type Failing = { issuePair: (...args: unknown[]) => Promise<unknown> };
    await runInDurableObject(stub, (instance) => {
      const target = instance as unknown as Failing;
      const original = target.issuePair.bind(instance);
      let failures = 1;
      target.issuePair = async (...args) => {
        if (failures-- > 0) throw new DatabaseUnavailable("no answer within 3000 ms");
        return original(...args);
      };
    });
    browser.sendCode(await checkCodeOf(qr.id));
    for (let i = 0; (await qrRecord(qr.id))?.state !== "scanned" || !(await qrRecord(qr.id))?.codeEntered; i++) {
      if (i > 200) throw new Error("the login was not reopened");
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(await (await phoneCall(alice)(qr.id, "")).json()).toMatchObject({
      status: "scanned",
      phone_approved: false,
      code_entered: true,
    });
    expect(await qrSessionsOf(alice.id)).toBe(before);
    expect(await (await phoneCall(alice)(qr.id, "approve")).json()).toMatchObject({ status: "approved" });
    expect((await browser.rest()).map((e) => e.type)).toEqual(["approved"]);
    expect(await qrSessionsOf(alice.id)).toBe(before + 1);
  });

  it("approval racing the alarm gives one outcome, never both", { timeout: 30_000 }, async () => {
    const outcomes: string[] = [];
    const delays = [0, 2, 5, 8, 10, 12, 15, 20, 30, 40];
    for (let round = 0; round < delays.length; round++) {
      const qr = await createQr();
      const browser = await connect(qr);
      await browser.next();
      await phoneCall(alice)(qr.id, "scan");
      await browser.next();
      const before = await qrSessionsOf(alice.id);
      await typeCode(browser, qr);
      const approve = () => phoneCall(alice)(qr.id, "approve");
      // The alarm is dispatched a little later each round, so it lands before, during or after the approval.
      const alarm = async () => {
        await new Promise((resolve) => setTimeout(resolve, delays[round]));
        return runDurableObjectAlarm(stubFor(qr.id));
      };
      const [res] = await Promise.all([approve(), alarm()]);
      const events = (await browser.rest()).map((e) => e.type);
      const issued = (await qrSessionsOf(alice.id)) - before;
      const status = res.status;
      expect(events.filter((t) => FINAL.includes(t))).toHaveLength(1);
      if (status === 200) {
        expect({ events, issued }).toEqual({ events: ["approved"], issued: 1 });
      } else {
        expect({ status, events, issued }).toEqual({ status: 410, events: ["expired"], issued: 0 });
      }
      outcomes.push(events[0]!);
    }
    expect(outcomes).toHaveLength(delays.length);
    console.log(`approval vs alarm outcomes: ${outcomes.join(", ")}`);
  });
});

describe("hibernation and eviction", () => {
  it("an object evicted between every step, its socket hibernated, completes the flow on the same socket", async () => {
    const qr = await createQr();
    const stub = stubFor(qr.id);
    await evictDurableObject(stub, { webSockets: "hibernate" }).catch(() => {});
    const browser = await connect(qr);
    expect((await browser.next()).type).toBe("pending");
    await evictDurableObject(stub, { webSockets: "hibernate" });
    browser.ws.send("ping");
    expect(await browser.next()).toEqual({ raw: "pong" });
    expect((await phoneCall(alice)(qr.id, "scan")).status).toBe(200);
    expect((await browser.next()).type).toBe("scanned");
    await evictDurableObject(stub, { webSockets: "hibernate" });
    const view = (await (await phoneCall(alice)(qr.id, "")).json()) as Json;
    await evictDurableObject(stub, { webSockets: "hibernate" });
    expect(await (await phoneCall(alice)(qr.id, "approve")).json()).toMatchObject({
      status: "scanned",
      code: view.code,
      phone_approved: true,
    });
    await evictDurableObject(stub, { webSockets: "hibernate" });
    browser.sendCode(view.code);
    const event = await opened(qr, await browser.next());
    expect(await browser.waitClosed()).toEqual({ code: 1000, reason: "approved" });
    expect((await api("/api/auth/me/", { token: event.access })).status).toBe(200);
  });

  it("code first, evicted between every step: the code entered survives, and the approval delivers on the same socket", async () => {
    const qr = await createQr();
    const stub = stubFor(qr.id);
    const browser = await connect(qr);
    await browser.next();
    await phoneCall(alice)(qr.id, "scan");
    await browser.next();
    await evictDurableObject(stub, { webSockets: "hibernate" });
    await typeCode(browser, qr);
    await evictDurableObject(stub, { webSockets: "hibernate" });
    expect(await (await phoneCall(alice)(qr.id, "")).json()).toMatchObject({ code_entered: true, phone_approved: false });
    await evictDurableObject(stub, { webSockets: "hibernate" });
    expect(await (await phoneCall(alice)(qr.id, "approve")).json()).toMatchObject({ status: "approved" });
    expect((await opened(qr, await browser.next())).user).toMatchObject({ id: alice.id });
  });

  it("an evicted object's alarm still expires the session and reaches the hibernated socket", async () => {
    const qr = await createQr();
    const stub = stubFor(qr.id);
    const browser = await connect(qr);
    await browser.next();
    await phoneCall(alice)(qr.id, "scan");
    await browser.next();
    await evictDurableObject(stub, { webSockets: "hibernate" });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await browser.rest()).toEqual([{ type: "expired" }]);
  });
});

describe("bad input", () => {
  const malformed = ["abc", "AAAAAAAAAAAAAAAAAAAAA!", "A".repeat(22), "A".repeat(29), "..%2F..%2Fetc"];

  it("malformed ids answer 404 JSON on every QR route, before authentication", { timeout: 30_000 }, async () => {
    for (const id of malformed) {
      for (const [method, suffix] of [
        ["GET", ""],
        ["GET", "svg/"],
        ["GET", "ws/?secret=x"],
        ["POST", "scan/"],
        ["POST", "approve/"],
        ["POST", "deny/"],
      ] as const) {
        // (The test pool turns any request with `Upgrade: websocket` into a GET: send it on the socket route only.)
        const res = await api(`/api/qr/${id}/${suffix}`, { method, headers: suffix.startsWith("ws/") ? { upgrade: "websocket" } : {} });
        expect(res.status, `${method} ${id}/${suffix}`).toBe(404);
        expect(await res.json()).toEqual({ detail: "Not found." });
      }
    }
  });

  it("ids the worker never issued answer 404 JSON to the phone and for the image", async () => {
    const id = FORGED_IDS[0]!;
    for (const action of ["", "scan", "approve", "deny"] as const) {
      const res = await phoneCall(alice)(id, action);
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ detail: "Not found." });
    }
    expect((await api(`/api/qr/${id}/svg/`)).status).toBe(404);
  });

  it("an anonymous approve answers 401 JSON and creates no session", async () => {
    const before = await rowCounts();
    const qr = await createQr();
    const browser = await connect(qr);
    await browser.next();
    for (const token of [null, "not-a-jwt"]) {
      const res = await api(`/api/qr/${qr.id}/approve/`, { method: "POST", headers: token ? { authorization: `Bearer ${token}` } : {} });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe('Bearer realm="api"');
      expect(await res.json()).toMatchObject({ code: expect.stringMatching(/^(not_authenticated|token_not_valid)$/) });
    }
    expect(await rowCounts()).toEqual(before);
    await expect(browser.next(200)).rejects.toThrow(/timed out/);
  });

  it("a refresh token is not accepted as the phone's bearer", async () => {
    const { refresh } = await signIn(alice.username);
    const qr = await createQr();
    const res = await api(`/api/qr/${qr.id}/approve/`, { method: "POST", token: refresh });
    expect(res.status).toBe(401);
  });

  it("non-JSON, broken JSON and duplicate keys on approve are 4xx JSON errors and approve nothing", async () => {
    const qr = await createQr();
    const before = await rowCounts();
    const cases: Array<[Call, number]> = [
      [{ raw: "approve=1", headers: { "content-type": "application/x-www-form-urlencoded" } }, 415],
      [{ raw: "{not json" }, 400],
      [{ raw: "[1]" }, 400],
      [{ raw: '{"code": "47", "code": "48"}' }, 400],
    ];
    for (const [call, status] of cases) {
      const res = await phoneCall(alice)(qr.id, "approve", { method: "POST", ...call });
      expect(res.status).toBe(status);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    }
    expect(await rowCounts()).toEqual(before);
    expect(await (await phoneCall(alice)(qr.id, "")).json()).toMatchObject({ status: "pending" });
  });

  it("wrong methods answer 405 with Allow", async () => {
    const qr = await createQr();
    const res = await api(`/api/qr/${qr.id}/approve/`, { method: "GET", token: alice.access });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toContain("POST");
    expect((await api("/api/qr/", { method: "GET" })).status).toBe(405);
  });
});

describe("cross-device attacks, replayed", () => {
  it("login CSRF: a stranger who saw the code cannot approve it with their own account without scanning (409 qr_not_scanned); nothing is issued", async () => {
    const qr = await createQr();
    const browser = await connect(qr);
    await browser.next();
    const before = await rowCounts();
    for (const code of ["00", "10", "47", "99"]) {
      const res = await phoneCall(mallory)(qr.id, "approve", { body: { code } });
      expect(res.status).toBe(409);
      expect(await res.json()).toMatchObject({ code: "qr_not_scanned" });
    }
    expect(await rowCounts()).toEqual(before);
    await expect(browser.next(200)).rejects.toThrow(/timed out/);
    expect(await qrRecord(qr.id)).toBeUndefined();
  });

  it("a stranger cannot deny someone else's login without scanning it (409 qr_not_scanned)", async () => {
    const qr = await createQr();
    const browser = await connect(qr);
    await browser.next();
    const res = await phoneCall(mallory)(qr.id, "deny");
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ code: "qr_not_scanned" });
    await expect(browser.next(200)).rejects.toThrow(/timed out/);
    expect((await scanAndApprove(alice, qr)).status).toBe(200);
  });

  it("a second phone of another account cannot approve, read or deny after the owner's scan (409 qr_claimed), even with the right code in the body", async () => {
    const qr = await createQr();
    const browser = await connect(qr);
    await browser.next();
    await phoneCall(alice)(qr.id, "scan");
    await typeCode(browser, qr);
    for (const action of ["approve", "", "deny", "scan"] as const) {
      const res = await phoneCall(mallory)(qr.id, action, action === "approve" ? { body: { code: await checkCodeOf(qr.id) } } : {});
      expect(res.status).toBe(409);
      expect(await res.json()).toMatchObject({ code: "qr_claimed" });
    }
    expect((await qrRecord(qr.id))!).toMatchObject({ state: "scanned", phoneApproved: false });
    expect(await browser.next()).toMatchObject({ type: "scanned", user: { id: alice.id } });
    await expect(browser.next(200)).rejects.toThrow(/timed out/);
  });

  it("a guessed code ends the login at once, before or after the phone approved: denied (code_mismatch), the right code afterwards does nothing, nothing is issued", {
    timeout: 30_000,
  }, async () => {
    for (const approveFirst of [false, true]) {
      const before = await rowCounts();
      const qr = await createQr();
      const browser = await connect(qr);
      await browser.next();
      await phoneCall(alice)(qr.id, "scan");
      await browser.next();
      const code = await checkCodeOf(qr.id);
      if (approveFirst) expect((await phoneCall(alice)(qr.id, "approve")).status).toBe(200);
      browser.sendCode(otherThan(code));
      expect(await browser.rest()).toEqual([{ type: "denied", reason: "code_mismatch" }]);
      // One try: a reconnect with the right code gets nothing but the reason.
      const again = await connect(qr);
      again.sendCode(code);
      expect(await again.rest()).toEqual([{ type: "denied", reason: "code_mismatch" }]);
      for (const action of ["approve", "scan", "deny"] as const) expect((await phoneCall(alice)(qr.id, action)).status).toBe(409);
      expect(await (await phoneCall(alice)(qr.id, "")).json()).toMatchObject({ status: "denied", code: null });
      expect(await rowCounts()).toEqual(before);
    }
  });

  it("malformed or early codes are ignored, not counted as the one try", async () => {
    const qr = await createQr();
    const browser = await connect(qr);
    await browser.next();
    browser.sendCode("42");
    await phoneCall(alice)(qr.id, "scan");
    await browser.next();
    for (const text of [
      '{"type":"code","code":"4"}',
      '{"type":"code","code":42}',
      '{"type":"code","code":"4 2"}',
      '{"type":"code"}',
      `{"type":"code","code":"${"1".repeat(200)}"}`,
    ])
      browser.ws.send(text);
    await expect(browser.next(300)).rejects.toThrow(/timed out/);
    expect((await qrRecord(qr.id))!).toMatchObject({ state: "scanned", codeEntered: false });
    await typeCode(browser, qr);
  });

  it("a watcher who reads every byte the browser receives, holding their own phone, cannot get the browser signed in", {
    timeout: 30_000,
  }, async () => {
    const before = await qrSessionsOf(mallory.id);
    // Everything the victim's browser receives: the 201 (with the secret) and every socket frame.
    const qr = await createQr();
    const victim = await connect(qr);
    const seen: Json[] = [qr as unknown as Json];
    seen.push(await victim.next());
    // The watcher scans the code on the victim's screen with their own phone and approves.
    const view = (await (await phoneCall(mallory)(qr.id, "scan")).json()) as Json;
    seen.push(await victim.next());
    expect((await phoneCall(mallory)(qr.id, "approve")).status).toBe(200);
    // The code never reached the browser: not in any frame, and the scanned event names the watcher's account.
    expect(seen[2]).toEqual({ type: "scanned", user: { id: mallory.id, username: mallory.username }, expires_at: qr.expires_at });
    for (const frame of seen.slice(1)) expect(JSON.stringify(frame)).not.toContain(`"${view.code}"`);
    // With the secret the watcher opens the socket themselves (never answering its close, so the pair is not marked
    // received) and sends the right code: the pair goes to their socket, sealed to the browser's key they cannot open.
    const watcher = (await openSocket(qr.id, qr.secret)).webSocket!;
    const stolen: Json[] = [];
    watcher.accept();
    watcher.addEventListener("message", (e) => {
      stolen.push(JSON.parse(String(e.data)) as Json);
    });
    watcher.send(JSON.stringify({ type: "code", code: view.code }));
    for (let i = 0; !stolen.some((e) => e.type === "approved") && i < 200; i++) await new Promise((r) => setTimeout(r, 5));
    const approved = stolen.find((e) => e.type === "approved")!;
    await expect(openPair(await browserKey(), qr.id, approved.sealed)).rejects.toThrow();
    // The victim's browser (replaced, it reconnects) is shown the watcher's account and never receives the pair:
    // it would have to send the code its user never saw.
    const reconnected = await connect(qr);
    expect(await reconnected.next()).toMatchObject({ type: "scanned", user: { id: mallory.id } });
    await expect(reconnected.next(300)).rejects.toThrow(/timed out/);
    // Its user guesses: a wrong guess (99 in 100) withdraws the pair for good, and the right code afterwards gets nothing.
    reconnected.sendCode(otherThan(view.code));
    expect(await reconnected.rest()).toEqual([{ type: "denied", reason: "code_mismatch" }]);
    const last = await connect(qr);
    last.sendCode(view.code);
    expect(await last.rest()).toEqual([{ type: "denied", reason: "code_mismatch" }]);
    expect(await qrSessionsOf(mallory.id)).toBe(before + 1);
  });

  it("a watcher without the secret who guesses on behalf of the browser's user ends the login: one wrong code, nothing issued", {
    timeout: 30_000,
  }, async () => {
    const before = await qrSessionsOf(mallory.id);
    const qr = await createQr();
    const victim = await connect(qr);
    await victim.next();
    const view = (await (await phoneCall(mallory)(qr.id, "scan")).json()) as Json;
    await phoneCall(mallory)(qr.id, "approve");
    await victim.next();
    // The victim, told by the watcher to "type any number", types a wrong one.
    victim.sendCode(otherThan(view.code));
    expect(await victim.rest()).toEqual([{ type: "denied", reason: "code_mismatch" }]);
    expect(await qrSessionsOf(mallory.id)).toBe(before);
  });

  it("before the caller's scan, GET shows only the state and expiry: no IP, place, browser or user", async () => {
    const qr = await createQr(api, { headers: { "user-agent": CHROME_WINDOWS, "cf-connecting-ip": "203.0.113.7" } });
    await (await connect(qr)).next();
    for (const phone of [alice, mallory]) {
      const res = await phoneCall(phone)(qr.id, "");
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ id: qr.id, status: "pending", expires_at: qr.expires_at });
    }
    await phoneCall(alice)(qr.id, "scan");
    expect(await (await phoneCall(alice)(qr.id, "")).json()).toMatchObject({ requester: { description: "Chrome 124 on Windows 10/11" } });
    expect((await phoneCall(mallory)(qr.id, "")).status).toBe(409);
  });

  it("reading a code, signed in or not, tells its creator nothing: the browser's socket stays silent", async () => {
    const qr = await createQr();
    const browser = await connect(qr);
    await browser.next();
    expect((await phoneCall(alice)(qr.id, "")).status).toBe(200);
    expect((await api(`/qr/${qr.id}`)).status).toBe(200);
    await expect(browser.next(300)).rejects.toThrow(/timed out/);
    expect(await qrRecord(qr.id)).toBeUndefined();
  });

  it("the code is fixed at the scan: reloading shows the same one, so reloads reveal nothing and re-draw nothing", async () => {
    const qr = await createQr();
    await (await connect(qr)).next();
    const first = ((await (await phoneCall(alice)(qr.id, "scan")).json()) as Json).code;
    for (let i = 0; i < 3; i++) expect(((await (await phoneCall(alice)(qr.id, "")).json()) as Json).code).toEqual(first);
    expect(((await (await phoneCall(alice)(qr.id, "scan")).json()) as Json).code).toEqual(first);
  });

  it("a forged id reaches no Durable Object on any id route (API, image, socket, phone page): 404, and the namespace is never addressed", async () => {
    let addressed = 0;
    const counting = new Proxy(env.QR_SESSION, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          addressed += 1;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const app = rig({ env: { QR_SESSION: counting } });
    const calls: Array<[string, Call]> = [];
    for (const id of FORGED_IDS) {
      calls.push([`/api/qr/${id}/`, { token: alice.access }]);
      for (const action of ["scan", "deny"]) calls.push([`/api/qr/${id}/${action}/`, { method: "POST", token: alice.access, body: {} }]);
      calls.push([`/api/qr/${id}/approve/`, { method: "POST", token: alice.access, body: {} }]);
      calls.push([`/api/qr/${id}/svg/`, {}]);
      calls.push([`/api/qr/${id}/ws/?secret=${"A".repeat(43)}`, { headers: { upgrade: "websocket" } }]);
      calls.push([`/qr/${id}`, {}]);
    }
    for (const [path, call] of calls) {
      const res = await app.call(path, call);
      expect(res.status, path).toBe(404);
    }
    expect(addressed).toBe(0);
    // The same rig does address the object for an id it issued: the count is real.
    const real = await createQr(app.call);
    expect((await app.call(`/api/qr/${real.id}/svg/`)).status).toBe(200);
    expect(addressed).toBeGreaterThan(0);
  });

  it("an id with one character changed is refused like any forged id", async () => {
    const qr = await createQr();
    const last = qr.id.at(-1) === "A" ? "B" : "A";
    const tampered = qr.id.slice(0, -1) + last;
    expect((await api(`/api/qr/${tampered}/svg/`)).status).toBe(404);
    expect((await phoneCall(alice)(tampered, "scan")).status).toBe(404);
    expect((await api(`/api/qr/${qr.id}/svg/`)).status).toBe(200);
  });

  it("the socket refuses a foreign Origin with 403 before the object is called; its own origin, a listed one and no Origin are let in", async () => {
    const qr = await createQr();
    for (const origin of ["https://evil.example", "null", "http://auth.example.test", "https://auth.example.test.evil.example"]) {
      const res = await openSocket(qr.id, qr.secret, api, { origin });
      expect(res.status, origin).toBe(403);
      expect(res.webSocket).toBeNull();
      expect(await res.json()).toMatchObject({ code: "origin_not_allowed" });
    }
    const own = await openSocket(qr.id, qr.secret, api, { origin: ORIGIN });
    expect(own.status).toBe(101);
    new Browser(own.webSocket!);
    const listed = rig({ env: { CORS_ORIGINS: "https://app.example.test" } });
    const fromApp = await openSocket(qr.id, qr.secret, listed.call, { origin: "https://app.example.test" });
    expect(fromApp.status).toBe(101);
    new Browser(fromApp.webSocket!);
    const bare = await openSocket(qr.id, qr.secret);
    expect(bare.status).toBe(101);
    new Browser(bare.webSocket!);
  });

  it("the pair is sealed to the browser's key: it opens with that key only, and not under another login's id", async () => {
    const qr = await createQr();
    const browser = await connect(qr);
    await browser.next();
    expect((await complete(alice, qr, browser)).status).toBe(200);
    const event = (await browser.rest()).at(-1);
    const pair = await opened(qr, event!);
    expect(pair.user).toEqual({ id: alice.id, username: alice.username });
    // Neither token crosses the socket in clear (a bare /eyJ/ also matched random ciphertext now and then).
    for (const token of [pair.access, pair.refresh]) expect(JSON.stringify(event)).not.toContain(token.split(".")[1]);
    await expect(openPair(await browserKey(), qr.id, event!.sealed)).rejects.toThrow();
    await expect(openPair(qr.key, (await createQr()).id, event!.sealed)).rejects.toThrow();
    const flipped = { ...event!.sealed, ciphertext: (event!.sealed.ciphertext[0] === "A" ? "B" : "A") + event!.sealed.ciphertext.slice(1) };
    await expect(openPair(qr.key, qr.id, flipped)).rejects.toThrow();
  });

  it("a whole flow leaves no token in the object's storage, on the socket in clear, or in any log line", async () => {
    const lines: string[] = [];
    const spies = (["log", "info", "warn", "error", "debug"] as const).map((level) =>
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        lines.push(args.map(String).join(" "));
      }),
    );
    const snapshots: string[] = [];
    const snapshot = async (id: string) =>
      snapshots.push(
        await runInDurableObject(stubFor(id), async (_i, state) => JSON.stringify([...(await state.storage.list()).entries()])),
      );
    try {
      const qr = await createQr();
      const res = await openSocket(qr.id, qr.secret);
      const ws = res.webSocket!;
      const frames: string[] = [];
      ws.accept();
      ws.addEventListener("message", (e) => {
        frames.push(String(e.data));
      });
      await phoneCall(alice)(qr.id, "scan");
      await typeCode(ws, qr);
      await snapshot(qr.id);
      expect((await phoneCall(alice)(qr.id, "approve")).status).toBe(200);
      // No close reply yet: the sealed pair is in storage now, waiting for the receipt.
      await snapshot(qr.id);
      for (let i = 0; frames.length < 3 && i < 100; i++) await new Promise((r) => setTimeout(r, 10));
      const approved = JSON.parse(frames.find((f) => f.includes('"approved"'))!) as Json;
      const pair = await opened(qr, approved);
      for (const secret of [pair.access, pair.refresh, pair.access.split(".")[2]!, pair.refresh.split(".")[2]!]) {
        for (const text of [...snapshots, ...frames, ...lines]) expect(text).not.toContain(secret);
      }
      expect(snapshots[1]).toContain(approved.sealed.ciphertext);
      // The search was over real output: the approval and the link were logged as events.
      expect(lines.some((line) => line.includes('"qr_approved"'))).toBe(true);
      expect(lines.some((line) => line.includes('"qr_linked"'))).toBe(true);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });
});

describe("the browser walks away", () => {
  it('{"type": "cancel"} on the socket ends an open login: whoever scanned it can no longer approve, and nothing is issued', async () => {
    const before = await rowCounts();
    const qr = await createQr();
    const browser = await connect(qr);
    await browser.next();
    await phoneCall(mallory)(qr.id, "scan");
    expect((await browser.next()).type).toBe("scanned");
    browser.ws.send(JSON.stringify({ type: "cancel" }));
    expect(await browser.rest()).toEqual([{ type: "denied", reason: "cancelled" }]);
    const res = await phoneCall(mallory)(qr.id, "approve");
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ code: "qr_not_pending" });
    expect(await rowCounts()).toEqual(before);
    expect(await (await connect(qr)).rest()).toEqual([{ type: "denied", reason: "cancelled" }]);
  });

  it("any other message changes nothing", async () => {
    const qr = await createQr();
    const browser = await connect(qr);
    await browser.next();
    for (const text of ["cancel", '{"type":"approve"}', '{"type": "cancel", "x": 1}', "{}"]) browser.ws.send(text);
    await expect(browser.next(300)).rejects.toThrow(/timed out/);
    expect(await qrRecord(qr.id)).toBeUndefined();
    expect((await scanAndApprove(alice, qr)).status).toBe(200);
  });

  it("a cancel after approval changes nothing: the pair stays delivered", async () => {
    const qr = await createQr();
    const res = await openSocket(qr.id, qr.secret);
    const ws = res.webSocket!;
    ws.accept();
    expect((await complete(alice, qr, ws)).status).toBe(200);
    ws.send(JSON.stringify({ type: "cancel" }));
    await new Promise((r) => setTimeout(r, 100));
    expect((await qrRecord(qr.id))!.state).toBe("approved");
  });
});
