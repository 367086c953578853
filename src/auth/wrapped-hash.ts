/**
 * @module Wrapped Hash — weak Django hashes (sha1, md5, unsalted, PBKDF2 below WRAP_BELOW_ITERATIONS) wrapped in
 * argon2id at import, as Django's documented "password upgrading without requiring a login" does with its
 * PBKDF2WrappedSHA1PasswordHasher: the stored value is argon2id over the old hasher's output, so a leaked table
 * costs an attacker argon2id per guess, and the user's password still works (upgraded to plain argon2id at the next
 * sign-in). Format: `argon2_wrapped_<inner>$<inner fields>$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>`, the inner
 * fields being `<salt>` (sha1, md5), empty (unsalted_sha1, unsalted_md5) or `<iterations>$<salt>` (pbkdf2_*).
 * Django reads them with the hashers in docs/django.md ("Passwords"), so a rollback keeps every account.
 */
import { md5, sha1 } from "@noble/hashes/legacy.js";
import { argon2 } from "./argon2";
import { ARGON2_PARAMS, WRAPPED_PREFIX, type WrappedInner } from "./hash-format";
import { bytesToBase64 } from "../lib/bytes";

/** PBKDF2 hashes below this many iterations are wrapped at import: each guess at them costs under ~0.1 s. */
const WRAP_BELOW_ITERATIONS = 100_000;
const encoder = new TextEncoder();

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The inner hasher's output for `password`, exactly as Django writes it in its own hash string. */
export async function innerDigest(
  inner: WrappedInner,
  password: string,
  pbkdf2: (algorithm: "pbkdf2_sha256" | "pbkdf2_sha1", password: string, salt: string, iterations: number) => Promise<Uint8Array>,
): Promise<string> {
  switch (inner.algorithm) {
    case "sha1":
      return hex(sha1(encoder.encode(inner.salt + password)));
    case "md5":
      return hex(md5(encoder.encode(inner.salt + password)));
    case "unsalted_sha1":
      return hex(sha1(encoder.encode(password)));
    case "unsalted_md5":
      return hex(md5(encoder.encode(password)));
    default:
      return bytesToBase64(await pbkdf2(inner.algorithm, password, inner.salt, inner.iterations));
  }
}

/** A stored Django hash this worker should wrap: the inner hasher and the digest already stored; null otherwise. */
export function weakHash(encoded: string): { inner: WrappedInner; digest: string } | null {
  let m = /^(sha1|md5)\$([^$]+)\$([0-9a-f]+)$/.exec(encoded);
  if (m && m[3]!.length === (m[1] === "sha1" ? 40 : 32))
    return { inner: { algorithm: m[1] as "sha1" | "md5", salt: m[2]! }, digest: m[3]! };
  m = /^sha1\$\$([0-9a-f]{40})$/.exec(encoded);
  if (m) return { inner: { algorithm: "unsalted_sha1" }, digest: m[1]! };
  m = /^(?:md5\$\$)?([0-9a-f]{32})$/.exec(encoded);
  if (m) return { inner: { algorithm: "unsalted_md5" }, digest: m[1]! };
  m = /^(pbkdf2_sha256|pbkdf2_sha1)\$([1-9][0-9]{0,5})\$([^$]+)\$([A-Za-z0-9+/]+={0,2})$/.exec(encoded);
  if (m && Number(m[2]) < WRAP_BELOW_ITERATIONS)
    return { inner: { algorithm: m[1] as "pbkdf2_sha256" | "pbkdf2_sha1", iterations: Number(m[2]), salt: m[3]! }, digest: m[4]! };
  return null;
}

function unpadded(bytes: Uint8Array): string {
  return bytesToBase64(bytes).replace(/=+$/, "");
}

/** The wrapped form of a weak hash: argon2id (ARGON2_PARAMS, a fresh 16-byte salt) over the digest it stores. */
export function wrapWeakHash(weak: { inner: WrappedInner; digest: string }, salt = crypto.getRandomValues(new Uint8Array(16))): string {
  const hash = argon2("argon2id", encoder.encode(weak.digest), salt, ARGON2_PARAMS, 32);
  const inner = weak.inner;
  const fields = "iterations" in inner ? `${inner.iterations}$${inner.salt}` : "salt" in inner ? inner.salt : "";
  const { memoryKiB, timeCost, parallelism } = ARGON2_PARAMS;
  return `${WRAPPED_PREFIX}${inner.algorithm}$${fields}$argon2id$v=19$m=${memoryKiB},t=${timeCost},p=${parallelism}$${unpadded(salt)}$${unpadded(hash)}`;
}
