/**
 * @module Passwords — Django's password hash formats, both ways, and Django's password rules.
 *
 * Formats (exactly Django's `django.contrib.auth.hashers`, so hashes move between the two):
 * - `argon2$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>` (salt and hash unpadded base64;
 *   the salt is the bytes of a random 22-character string). New hashes: argon2id m = 19 MiB, t = 2, p = 1
 *   (OWASP's minimum), on one statically imported wasm instance per isolate (src/auth/argon2.ts).
 * - `argon2_wrapped_<inner>$…`: a weak hash (sha1, md5, unsalted, PBKDF2 < 100 000) wrapped in argon2id at
 *   import (src/auth/wrapped-hash.ts); upgraded to plain argon2id at the next sign-in.
 * - `pbkdf2_sha256$<iterations>$<salt>$<hash>` and `pbkdf2_sha1$…`: the salt is hashed as the UTF-8 bytes
 *   of the salt *string* (Django never base64-decodes it); the hash is padded base64. Any iteration count:
 *   up to 100 000 in one WebCrypto call (a deployed Worker refuses more per call), above in plain JS.
 * Anything but the current argon2 parameters is rehashed at the next successful sign-in.
 */
import { pbkdf2 as noblePbkdf2 } from "@noble/hashes/pbkdf2.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { bytesToBase64, constantTimeEqual } from "../lib/bytes";
import { Memo } from "../lib/memo";
import { ARGON2_PARAMS, type Argon2Params } from "../config";
import { parsePasswordHash, type ParsedHash } from "./hash-format";
import { argon2 } from "./argon2";
import { pbkdf2Sha256 } from "./pbkdf2";
import { innerDigest } from "./wrapped-hash";

export { ARGON2_PARAMS, parsePasswordHash } from "./hash-format";

/** Deployed Workers refuse a PBKDF2 call above this many iterations (NotSupportedError); local workerd does not. */
export const MAX_PBKDF2_ITERATIONS_PER_CALL = 100_000;
const ARGON2_HASH_BYTES = 32;
/** Django's salt: 22 characters of [a-zA-Z0-9], at least 128 bits. */
const SALT_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const SALT_LENGTH = 22;

const PASSWORD_MIN_LENGTH = 8;
/** Bounds hashing work per request; longer input is refused before any hashing. */
export const PASSWORD_MAX_LENGTH = 128;

const encoder = new TextEncoder();

function randomSalt(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(SALT_LENGTH));
  // 62 characters: the modulo bias is under 1 bit over 22 characters, as with Django's own get_random_string.
  return Array.from(bytes, (b) => SALT_CHARS[b % SALT_CHARS.length]).join("");
}

function unpaddedBase64(bytes: Uint8Array): string {
  return bytesToBase64(bytes).replace(/=+$/, "");
}

/** One WebCrypto PBKDF2 call; refuses to ask for more iterations than a deployed Worker allows. */
export async function webCryptoPbkdf2(
  password: Uint8Array,
  salt: Uint8Array,
  iterations: number,
  hash: "SHA-256" | "SHA-1",
  bytes: number,
): Promise<Uint8Array> {
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > MAX_PBKDF2_ITERATIONS_PER_CALL) {
    throw new RangeError(`PBKDF2 iterations must be 1..${MAX_PBKDF2_ITERATIONS_PER_CALL} per WebCrypto call, got ${iterations}`);
  }
  const key = await crypto.subtle.importKey("raw", password, "PBKDF2", false, ["deriveBits"]);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: "PBKDF2", hash, salt, iterations }, key, bytes * 8));
}

/** PBKDF2 at any count: WebCrypto up to its per-call cap, plain JS above it (same bytes either way). */
async function pbkdf2(algorithm: "pbkdf2_sha256" | "pbkdf2_sha1", password: string, salt: string, iterations: number): Promise<Uint8Array> {
  const p = encoder.encode(password);
  const s = encoder.encode(salt);
  const sha256 = algorithm === "pbkdf2_sha256";
  if (iterations <= MAX_PBKDF2_ITERATIONS_PER_CALL)
    return webCryptoPbkdf2(p, s, iterations, sha256 ? "SHA-256" : "SHA-1", sha256 ? 32 : 20);
  return sha256 ? pbkdf2Sha256(p, s, iterations) : noblePbkdf2(sha1, p, s, { c: iterations, dkLen: 20 });
}

async function runArgon2(
  variant: "argon2id" | "argon2i" | "argon2d",
  password: string,
  salt: Uint8Array,
  p: { memoryKiB: number; timeCost: number; parallelism: number },
  hashBytes: number,
): Promise<Uint8Array> {
  return argon2(variant, encoder.encode(password), salt, p, hashBytes);
}

/** The two KDFs, called through this object so tests can observe the work each check does. */
export const kdf = { argon2: runArgon2, pbkdf2 };

