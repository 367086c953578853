/** What a QR-login browser does in tests: its ECDH key, the body that starts a login, opening the sealed pair; and the check code, read from the object. */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { open } from "../src/qr/seal";
import type { PublicEcJwk, QrUser, SealedPair } from "../src/qr/policy";
import type { QrRecord } from "../src/qr/session";
import type { QrCreated } from "../src/qr/wire";
import { api, type Call, type Via } from "./helpers";

export interface BrowserKey {
  privateKey: CryptoKey;
  publicJwk: PublicEcJwk;
}

/** A browser's key pair as the login page makes it: ECDH P-256, private key non-extractable. */
export async function browserKey(): Promise<BrowserKey> {
  const pair = (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, false, ["deriveBits"])) as CryptoKeyPair;
  const jwk = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as JsonWebKey;
  return { privateKey: pair.privateKey, publicJwk: { kty: "EC", crv: "P-256", x: jwk.x!, y: jwk.y! } };
}

let shared: Promise<BrowserKey> | null = null;
/** One key for tests that only need a valid body (making a key costs ~1 ms). */
export function sharedBrowserKey(): Promise<BrowserKey> {
  return (shared ??= browserKey());
}

/** The body of POST /api/qr/ for `key`. */
export async function startBody(key?: BrowserKey): Promise<{ public_key: PublicEcJwk }> {
  return { public_key: (key ?? (await sharedBrowserKey())).publicJwk };
}

/** The answer of POST /api/qr/ (src/qr/wire.ts), plus the test browser's key the login was started with. */
export type CreatedQr = QrCreated & { key: BrowserKey };

/** Starts a login as the login page does: a fresh browser key, its public half in the body. */
export async function createQr(via: Via = api, call: Call = {}): Promise<CreatedQr> {
  const key = await browserKey();
  const res = await via("/api/qr/", { method: "POST", body: { public_key: key.publicJwk }, ...call });
  expect(res.status).toBe(201);
  return { ...((await res.json()) as Omit<CreatedQr, "key">), key };
}

/** The browser opens its socket, as the login page does at once, and reads the first event: the phone can scan only a code whose browser listens. */
export async function listen(qr: Pick<QrCreated, "id" | "secret">, via: Via = api): Promise<WebSocket> {
  const res = await via(`/api/qr/${qr.id}/ws/?secret=${encodeURIComponent(qr.secret)}`, { headers: { upgrade: "websocket" } });
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  const first = new Promise((resolve) => ws.addEventListener("message", resolve, { once: true }));
  ws.accept();
  await first;
  return ws;
}

export interface OpenedPair {
  access: string;
  refresh: string;
  user: QrUser;
}

/** Opens an `approved` event's sealed pair with the browser's private key, as the login page does. */
export function openPair(key: BrowserKey, loginId: string, sealed: SealedPair): Promise<OpenedPair> {
  return open<OpenedPair>(key.privateKey, loginId, sealed);
}

export function qrStub(id: string) {
  return env.QR_SESSION.get(env.QR_SESSION.idFromName(id));
}

/** The object's record, read from its storage. */
export function qrRecord(id: string): Promise<QrRecord | undefined> {
  return runInDurableObject(qrStub(id), async (_instance, state) => state.storage.get<QrRecord>("qr"));
}

/** The code the scan drew (what the phone shows and the browser's user types); throws before the scan. */
export async function checkCodeOf(id: string): Promise<string> {
  const code = (await qrRecord(id))?.code;
  if (!code) throw new Error(`login ${id} has not been scanned`);
  return code;
}
