/**
 * @module QR Policy — the QR login's states, what the phone and the browser may do and what the browser is told,
 * as pure functions: no I/O; time (`nowMs`, ms since the epoch) and randomness are always arguments.
 *
 * Protocol v3: both people act. The phone's owner approves; the browser's user types the code the phone shows.
 *
 *   pending ──scan (binds the phone's account, draws the code "00"–"99")──▶ scanned
 *   scanned ──phone approves──▶ scanned {phoneApproved} ──browser sends the right code──▶ approved (pair released)
 *   scanned ──browser sends the right code──▶ scanned {codeEntered} ──phone approves────▶ approved (pair released)
 *   scanned ──browser sends a wrong code (one try)──▶ denied (code_mismatch)
 *   scanned ──phone denies──▶ denied      scanned|pending ──browser cancels──▶ denied (cancelled)
 *      └──(alarm at expires_at, from pending or scanned)──▶ expired
 *
 * Only the account that scanned may act (anyone else: 409 qr_claimed); approve and deny before the caller's
 * scan are 409 qr_not_scanned. The code reaches only the bound phone, never the browser, so whoever watches the
 * browser's screen (or reads its traffic) and scans with their own phone cannot finish the login: the browser's
 * user would have to type a code they never saw, and one wrong guess (1 in 100 to hit) ends it. The pair goes
 * only to a socket that sent the right code, so a watcher who opens the socket with the browser's secret can
 * draw the sealed pair to their own socket (useless without the browser's private key) but never to the browser.
 */

/** How long a login's record outlives its code's expiry (time for a dropped browser to fetch an undelivered pair); after that its id is 404. */
export const FINISHED_RETENTION_MS = 60_000;

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
  /** The phone user the scan bound the session to; null until then. */
  user: QrUser | null;
  expiresAtMs: number;
  /** Two digits "00"–"99", drawn by the scan, shown only to the bound phone; null before it. */
  code: string | null;
  /** The bound phone approved (the pair waits for the browser's code). */
  phoneApproved: boolean;
  /** The browser sent the right code (the pair waits for the phone's approval). */
  codeEntered: boolean;
}

export type QrRefusal = "qr_expired" | "qr_not_pending" | "qr_claimed" | "qr_not_scanned" | "qr_too_far";

/** What the proximity check found for an approval (computed by signals.ts from both requests' places). */
export interface ApproveContext {
  /** QR_MAX_DISTANCE_KM is set and the two ends are known to be farther apart than it. */
  tooFar: boolean;
}

export type Decision =
  /** `release`: both people have acted, the pair may be issued now. */
  { ok: true; next: QrState; changed: boolean; phoneApproved: boolean; release: boolean } | { ok: false; code: QrRefusal };

/** A login as its id alone describes it: open, nobody has acted, nothing stored. */
export function untouched(expiresAtMs: number): QrSnapshot {
  return { state: "pending", user: null, expiresAtMs, code: null, phoneApproved: false, codeEntered: false };
}

export function isOpen(state: QrState): boolean {
  return state === "pending" || state === "scanned";
}

/** The state as of `nowMs`: an open session past its expiry is expired even if its alarm has not run yet. */
export function effectiveState(session: Pick<QrSnapshot, "state" | "expiresAtMs">, nowMs: number): QrState {
  return isOpen(session.state) && nowMs >= session.expiresAtMs ? "expired" : session.state;
}

function refuse(code: QrRefusal): Decision {
  return { ok: false, code };
}

/**
 * What `action` by phone user `userId` does at `nowMs`. A finished session refuses everything (409), an expired
 * one too (410). A scan binds the session; a scan or approve repeated by the bound user changes nothing and
 * succeeds, so the phone page can be reloaded or retried. An approval beyond QR_MAX_DISTANCE_KM is 403 qr_too_far
 * and leaves the login open (the phone may deny it).
 */
export function decide(
  session: QrSnapshot,
  action: PhoneAction,
  userId: number,
  nowMs: number,
  context: ApproveContext = { tooFar: false },
): Decision {
  const state = effectiveState(session, nowMs);
  if (state === "approved" || state === "denied") return refuse("qr_not_pending");
  if (state === "expired") return refuse("qr_expired");
  if (session.user !== null && session.user.id !== userId) return refuse("qr_claimed");
  const stay = { phoneApproved: session.phoneApproved, release: false };
  if (action === "scan") return { ok: true, next: "scanned", changed: state !== "scanned", ...stay };
  if (session.user === null || session.code === null) return refuse("qr_not_scanned");
  if (action === "deny") return { ok: true, next: "denied", changed: true, ...stay };
  if (context.tooFar) return refuse("qr_too_far");
  if (session.phoneApproved) return { ok: true, next: "scanned", changed: false, ...stay };
  return { ok: true, next: session.codeEntered ? "approved" : "scanned", changed: true, phoneApproved: true, release: session.codeEntered };
}

/** What a `{"type": "code"}` message on the browser's socket does. */
export type CodeDecision =
  /** Nothing: no code drawn yet, the login is over, or malformed. */
  | { kind: "ignore" }
  /** The right code: remember it; `release` when the phone approved already; `deliver` when the pair is ready for this socket. */
  | { kind: "accept"; release: boolean; first: boolean }
  /** A wrong code: the login ends denied (code_mismatch). */
  | { kind: "end" };

/**
 * The browser's one try. The right code sent again (a reconnecting browser re-sends what its user typed) is
 * accepted again and never counts as a try; the first wrong one ends the login, also once it is approved (the pair,
 * not yet received, is then withdrawn).
 */
