/** The QR login's pure parts, without bindings: state transitions, the browser's code, browser events, the mismatch and proximity signals, user agents, ids. */
import QRCode from "qrcode-svg";
import { describe, expect, it } from "vitest";
import { parseUserAgent } from "../src/http/user-agent";
import type { Config } from "../src/config";
import { getQrIdKeys, isIssuedQrId, isQrId, isQrSecret, newQrId, newQrSecret, openQrSecret, qrIdExpiresAtMs } from "../src/qr/ids";
import {
  canView,
  currentEvent,
  decide,
  drawCode,
  effectiveState,
  enterCode,
  type CodeDecision,
  type PhoneAction,
  type QrSnapshot,
  type QrState,
} from "../src/qr/policy";
import { DEV_PLACE_HEADER, isPublicAddress, placeFromRequest, type Place } from "../src/http/device";
import { open, seal } from "../src/qr/seal";
import { browserKey } from "./qr-helpers";
import { renderQrSvg } from "../src/qr/render";
import { FAR_APART_KM, compareRequests, distanceKm, networkPrefix, proximity } from "../src/qr/signals";

const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);
const ALICE = { id: 1, username: "alice" };
const MALLORY = { id: 2, username: "mallory" };

type Flags = { phoneApproved?: boolean; codeEntered?: boolean };

function session(state: QrState, user: typeof ALICE | null = null, expiresAtMs = NOW + 60_000, flags: Flags = {}): QrSnapshot {
  return {
    state,
    user,
    expiresAtMs,
    code: user ? "47" : null,
    phoneApproved: flags.phoneApproved ?? false,
    codeEntered: flags.codeEntered ?? false,
  };
}

const ok = (next: QrState, changed: boolean, phoneApproved: boolean, release = false) => ({
  ok: true as const,
  next,
  changed,
  phoneApproved,
  release,
});

