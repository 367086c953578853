/** @module Page Problems — what the phone page says when a code cannot be approved; the server and the script share it. */

export type ProblemCode =
  | "not_found"
  | "qr_expired"
  | "qr_not_pending"
  | "qr_claimed"
  | "qr_too_far"
  | "qr_not_scanned"
  | "qr_browser_away"
  | "throttled"
  | "error";

export interface Problem {
  /** The status a server-rendered problem page answers with. */
  status: 403 | 404 | 409 | 410 | 429 | 500;
  title: string;
  text: string;
}

/** What the phone page's `#page-data` block holds for its script (client/phone-page.ts reads it). */
export interface PhonePageData {
  id: string;
  problems: Record<ProblemCode, Problem>;
}

export const PROBLEMS: Record<ProblemCode, Problem> = {
  not_found: {
    status: 404,
    title: "This code isn't valid",
    text: "The link may be cut off or mistyped, or the sign-in ended a while ago. Scan the code on your computer's screen again.",
  },
  qr_expired: {
    status: 410,
    title: "This code has expired",
    text: "Codes last only a few minutes. Your computer shows a new code by itself: scan that one.",
  },
  qr_not_pending: {
    status: 409,
    title: "This sign-in is already finished",
    text: "It was already approved or denied. To sign in again, scan a new code.",
  },
  qr_claimed: {
    status: 409,
    title: "Another account scanned this code",
    text: "Only the account that scanned it first can approve it. Nothing was done with your account. To sign in, scan a new code.",
  },
  qr_too_far: {
    status: 403,
    title: "Too far away to approve",
    text: "This phone is too far from the computer asking to sign in, so it cannot approve it. Sign in on a computer near you. If you did not start this sign-in, someone may be trying to get into your account: tap Deny.",
  },
  qr_not_scanned: {
    status: 409,
    title: "Start again from the code",
    text: "This sign-in has not been confirmed on this phone yet. Scan the code on your computer's screen again.",
  },
  qr_browser_away: {
    status: 409,
    title: "The computer isn't connected",
    text: "The page showing this code has lost its connection. Keep it open on your computer, wait a moment, then try again.",
  },
  throttled: {
    status: 429,
    title: "Too many requests",
    text: "Wait a moment and try again.",
  },
  error: {
    status: 500,
    title: "Something went wrong",
    text: "We couldn't reach the server. Check your connection and try again.",
  },
};
