/**
 * @module QR Policy — the QR login's states, the phone's transitions and what the browser is told,
 * as pure functions: no I/O; time (`nowMs`, ms since the epoch) and randomness are always arguments.
 *
 *   pending ──scan (binds the phone's account, draws the check code)──▶ scanned
 *                                                                        │ ├─approve {right code}─▶ approved
 *                                                                        │ ├─approve {wrong code}─▶ denied (403 qr_code_mismatch)
 *                                                                        │ └─deny─────────────────▶ denied
 *      └──(alarm at expires_at, from pending or scanned)──▶ expired
 *
 * Only the account that scanned may act (anyone else: 409 qr_claimed); approve and deny before the
 * caller's scan are 409 qr_not_scanned, so a stranger who merely saw the code can neither sign the
 * browser in to their own account (login CSRF) nor end it. One wrong code ends the login, so the
 * 1-in-3 guess is the only guess.
 */

export type QrState = "pending" | "scanned" | "approved" | "denied" | "expired";
export type PhoneAction = "scan" | "approve" | "deny";

/** The phone's user, as the browser is shown it. */
export interface QrUser {
  id: number;
  username: string;
}

/** Number matching: the browser shows `code`; the bound phone picks it among `choices`. */
export interface CheckChallenge {
  /** Two digits, "10"–"99". */
  code: string;
  /** Three distinct codes in random order, `code` among them; fixed at the scan, so reloading reveals nothing. */
  choices: string[];
}

/** What the transitions depend on. */
export interface QrSnapshot {
  state: QrState;
  /** The phone user the scan bound the session to; null until then. */
  user: QrUser | null;
  expiresAtMs: number;
  /** Drawn by the scan; null before it. */
  check: CheckChallenge | null;
}

export type QrRefusal = "qr_expired" | "qr_not_pending" | "qr_claimed" | "qr_not_scanned" | "qr_code_mismatch";

export type Decision =
  | { ok: true; next: QrState; changed: boolean }
  /** `ends`: the refusal also finishes the login (a wrong code denies it). */
  | { ok: false; code: QrRefusal; ends?: "denied" };

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
 * What `action` by phone user `userId` does at `nowMs` (`code`: the check code sent with approve).
 * A finished session refuses everything (409), an expired one too (410). A scan binds the session; a
 * scan repeated by the bound user changes nothing and succeeds, so the phone page can be reloaded.
 */
export function decide(session: QrSnapshot, action: PhoneAction, userId: number, nowMs: number, code?: string): Decision {
  const state = effectiveState(session, nowMs);
  if (state === "approved" || state === "denied") return refuse("qr_not_pending");
  if (state === "expired") return refuse("qr_expired");
  if (session.user !== null && session.user.id !== userId) return refuse("qr_claimed");
  if (action === "scan") return { ok: true, next: "scanned", changed: state !== "scanned" };
  if (session.user === null || session.check === null) return refuse("qr_not_scanned");
  if (action === "deny") return { ok: true, next: "denied", changed: true };
  if (code !== session.check.code) return { ok: false, code: "qr_code_mismatch", ends: "denied" };
  return { ok: true, next: "approved", changed: true };
}

/** How much of the request phone user `userId` may read: everything once they scanned it, only state and expiry before. */
export type Visibility = { ok: true; detail: "full" | "limited" } | { ok: false; code: QrRefusal };

export function canView(session: QrSnapshot, userId: number, nowMs: number): Visibility {
  if (effectiveState(session, nowMs) === "expired") return { ok: false, code: "qr_expired" };
  if (session.user === null) return { ok: true, detail: "limited" };
  if (session.user.id !== userId) return { ok: false, code: "qr_claimed" };
  return { ok: true, detail: "full" };
}

/**
 * Draws the check challenge from `random` (at least 3 bytes of uniform randomness per attempt; tests pass
 * fixed bytes). Codes are 10–99 so none starts with a zero a user might drop.
 */
export function drawCheck(random: () => Uint8Array): CheckChallenge {
  const codes: string[] = [];
  while (codes.length < 3) {
    for (const byte of random()) {
      // 90 codes; bytes ≥ 180 are rejected so every code is equally likely (no modulo bias).
      if (byte >= 180) continue;
      const candidate = String(10 + (byte % 90));
      if (!codes.includes(candidate)) codes.push(candidate);
      if (codes.length === 3) break;
    }
  }
  const choices = [...codes];
  // Fisher–Yates with fresh random bytes, again rejection-sampled.
  for (let i = choices.length - 1; i > 0; i--) {
    let j = -1;
    while (j < 0) {
      for (const byte of random()) {
        const limit = 256 - (256 % (i + 1));
        if (byte < limit) {
          j = byte % (i + 1);
          break;
        }
      }
    }
    [choices[i], choices[j]] = [choices[j]!, choices[i]!];
  }
  return { code: codes[0]!, choices };
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
  | { status: "received" };

export type BrowserEvent =
  | { type: "pending"; expires_at: string }
  | { type: "scanned"; user: QrUser; code: string; expires_at: string }
  | { type: "approved"; sealed: SealedPair }
  /** `reason`: "code_mismatch" when the phone picked a wrong check code, "cancelled" when the browser walked away. */
  | { type: "denied"; reason?: "code_mismatch" | "cancelled" }
  | { type: "expired" };

/** Why a login ended denied (null: the phone denied it); kept so a reconnecting browser hears why. */
export type DenyReason = "code_mismatch" | "cancelled" | null;

/** What the browser may send on its socket (besides the "ping" keep-alive): it walks away from this code. */
export interface BrowserCancel {
  type: "cancel";
}

export function isoMs(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

function scannedEvent(session: QrSnapshot): BrowserEvent {
  return { type: "scanned", user: session.user!, code: session.check!.code, expires_at: isoMs(session.expiresAtMs) };
}

/**
 * The event a browser that (re)connects at `nowMs` is sent, so a dropped connection misses nothing;
 * null when there is nothing left to send (the pair was already received).
 */
export function currentEvent(session: QrSnapshot, pair: PairDelivery | null, nowMs: number, denyReason: DenyReason = null): BrowserEvent | null {
  const state = effectiveState(session, nowMs);
  switch (state) {
    case "pending":
      return { type: "pending", expires_at: isoMs(session.expiresAtMs) };
    case "scanned":
      return scannedEvent(session);
    case "approved":
      if (pair?.status === "ready") return { type: "approved", sealed: pair.sealed };
      // Still issuing: the browser sees the scan; the pair follows on the same socket.
      if (pair?.status === "issuing") return scannedEvent(session);
      return null;
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
