/**
 * The one state→text table (client/qr-text.ts) that /login and <qr-login> both read: every state's heading and
 * announced line, the lost connection, the countdown and the QR image's name.
 */
import { describe, expect, it } from "vitest";
import type { QrLoginState } from "../../client/qr-engine";
import { CODE_HINT, CODE_INVALID, connectionText, countdownText, qrLabel, qrStateText } from "../../client/qr-text";

const user = { id: 1, username: "alice" };
const ID = "A".repeat(28);

const rows: [QrLoginState, string, string][] = [
  [{ state: "starting" }, "Sign in with your phone", "Getting a sign-in code…"],
  [{ state: "pending", id: ID, url: "u", svg: "", expiresAt: 0 }, "Sign in with your phone", "Scan the code with your phone's camera."],
  [{ state: "scanned", id: ID, user, expiresAt: 0 }, "Sign in with your phone", ""],
  [{ state: "confirming", id: ID, user, code: "47", expiresAt: 0 }, "Waiting for your phone", "Now tap Approve on alice's phone."],
  [{ state: "signing-in" }, "Approved", "Approved. Signing you in…"],
  [{ state: "approved", pair: { access: "a", refresh: "r" }, user }, "Signed in as alice", "Signed in as alice."],
  [{ state: "denied", reason: "phone" }, "Sign-in denied", "The sign-in was denied on the phone. Nobody was signed in."],
  [
    { state: "denied", reason: "code_mismatch" },
    "Sign-in cancelled",
    "That number did not match the one on the phone, so the sign-in was cancelled. Nobody was signed in.",
  ],
  [{ state: "denied", reason: "cancelled" }, "Sign-in cancelled", "This code was cancelled. Nobody was signed in."],
  [{ state: "expired" }, "Code expired", "That code expired. Getting a new one…"],
  [
    { state: "error", message: "Could not get a sign-in code.", retryInMs: 2400 },
    "No code right now",
    "Could not get a sign-in code. Trying again in 3 s…",
  ],
  [
    { state: "error", message: "The sign-in could not be opened on this page.", retryInMs: 0 },
    "No code right now",
    "The sign-in could not be opened on this page. Getting a new code…",
  ],
  [{ state: "error", message: "Could not get a sign-in code.", retryInMs: null }, "No code right now", "Could not get a sign-in code."],
];

describe("the QR login's words", () => {
  it.each(rows)("%o reads as its title and status", (state, title, status) => {
    expect(qrStateText(state)).toMatchObject({ title, status });
  });

  it("the scanned step says each thing once (who scanned, what to type), and never a code", () => {
    const scanned = qrStateText({ state: "scanned", id: ID, user, expiresAt: 0 });
    expect(scanned.prompt).toBe("alice scanned this code — type the number shown on your phone");
    expect(JSON.stringify(qrStateText({ state: "confirming", id: ID, user, code: "47", expiresAt: 0 }))).not.toContain("47");
    expect([CODE_HINT, CODE_INVALID]).toEqual([
      "Two digits, one try: a wrong number cancels the sign-in.",
      "Type the two digits shown on your phone.",
    ]);
  });

  it("a lost connection says when it tries again; a live or closed one says nothing of its own", () => {
    expect(connectionText({ status: "reconnecting", retryInMs: 2600 })).toBe("Connection lost. Reconnecting in 3 s…");
    expect(connectionText({ status: "reconnecting", retryInMs: 300 })).toBe("Connection lost. Reconnecting in 1 s…");
    expect(connectionText({ status: "live" })).toBeNull();
    expect(connectionText({ status: "closed" })).toBeNull();
  });

  it("counts down in m:ss, then says expired; the QR's name ends with the URL it opens", () => {
    expect([countdownText(125), countdownText(9), countdownText(0)]).toEqual(["Expires in 2:05", "Expires in 0:09", "Expired"]);
    expect(qrLabel(`https://auth.test/qr/${ID}`)).toMatch(new RegExp(`opens https://auth\\.test/qr/${ID}$`));
    expect(qrLabel()).toBe("QR code to sign in: scan it with your phone.");
  });
});