describe("transitions", () => {
  it.each<[QrState, typeof ALICE | null, Flags, PhoneAction, number, ReturnType<typeof decide>]>([
    ["pending", null, {}, "scan", ALICE.id, ok("scanned", true, false)],
    ["pending", null, {}, "approve", ALICE.id, { ok: false, code: "qr_not_scanned" }],
    ["pending", null, {}, "deny", ALICE.id, { ok: false, code: "qr_not_scanned" }],
    ["scanned", ALICE, {}, "scan", ALICE.id, ok("scanned", false, false)],
    // The phone's half alone releases nothing; with the browser's right code already in, it completes the login.
    ["scanned", ALICE, {}, "approve", ALICE.id, ok("scanned", true, true)],
    ["scanned", ALICE, { codeEntered: true }, "approve", ALICE.id, ok("approved", true, true, true)],
    ["scanned", ALICE, { phoneApproved: true }, "approve", ALICE.id, ok("scanned", false, true)],
    ["scanned", ALICE, {}, "deny", ALICE.id, ok("denied", true, false)],
    ["scanned", ALICE, { phoneApproved: true }, "deny", ALICE.id, ok("denied", true, true)],
    ["scanned", ALICE, {}, "scan", MALLORY.id, { ok: false, code: "qr_claimed" }],
    ["scanned", ALICE, { codeEntered: true }, "approve", MALLORY.id, { ok: false, code: "qr_claimed" }],
    ["scanned", ALICE, {}, "deny", MALLORY.id, { ok: false, code: "qr_claimed" }],
    ["approved", ALICE, {}, "approve", ALICE.id, { ok: false, code: "qr_not_pending" }],
    ["approved", ALICE, {}, "scan", MALLORY.id, { ok: false, code: "qr_not_pending" }],
    ["denied", ALICE, {}, "approve", ALICE.id, { ok: false, code: "qr_not_pending" }],
    ["expired", null, {}, "approve", ALICE.id, { ok: false, code: "qr_expired" }],
    ["expired", ALICE, {}, "scan", ALICE.id, { ok: false, code: "qr_expired" }],
  ])("%s (bound to %o, %o): %s by user %i → %o", (state, user, flags, action, userId, expected) => {
    expect(decide(session(state, user, NOW + 60_000, flags), action, userId, NOW)).toEqual(expected);
  });

  it("an approval beyond QR_MAX_DISTANCE_KM is refused (403 qr_too_far) and changes nothing; scan and deny are not", () => {
    const tooFar = { tooFar: true };
    expect(decide(session("scanned", ALICE), "approve", ALICE.id, NOW, tooFar)).toEqual({ ok: false, code: "qr_too_far" });
    expect(decide(session("scanned", ALICE), "deny", ALICE.id, NOW, tooFar)).toMatchObject({ ok: true, next: "denied" });
    expect(decide(session("pending"), "scan", ALICE.id, NOW, tooFar)).toMatchObject({ ok: true, next: "scanned" });
  });

  it("an open session past expires_at is expired even before its alarm ran; a finished one stays finished", () => {
    expect(decide(session("pending", null, NOW), "scan", ALICE.id, NOW)).toEqual({ ok: false, code: "qr_expired" });
    expect(decide(session("scanned", ALICE, NOW - 1), "approve", ALICE.id, NOW)).toEqual({ ok: false, code: "qr_expired" });
    expect(decide(session("pending", null, NOW + 1), "scan", ALICE.id, NOW)).toMatchObject({ ok: true });
    expect(effectiveState(session("approved", ALICE, NOW - 1), NOW)).toBe("approved");
  });

  it("only the bound user may read who is asking; before any scan, anyone sees the state only; nobody once it expired", () => {
    expect(canView(session("pending"), MALLORY.id, NOW)).toEqual({ ok: true, detail: "limited" });
    expect(canView(session("scanned", ALICE), ALICE.id, NOW)).toEqual({ ok: true, detail: "full" });
    expect(canView(session("scanned", ALICE), MALLORY.id, NOW)).toEqual({ ok: false, code: "qr_claimed" });
    expect(canView(session("pending", null, NOW), ALICE.id, NOW)).toEqual({ ok: false, code: "qr_expired" });
  });
});

describe("the browser's code", () => {
  it.each<[string, QrSnapshot, unknown, CodeDecision]>([
    ["before the scan: no code to match, ignored", session("pending"), "47", { kind: "ignore" }],
    ["the right code first: taken, nothing released yet", session("scanned", ALICE), "47", { kind: "accept", release: false, first: true }],
    [
      "the right code after the phone approved: released",
      session("scanned", ALICE, NOW + 60_000, { phoneApproved: true }),
      "47",
      { kind: "accept", release: true, first: true },
    ],
    [
      "the right code again (a reconnect): taken, not a try",
      session("scanned", ALICE, NOW + 60_000, { codeEntered: true }),
      "47",
      { kind: "accept", release: false, first: false },
    ],
    ["a wrong code: ends the login", session("scanned", ALICE), "12", { kind: "end" }],
    [
      "a wrong code after the phone approved: ends it",
      session("scanned", ALICE, NOW + 60_000, { phoneApproved: true }),
      "12",
      { kind: "end" },
    ],
    ["a wrong code after the right one: ignored", session("scanned", ALICE, NOW + 60_000, { codeEntered: true }), "12", { kind: "ignore" }],
    ["approved: the right code asks for the pair", session("approved", ALICE), "47", { kind: "accept", release: false, first: false }],
    ["approved: a wrong code withdraws it", session("approved", ALICE), "12", { kind: "end" }],
    ["denied: ignored", session("denied", ALICE), "47", { kind: "ignore" }],
    ["expired (past expires_at): ignored", session("scanned", ALICE, NOW), "47", { kind: "ignore" }],
    ["one digit: ignored, not a try", session("scanned", ALICE), "4", { kind: "ignore" }],
    ["a number, not text: ignored", session("scanned", ALICE), 47, { kind: "ignore" }],
    ["three digits: ignored", session("scanned", ALICE), "470", { kind: "ignore" }],
  ])("%s", (_title, snapshot, code, expected) => {
    expect(enterCode(snapshot, code, NOW)).toEqual(expected);
  });
});