export function enterCode(session: QrSnapshot, code: unknown, nowMs: number): CodeDecision {
  if (typeof code !== "string" || !/^\d{2}$/.test(code)) return { kind: "ignore" };
  const state = effectiveState(session, nowMs);
  if (session.code === null) return { kind: "ignore" };
  // Approved by a socket that sent the right code: another socket's wrong code still ends it (the pair is withdrawn), so
  // reconnecting cannot buy a second guess.
  if (state === "approved") return code === session.code ? { kind: "accept", release: false, first: false } : { kind: "end" };
  if (state !== "scanned") return { kind: "ignore" };
  if (code !== session.code) return session.codeEntered ? { kind: "ignore" } : { kind: "end" };
  return { kind: "accept", release: session.phoneApproved && !session.codeEntered, first: !session.codeEntered };
}

/** How much of the request phone user `userId` may read: everything once they scanned it, only state and expiry before. */
export type Visibility = { ok: true; detail: "full" | "limited" } | { ok: false; code: QrRefusal };

export function canView(session: Pick<QrSnapshot, "state" | "expiresAtMs" | "user">, userId: number, nowMs: number): Visibility {
  if (effectiveState(session, nowMs) === "expired") return { ok: false, code: "qr_expired" };
  if (session.user === null) return { ok: true, detail: "limited" };
  if (session.user.id !== userId) return { ok: false, code: "qr_claimed" };
  return { ok: true, detail: "full" };
}

/**
 * Draws the code from `random` (uniform random bytes; tests pass fixed ones): "00"–"99", each exactly 1 in 100.
 * Bytes ≥ 200 are rejected so there is no modulo bias.
 */
export function drawCode(random: () => Uint8Array): string {
  for (;;) {
    for (const byte of random()) {
      if (byte < 200) return String(byte % 100).padStart(2, "0");
    }
  }
}

/** A P-256 public key as a JWK: what the browser sends at creation, and the sealing's ephemeral `epk`. */
export interface PublicEcJwk {
  kty: "EC";
  crv: "P-256";
  x: string;
  y: string;
}

/** The token pair and its user, sealed to the browser's key (see seal.ts): the only form in which they are kept or sent. */
export interface SealedPair {
  epk: PublicEcJwk;
  /** base64url, 12 bytes. */
  iv: string;
  /** base64url: AES-256-GCM of `{"access", "refresh", "user"}`, tag included. */
  ciphertext: string;
}

/** The token pair issued by approval, as the object holds it until the browser has it. */
export type PairDelivery =
  /** Approved; the D1 session and tokens are being created. */
  | { status: "issuing" }
  /** Issued, sealed and kept for the browser; `sentTo` is the socket it was last sent on. */
  | { status: "ready"; sealed: SealedPair; sentTo: string | null }
  /** The browser acknowledged it (clean close after the event); nothing is kept. */
  | { status: "received" }
  /** A wrong code arrived after approval: the pair is dropped unsent; the browser is told denied (code_mismatch). */
  | { status: "withdrawn" };

export type BrowserEvent =
  | { type: "pending"; expires_at: string }
  /** Names the account about to sign in; never the code (only the bound phone shows it). */
  | { type: "scanned"; user: QrUser; expires_at: string }
  | { type: "approved"; sealed: SealedPair }
  /** `reason`: "code_mismatch" when the browser sent a wrong code, "cancelled" when the browser walked away. */
  | { type: "denied"; reason?: "code_mismatch" | "cancelled" }
  | { type: "expired" };

/** Why a login ended denied (null: the phone denied it); kept so a reconnecting browser hears why. */
export type DenyReason = "code_mismatch" | "cancelled" | null;

/** What the browser may send on its socket (besides the "ping" keep-alive): it walks away from this code. */
export interface BrowserCancel {
  type: "cancel";
}

/** What the browser sends once its user typed the phone's code ("00"–"99"); re-sent as is after a reconnect. */
export interface BrowserCode {
  type: "code";
  code: string;
}

export function isoMs(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

function scannedEvent(session: QrSnapshot): BrowserEvent {
  return { type: "scanned", user: session.user!, expires_at: isoMs(session.expiresAtMs) };
}

/**
 * The event a browser that (re)connects at `nowMs` is sent, so a dropped connection misses nothing;
 * null when there is nothing left to send (the pair was already received). An approved login shows a new
 * socket `scanned`: the pair goes only to a socket that sends the right code (see enterCode).
 */
export function currentEvent(
  session: QrSnapshot,
  pair: PairDelivery | null,
  nowMs: number,
  denyReason: DenyReason = null,
): BrowserEvent | null {
  const state = effectiveState(session, nowMs);
  switch (state) {
    case "pending":
      return { type: "pending", expires_at: isoMs(session.expiresAtMs) };
    case "scanned":
      return scannedEvent(session);
    case "approved":
      if (pair?.status === "received") return null;
      if (pair?.status === "withdrawn") return { type: "denied", reason: "code_mismatch" };
      return scannedEvent(session);
    case "denied":
      return denyReason ? { type: "denied", reason: denyReason } : { type: "denied" };
    case "expired":
      return { type: "expired" };
  }
}

/** After these the server closes the socket: nothing more can happen to the login. */
export function isFinalEvent(event: BrowserEvent): boolean {
  return event.type === "approved" || event.type === "denied" || event.type === "expired";
}