/** A new hash of `password` in the current format (argon2id at `params`: config.passwordHashParams). */
export async function hashPassword(password: string, params: Argon2Params = ARGON2_PARAMS): Promise<string> {
  const salt = encoder.encode(randomSalt());
  const hash = await kdf.argon2("argon2id", password, salt, params, ARGON2_HASH_BYTES);
  const { memoryKiB, timeCost, parallelism } = params;
  return `argon2$argon2id$v=19$m=${memoryKiB},t=${timeCost},p=${parallelism}$${unpaddedBase64(salt)}$${unpaddedBase64(hash)}`;
}

/** A `pbkdf2_sha256` hash as Django makes it (for imports, tests and operators who must stay on PBKDF2). */
export async function hashPasswordPbkdf2(password: string, iterations: number, salt = randomSalt()): Promise<string> {
  return `pbkdf2_sha256$${iterations}$${salt}$${bytesToBase64(await kdf.pbkdf2("pbkdf2_sha256", password, salt, iterations))}`;
}

/** Whether a hash is in the current format with the current parameters (else it is upgraded at sign-in). */
function isCurrent(parsed: ParsedHash, params: Argon2Params): boolean {
  return (
    parsed.algorithm === "argon2" &&
    parsed.variant === "argon2id" &&
    parsed.memoryKiB === params.memoryKiB &&
    parsed.timeCost === params.timeCost &&
    parsed.parallelism === params.parallelism
  );
}

async function derive(parsed: ParsedHash, password: string): Promise<Uint8Array> {
  if (parsed.algorithm === "argon2") return kdf.argon2(parsed.variant, password, parsed.salt, parsed, parsed.hash.length);
  // Wrapped at import: argon2 over what the old hasher made of the password (src/auth/wrapped-hash.ts).
  if (parsed.algorithm === "argon2_wrapped")
    return kdf.argon2(parsed.variant, await innerDigest(parsed.inner, password, kdf.pbkdf2), parsed.salt, parsed, parsed.hash.length);
  return kdf.pbkdf2(parsed.algorithm, password, parsed.salt, parsed.iterations);
}

// A hash of a random password in the current format: unknown users and unreadable hashes are checked
// against it, so those answers cost exactly what a wrong password of a current-format user costs.
const dummyHash = new Memo<ParsedHash>(2);
function getDummyHash(params: Argon2Params): Promise<ParsedHash> {
  const key = `${params.memoryKiB},${params.timeCost},${params.parallelism}`;
  return dummyHash.get(key, async () => parsePasswordHash(await hashPassword(crypto.randomUUID(), params))!);
}

export interface PasswordCheck {
  ok: boolean;
  /** The stored hash is not the current format or parameters: rehash now that the password is known. */
  needsRehash: boolean;
}

/**
 * Checks `password` against `encoded` in constant time. With `encoded === null` (no such user), an
 * unusable or unreadable hash, the same work is done against a dummy current-format hash and the answer is false.
 */
export async function verifyPassword(
  password: string,
  encoded: string | null,
  params: Argon2Params = ARGON2_PARAMS,
): Promise<PasswordCheck> {
  const parsed = encoded === null ? null : parsePasswordHash(encoded);
  if (!parsed) {
    const dummy = await getDummyHash(params);
    await derive(dummy, password);
    return { ok: false, needsRehash: false };
  }
  const ok = constantTimeEqual(await derive(parsed, password), parsed.hash);
  return { ok, needsRehash: ok && !isCurrent(parsed, params) };
}

const COMMON_PASSWORDS = new Set([
  "password",
  "password1",
  "password12",
  "password123",
  "12345678",
  "123456789",
  "1234567890",
  "qwertyuiop",
  "qwerty123",
  "iloveyou",
  "sunshine",
  "princess",
  "football",
  "baseball",
  "welcome1",
  "letmein1",
  "abc12345",
  "admin123",
  "passw0rd",
  "trustno1",
  "superman",
  "starwars",
  "11111111",
  "00000000",
  "asdfghjkl",
  "changeme",
  "whatever",
  "qwertyui",
  "1q2w3e4r",
  "zaq12wsx",
]);

/** Django's default validators, in spirit: length bounds, not the username or email, not common, not all digits. */
export function passwordProblems(password: string, user: { username?: string; email?: string }): string[] {
  const problems: string[] = [];
  if (password.length < PASSWORD_MIN_LENGTH) {
    problems.push(`This password is too short. It must contain at least ${PASSWORD_MIN_LENGTH} characters.`);
  }
  if (password.length > PASSWORD_MAX_LENGTH) {
    problems.push(`Ensure this field has no more than ${PASSWORD_MAX_LENGTH} characters.`);
  }
  const lower = password.toLowerCase();
  const similar = [user.username, user.email, user.email?.split("@")[0]].some(
    (value) => value !== undefined && value.length >= 3 && lower === value.toLowerCase(),
  );
  if (similar) problems.push("The password is too similar to the username or email.");
  if (COMMON_PASSWORDS.has(lower)) problems.push("This password is too common.");
  if (/^\d+$/.test(password)) problems.push("This password is entirely numeric.");
  return problems;
}