describe("what a (re)connecting browser is sent", () => {
  const expires_at = new Date(NOW + 60_000).toISOString();

  it("the current state, so a reconnect misses nothing; never the code", () => {
    expect(currentEvent(session("pending"), null, NOW)).toEqual({ type: "pending", expires_at });
    expect(currentEvent(session("scanned", ALICE), null, NOW)).toEqual({ type: "scanned", user: ALICE, expires_at });
    expect(currentEvent(session("denied", ALICE), null, NOW)).toEqual({ type: "denied" });
    expect(currentEvent(session("denied", ALICE), null, NOW, "code_mismatch")).toEqual({ type: "denied", reason: "code_mismatch" });
    expect(currentEvent(session("expired"), null, NOW)).toEqual({ type: "expired" });
    expect(currentEvent(session("pending", null, NOW), null, NOW)).toEqual({ type: "expired" });
  });

  it("an approved login shows a new socket `scanned` (the pair goes only to a socket that sends the code), nothing once received, denied once withdrawn", () => {
    const approved = session("approved", ALICE);
    const sealed = { epk: { kty: "EC" as const, crv: "P-256" as const, x: "x", y: "y" }, iv: "iv", ciphertext: "c" };
    expect(currentEvent(approved, { status: "ready", sealed, sentTo: null }, NOW)).toEqual({ type: "scanned", user: ALICE, expires_at });
    expect(currentEvent(approved, { status: "issuing" }, NOW)).toEqual({ type: "scanned", user: ALICE, expires_at });
    expect(currentEvent(approved, { status: "received" }, NOW)).toBeNull();
    expect(currentEvent(approved, { status: "withdrawn" }, NOW)).toEqual({ type: "denied", reason: "code_mismatch" });
  });
});

describe("the cross-device signal", () => {
  it.each([
    ["203.0.113.7", "v4:203.0.113"],
    ["2001:db8:aa:1::5", "v6:2001:db8:aa"],
    ["2001:0DB8:00AA:0000:0000:0000:0000:0001", "v6:2001:db8:aa"],
    ["::ffff:198.51.100.9", "v4:198.51.100"],
    ["::1", "v6:0:0:0"],
    ["not an ip", null],
    ["300.1.1.1", null],
    ["1::2::3", null],
    [null, null],
  ])("the network of %s is %s", (ip, prefix) => {
    expect(networkPrefix(ip)).toBe(prefix);
  });

  it("warns when the country and the network differ", () => {
    expect(compareRequests({ ip: "203.0.113.7", country: "NG" }, { ip: "198.51.100.20", country: "DE" })).toEqual({
      country: true,
      network: true,
      warnings: ["different_country", "different_network"],
    });
  });

  it("does not warn for the same country and network", () => {
    expect(compareRequests({ ip: "203.0.113.7", country: "de" }, { ip: "203.0.113.99", country: "DE" })).toEqual({
      country: false,
      network: false,
      warnings: [],
    });
  });

  it("never reports what it cannot know: an unknown side, or IPv4 against IPv6", () => {
    expect(compareRequests({ ip: null, country: null }, { ip: "203.0.113.7", country: "DE" })).toEqual({
      country: null,
      network: null,
      warnings: [],
    });
    expect(compareRequests({ ip: "203.0.113.7", country: "DE" }, { ip: "2001:db8::1", country: "DE" })).toEqual({
      country: false,
      network: null,
      warnings: [],
    });
  });
});

