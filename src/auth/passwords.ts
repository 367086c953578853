/**
 * @module Passwords — Django's password hash formats, both ways, and Django's password rules.
 *
 * Formats (exactly Django's `django.contrib.auth.hashers`, so hashes move between the two):
 * - `argon2$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>` (salt and hash unpadded base64;
 *   the salt is the bytes of a random 22-character string). New hashes: argon2id m = 19 MiB, t = 2, p = 1
 *   (OWASP's minimum), from a statically imported wasm module (workerd refuses compiling wasm bytes).
 * - `pbkdf2_sha256$<iterations>$<salt>$<hash>` and `pbkdf2_sha1$…`: the salt is hashed as the UTF-8 bytes
 *   of the salt *string* (Django never base64-decodes it); the hash is padded base64. Any iteration count:
 *   up to 100 000 in one WebCrypto call (a deployed Worker refuses more per call), above in plain JS.
 * Anything but the current argon2 parameters is rehashed at the next successful sign-in.
 */
import { argon2d, argon2i, argon2id, setWASMModules } from "argon2-wasm-edge";
import argon2Wasm from "argon2-wasm-edge/wasm/argon2.wasm";
import blake2bWasm from "argon2-wasm-edge/wasm/blake2b.wasm";
import { pbkdf2 as noblePbkdf2 } from "@noble/hashes/pbkdf2.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { base64ToBytes, bytesToBase64, constantTimeEqual } from "./bytes";
import { pbkdf2Sha256 } from "./pbkdf2";

setWASMModules({ argon2WASM: argon2Wasm, blake2bWASM: blake2bWasm });

/** Deployed Workers refuse a PBKDF2 call above this many iterations (NotSupportedError); local workerd does not. */
export const MAX_PBKDF2_ITERATIONS_PER_CALL = 100_000;
/** Work bound for stored PBKDF2 hashes (Django 5.2 uses 1 000 000, ~0.55 s here); above it a hash is unreadable. */
export const MAX_PBKDF2_ITERATIONS = 5_000_000;
/** OWASP's argon2id minimum: 19 MiB, 2 passes, 1 lane (~45 ms of CPU in workerd; bench/micro/passwords.micro.ts). */
export const ARGON2_PARAMS = { memoryKiB: 19_456, timeCost: 2, parallelism: 1 } as const;
/** Largest argon2 memory verified: the isolate has 128 MB in all, so Django's default m=100 MiB cannot be held. */
export const MAX_ARGON2_MEMORY_KIB = 65_536;
const MAX_ARGON2_TIME_COST = 16;
const ARGON2_HASH_BYTES = 32;
/** Django's salt: 22 characters of [a-zA-Z0-9], at least 128 bits. */
const SALT_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const SALT_LENGTH = 22;

export const PASSWORD_MIN_LENGTH = 8;
/** Bounds hashing work per request; longer input is refused before any hashing. */
export const PASSWORD_MAX_LENGTH = 128;
/** Django's "unusable password" marker (set_unusable_password): never matches anything. */
export const UNUSABLE_PASSWORD_PREFIX = "!";

const encoder = new TextEncoder();

export type ParsedHash =
  | { algorithm: "argon2"; variant: "argon2id" | "argon2i" | "argon2d"; memoryKiB: number; timeCost: number; parallelism: number; salt: Uint8Array; hash: Uint8Array }
  | { algorithm: "pbkdf2_sha256" | "pbkdf2_sha1"; iterations: number; salt: string; hash: Uint8Array };

export function randomSalt(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(SALT_LENGTH));
  // 62 characters: the modulo bias is under 1 bit over 22 characters, as with Django's own get_random_string.
  return Array.from(bytes, (b) => SALT_CHARS[b % SALT_CHARS.length]).join("");
}

function unpaddedBase64(bytes: Uint8Array): string {
  return bytesToBase64(bytes).replace(/=+$/, "");
}

