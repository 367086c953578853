/**
 * @module QR Ids — the login id (public, in the QR code) and the browser's secret (never in a URL we publish).
 *
 * An id carries its own proof of origin: 13 random bytes followed by the first 8 bytes of an
 * HMAC-SHA256 over them, under a key derived from the worker's signing secret. A well-formed id that
 * this worker never issued fails that check and is answered 404 before any Durable Object is
 * addressed, so guessing ids costs an attacker requests and us nothing (no object woken, no storage).
 */
import type { Config } from "../config";
import { base64UrlToBytes, bytesToBase64Url, constantTimeEqual, randomToken } from "../lib/bytes";
import { Memo } from "../lib/memo";

/** 13 random bytes: 104 bits, so ids never collide and cannot be enumerated (ids are public; the secret is separate). */
const QR_ID_RANDOM_BYTES = 13;
/** 8 bytes of MAC: forging one id takes ~2^64 online guesses, each of which is rate limited. */
const QR_ID_TAG_BYTES = 8;
/** 32 random bytes as base64url (43 characters); only its SHA-256 is stored. */
const QR_SECRET_BYTES = 32;

// (13 + 8) bytes of base64url: 28 characters, so a 28-character origin's phone URL still fits a 33×33 code.
const QR_ID = /^[A-Za-z0-9_-]{28}$/;
const QR_SECRET = /^[A-Za-z0-9_-]{43}$/;
const encoder = new TextEncoder();
// Domain separation: this key signs ids and nothing else, whatever secret it is derived from.
const ID_KEY_INFO = encoder.encode("qr-login id v1");

/** The MAC keys: the first signs new ids; all verify, so rotating the signing keys does not void open logins. */
export interface QrIdKeys {
  signing: CryptoKey;
  verifying: CryptoKey[];
}

async function deriveIdKey(secretBytes: Uint8Array): Promise<CryptoKey> {
  const ikm = await crypto.subtle.importKey("raw", secretBytes, "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: ID_KEY_INFO },
    ikm,
    { name: "HMAC", hash: "SHA-256", length: 256 },
    false,
    ["sign"],
  );
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
    const list = await Promise.all(keySecrets(config).map(deriveIdKey));
    if (list.length === 0) throw new Error("no secret to derive QR id keys from");
    return { signing: list[0]!, verifying: list };
  });
}

async function tag(key: CryptoKey, random: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, random)).slice(0, QR_ID_TAG_BYTES);
}

/** A new id this worker can later recognise as its own. */
export async function newQrId(keys: QrIdKeys): Promise<string> {
  const random = crypto.getRandomValues(new Uint8Array(QR_ID_RANDOM_BYTES));
  const id = new Uint8Array(QR_ID_RANDOM_BYTES + QR_ID_TAG_BYTES);
  id.set(random);
  id.set(await tag(keys.signing, random), QR_ID_RANDOM_BYTES);
  return bytesToBase64Url(id);
}

/** Whether `value` is an id this worker issued (under any configured key): format first, then the MAC, in constant time. */
export async function isIssuedQrId(keys: QrIdKeys, value: string | undefined | null): Promise<boolean> {
  if (!isQrId(value)) return false;
  const bytes = base64UrlToBytes(value);
  const random = bytes.slice(0, QR_ID_RANDOM_BYTES);
  const presented = bytes.slice(QR_ID_RANDOM_BYTES);
  for (const key of keys.verifying) {
    if (constantTimeEqual(presented, await tag(key, random))) return true;
  }
  return false;
}

export function newQrSecret(): string {
  return randomToken(QR_SECRET_BYTES);
}

/** A syntactic check only; isIssuedQrId is the one that proves the worker made it. */
export function isQrId(value: string | undefined | null): value is string {
  return typeof value === "string" && QR_ID.test(value);
}

export function isQrSecret(value: string | undefined | null): value is string {
  return typeof value === "string" && QR_SECRET.test(value);
}

/** Headers on the worker → object upgrade request; the worker always sets them, overwriting any a client sent. */
export const SECRET_HEADER = "x-qr-secret";
export const NOW_HEADER = "x-qr-now";
