/**
 * @module Seal (browser side) — the login page's key pair and the opening of the sealed pair, the inverse of
 * src/qr/seal.ts: ECDH(private key, epk) → HKDF-SHA256(salt = id, info) → AES-256-GCM(iv, additional data = id).
 */
import type { PublicEcJwk, SealedPair } from "../src/qr/policy";
import type { QrPairContents } from "../src/qr/wire";

/** The HKDF info, as src/qr/seal.ts's SEAL_INFO. */
const SEAL_INFO = "qr-login pair v1";
// Typed inline, not as DOM's EcKeyGenParams: the worker's tests compile this file with Workers' types too.
const ECDH = { name: "ECDH", namedCurve: "P-256" };

export interface BrowserKeys {
  privateKey: CryptoKey;
  /** The only half that leaves the page. */
  publicJwk: PublicEcJwk;
}

/** A fresh pair per code; the private key cannot be exported, so only this page can open the pair. */
export function newKeys(): Promise<BrowserKeys> {
  return (crypto.subtle.generateKey(ECDH, false, ["deriveBits"]) as Promise<CryptoKeyPair>).then((keys) =>
    (crypto.subtle.exportKey("jwk", keys.publicKey) as Promise<JsonWebKey>).then((jwk) => {
      if (jwk.kty !== "EC" || jwk.crv !== "P-256" || !jwk.x || !jwk.y) throw new Error("not a P-256 public key");
      return { privateKey: keys.privateKey, publicJwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y } };
    }),
  );
}

function bytesOfB64(text: string): Uint8Array<ArrayBuffer> {
  const b = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) out[i] = b.charCodeAt(i);
  return out;
}

/** Opens what login `id`'s approval sealed to this page's key; rejects if it was sealed to any other key or login. */
export function openSealed(privateKey: CryptoKey, id: string, sealed: SealedPair): Promise<QrPairContents> {
  const enc = new TextEncoder();
  return (
    crypto.subtle
      .importKey("jwk", sealed.epk, ECDH, false, [])
      // DOM names the peer key `public`, Workers' types `$public`: both runtimes read `public`.
      .then((epk) => crypto.subtle.deriveBits({ name: "ECDH", public: epk } as Parameters<SubtleCrypto["deriveBits"]>[0], privateKey, 256))
      .then((shared) => crypto.subtle.importKey("raw", shared, "HKDF", false, ["deriveKey"]))
      .then((ikm) =>
        crypto.subtle.deriveKey(
          { name: "HKDF", hash: "SHA-256", salt: enc.encode(id), info: enc.encode(SEAL_INFO) },
          ikm,
          { name: "AES-GCM", length: 256 },
          false,
          ["decrypt"],
        ),
      )
      .then((key) =>
        crypto.subtle.decrypt(
          { name: "AES-GCM", iv: bytesOfB64(sealed.iv), additionalData: enc.encode(id) },
          key,
          bytesOfB64(sealed.ciphertext),
        ),
      )
      .then((plain) => JSON.parse(new TextDecoder().decode(plain)) as QrPairContents)
  );
}