function decodeBase64(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null;
  try {
    const bare = text.replace(/=+$/, "");
    return base64ToBytes(bare + "=".repeat((4 - (bare.length % 4)) % 4));
  } catch {
    return null;
  }
}

function positiveInt(text: string | undefined, max: number): number | null {
  if (text === undefined || !/^[1-9][0-9]{0,9}$/.test(text)) return null;
  const value = Number(text);
  return value <= max ? value : null;
}

/** Reads a Django hash; null for formats this worker does not verify (or work bounds it refuses). */
export function parsePasswordHash(encoded: string): ParsedHash | null {
  const parts = encoded.split("$");
  if (parts[0] === "pbkdf2_sha256" || parts[0] === "pbkdf2_sha1") {
    if (parts.length !== 4) return null;
    const iterations = positiveInt(parts[1], MAX_PBKDF2_ITERATIONS);
    const hash = decodeBase64(parts[3]!);
    if (iterations === null || !hash || parts[2] === "") return null;
    return { algorithm: parts[0], iterations, salt: parts[2]!, hash };
  }
  if (parts[0] === "argon2") {
    // argon2$<variant>$v=19$m=..,t=..,p=..$salt$hash (Django >= 1.11; older hashes lack v= and used argon2 1.0).
    if (parts.length !== 6 || parts[2] !== "v=19") return null;
    const variant = parts[1];
    if (variant !== "argon2id" && variant !== "argon2i" && variant !== "argon2d") return null;
    const params = /^m=(\d+),t=(\d+),p=(\d+)$/.exec(parts[3]!);
    if (!params) return null;
    const memoryKiB = positiveInt(params[1], MAX_ARGON2_MEMORY_KIB);
    const timeCost = positiveInt(params[2], MAX_ARGON2_TIME_COST);
    const parallelism = positiveInt(params[3], 64);
    const salt = decodeBase64(parts[4]!);
    const hash = decodeBase64(parts[5]!);
    if (memoryKiB === null || timeCost === null || parallelism === null || !salt || !hash) return null;
    if (memoryKiB < 8 * parallelism || salt.length < 8 || hash.length < 4 || hash.length > 64) return null;
    return { algorithm: "argon2", variant, memoryKiB, timeCost, parallelism, salt, hash };
  }
  return null;
}

/** One WebCrypto PBKDF2 call; refuses to ask for more iterations than a deployed Worker allows. */
export async function webCryptoPbkdf2(password: Uint8Array, salt: Uint8Array, iterations: number, hash: "SHA-256" | "SHA-1", bytes: number): Promise<Uint8Array> {
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > MAX_PBKDF2_ITERATIONS_PER_CALL) {
    throw new RangeError(`PBKDF2 iterations must be 1..${MAX_PBKDF2_ITERATIONS_PER_CALL} per WebCrypto call, got ${iterations}`);
  }
  const key = await crypto.subtle.importKey("raw", password, "PBKDF2", false, ["deriveBits"]);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: "PBKDF2", hash, salt, iterations }, key, bytes * 8));
}

/** PBKDF2 at any count: WebCrypto up to its per-call cap, plain JS above it (same bytes either way). */
export async function pbkdf2(algorithm: "pbkdf2_sha256" | "pbkdf2_sha1", password: string, salt: string, iterations: number): Promise<Uint8Array> {
  const p = encoder.encode(password);
  const s = encoder.encode(salt);
  const sha256 = algorithm === "pbkdf2_sha256";
  if (iterations <= MAX_PBKDF2_ITERATIONS_PER_CALL) return webCryptoPbkdf2(p, s, iterations, sha256 ? "SHA-256" : "SHA-1", sha256 ? 32 : 20);
  return sha256 ? pbkdf2Sha256(p, s, iterations) : noblePbkdf2(sha1, p, s, { c: iterations, dkLen: 20 });
}


// One argon2 at a time per isolate: each call holds a fresh wasm memory of m KiB until it returns, so
// concurrent sign-ins in one isolate would otherwise stack 19 MiB each against the 128 MB limit.
let argon2Queue: Promise<unknown> = Promise.resolve();

