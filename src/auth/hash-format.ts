/**
 * @module Hash Format — reads Django's password hash strings (no hashing, no wasm), so the worker and the
 * import script (scripts/import-django.mjs) agree on what is verifiable here.
 */
import { base64ToBytes } from "../lib/bytes";

/**
 * Work bound for stored PBKDF2 hashes: Django 5.2 writes 1 000 000 (0.65-0.8 s of CPU here, bench/signin-timing.mjs);
 * above it a hash is unreadable (refused at import), so no guess costs more than the sign-in refusal floor hides.
 */
export const MAX_PBKDF2_ITERATIONS = 1_200_000;
export { ARGON2_PARAMS } from "../config";
/** Largest argon2 memory verified: the isolate has 128 MB in all, so Django's default m=100 MiB cannot be held. */
export const MAX_ARGON2_MEMORY_KIB = 65_536;
const MAX_ARGON2_TIME_COST = 16;
/** Django's "unusable password" marker (set_unusable_password): never matches anything. */
export const UNUSABLE_PASSWORD_PREFIX = "!";

/**
 * A weak Django hash wrapped in argon2id at import (src/auth/wrapped-hash.ts): the inner hasher's output, as Django
 * writes it (hex for sha1/md5, padded base64 for PBKDF2), is the argon2id password.
 */
export type WrappedInner =
  | { algorithm: "sha1" | "md5"; salt: string }
  | { algorithm: "unsalted_sha1" | "unsalted_md5" }
  | { algorithm: "pbkdf2_sha256" | "pbkdf2_sha1"; iterations: number; salt: string };

type Argon2Fields = {
  variant: "argon2id" | "argon2i" | "argon2d";
  memoryKiB: number;
  timeCost: number;
  parallelism: number;
  salt: Uint8Array;
  hash: Uint8Array;
};

export type ParsedHash =
  | ({ algorithm: "argon2" } & Argon2Fields)
  | ({ algorithm: "argon2_wrapped"; inner: WrappedInner } & Argon2Fields)
  | { algorithm: "pbkdf2_sha256" | "pbkdf2_sha1"; iterations: number; salt: string; hash: Uint8Array };

/** The prefix of wrapped hashes: `argon2_wrapped_<inner algorithm>$<inner fields>$<argon2 fields>`. */
export const WRAPPED_PREFIX = "argon2_wrapped_";

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
    const argon = parseArgon2(parts.slice(1));
    return argon && { algorithm: "argon2", ...argon };
  }
  if (parts[0]!.startsWith(WRAPPED_PREFIX)) {
    // argon2_wrapped_<inner>$<inner fields…>$<variant>$v=19$m=..,t=..,p=..$salt$hash
    const innerName = parts[0]!.slice(WRAPPED_PREFIX.length);
    const argon = parts.length >= 6 ? parseArgon2(parts.slice(-5)) : null;
    if (!argon) return null;
    const fields = parts.slice(1, -5);
    let inner: WrappedInner | null = null;
    if ((innerName === "sha1" || innerName === "md5") && fields.length === 1 && fields[0] !== "")
      inner = { algorithm: innerName, salt: fields[0]! };
    else if ((innerName === "unsalted_sha1" || innerName === "unsalted_md5") && fields.length === 1 && fields[0] === "")
      inner = { algorithm: innerName };
    else if ((innerName === "pbkdf2_sha256" || innerName === "pbkdf2_sha1") && fields.length === 2 && fields[1] !== "") {
      const iterations = positiveInt(fields[0], MAX_PBKDF2_ITERATIONS);
      if (iterations !== null) inner = { algorithm: innerName, iterations, salt: fields[1]! };
    }
    return inner && { algorithm: "argon2_wrapped", inner, ...argon };
  }
  return null;
}

/** `<variant>$v=19$m=..,t=..,p=..$salt$hash` (Django >= 1.11; older hashes lack v= and used argon2 1.0). */
function parseArgon2(parts: string[]): Argon2Fields | null {
  if (parts.length !== 5 || parts[1] !== "v=19") return null;
  const variant = parts[0];
  if (variant !== "argon2id" && variant !== "argon2i" && variant !== "argon2d") return null;
  const params = /^m=(\d+),t=(\d+),p=(\d+)$/.exec(parts[2]!);
  if (!params) return null;
  const memoryKiB = positiveInt(params[1], MAX_ARGON2_MEMORY_KIB);
  const timeCost = positiveInt(params[2], MAX_ARGON2_TIME_COST);
  const parallelism = positiveInt(params[3], 64);
  const salt = decodeBase64(parts[3]!);
  const hash = decodeBase64(parts[4]!);
  if (memoryKiB === null || timeCost === null || parallelism === null || !salt || !hash) return null;
  if (memoryKiB < 8 * parallelism || salt.length < 8 || hash.length < 4 || hash.length > 64) return null;
  return { variant, memoryKiB, timeCost, parallelism, salt, hash };
}
