// Generates JWT signing material locally; nothing generated here is ever committed.
import { generateKeyPairSync, randomBytes } from "node:crypto";

/** A JWK set with one fresh private key for `algorithm` ("ES256" or "EdDSA"). */
export function generateJwks(algorithm = "ES256", kid = `dev-${randomBytes(4).toString("hex")}`) {
  const { privateKey } = algorithm === "EdDSA" ? generateKeyPairSync("ed25519") : generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { keys: [{ ...privateKey.export({ format: "jwk" }), kid, alg: algorithm, use: "sig" }] };
}

/** A random HS256 secret (48 bytes, base64url). */
export function generateSecret() {
  return randomBytes(48).toString("base64url");
}
