/**
 * The driver of the QR login (client/qr-login.ts: the engine of client/qr-engine.ts over sockets, fetch and keys), inside workerd: a fake socket and a fake fetch stand in
 * for the worker, the pair is sealed by the worker's own code (src/qr/seal.ts). Type-checked with the browser code
 * (client/tsconfig.json), since the module is DOM code.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { BrowserEvent, PublicEcJwk, SealedPair } from "../../src/qr/policy";
import { startQrLogin, type QrLoginState } from "../../client/qr-login";
import { codePrompt, qrStateText } from "../../client/qr-text";

// The worker's sealing, loaded at run time: its Workers-only types stay out of this DOM-typed program.
const WORKER_SEAL = "../../src/qr/seal";
async function seal(key: PublicEcJwk, loginId: string, payload: unknown): Promise<SealedPair> {
  const mod = (await import(/* @vite-ignore */ WORKER_SEAL)) as { seal: typeof seal };
  return mod.seal(key, loginId, payload);
}

const ID = "A".repeat(28);
const SVG = '<svg viewBox="0 0 33 33"><path d="M0,0 V1 H1 V0 Z"/></svg>';

class FakeSocket {
  static last: FakeSocket | null = null;
  readyState = 1;
  sent: string[] = [];
  closed = false;
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.last = this;
    queueMicrotask(() => this.onopen?.());
  }
  send(data: string) {
    this.sent.push(data);
  }
  close() {
    this.closed = true;
  }
  receive(event: BrowserEvent) {
    this.onmessage?.({ data: JSON.stringify(event) });
  }
  static OPEN = 1;
}

let publicKey: PublicEcJwk | null = null;
let creations = 0;

beforeEach(() => {
  creations = 0;
  vi.stubGlobal("window", { addEventListener() {}, removeEventListener() {} });
  vi.stubGlobal("document", { hidden: false, addEventListener() {}, removeEventListener() {} });
  vi.stubGlobal("WebSocket", FakeSocket);
  vi.stubGlobal("fetch", async (url: string, init?: { body?: string }) => {
    if (url === "https://auth.test/api/qr/") {
      creations += 1;
      publicKey = JSON.parse(init!.body!).public_key;
      const body = {
        id: ID,
        secret: "s".repeat(43),
        qr_url: `https://auth.test/qr/${ID}`,
        ws_url: `wss://auth.test/api/qr/${ID}/ws/`,
        svg_url: `https://auth.test/api/qr/${ID}/svg/`,
        expires_at: new Date(Date.now() + 120_000).toISOString(),
      };
      return new Response(JSON.stringify(body), { status: 201, headers: { date: new Date().toUTCString() } });
    }
    return new Response(SVG);
  });
});

afterEach(() => {
  vi.unstubAllGlobals();
});

function record() {
  const states: QrLoginState[] = [];
  const next = (state: QrLoginState["state"]) => vi.waitUntil(() => states.find((s) => s.state === state), { timeout: 3000 });
  return { states, next, onState: (s: QrLoginState) => states.push(s) };
}

