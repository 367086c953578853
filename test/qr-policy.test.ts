/** The QR login's pure parts, without bindings: state transitions, browser events, the mismatch signal, user agents, ids. */
import QRCode from "qrcode-svg";
import { describe, expect, it } from "vitest";
import { parseUserAgent } from "../src/http/user-agent";
import { isQrId, isQrSecret, newQrId, newQrSecret } from "../src/qr/ids";
import { canView, currentEvent, decide, effectiveState, type PhoneAction, type QrSnapshot, type QrState } from "../src/qr/policy";
import { renderQrSvg } from "../src/qr/render";
import { compareRequests, networkPrefix } from "../src/qr/signals";

const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);
const ALICE = { id: 1, username: "alice" };
const MALLORY = { id: 2, username: "mallory" };

function session(state: QrState, user: typeof ALICE | null = null, expiresAtMs = NOW + 60_000): QrSnapshot {
  return { state, user, expiresAtMs };
}

describe("transitions", () => {
  it.each<[QrState, typeof ALICE | null, PhoneAction, number, ReturnType<typeof decide>]>([
    ["pending", null, "scan", ALICE.id, { ok: true, next: "scanned", changed: true }],
    ["pending", null, "approve", ALICE.id, { ok: true, next: "approved", changed: true }],
    ["pending", null, "deny", ALICE.id, { ok: true, next: "denied", changed: true }],
    ["scanned", ALICE, "scan", ALICE.id, { ok: true, next: "scanned", changed: false }],
    ["scanned", ALICE, "approve", ALICE.id, { ok: true, next: "approved", changed: true }],
    ["scanned", ALICE, "deny", ALICE.id, { ok: true, next: "denied", changed: true }],
    ["scanned", ALICE, "scan", MALLORY.id, { ok: false, code: "qr_claimed" }],
    ["scanned", ALICE, "approve", MALLORY.id, { ok: false, code: "qr_claimed" }],
    ["scanned", ALICE, "deny", MALLORY.id, { ok: false, code: "qr_claimed" }],
    ["approved", ALICE, "approve", ALICE.id, { ok: false, code: "qr_not_pending" }],
    ["approved", ALICE, "scan", MALLORY.id, { ok: false, code: "qr_not_pending" }],
    ["denied", ALICE, "approve", ALICE.id, { ok: false, code: "qr_not_pending" }],
    ["expired", null, "approve", ALICE.id, { ok: false, code: "qr_expired" }],
    ["expired", ALICE, "scan", ALICE.id, { ok: false, code: "qr_expired" }],
  ])("%s (bound to %o): %s by user %i → %o", (state, user, action, userId, expected) => {
    expect(decide(session(state, user), action, userId, NOW)).toEqual(expected);
  });

  it("an open session past expires_at is expired even before its alarm ran; a finished one stays finished", () => {
    expect(decide(session("pending", null, NOW), "approve", ALICE.id, NOW)).toEqual({ ok: false, code: "qr_expired" });
    expect(decide(session("scanned", ALICE, NOW - 1), "approve", ALICE.id, NOW)).toEqual({ ok: false, code: "qr_expired" });
    expect(decide(session("pending", null, NOW + 1), "approve", ALICE.id, NOW)).toMatchObject({ ok: true });
    expect(effectiveState(session("approved", ALICE, NOW - 1), NOW)).toBe("approved");
  });

  it("only the bound user may read who is asking, and nobody once it expired", () => {
    expect(canView(session("pending"), MALLORY.id, NOW)).toEqual({ ok: true });
    expect(canView(session("scanned", ALICE), ALICE.id, NOW)).toEqual({ ok: true });
    expect(canView(session("scanned", ALICE), MALLORY.id, NOW)).toEqual({ ok: false, code: "qr_claimed" });
    expect(canView(session("pending", null, NOW), ALICE.id, NOW)).toEqual({ ok: false, code: "qr_expired" });
  });
});

describe("what a (re)connecting browser is sent", () => {
  const expires_at = new Date(NOW + 60_000).toISOString();

  it("the current state, so a reconnect misses nothing", () => {
    expect(currentEvent(session("pending"), null, NOW)).toEqual({ type: "pending", expires_at });
    expect(currentEvent(session("scanned", ALICE), null, NOW)).toEqual({ type: "scanned", user: ALICE, expires_at });
    expect(currentEvent(session("denied", ALICE), null, NOW)).toEqual({ type: "denied" });
    expect(currentEvent(session("expired"), null, NOW)).toEqual({ type: "expired" });
    expect(currentEvent(session("pending", null, NOW), null, NOW)).toEqual({ type: "expired" });
  });

  it("the pair while it is kept, scanned while it is being issued, nothing once received", () => {
    const approved = session("approved", ALICE);
    expect(currentEvent(approved, { status: "ready", access: "a", refresh: "r", sentTo: null }, NOW)).toEqual({ type: "approved", access: "a", refresh: "r", user: ALICE });
    expect(currentEvent(approved, { status: "issuing" }, NOW)).toEqual({ type: "scanned", user: ALICE, expires_at });
    expect(currentEvent(approved, { status: "received" }, NOW)).toBeNull();
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
    expect(compareRequests({ ip: "203.0.113.7", country: "de" }, { ip: "203.0.113.99", country: "DE" })).toEqual({ country: false, network: false, warnings: [] });
  });

  it("never reports what it cannot know: an unknown side, or IPv4 against IPv6", () => {
    expect(compareRequests({ ip: null, country: null }, { ip: "203.0.113.7", country: "DE" })).toEqual({ country: null, network: null, warnings: [] });
    expect(compareRequests({ ip: "203.0.113.7", country: "DE" }, { ip: "2001:db8::1", country: "DE" })).toEqual({ country: false, network: null, warnings: [] });
  });
});

describe("user agents", () => {
  it.each([
    ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", "Chrome 124 on Windows 10/11", "desktop"],
    ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51", "Edge 124 on Windows 10/11", "desktop"],
    ["Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15", "Safari 17 on macOS", "desktop"],
    ["Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", "Safari 17 on iOS 17.4", "mobile"],
    ["Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1", "Chrome 124 on iOS 17.4", "mobile"],
    ["Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1", "Safari 16 on iPadOS 16.6", "tablet"],
    ["Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36", "Chrome 124 on Android 14", "mobile"],
    ["Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36", "Samsung Internet 24 on Android 13", "mobile"],
    ["Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", "Firefox 125 on Ubuntu", "desktop"],
    ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 OPR/109.0.0.0", "Opera 109 on Linux", "desktop"],
    ["Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", "Chrome 124 on ChromeOS", "desktop"],
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

describe("ids and the code", () => {
  it("ids are 128-bit base64url, secrets 256-bit, and neither format admits the other", () => {
    const id = newQrId();
    const secret = newQrSecret();
    expect(isQrId(id)).toBe(true);
    expect(isQrSecret(secret)).toBe(true);
    expect(isQrId(secret)).toBe(false);
    expect(isQrSecret(id)).toBe(false);
    expect(isQrId("../../etc/passwd00000")).toBe(false);
    expect(new Set(Array.from({ length: 1000 }, newQrId)).size).toBe(1000);
  });

  it("a typical phone page URL fits a version-4 code (33×33 modules), easily scanned", () => {
    const url = `https://auth.example.com/qr/${newQrId()}`;
    expect(new QRCode({ content: url, ecl: "M" }).qrcode.getModuleCount()).toBe(33);
    expect(renderQrSvg(url)).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" version="1.1" viewBox="0 0 256 256">/);
  });
});
