/**
 * @module QR Policy — the QR login's states, the phone's transitions and what the browser is told,
 * as pure functions: no I/O, and time (`nowMs`, ms since the epoch) is always an argument.
 *
 *   pending ──scan──▶ scanned ──approve──▶ approved
 *      │                 │ └────deny────▶ denied
 *      ├──approve / deny (counts as the scan too)
 *      └──(alarm at expires_at, from pending or scanned)──▶ expired
 */

export type QrState = "pending" | "scanned" | "approved" | "denied" | "expired";
export type PhoneAction = "scan" | "approve" | "deny";

/** The phone's user, as the browser is shown it. */
export interface QrUser {
  id: number;
  username: string;
}

/** What the transitions depend on. */
export interface QrSnapshot {
  state: QrState;
  /** The phone user the first scan bound the session to; null until then. */
  user: QrUser | null;
  expiresAtMs: number;
}

export type QrRefusal = "qr_expired" | "qr_not_pending" | "qr_claimed";

export type Decision = { ok: true; next: QrState; changed: boolean } | { ok: false; code: QrRefusal };

export function isOpen(state: QrState): boolean {
  return state === "pending" || state === "scanned";
}

/** The state as of `nowMs`: an open session past its expiry is expired even if its alarm has not run yet. */
export function effectiveState(session: QrSnapshot, nowMs: number): QrState {
  return isOpen(session.state) && nowMs >= session.expiresAtMs ? "expired" : session.state;
}

function refuse(code: QrRefusal): Decision {
  return { ok: false, code };
}

/**
 * What `action` by phone user `userId` does at `nowMs`. A finished session refuses everything (409),
 * an expired one too (410); the first scan binds the session and anyone else is refused (409). A scan
 * repeated by the bound user changes nothing and succeeds, so the phone page can be reloaded.
 */
export function decide(session: QrSnapshot, action: PhoneAction, userId: number, nowMs: number): Decision {
  const state = effectiveState(session, nowMs);
  if (state === "approved" || state === "denied") return refuse("qr_not_pending");
  if (state === "expired") return refuse("qr_expired");
  if (session.user !== null && session.user.id !== userId) return refuse("qr_claimed");
  switch (action) {
    case "scan":
      return { ok: true, next: "scanned", changed: state !== "scanned" };
    case "approve":
      return { ok: true, next: "approved", changed: true };
    case "deny":
      return { ok: true, next: "denied", changed: true };
  }
}

/** Whether phone user `userId` may read who is asking: not once expired, never once someone else scanned. */
export function canView(session: QrSnapshot, userId: number, nowMs: number): { ok: true } | { ok: false; code: QrRefusal } {
  if (effectiveState(session, nowMs) === "expired") return { ok: false, code: "qr_expired" };
  if (session.user !== null && session.user.id !== userId) return { ok: false, code: "qr_claimed" };
  return { ok: true };
}

/** The token pair issued by approval, as the object holds it until the browser has it. */
export type PairDelivery =
  /** Approved; the D1 session and tokens are being created. */
  | { status: "issuing" }
  /** Issued and kept for the browser; `sentTo` is the socket it was last sent on. */
  | { status: "ready"; access: string; refresh: string; sentTo: string | null }
  /** The browser acknowledged it (clean close after the event); the tokens are gone from storage. */
  | { status: "received" };

export type BrowserEvent =
  | { type: "pending"; expires_at: string }
  | { type: "scanned"; user: QrUser; expires_at: string }
  | { type: "approved"; access: string; refresh: string; user: QrUser }
  | { type: "denied" }
  | { type: "expired" };

export function isoMs(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

/**
 * The event a browser that (re)connects at `nowMs` is sent, so a dropped connection misses nothing;
 * null when there is nothing left to send (the pair was already received).
 */
export function currentEvent(session: QrSnapshot, pair: PairDelivery | null, nowMs: number): BrowserEvent | null {
  const state = effectiveState(session, nowMs);
  switch (state) {
    case "pending":
      return { type: "pending", expires_at: isoMs(session.expiresAtMs) };
    case "scanned":
      return { type: "scanned", user: session.user!, expires_at: isoMs(session.expiresAtMs) };
    case "approved":
      if (pair?.status === "ready") return { type: "approved", access: pair.access, refresh: pair.refresh, user: session.user! };
      // Still issuing: the browser sees the scan; the pair follows on the same socket.
      if (pair?.status === "issuing") return { type: "scanned", user: session.user!, expires_at: isoMs(session.expiresAtMs) };
      return null;
    case "denied":
      return { type: "denied" };
    case "expired":
      return { type: "expired" };
  }
}

/** After these the server closes the socket (DESIGN.md). */
export function isFinalEvent(event: BrowserEvent): boolean {
  return event.type === "approved" || event.type === "denied" || event.type === "expired";
}
