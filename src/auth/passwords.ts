/** @module Passwords — salted PBKDF2-SHA256 hashes in Django's `pbkdf2_sha256$iterations$salt$hash` format, and password rules. */
import { base64ToBytes, bytesToBase64, constantTimeEqual } from "./bytes";

/** Deployed Workers refuse a PBKDF2 call above this many iterations (NotSupportedError); local workerd does not. */
export const MAX_PBKDF2_ITERATIONS_PER_CALL = 100_000;
/** Iterations for new hashes; hashes stored with fewer are upgraded at the user's next sign-in. */
export const PASSWORD_ITERATIONS = 100_000;
export const PASSWORD_ALGORITHM = "pbkdf2_sha256";
const SALT_BYTES = 16;
const HASH_BYTES = 32;

export const PASSWORD_MIN_LENGTH = 8;
/** Bounds hashing work per request; longer input is refused before any hashing. */
export const PASSWORD_MAX_LENGTH = 128;

const encoder = new TextEncoder();

/** PBKDF2-HMAC-SHA256; refuses to ask WebCrypto for more iterations than a deployed Worker allows. */
export async function pbkdf2(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > MAX_PBKDF2_ITERATIONS_PER_CALL) {
    throw new RangeError(`PBKDF2 iterations must be 1..${MAX_PBKDF2_ITERATIONS_PER_CALL}, got ${iterations}`);
  }
  const key = await crypto.subtle.importKey("raw", encoder.encode(password), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, HASH_BYTES * 8);
  return new Uint8Array(bits);
}

export async function hashPassword(password: string, iterations = PASSWORD_ITERATIONS): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const hash = await pbkdf2(password, salt, iterations);
  return `${PASSWORD_ALGORITHM}$${iterations}$${bytesToBase64(salt)}$${bytesToBase64(hash)}`;
}

export interface ParsedHash {
  iterations: number;
  salt: Uint8Array;
  hash: Uint8Array;
}

export function parsePasswordHash(encoded: string): ParsedHash | null {
  const parts = encoded.split("$");
  if (parts.length !== 4 || parts[0] !== PASSWORD_ALGORITHM) return null;
  const iterations = Number(parts[1]);
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > MAX_PBKDF2_ITERATIONS_PER_CALL) return null;
  try {
    return { iterations, salt: base64ToBytes(parts[2]!), hash: base64ToBytes(parts[3]!) };
  } catch {
    return null;
  }
}

// A well-formed hash of a random password: unknown users are checked against it so sign-in costs the same either way.
let dummyHash: Promise<string> | null = null;
function getDummyHash(): Promise<string> {
  dummyHash ??= hashPassword(crypto.randomUUID());
  return dummyHash;
}

export interface PasswordCheck {
  ok: boolean;
  /** The stored hash is weaker than PASSWORD_ITERATIONS: rehash now that the password is known. */
  needsRehash: boolean;
}

/**
 * Checks `password` against `encoded` in constant time. With `encoded === null` (no such user)
 * the same hashing work is done against a dummy hash and the answer is always false.
 */
export async function verifyPassword(password: string, encoded: string | null): Promise<PasswordCheck> {
  const parsed = parsePasswordHash(encoded ?? (await getDummyHash()));
  if (!parsed) {
    // Unreadable hash: still spend the time, then refuse.
    await pbkdf2(password, new Uint8Array(SALT_BYTES), PASSWORD_ITERATIONS);
    return { ok: false, needsRehash: false };
  }
  const candidate = await pbkdf2(password, parsed.salt, parsed.iterations);
  const ok = constantTimeEqual(candidate, parsed.hash) && encoded !== null;
  return { ok, needsRehash: ok && parsed.iterations < PASSWORD_ITERATIONS };
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
