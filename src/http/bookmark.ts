/**
 * @module Bookmark — the X-D1-Bookmark this deployment hands out, sealed so that only its own come back.
 *
 * Wire format: `<D1 bookmark>.<issued at, epoch ms in base 36>.<tag>`, the tag being the first 16 bytes of
 * HMAC-SHA256 over the two first parts (base64url), under a key derived (HKDF, its own label) from the signing keys.
 * A client's bookmark does two things: its D1 session starts there (it reads its own writes), and an isolate's cached
 * copy of a row read *before* the bookmark was handed out is not trusted for it. A made-up or altered value does
 * neither — it is ignored, as a malformed one always was — so no client can force a D1 read per request with it.
 * Every configured key verifies, so rotating the signing keys does not void bookmarks in flight.
 */
import type { Config } from "../config";
import { base64UrlToBytes, bytesToBase64Url, constantTimeEqual } from "../lib/bytes";

/** A genuine bookmark: D1's own, and when this deployment handed it out (epoch ms, its clock). */
interface PresentedBookmark {
  d1: string;
  issuedAtMs: number;
}

/** Bookmarks as D1 writes them (`00000000-00000001-…`). */
const D1_BOOKMARK = /^[0-9a-f]{8}(?:-[0-9a-f]{1,64}){1,8}$/i;
const SEALED = /^([0-9a-f-]{8,600})\.([0-9a-z]{1,11})\.([A-Za-z0-9_-]{22})$/i;
const TAG_BYTES = 16;
const encoder = new TextEncoder();
const INFO = encoder.encode("x-d1-bookmark v1");

interface BookmarkKeys {
  signing: CryptoKey;
  verifying: CryptoKey[];
}

async function deriveKey(secret: Uint8Array): Promise<CryptoKey> {
  const ikm = await crypto.subtle.importKey("raw", secret, "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: INFO },
    ikm,
    { name: "HMAC", hash: "SHA-256", length: 256 },
    false,
    ["sign"],
  );
}

/** Each private JWK's `d`, or HS256's shared secret: what only this deployment holds. */
function secrets(config: Config): Uint8Array[] {
  if (config.jwtAlgorithm === "HS256") return [encoder.encode(config.jwtSecret ?? "")];
  const parsed = JSON.parse(config.signingKeysJson ?? "{}") as { keys?: Array<{ d?: unknown }> };
  return (parsed.keys ?? []).filter((k) => typeof k.d === "string").map((k) => base64UrlToBytes(k.d as string));
}

// Keys as values, never a promise one request's I/O settles for another (src/lib/memo.ts says why).
const keysByConfig = new WeakMap<Config, BookmarkKeys>();

/** Derived once per isolate and config (the config object is itself memoised per env); concurrent misses each derive. */
async function keysFor(config: Config): Promise<BookmarkKeys> {
  const held = keysByConfig.get(config);
  if (held) return held;
  const list = await Promise.all(secrets(config).map(deriveKey));
  if (list.length === 0) throw new Error("no secret to derive bookmark keys from");
  if (!keysByConfig.has(config)) keysByConfig.set(config, { signing: list[0]!, verifying: list });
  return keysByConfig.get(config)!;
}

async function tag(key: CryptoKey, body: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(body))).slice(0, TAG_BYTES);
}

/** What the response's X-D1-Bookmark carries: D1's bookmark, sealed with the time it is handed out. */
export async function sealBookmark(config: Config, d1Bookmark: string, nowMs: number): Promise<string> {
  const body = `${d1Bookmark}.${Math.floor(nowMs).toString(36)}`;
  return `${body}.${bytesToBase64Url(await tag((await keysFor(config)).signing, body))}`;
}

/** The client's X-D1-Bookmark if this deployment handed it out (any configured key); null for anything else. */
export async function openBookmark(config: Config, header: string | null | undefined): Promise<PresentedBookmark | null> {
  if (!header || header.length > 700) return null;
  const match = SEALED.exec(header);
  if (!match || !D1_BOOKMARK.test(match[1]!)) return null;
  const body = `${match[1]}.${match[2]}`;
  const presented = base64UrlToBytes(match[3]!);
  for (const key of (await keysFor(config)).verifying) {
    if (constantTimeEqual(presented, await tag(key, body))) return { d1: match[1]!, issuedAtMs: parseInt(match[2]!, 36) };
  }
  return null;
}
