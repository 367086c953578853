/**
 * @module QR Text — the one table from a QR login state to the words people read, shared by the /login page and the
 * <qr-login> element so both say the same thing, and each thing once. Layout (what is shown where) stays each page's.
 */
import { minutesSeconds } from "./dom";
import type { QrConnection, QrLoginState } from "./qr-engine";

export interface QrStateText {
  /** The card's heading. */
  title: string;
  /** The live region's line (announced); "" when the step's own label says it (the code input). */
  status: string;
  /** The code input's label, in the scanned state only. */
  prompt?: string;
}

/** Under the code input: the rule of the code step. */
export const CODE_HINT = "Two digits, one try: a wrong number cancels the sign-in.";
/** The code input's error when what was typed is not two digits (or not now). */
export const CODE_INVALID = "Type the two digits shown on your phone.";

/** The label of the code input: the one instruction of the scanned step. */
export function codePrompt(username: string): string {
  return `${username} scanned this code — type the number shown on your phone`;
}

/** The QR image's accessible name; once there is a code it ends with the URL the code opens (what it encodes). */
export function qrLabel(url?: string): string {
  return url ? `QR code to sign in: scan it with your phone. It opens ${url}` : "QR code to sign in: scan it with your phone.";
}

/** Under the code: the time left, whole seconds. */
export function countdownText(secondsLeft: number): string {
  return secondsLeft > 0 ? `Expires in ${minutesSeconds(secondsLeft)}` : "Expired";
}

/** What a lost socket says in the live region; null when the state's own status line applies. */
export function connectionText(c: QrConnection): string | null {
  return c.status === "reconnecting" ? `Connection lost. Reconnecting in ${Math.max(1, Math.round(c.retryInMs / 1000))} s…` : null;
}

export function qrStateText(s: QrLoginState): QrStateText {
  switch (s.state) {
    case "starting":
      return { title: "Sign in with your phone", status: "Getting a sign-in code…" };
    case "pending":
      return { title: "Sign in with your phone", status: "Scan the code with your phone's camera." };
    case "scanned":
      // The heading stays put: the input's label is the one instruction (said once).
      return { title: "Sign in with your phone", status: "", prompt: codePrompt(s.user.username) };
    case "confirming":
      return { title: "Waiting for your phone", status: `Now tap Approve on ${s.user.username}'s phone.` };
    case "signing-in":
      return { title: "Approved", status: "Approved. Signing you in…" };
    case "approved":
      return { title: `Signed in as ${s.user.username}`, status: `Signed in as ${s.user.username}.` };
    case "denied":
      switch (s.reason) {
        case "code_mismatch":
          return {
            title: "Sign-in cancelled",
            status: "That number did not match the one on the phone, so the sign-in was cancelled. Nobody was signed in.",
          };
        case "cancelled":
          return { title: "Sign-in cancelled", status: "This code was cancelled. Nobody was signed in." };
        default:
          return { title: "Sign-in denied", status: "The sign-in was denied on the phone. Nobody was signed in." };
      }
    case "expired":
      return { title: "Code expired", status: "That code expired. Getting a new one…" };
    case "error":
      return {
        title: "No code right now",
        // 0: a new code is already on its way; null: the user starts over (autoRenew off).
        status: `${s.message}${s.retryInMs === 0 ? " Getting a new code…" : s.retryInMs ? ` Trying again in ${Math.ceil(s.retryInMs / 1000)} s…` : ""}`,
      };
  }
}