describe("user agents", () => {
  it.each([
    [
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
      "Chrome 124 on Windows 10/11",
      "desktop",
    ],
    [
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51",
      "Edge 124 on Windows 10/11",
      "desktop",
    ],
    [
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
      "Safari 17 on macOS",
      "desktop",
    ],
    [
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
      "Safari 17 on iOS 17.4",
      "mobile",
    ],
    [
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1",
      "Chrome 124 on iOS 17.4",
      "mobile",
    ],
    [
      "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
      "Safari 16 on iPadOS 16.6",
      "tablet",
    ],
    [
      "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36",
      "Chrome 124 on Android 14",
      "mobile",
    ],
    [
      "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
      "Samsung Internet 24 on Android 13",
      "mobile",
    ],
    ["Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", "Firefox 125 on Ubuntu", "desktop"],
    [
      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 OPR/109.0.0.0",
      "Opera 109 on Linux",
      "desktop",
    ],
    [
      "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
      "Chrome 124 on ChromeOS",
      "desktop",
    ],
    ["curl/8.5.0", "curl 8", "unknown"],
    ["", "Unknown browser", "unknown"],
  ])("%s → %s", (ua, label, deviceType) => {
    const parsed = parseUserAgent(ua);
    expect(parsed.label).toBe(label);
    expect(parsed.deviceType).toBe(deviceType);
  });

  it("never throws on hostile input", () => {
    expect(parseUserAgent("(".repeat(10_000)).browser).toBeNull();
    expect(parseUserAgent(null).label).toBe("Unknown browser");
  });
});

async function esKey(kid: string) {
  const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
  return { ...((await crypto.subtle.exportKey("jwk", pair.privateKey)) as object), kid };
}

function esConfig(keys: object[]): Config {
  return { jwtAlgorithm: "ES256", signingKeysJson: JSON.stringify({ keys }), jwtSecret: null } as Config;
}

describe("ids and the code", () => {
  it("ids are their expiry, 56 random bits and a 64-bit MAC (28 base64url characters); secrets are longer, and neither format admits the other", async () => {
    const keys = await getQrIdKeys({ jwtAlgorithm: "HS256", jwtSecret: "s".repeat(40), signingKeysJson: null } as Config);
    const expiresAtMs = Date.UTC(2030, 0, 1, 12, 2, 0, 345);
    const id = await newQrId(keys, expiresAtMs);
    const secret = await newQrSecret(keys, id, { hello: "browser" });
    expect(isQrId(id)).toBe(true);
    expect(await isIssuedQrId(keys, id)).toBe(true);
    expect(qrIdExpiresAtMs(id)).toBe(expiresAtMs);
    expect(isQrSecret(secret)).toBe(true);
    expect(isQrId(secret)).toBe(false);
    expect(isQrSecret(id)).toBe(false);
    expect(isQrId("../../etc/passwd000000000000")).toBe(false);
    const many = await Promise.all(Array.from({ length: 1000 }, () => newQrId(keys, expiresAtMs)));
    expect(new Set(many).size).toBe(1000);
  });

  it("a secret opens only for the id it was made for, under this worker's keys, unaltered: the ticket comes back as sealed", async () => {
    const keys = await getQrIdKeys({ jwtAlgorithm: "HS256", jwtSecret: "a".repeat(40), signingKeysJson: null } as Config);
    const theirs = await getQrIdKeys({ jwtAlgorithm: "HS256", jwtSecret: "b".repeat(40), signingKeysJson: null } as Config);
    const [id, other] = await Promise.all([newQrId(keys, 1e12), newQrId(keys, 1e12)]);
    const ticket = { publicKey: { x: "x", y: "y" }, createdAtMs: 5 };
    const secret = await newQrSecret(keys, id, ticket);
    expect(await openQrSecret(keys, id, secret)).toEqual(ticket);
    expect(await openQrSecret(keys, other, secret)).toBeNull();
    expect(await openQrSecret(theirs, id, secret)).toBeNull();
    const flipped = secret.slice(0, 20) + (secret[20] === "A" ? "B" : "A") + secret.slice(21);
    expect(await openQrSecret(keys, id, flipped)).toBeNull();
    expect(await openQrSecret(keys, id, "A".repeat(43))).toBeNull();
    expect(JSON.stringify(secret)).not.toContain("createdAtMs");
  });

  it("an id made under another secret, or with its MAC or random part altered, is not ours", async () => {
    const ours = await getQrIdKeys({ jwtAlgorithm: "HS256", jwtSecret: "a".repeat(40), signingKeysJson: null } as Config);
    const theirs = await getQrIdKeys({ jwtAlgorithm: "HS256", jwtSecret: "b".repeat(40), signingKeysJson: null } as Config);
    const id = await newQrId(ours, 1e12);
    expect(await isIssuedQrId(theirs, id)).toBe(false);
    const flip = (text: string, at: number) => text.slice(0, at) + (text[at] === "A" ? "B" : "A") + text.slice(at + 1);
    expect(await isIssuedQrId(ours, flip(id, 0))).toBe(false);
    expect(await isIssuedQrId(ours, flip(id, 27))).toBe(false);
    expect(await isIssuedQrId(ours, "A".repeat(28))).toBe(false);
    expect(await isIssuedQrId(ours, null)).toBe(false);
  });

  it("rotating the signing keys keeps open logins: ids made under the old first key still verify while it stays in the set", async () => {
    const [oldKey, newKey] = await Promise.all([esKey("old"), esKey("new")]);
    const before = await getQrIdKeys(esConfig([oldKey]));
    const id = await newQrId(before, 1e12);
    expect(await isIssuedQrId(await getQrIdKeys(esConfig([newKey, oldKey])), id)).toBe(true);
    expect(await isIssuedQrId(await getQrIdKeys(esConfig([newKey])), id)).toBe(false);
  });

  it("a typical phone page URL fits a version-4 code (33×33 modules), easily scanned", async () => {
    const keys = await getQrIdKeys({ jwtAlgorithm: "HS256", jwtSecret: "s".repeat(40), signingKeysJson: null } as Config);
    const url = `https://auth.example.com/qr/${await newQrId(keys, Date.now())}`;
    expect(new QRCode({ content: url, ecl: "M" }).qrcode.getModuleCount()).toBe(33);
    expect(await renderQrSvg(url)).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" version="1.1" viewBox="0 0 256 256">/);
  });
});

