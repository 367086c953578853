/** @module Keys — the JWT key ring from config, imported into CryptoKeys once per isolate. */
import type { JWK } from "jose";
import { jose } from "./lib/jose";
import { ConfigError, type Config, type JwtAlgorithm } from "./config";
import { Memo } from "./lib/memo";

export interface KeyRing {
  algorithm: JwtAlgorithm;
  /** The key new tokens are signed with: the first key of the set. */
  signing: { kid: string | undefined; key: CryptoKey };
  /** Every key a token may be verified with, by `kid` (HS256's single key is under ""). */
  verifying: Map<string, CryptoKey>;
  /** What /.well-known/jwks.json publishes: public parts only; null for HS256. */
  publicJwks: { keys: JWK[] } | null;
}

const CURVES: Record<"ES256" | "EdDSA", { kty: string; crv: string }> = {
  ES256: { kty: "EC", crv: "P-256" },
  EdDSA: { kty: "OKP", crv: "Ed25519" },
};

function bad(problem: string): ConfigError {
  return new ConfigError("JWT_SIGNING_KEYS", problem);
}

/** Only the members a verifier needs; `d` and other private members never leave. */
function publicPart(jwk: JWK, algorithm: JwtAlgorithm): JWK {
  const pub: JWK = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, kid: jwk.kid, alg: algorithm, use: "sig" };
  if (jwk.y !== undefined) pub.y = jwk.y;
  return pub;
}

async function loadAsymmetric(algorithm: "ES256" | "EdDSA", json: string): Promise<KeyRing> {
  const { importJWK } = await jose();
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw bad('is not valid JSON (expected a JWK set: {"keys": [...]})');
  }
  const list = (parsed as { keys?: unknown })?.keys;
  if (!Array.isArray(list) || list.length === 0) throw bad('must be a JWK set with at least one key: {"keys": [...]}');
  const want = CURVES[algorithm];
  const verifying = new Map<string, CryptoKey>();
  const published: JWK[] = [];
  let signing: KeyRing["signing"] | null = null;
  for (const [index, entry] of list.entries()) {
    const jwk = entry as JWK;
    if (typeof jwk !== "object" || jwk === null) throw bad(`key ${index} is not an object`);
    if (typeof jwk.kid !== "string" || jwk.kid === "") throw bad(`key ${index} has no "kid" (needed to rotate keys)`);
    if (verifying.has(jwk.kid)) throw bad(`kid "${jwk.kid}" appears twice`);
    if (jwk.kty !== want.kty || jwk.crv !== want.crv) throw bad(`key "${jwk.kid}" is not ${want.kty}/${want.crv}, as ${algorithm} needs`);
    if (jwk.alg !== undefined && jwk.alg !== algorithm) throw bad(`key "${jwk.kid}" is for ${jwk.alg}, not ${algorithm}`);
    const pub = publicPart(jwk, algorithm);
    try {
      verifying.set(jwk.kid, (await importJWK(pub, algorithm)) as CryptoKey);
      if (index === 0) {
        if (typeof jwk.d !== "string") throw bad(`the first key ("${jwk.kid}") signs, so it needs its private part "d"`);
        signing = { kid: jwk.kid, key: (await importJWK({ ...jwk, alg: algorithm }, algorithm)) as CryptoKey };
      }
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      throw bad(`key "${jwk.kid}" could not be imported: ${(error as Error).message}`);
    }
    published.push(pub);
  }
  return { algorithm, signing: signing!, verifying, publicJwks: { keys: published } };
}

async function loadSymmetric(secret: string): Promise<KeyRing> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ]);
  return { algorithm: "HS256", signing: { kid: undefined, key }, verifying: new Map([["", key]]), publicJwks: null };
}

// Rings, not promises of them (src/lib/memo.ts); a failed import is not kept, so the next request retries and logs.
const rings = new Memo<KeyRing>(4);

/** The key ring for this config, imported once per isolate and keyed by the raw secret. */
export function getKeyRing(config: Config): Promise<KeyRing> {
  const raw = config.jwtAlgorithm === "HS256" ? config.jwtSecret! : config.signingKeysJson!;
  return rings.get(`${config.jwtAlgorithm}\u0000${raw}`, () =>
    config.jwtAlgorithm === "HS256" ? loadSymmetric(raw) : loadAsymmetric(config.jwtAlgorithm, raw),
  );
}
