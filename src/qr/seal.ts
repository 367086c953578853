/**
 * @module QR Seal — the approved token pair, encrypted to the browser's own key (as Discord's remote auth
 * does), so neither the socket nor the Durable Object's storage ever carries it in clear.
 *
 * ECDH P-256 between a fresh ephemeral key (`epk`) and the browser's public key → HKDF-SHA256
 * (salt = the login id, info = "qr-login pair v1") → AES-256-GCM with a random 12-byte iv and the
 * login id as additional data. Binding the id twice means a sealed pair replayed into another login
 * does not open there. The browser's private key is non-extractable, so only that page can open it.
 */
import { lazy } from "../lib/lazy";
import * as z from "zod";
import { base64UrlToBytes, bytesToBase64Url } from "../lib/bytes";
import type { PublicEcJwk, SealedPair } from "./policy";

export type { PublicEcJwk, SealedPair };

const SEAL_INFO = "qr-login pair v1";
const IV_BYTES = 12;
const encoder = new TextEncoder();

// A P-256 coordinate is 32 bytes: 43 base64url characters without padding (RFC 7518 §6.2.1.2).
const coordinate = () => z.string().regex(/^[A-Za-z0-9_-]{43}$/, "Must be a 32-byte base64url coordinate.");

/** The shape of a browser's public key; the point itself is checked by importPublicKey. */
export const publicJwkSchema = lazy(() =>
  z
    .object({
      kty: z.literal("EC", { error: 'Must be "EC".' }),
      crv: z.literal("P-256", { error: 'Must be "P-256".' }),
      x: coordinate(),
      y: coordinate(),
      d: z.undefined({ error: "Send the public key only: this is a private key." }).optional(),
    })
    .transform(({ kty, crv, x, y }): PublicEcJwk => ({ kty, crv, x, y })),
);

const ECDH = { name: "ECDH", namedCurve: "P-256" } as const;

/** Imports (and so validates: the point must be on the curve) a browser's public key. Throws when it is not one. */
export function importPublicKey(jwk: PublicEcJwk): Promise<CryptoKey> {
  return crypto.subtle.importKey("jwk", { ...jwk, ext: true }, ECDH, true, []);
}

async function pairKey(privateKey: CryptoKey, publicKey: CryptoKey, loginId: string, usage: "encrypt" | "decrypt"): Promise<CryptoKey> {
  // workers-types spells the member `$public`; the runtime and WebCrypto read `public`.
  const shared = await crypto.subtle.deriveBits(
    { name: "ECDH", public: publicKey } as unknown as SubtleCryptoDeriveKeyAlgorithm,
    privateKey,
    256,
  );
  const ikm = await crypto.subtle.importKey("raw", shared, "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: encoder.encode(loginId), info: encoder.encode(SEAL_INFO) },
    ikm,
    { name: "AES-GCM", length: 256 },
    false,
    [usage],
  );
}

/** Encrypts `payload` (JSON) to the browser's public key for login `loginId`. */
export async function seal(browserKey: PublicEcJwk, loginId: string, payload: unknown): Promise<SealedPair> {
  const ephemeral = (await crypto.subtle.generateKey(ECDH, true, ["deriveBits"])) as CryptoKeyPair;
  const key = await pairKey(ephemeral.privateKey, await importPublicKey(browserKey), loginId, "encrypt");
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const ciphertext = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: encoder.encode(loginId) },
    key,
    encoder.encode(JSON.stringify(payload)),
  );
  const { x, y } = (await crypto.subtle.exportKey("jwk", ephemeral.publicKey)) as JsonWebKey;
  return {
    epk: { kty: "EC", crv: "P-256", x: x!, y: y! },
    iv: bytesToBase64Url(iv),
    ciphertext: bytesToBase64Url(new Uint8Array(ciphertext)),
  };
}

/** The browser's side (also what a non-browser client runs): opens a sealed pair with its private key. Throws if it was not sealed to it. */
export async function open<T = unknown>(privateKey: CryptoKey, loginId: string, sealed: SealedPair): Promise<T> {
  const key = await pairKey(privateKey, await importPublicKey(sealed.epk), loginId, "decrypt");
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: base64UrlToBytes(sealed.iv), additionalData: encoder.encode(loginId) },
    key,
    base64UrlToBytes(sealed.ciphertext),
  );
  return JSON.parse(new TextDecoder().decode(plain)) as T;
}
