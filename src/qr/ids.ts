/**
 * @module QR Ids — the login id (public, in the QR code) and the browser's secret (never in a URL we publish).
 *
 * An id carries its own proof of origin and its expiry: 6 bytes of expiry (epoch ms) and 7 random bytes,
 * followed by the first 8 bytes of an HMAC-SHA256 over those 13, under a key derived from the worker's
 * signing secret. A well-formed id that this worker never issued fails that check and is answered 404 before
 * any Durable Object is addressed, so guessing ids costs an attacker requests and us nothing.
 *
 * The secret is the login's ticket: what the object must know about the browser (its public key, device, place,
 * creation time) sealed with AES-256-GCM under another derived key, the id as additional data. So starting a
 * login stores nothing anywhere: the browser hands the ticket back when it opens its socket, and only a ticket
 * this worker sealed for this id opens (the GCM tag is checked in constant time).
 */
import type { Config } from "../config";
import { base64UrlToBytes, bytesToBase64Url, constantTimeEqual } from "../lib/bytes";
import { Memo } from "../lib/memo";

/** The expiry in ms (48 bits: until the year 10889), so the worker knows an id's time without asking anyone. */
const QR_ID_EXPIRY_BYTES = 6;
/** 7 random bytes: two ids expiring in the same millisecond collide once in 2^28 pairs; the MAC stops enumeration. */
const QR_ID_RANDOM_BYTES = 7;
const QR_ID_BODY_BYTES = QR_ID_EXPIRY_BYTES + QR_ID_RANDOM_BYTES;
/** 8 bytes of MAC: forging one id takes ~2^64 online guesses, each of which is rate limited. */
const QR_ID_TAG_BYTES = 8;
const TICKET_IV_BYTES = 12;

// (13 + 8) bytes of base64url: 28 characters, so a 28-character origin's phone URL still fits a 33×33 code.
const QR_ID = /^[A-Za-z0-9_-]{28}$/;
// iv + GCM tag + a ticket's JSON: a few hundred bytes; 4096 characters bound what the worker will try to open.
const QR_SECRET = /^[A-Za-z0-9_-]{43,4096}$/;
const encoder = new TextEncoder();
// Domain separation: this key signs ids and nothing else, whatever secret it is derived from.
const ID_KEY_INFO = encoder.encode("qr-login id v1");
const TICKET_KEY_INFO = encoder.encode("qr-login ticket v1");
const decoder = new TextDecoder();

/** The first key of each kind makes new ids and tickets; all open them, so rotating the signing keys does not void open logins. */
export interface QrIdKeys {
  signing: CryptoKey;
  verifying: CryptoKey[];
  sealing: CryptoKey;
  opening: CryptoKey[];
}

async function deriveKeys(secretBytes: Uint8Array): Promise<{ mac: CryptoKey; ticket: CryptoKey }> {
  const ikm = await crypto.subtle.importKey("raw", secretBytes, "HKDF", false, ["deriveKey"]);
  const hkdf = (info: Uint8Array) => ({ name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info });
  const [mac, ticket] = await Promise.all([
    crypto.subtle.deriveKey(hkdf(ID_KEY_INFO), ikm, { name: "HMAC", hash: "SHA-256", length: 256 }, false, ["sign"]),
    crypto.subtle.deriveKey(hkdf(TICKET_KEY_INFO), ikm, { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]),
  ]);
  return { mac, ticket };
}

/** The secret material of every configured key: each private JWK's `d`, or HS256's shared secret. */
function keySecrets(config: Config): Uint8Array[] {
  if (config.jwtAlgorithm === "HS256") return [encoder.encode(config.jwtSecret ?? "")];
  const parsed = JSON.parse(config.signingKeysJson ?? "{}") as { keys?: Array<{ d?: unknown }> };
  const secrets = (parsed.keys ?? []).filter((k) => typeof k.d === "string").map((k) => base64UrlToBytes(k.d as string));
  // The key ring (auth/keys.ts) has already refused a set whose first key lacks `d`.
  return secrets;
}

const idKeys = new Memo<QrIdKeys>(4);

