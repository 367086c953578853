/**
 * Micro-benchmarks inside workerd (the test pool): what the hardened QR login adds per login, printed, never asserted.
 * Run: npm run bench:micro -- qr
 */
import { env } from "cloudflare:workers";
import { it } from "vitest";
import { printResults, time } from "./timing";
import { getConfig } from "../../src/config";
import { getQrIdKeys, isIssuedQrId, newQrId, newQrSecret, openQrSecret } from "../../src/qr/ids";
import { drawCode } from "../../src/qr/policy";
import { importPublicKey, open, seal } from "../../src/qr/seal";
import { browserKey } from "../../test/qr-helpers";

it("prints the cost of sealing the pair, the id's MAC and the check code", { timeout: 120_000 }, async () => {
  const keys = await getQrIdKeys(getConfig(env));
  const browser = await browserKey();
  const payload = {
    access: "a".repeat(420),
    refresh: "r".repeat(440),
    user: { id: 12345, username: "someone_with_a_long_name" },
  };
  const id = await newQrId(keys, Date.now() + 120_000);
  const sealed = await seal(browser.publicJwk, id, payload);
  const results: Record<string, number> = {};

  await time("seal the pair (ephemeral P-256 key, ECDH, HKDF, AES-256-GCM)", 2000, () => seal(browser.publicJwk, id, payload), results);
  await time("open the pair (the browser's side: ECDH, HKDF, AES-256-GCM)", 2000, () => open(browser.privateKey, id, sealed), results);
  await time("validate the browser's public key (importKey: point on the curve)", 2000, () => importPublicKey(browser.publicJwk), results);
  await time("new QR id (expiry + 7 random bytes + HMAC-SHA256 tag)", 5000, () => newQrId(keys, Date.now() + 120_000), results);
  const ticket = {
    publicKey: browser.publicJwk,
    browser: { userAgent: "u".repeat(120), ip: "203.0.113.7", country: "NG", city: "Lagos" },
    browserPlace: null,
    createdAtMs: Date.now(),
  };
  const secret = await newQrSecret(keys, id, ticket);
  await time("seal the browser's ticket (its secret: AES-256-GCM)", 5000, () => newQrSecret(keys, id, ticket), results);
  await time("open the browser's ticket (socket upgrade)", 5000, () => openQrSecret(keys, id, secret), results);
  await time("check a QR id (format + HMAC, constant-time compare)", 5000, () => isIssuedQrId(keys, id), results);
  await time("check a forged QR id", 5000, () => isIssuedQrId(keys, "A".repeat(28)), results);
  await time("draw the two-digit code", 5000, () => drawCode(() => crypto.getRandomValues(new Uint8Array(8))), results);

  printResults(results);
});