async function runArgon2(variant: "argon2id" | "argon2i" | "argon2d", password: string, salt: Uint8Array, p: { memoryKiB: number; timeCost: number; parallelism: number }, hashBytes: number): Promise<Uint8Array> {
  const fn = variant === "argon2id" ? argon2id : variant === "argon2i" ? argon2i : argon2d;
  const run = argon2Queue.then(() =>
    fn({ password, salt, memorySize: p.memoryKiB, iterations: p.timeCost, parallelism: p.parallelism, hashLength: hashBytes, outputType: "binary" }),
  );
  argon2Queue = run.catch(() => {});
  return run;
}

/** The two KDFs, called through this object so tests can observe the work each check does. */
export const kdf = { argon2: runArgon2, pbkdf2 };

/** A new hash of `password` in the current format (argon2id at ARGON2_PARAMS). */
export async function hashPassword(password: string): Promise<string> {
  const salt = encoder.encode(randomSalt());
  const hash = await kdf.argon2("argon2id", password, salt, ARGON2_PARAMS, ARGON2_HASH_BYTES);
  const { memoryKiB, timeCost, parallelism } = ARGON2_PARAMS;
  return `argon2$argon2id$v=19$m=${memoryKiB},t=${timeCost},p=${parallelism}$${unpaddedBase64(salt)}$${unpaddedBase64(hash)}`;
}

/** A `pbkdf2_sha256` hash as Django makes it (for imports, tests and operators who must stay on PBKDF2). */
export async function hashPasswordPbkdf2(password: string, iterations: number, salt = randomSalt()): Promise<string> {
  return `pbkdf2_sha256$${iterations}$${salt}$${bytesToBase64(await kdf.pbkdf2("pbkdf2_sha256", password, salt, iterations))}`;
}

/** Whether a hash is in the current format with the current parameters (else it is upgraded at sign-in). */
export function isCurrent(parsed: ParsedHash): boolean {
  return (
    parsed.algorithm === "argon2" &&
    parsed.variant === "argon2id" &&
    parsed.memoryKiB === ARGON2_PARAMS.memoryKiB &&
    parsed.timeCost === ARGON2_PARAMS.timeCost &&
    parsed.parallelism === ARGON2_PARAMS.parallelism
  );
}

async function derive(parsed: ParsedHash, password: string): Promise<Uint8Array> {
  if (parsed.algorithm === "argon2") return kdf.argon2(parsed.variant, password, parsed.salt, parsed, parsed.hash.length);
  return kdf.pbkdf2(parsed.algorithm, password, parsed.salt, parsed.iterations);
}

// A hash of a random password in the current format: unknown users and unreadable hashes are checked
// against it, so those answers cost exactly what a wrong password of a current-format user costs.
let dummyHash: Promise<ParsedHash> | null = null;
function getDummyHash(): Promise<ParsedHash> {
  dummyHash ??= hashPassword(crypto.randomUUID()).then((encoded) => parsePasswordHash(encoded)!);
  return dummyHash;
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
export async function verifyPassword(password: string, encoded: string | null): Promise<PasswordCheck> {
  const parsed = encoded === null ? null : parsePasswordHash(encoded);
  if (!parsed) {
    const dummy = await getDummyHash();
    await derive(dummy, password);
    return { ok: false, needsRehash: false };
  }
  const ok = constantTimeEqual(await derive(parsed, password), parsed.hash);
  return { ok, needsRehash: ok && !isCurrent(parsed) };
}

const COMMON_PASSWORDS = new Set([
  "password", "password1", "password12", "password123", "12345678", "123456789", "1234567890", "qwertyuiop",
  "qwerty123", "iloveyou", "sunshine", "princess", "football", "baseball", "welcome1", "letmein1",
  "abc12345", "admin123", "passw0rd", "trustno1", "superman", "starwars", "11111111", "00000000",
  "asdfghjkl", "changeme", "whatever", "qwertyui", "1q2w3e4r", "zaq12wsx",
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