describe("the code", () => {
  it("draws two digits, 00-99, every one of the hundred reachable", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      const code = drawCode(() => crypto.getRandomValues(new Uint8Array(8)));
      expect(code).toMatch(/^\d{2}$/);
      seen.add(code);
    }
    expect(seen.size).toBe(100);
  });

  it("is exact for given randomness, and skips bytes that would bias the draw (≥ 200)", () => {
    const bytes = [[255, 200], [199]];
    expect(drawCode(() => Uint8Array.from(bytes.shift() ?? [0]))).toBe("99");
    expect(drawCode(() => Uint8Array.from([7]))).toBe("07");
    expect(drawCode(() => Uint8Array.from([100]))).toBe("00");
  });

  it("is uniform: each byte value below 200 maps to exactly one code, each code from exactly two bytes", () => {
    const counts = new Map<string, number>();
    for (let b = 0; b < 200; b++) {
      const code = drawCode(() => Uint8Array.from([b]));
      counts.set(code, (counts.get(code) ?? 0) + 1);
    }
    expect(counts.size).toBe(100);
    expect(new Set(counts.values())).toEqual(new Set([2]));
  });
});

describe("proximity", () => {
  const paris: Place = { country: "FR", city: "Paris", latitude: 48.8566, longitude: 2.3522 };
  const versailles: Place = { country: "FR", city: "Versailles", latitude: 48.8049, longitude: 2.1204 };
  const sydney: Place = { country: "AU", city: "Sydney", latitude: -33.8688, longitude: 151.2093 };

  it("measures the great-circle distance, rounded to the km", () => {
    expect(distanceKm(paris, versailles)).toBe(18);
    expect(distanceKm(paris, sydney)).toBe(16960);
    expect(distanceKm(paris, paris)).toBe(0);
  });

  it("is unknown, never refused and never far, when either place has no coordinates", () => {
    expect(proximity(null, paris, 10)).toEqual({ km: null, far: false, overLimit: false });
    expect(proximity({ ...paris, latitude: null }, paris, 10)).toEqual({ km: null, far: false, overLimit: false });
  });

  it(`warns beyond ${FAR_APART_KM} km; QR_MAX_DISTANCE_KM refuses beyond its value, and only when set`, () => {
    expect(proximity(paris, versailles, null)).toEqual({ km: 18, far: false, overLimit: false });
    expect(proximity(paris, sydney, null)).toEqual({ km: 16960, far: true, overLimit: false });
    expect(proximity(paris, versailles, 10)).toEqual({ km: 18, far: false, overLimit: true });
    expect(proximity(paris, versailles, 50)).toEqual({ km: 18, far: false, overLimit: false });
  });

  it.each([
    ["203.0.113.7", true],
    ["2001:db8::1", true],
    ["127.0.0.1", false],
    ["::1", false],
    ["10.0.0.8", false],
    ["172.20.1.1", false],
    ["172.32.1.1", true],
    ["192.168.0.4", false],
    ["169.254.1.1", false],
    ["100.64.0.1", false],
    ["::ffff:127.0.0.1", false],
    ["fd12::1", false],
    ["fe80::1", false],
    [null, false],
    ["localhost", false],
  ])("request.cf is trusted for %s: %s", (ip, trusted) => {
    expect(isPublicAddress(ip)).toBe(trusted);
  });

  it("ignores wrangler dev's made-up place (Austin) for 127.0.0.1, and the dev header unless QR_DEV_PLACES is on and the client is not public", () => {
    const local = new Request("http://x/", {
      headers: { "cf-connecting-ip": "127.0.0.1", [DEV_PLACE_HEADER]: "35.68,139.69,jp,Tokyo" },
      cf: { country: "US", city: "Austin", latitude: "30.27130", longitude: "-97.74260" },
    });
    expect(placeFromRequest(local)).toBeNull();
    expect(placeFromRequest(local, { devPlaces: true })).toEqual({ latitude: 35.68, longitude: 139.69, country: "JP", city: "Tokyo" });
    const edge = new Request("http://x/", {
      headers: { "cf-connecting-ip": "203.0.113.7", [DEV_PLACE_HEADER]: "35.68,139.69,JP,Tokyo" },
      cf: { country: "NG", city: "Lagos", latitude: "6.45", longitude: "3.39" },
    });
    expect(placeFromRequest(edge, { devPlaces: true })).toEqual({ country: "NG", city: "Lagos", latitude: 6.45, longitude: 3.39 });
  });
});

describe("sealing the pair", () => {
  it("opens with the browser's private key and the same login id", async () => {
    const key = await browserKey();
    const sealed = await seal(key.publicJwk, "login-1", { access: "a", refresh: "r", user: { id: 1, username: "alice" } });
    expect(sealed.iv).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(sealed.epk).toEqual({ kty: "EC", crv: "P-256", x: expect.any(String), y: expect.any(String) });
    expect(await open(key.privateKey, "login-1", sealed)).toEqual({ access: "a", refresh: "r", user: { id: 1, username: "alice" } });
  });

  it("every seal uses a fresh ephemeral key and iv", async () => {
    const key = await browserKey();
    const [a, b] = await Promise.all([seal(key.publicJwk, "x", {}), seal(key.publicJwk, "x", {})]);
    expect(a.epk.x).not.toBe(b.epk.x);
    expect(a.iv).not.toBe(b.iv);
  });

  it("does not open under another login id (it is the HKDF salt and the AEAD's additional data)", async () => {
    const key = await browserKey();
    const sealed = await seal(key.publicJwk, "login-1", { access: "a" });
    await expect(open(key.privateKey, "login-2", sealed)).rejects.toThrow();
  });
});
