/**
 * @module QR Text — the one table from a QR login state to the words people read, shared by the /login page and the
 * <qr-login> element so both say the same thing, and each thing once.
 */
import type { QrLoginState } from "./qr-login";

export interface QrStateText {
  /** The card's heading. */
  title: string;
  /** The live region's line (announced); "" when the step's own label says it (the code input). */
  status: string;
  /** The code input's label, in the scanned state only. */
  prompt?: string;
}

/** The label of the code input: the one instruction of the scanned step. */
export function codePrompt(username: string): string {
  return `${username} scanned this code — type the number shown on your phone`;
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
      return {
        title: "Sign-in cancelled",
        status:
          s.reason === "code_mismatch"
            ? "That number did not match the one on the phone, so the sign-in was cancelled. Nobody was signed in."
            : s.reason === "cancelled"
              ? "This code was cancelled. Nobody was signed in."
              : "The sign-in was denied on the phone. Nobody was signed in.",
      };
    case "expired":
      return { title: "Code expired", status: "That code expired. Getting a new one…" };
    case "error":
      return { title: "No code right now", status: `${s.message}${s.retryInMs ? ` Trying again in ${Math.ceil(s.retryInMs / 1000)} s…` : ""}` };
  }
}
