/**
 * @module Account Tokens — the `uid` and `token` of mailed links, as Django's PasswordResetTokenGenerator makes them.
 *
 * - `uid`: urlsafe_base64_encode(force_bytes(pk)): the decimal id's bytes in base64url, unpadded ("1" → "MQ").
 * - `token`: `<timestamp in base 36>-<32 hex digits>`, the timestamp in seconds since 2001-01-01 (Django's epoch), the
 *   digits every other hex digit of HMAC-SHA256 (Django's `[::2]`) over the purpose, the user id, the current password
 *   hash, the last login, the timestamp and the email; the key is derived (HKDF, label per purpose) from the signing
 *   keys, so nothing new is secret and every configured key verifies (rotation keeps links in flight).
 * So a link dies when it expires (PASSWORD_RESET_TIMEOUT), when the password changes (a reset's own use changes it:
 * single-use), at the next sign-in (last login), and when the email changes. Nothing is stored.
 * Time is an input: `nowSeconds` is epoch seconds.
 */
import type { Config } from "../config";
import { base64UrlToBytes, bytesToBase64Url } from "../lib/bytes";

export type TokenPurpose = "password_reset" | "activation" | "email_change" | "not_me";

/** What a token is bound to: any change of these voids it. */
export interface TokenUser {
  id: number;
  passwordHash: string;
  lastLogin: number | null;
  email: string;
}

/** datetime(2001, 1, 1) as epoch seconds: Django's token timestamps count from here. */
const DJANGO_TOKEN_EPOCH = 978_307_200;
const TOKEN = /^([0-9a-z]{1,13})-([0-9a-f]{32})$/;
const encoder = new TextEncoder();

/** Django's urlsafe_base64_encode(force_bytes(pk)). */
export function encodeUid(id: number): string {
  return bytesToBase64Url(encoder.encode(String(id)));
}

/** The user id a `uid` names, or null: only the canonical spelling of a positive safe integer. */
export function decodeUid(uid: string): number | null {
  if (uid.length === 0 || uid.length > 24 || !/^[A-Za-z0-9_-]+$/.test(uid)) return null;
  let text: string;
  try {
    text = String.fromCharCode(...base64UrlToBytes(uid));
  } catch {
    return null;
  }
  if (!/^[1-9][0-9]{0,15}$/.test(text)) return null;
  const id = Number(text);
  // One spelling per id: no padding, no trailing bits, no leading zeros.
  return Number.isSafeInteger(id) && encodeUid(id) === uid ? id : null;
}

/** Each private JWK's `d`, or HS256's shared secret: what only this deployment holds. */
function secrets(config: Config): Uint8Array[] {
  if (config.jwtAlgorithm === "HS256") return [encoder.encode(config.jwtSecret ?? "")];
  const parsed = JSON.parse(config.signingKeysJson ?? "{}") as { keys?: Array<{ d?: unknown }> };
  return (parsed.keys ?? []).filter((k) => typeof k.d === "string").map((k) => base64UrlToBytes(k.d as string));
}

/** Derived keys per config and purpose: values (CryptoKeys), never a promise, shared by the isolate's requests. */
const keyCache = new WeakMap<Config, Map<TokenPurpose, CryptoKey[]>>();

async function keysFor(config: Config, purpose: TokenPurpose): Promise<CryptoKey[]> {
  let byPurpose = keyCache.get(config);
  const cached = byPurpose?.get(purpose);
  if (cached) return cached;
  const info = encoder.encode(`account-token ${purpose} v1`);
  const keys = await Promise.all(
    secrets(config).map(async (secret) => {
      const ikm = await crypto.subtle.importKey("raw", secret, "HKDF", false, ["deriveKey"]);
      return crypto.subtle.deriveKey(
        { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info },
        ikm,
        { name: "HMAC", hash: "SHA-256", length: 256 },
        false,
        ["sign"],
      );
    }),
  );
  if (keys.length === 0) throw new Error("no secret to derive account-token keys from");
  if (!byPurpose) keyCache.set(config, (byPurpose = new Map()));
  byPurpose.set(purpose, keys);
  return keys;
}

async function digest(key: CryptoKey, purpose: TokenPurpose, user: TokenUser, timestamp: number): Promise<string> {
  // JSON: one unambiguous encoding of the fields (Django concatenates; its fields cannot collide, ours need not care).
  const message = JSON.stringify([purpose, user.id, user.passwordHash, user.lastLogin ?? "", timestamp, user.email]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(message)));
  const hex = Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
  let every = "";
  for (let i = 0; i < hex.length; i += 2) every += hex[i];
  return every;
}

/** A token for `user` made at `nowSeconds`. */
export async function makeAccountToken(config: Config, purpose: TokenPurpose, user: TokenUser, nowSeconds: number): Promise<string> {
  const timestamp = nowSeconds - DJANGO_TOKEN_EPOCH;
  const [signing] = await keysFor(config, purpose);
  return `${timestamp.toString(36)}-${await digest(signing!, purpose, user, timestamp)}`;
}

/** Whether `token` was made for `user` as it is now, less than PASSWORD_RESET_TIMEOUT ago. Compared in constant time. */
export async function checkAccountToken(
  config: Config,
  purpose: TokenPurpose,
  user: TokenUser,
  token: string,
  nowSeconds: number,
  maxAgeSeconds = config.passwordResetTimeoutSeconds,
): Promise<boolean> {
  const match = TOKEN.exec(token);
  if (!match) return false;
  const timestamp = parseInt(match[1]!, 36);
  const age = nowSeconds - DJANGO_TOKEN_EPOCH - timestamp;
  // Django: older than the timeout is invalid. One made "in the future" came from a clock we do not trust either.
  if (!Number.isSafeInteger(timestamp) || age > maxAgeSeconds || age < -60) return false;
  const presented = encoder.encode(match[2]!);
  let ok = false;
  for (const key of await keysFor(config, purpose)) {
    const expected = encoder.encode(await digest(key, purpose, user, timestamp));
    if (crypto.subtle.timingSafeEqual(expected, presented)) ok = true;
  }
  return ok;
}