/** The id keys for this config, derived once per isolate (kept as values, src/lib/memo.ts). */
export function getQrIdKeys(config: Config): Promise<QrIdKeys> {
  return idKeys.get(`${config.jwtAlgorithm}\u0000${config.jwtSecret ?? config.signingKeysJson ?? ""}`, async () => {
    const list = await Promise.all(keySecrets(config).map(deriveKeys));
    if (list.length === 0) throw new Error("no secret to derive QR id keys from");
    const verifying = list.map((k) => k.mac);
    const opening = list.map((k) => k.ticket);
    return { signing: verifying[0]!, verifying, sealing: opening[0]!, opening };
  });
}

async function tag(key: CryptoKey, random: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, random)).slice(0, QR_ID_TAG_BYTES);
}

/** A new id, expiring at `expiresAtMs`, that this worker can later recognise as its own. */
export async function newQrId(keys: QrIdKeys, expiresAtMs: number): Promise<string> {
  const body = new Uint8Array(QR_ID_BODY_BYTES);
  new DataView(body.buffer).setUint16(0, Math.floor(expiresAtMs / 2 ** 32));
  new DataView(body.buffer).setUint32(2, expiresAtMs % 2 ** 32);
  body.set(crypto.getRandomValues(new Uint8Array(QR_ID_RANDOM_BYTES)), QR_ID_EXPIRY_BYTES);
  const id = new Uint8Array(QR_ID_BODY_BYTES + QR_ID_TAG_BYTES);
  id.set(body);
  id.set(await tag(keys.signing, body), QR_ID_BODY_BYTES);
  return bytesToBase64Url(id);
}

/** When a well-formed id expires (epoch ms): read from the id itself, so call it only on an id isIssuedQrId accepted. */
export function qrIdExpiresAtMs(id: string): number {
  const bytes = base64UrlToBytes(id);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return view.getUint16(0) * 2 ** 32 + view.getUint32(2);
}

/** Whether `value` is an id this worker issued (under any configured key): format first, then the MAC, in constant time. */
export async function isIssuedQrId(keys: QrIdKeys, value: string | undefined | null): Promise<boolean> {
  if (!isQrId(value)) return false;
  const bytes = base64UrlToBytes(value);
  const body = bytes.slice(0, QR_ID_BODY_BYTES);
  const presented = bytes.slice(QR_ID_BODY_BYTES);
  for (const key of keys.verifying) {
    if (constantTimeEqual(presented, await tag(key, body))) return true;
  }
  return false;
}

/** The browser's secret for login `id`: `ticket` sealed to this worker, bound to the id. */
export async function newQrSecret(keys: QrIdKeys, id: string, ticket: object): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(TICKET_IV_BYTES));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: encoder.encode(id) },
      keys.sealing,
      encoder.encode(JSON.stringify(ticket)),
    ),
  );
  const out = new Uint8Array(TICKET_IV_BYTES + sealed.length);
  out.set(iv);
  out.set(sealed, TICKET_IV_BYTES);
  return bytesToBase64Url(out);
}

/** The ticket a secret carries when this worker sealed it for `id` (under any configured key); null for anything else. */
export async function openQrSecret<T>(keys: QrIdKeys, id: string, secret: string | undefined | null): Promise<T | null> {
  if (!isQrSecret(secret)) return null;
  let bytes: Uint8Array;
  try {
    bytes = base64UrlToBytes(secret);
  } catch {
    // A length no base64 has: not a secret we made.
    return null;
  }
  const iv = bytes.slice(0, TICKET_IV_BYTES);
  const sealed = bytes.slice(TICKET_IV_BYTES);
  for (const key of keys.opening) {
    try {
      const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv, additionalData: encoder.encode(id) }, key, sealed);
      return JSON.parse(decoder.decode(plain)) as T;
    } catch {
      // Not sealed under this key (or not for this id): try the next.
    }
  }
  return null;
}

/** A syntactic check only; isIssuedQrId is the one that proves the worker made it. */
export function isQrId(value: string | undefined | null): value is string {
  return typeof value === "string" && QR_ID.test(value);
}

export function isQrSecret(value: string | undefined | null): value is string {
  return typeof value === "string" && QR_SECRET.test(value);
}

/** Headers on the worker → object upgrade request; the worker always sets them, overwriting any a client sent. */
export const TICKET_HEADER = "x-qr-ticket";
export const NOW_HEADER = "x-qr-now";