describe("startQrLogin", () => {
  it("starting → pending (the code and its URL) → scanned (the account, no code) → submitCode → confirming → signing-in → approved with the pair it opened", async () => {
    const r = record();
    const handle = startQrLogin({ baseUrl: "https://auth.test/", onState: r.onState });
    const pending = (await r.next("pending")) as Extract<QrLoginState, { state: "pending" }>;
    expect(pending).toMatchObject({ id: ID, url: `https://auth.test/qr/${ID}`, svg: SVG });
    expect(FakeSocket.last!.url).toBe(`wss://auth.test/api/qr/${ID}/ws/?secret=${"s".repeat(43)}`);
    expect(handle.submitCode("47")).toBe(false);
    FakeSocket.last!.receive({ type: "scanned", user: { id: 1, username: "alice" }, expires_at: "" });
    expect(await r.next("scanned")).toMatchObject({ id: ID, user: { username: "alice" } });
    expect(handle.submitCode(" 4 7 ")).toBe(true);
    expect(await r.next("confirming")).toMatchObject({ code: "47", user: { username: "alice" } });
    expect(FakeSocket.last!.sent).toEqual([JSON.stringify({ type: "code", code: "47" })]);
    // One try: a second submit sends nothing.
    expect(handle.submitCode("48")).toBe(false);
    const sealed = await seal(publicKey!, ID, { access: "a.b.c", refresh: "d.e.f", user: { id: 1, username: "alice" } });
    FakeSocket.last!.receive({ type: "approved", sealed });
    expect(await r.next("approved")).toEqual({
      state: "approved",
      pair: { access: "a.b.c", refresh: "d.e.f" },
      user: { id: 1, username: "alice" },
    });
    expect(r.states.map((s) => s.state)).toEqual(["starting", "pending", "scanned", "confirming", "signing-in", "approved"]);
    expect(FakeSocket.last!.closed).toBe(true);
  });

  it("submitCode refuses anything but two digits, and sends nothing", async () => {
    const r = record();
    const handle = startQrLogin({ baseUrl: "https://auth.test", onState: r.onState });
    await r.next("pending");
    FakeSocket.last!.receive({ type: "scanned", user: { id: 1, username: "alice" }, expires_at: "" });
    await r.next("scanned");
    for (const bad of ["", "4", "470", "ab", "4a", "-1"]) expect(handle.submitCode(bad), bad).toBe(false);
    expect(FakeSocket.last!.sent).toEqual([]);
    expect(handle.submitCode("07")).toBe(true);
  });

  it("after a reconnect the typed code is sent again on the new socket (the pair goes only to a socket that sent it), and the state stays confirming", async () => {
    const r = record();
    const handle = startQrLogin({ baseUrl: "https://auth.test", onState: r.onState });
    await r.next("pending");
    const first = FakeSocket.last!;
    first.receive({ type: "scanned", user: { id: 1, username: "alice" }, expires_at: "" });
    await r.next("scanned");
    handle.submitCode("47");
    first.onclose?.();
    await vi.waitUntil(() => FakeSocket.last !== first, { timeout: 3000 });
    const second = FakeSocket.last!;
    await new Promise((resolve) => setTimeout(resolve, 0));
    second.receive({ type: "scanned", user: { id: 1, username: "alice" }, expires_at: "" });
    expect(second.sent).toEqual([JSON.stringify({ type: "code", code: "47" })]);
    expect(r.states.filter((s) => s.state === "scanned")).toHaveLength(1);
    expect(r.states.at(-1)).toMatchObject({ state: "confirming", code: "47" });
  });

  it("a code typed while the socket is down is sent by the next connection", async () => {
    const r = record();
    const handle = startQrLogin({ baseUrl: "https://auth.test", onState: r.onState });
    await r.next("pending");
    const first = FakeSocket.last!;
    first.receive({ type: "scanned", user: { id: 1, username: "alice" }, expires_at: "" });
    await r.next("scanned");
    first.readyState = 3;
    expect(handle.submitCode("47")).toBe(true);
    expect(first.sent).toEqual([]);
    first.onclose?.();
    await vi.waitUntil(() => FakeSocket.last !== first, { timeout: 3000 });
    FakeSocket.last!.receive({ type: "scanned", user: { id: 1, username: "alice" }, expires_at: "" });
    expect(FakeSocket.last!.sent).toEqual([JSON.stringify({ type: "code", code: "47" })]);
  });

  it("a pair sealed for another login is never used: error, then a new code", async () => {
    const r = record();
    startQrLogin({ baseUrl: "https://auth.test", onState: r.onState });
    await r.next("pending");
    const sealed = await seal(publicKey!, "B".repeat(28), { access: "x", refresh: "y", user: { id: 2, username: "mallory" } });
    FakeSocket.last!.receive({ type: "approved", sealed });
    expect(await r.next("error")).toMatchObject({ message: "The sign-in could not be opened on this page." });
    await vi.waitUntil(() => creations === 2);
    expect(r.states.some((s) => s.state === "approved")).toBe(false);
  });

  it("denied carries its reason; expired starts a new code by itself", async () => {
    const r = record();
    startQrLogin({ baseUrl: "https://auth.test", onState: r.onState });
    await r.next("pending");
    FakeSocket.last!.receive({ type: "denied", reason: "code_mismatch" });
    expect(await r.next("denied")).toEqual({ state: "denied", reason: "code_mismatch" });
    expect(qrStateText({ state: "denied", reason: "code_mismatch" }).status).toMatch(/did not match/);

    const e = record();
    startQrLogin({ baseUrl: "https://auth.test", onState: e.onState });
    await e.next("pending");
    const before = creations;
    FakeSocket.last!.receive({ type: "expired" });
    await e.next("expired");
    await vi.waitUntil(() => creations === before + 1);
  });

  it("cancel() tells the server to end the open login, then stays silent", async () => {
    const r = record();
    const handle = startQrLogin({ baseUrl: "https://auth.test", onState: r.onState });
    await r.next("pending");
    const socket = FakeSocket.last!;
    handle.cancel();
    expect(socket.sent).toEqual([JSON.stringify({ type: "cancel" })]);
    const count = r.states.length;
    socket.receive({ type: "scanned", user: { id: 1, username: "x" }, expires_at: "" });
    expect(r.states.length).toBe(count);
  });

  it("one state→text table: the scanned step says each thing once (who scanned, what to type), and never a code", () => {
    const user = { id: 1, username: "alice" };
    const scanned = qrStateText({ state: "scanned", id: ID, user, expiresAt: 0 });
    expect(scanned.prompt).toBe("alice scanned this code — type the number shown on your phone");
    expect(codePrompt("alice")).toBe(scanned.prompt);
    expect(scanned.status).toBe("");
    expect(qrStateText({ state: "confirming", id: ID, user, code: "47", expiresAt: 0 }).status).toBe("Now tap Approve on alice's phone.");
  });
});
