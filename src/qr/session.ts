/**
 * @module QR Session Object — one Durable Object per QR login: its state, its browser WebSocket, its expiry.
 *
 * The worker validates everything it can (id format, secret format, bearer token) before calling;
 * the object owns what only it can decide. Time comes in as `nowMs` from the worker's clock, except
 * in the alarm, which runs on the platform's schedule.
 *
 * Storage contract (ctx.storage, key → value, read with the synchronous KV API so no call can interleave
 * between a read and the write that depends on it; instance fields hold nothing, so hibernation or
 * eviction between any two steps loses nothing):
 * - "qr"     QrRecord: state, the phone user once bound, the two-digit code once scanned (shown only to that
 *            phone), whether the phone approved and whether the browser sent the right code (and on which
 *            socket), the browser's public key (ECDH P-256, public part only), device details and place (city,
 *            country, coordinates; never shown with its IP), the origin that created it (JWT_ISSUER: the base
 *            of its URLs), times in epoch ms. The browser secret is stored only as its SHA-256 (`secretHash`)
 *            and compared in constant time.
 * - "pair"   PairDelivery: once both have acted, the pair and user *sealed to the browser's key* (seal.ts) until
 *            the browser has it (a clean close right after the `approved` event), then only
 *            `{status: "received"}`. No token is ever stored, sent or logged in clear.
 * - "socket" the tag of the one open browser socket, or absent (getWebSockets may still list a closed one).
 * - alarm    at expires_at (ends an open session), then at cleanupAtMs (deletes everything).
 * Everything is deleted FINISHED_RETENTION_MS after the session ends; later requests get 404.
 */
import { DurableObject } from "cloudflare:workers";
import { buildDeps } from "../deps";
import { NOW_HEADER, SECRET_HEADER } from "./ids";
import { sha256Base64Url } from "../lib/bytes";
import { startSession } from "../auth/service";
import { noticeSignIn } from "../auth/notices";
import { isDatabaseUnavailable } from "../db/guard";
import type { DeviceInfo } from "../auth/sessions";
import type { Place } from "../http/device";
import type { Env } from "../env";
import { errorResponse, ApiError } from "../http/errors";
import {
  currentEvent,
  decide,
  canView,
  drawCode,
  effectiveState,
  enterCode,
  isFinalEvent,
  isoMs,
  isOpen,
  type BrowserCancel,
  type BrowserCode,
  type BrowserEvent,
  type DenyReason,
  type PairDelivery,
  type PhoneAction,
  type PublicEcJwk,
  type QrRefusal,
  type QrState,
  type QrUser,
  type SealedPair,
} from "./policy";
import { seal } from "./seal";
import { proximity } from "./signals";

/** How long a finished session's record (and an undelivered pair) outlives it: time for a dropped browser to reconnect. */
const FINISHED_RETENTION_MS = 60_000;


// 1000 after a final event (RFC 6455 §7.4.1); the 4000–4999 range is ours (§7.4.2).
const CLOSE_FINAL = 1000;
const CLOSE_REPLACED = 4001;
const CLOSE_GONE = 4004;

export interface QrRecord {
  id: string;
  state: QrState;
  /** SHA-256 (base64url) of the browser secret. */
  secretHash: string;
  origin: string;
  /** The browser's ECDH public key: the approved pair is sealed to it. */
  publicKey: PublicEcJwk;
  browser: DeviceInfo;
  /** Where Cloudflare placed the browser; null when unknown (always, locally). */
  browserPlace: Place | null;
  createdAtMs: number;
  expiresAtMs: number;
  user: QrUser | null;
  /** "00"–"99", drawn by the scan; shown only to the bound phone, typed by the browser's user. */
  code: string | null;
  phoneApproved: boolean;
  codeEntered: boolean;
  /** The socket that last sent the right code: the only one the pair may be sent on. */
  codeSocket: string | null;
  /** Why a denied session was denied, for a reconnecting browser. */
  denyReason: DenyReason;
  finishedAtMs: number | null;
  /** When the cleanup alarm may delete everything (set when the session finishes). */
  cleanupAtMs: number | null;
}

/** What the worker may show the phone that scanned: the record without its secret hash or key. */
export interface QrView {
  id: string;
  state: QrState;
  origin: string;
  browser: DeviceInfo;
  browserPlace: Place | null;
  createdAtMs: number;
  expiresAtMs: number;
  user: QrUser | null;
  /** The code to show while the login is open; null once it is finished. */
  code: string | null;
  phoneApproved: boolean;
  codeEntered: boolean;
}

/** What anyone signed in may see before scanning: no details about the browser, nothing about who scanned. */
export interface QrLimitedView {
  id: string;
  state: QrState;
  expiresAtMs: number;
}

interface CreateInput {
  id: string;
  secretHash: string;
  origin: string;
  publicKey: PublicEcJwk;
  browser: DeviceInfo;
  browserPlace: Place | null;
  nowMs: number;
  ttlSeconds: number;
}

type QrFailure = { ok: false; code: QrRefusal | "not_found" | "service_unavailable" };
export type ViewResult = { ok: true; view: QrView } | QrFailure;
type PhoneViewResult = { ok: true; detail: "full"; view: QrView } | { ok: true; detail: "limited"; view: QrLimitedView } | QrFailure;

const CANCEL_MESSAGE = JSON.stringify({ type: "cancel" } satisfies BrowserCancel);

const RECORD = "qr";
const PAIR = "pair";
const SOCKET = "socket";

function toView(record: QrRecord, nowMs: number): QrView {
  const state = effectiveState(record, nowMs);
  return {
    id: record.id,
    state,
    origin: record.origin,
    browser: record.browser,
    browserPlace: record.browserPlace ?? null,
    createdAtMs: record.createdAtMs,
    expiresAtMs: record.expiresAtMs,
    user: record.user,
    code: state === "scanned" ? record.code : null,
    phoneApproved: record.phoneApproved,
    codeEntered: record.codeEntered,
  };
}

/** The phone's place and QR_MAX_DISTANCE_KM, for the proximity check at approval. */
export interface ApproveInput {
  phonePlace: Place | null;
  maxDistanceKm: number | null;
}

function parseCode(message: string | ArrayBuffer): BrowserCode | null {
  // A code message is ~30 bytes; anything long or binary is not one.
  if (typeof message !== "string" || message.length > 100) return null;
  try {
    const parsed = JSON.parse(message) as Partial<BrowserCode> | null;
    return parsed && parsed.type === "code" ? (parsed as BrowserCode) : null;
  } catch {
    return null;
  }
}

function randomBytes(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(8));
}

const encoder = new TextEncoder();

export class QrSession extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Answered by the runtime without waking the object, so keep-alives cost nothing while hibernated.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  // The synchronous KV API (SQLite-backed objects): act() reads, decides and writes with no await in
  // between. An awaited get() lets a concurrent call read the same state first (seen: 2 of 5 concurrent
  // approvals both issuing a session, 5 rounds in 40, test/qr.test.ts "concurrent approves").
  private load(): QrRecord | null {
    return this.ctx.storage.kv.get<QrRecord>(RECORD) ?? null;
  }

  /** Starts the session and arms its expiry. Called once per id, by POST /api/qr/. */
  async create(input: CreateInput): Promise<{ expiresAtMs: number }> {
    if (this.load()) throw new Error("QR session id already in use");
    const expiresAtMs = input.nowMs + input.ttlSeconds * 1000;
    const record: QrRecord = {
      id: input.id,
      state: "pending",
      secretHash: input.secretHash,
      origin: input.origin,
      publicKey: input.publicKey,
      browser: input.browser,
      browserPlace: input.browserPlace,
      createdAtMs: input.nowMs,
      expiresAtMs,
      user: null,
      code: null,
      phoneApproved: false,
      codeEntered: false,
      codeSocket: null,
      denyReason: null,
      finishedAtMs: null,
      cleanupAtMs: null,
    };
    // One write batch, not two round trips: the synchronous put and the alarm commit together (the output gate
    // holds the answer until both are durable).
    this.ctx.storage.kv.put(RECORD, record);
    await this.ctx.storage.setAlarm(expiresAtMs);
    return { expiresAtMs };
  }

  /** The session as the QR image needs it (no user check: the image shows only the public URL). */
  async peek(nowMs: number): Promise<ViewResult> {
    const record = this.load();
    if (!record) return { ok: false, code: "not_found" };
    return { ok: true, view: toView(record, nowMs) };
  }

  /** Who is asking, for phone user `userId` (GET /api/qr/{id}/): the details only to the account that scanned. */
  async view(userId: number, nowMs: number): Promise<PhoneViewResult> {
    const record = this.load();
    if (!record) return { ok: false, code: "not_found" };
    const allowed = canView(record, userId, nowMs);
    if (!allowed.ok) return allowed;
    if (allowed.detail === "limited") return { ok: true, detail: "limited", view: { id: record.id, state: effectiveState(record, nowMs), expiresAtMs: record.expiresAtMs } };
    return { ok: true, detail: "full", view: toView(record, nowMs) };
  }

  scan(user: QrUser, nowMs: number): Promise<ViewResult> {
    return this.act("scan", user, nowMs).then((r) => r.result);
  }

  deny(user: QrUser, nowMs: number): Promise<ViewResult> {
    return this.act("deny", user, nowMs).then((r) => r.result);
  }

  /**
   * The phone approves. The pair is issued only when the browser has also sent the right code; until then
   * the login stays `scanned` with `phoneApproved`. Beyond QR_MAX_DISTANCE_KM: 403 qr_too_far, still open.
   */
  async approve(user: QrUser, nowMs: number, input: ApproveInput = { phonePlace: null, maxDistanceKm: null }): Promise<ViewResult> {
    const record = this.load();
    const tooFar = record ? proximity(record.browserPlace ?? null, input.phonePlace, input.maxDistanceKm).overLimit : false;
    const { result, record: written } = await this.act("approve", user, nowMs, tooFar);
    if (!result.ok || !written || written.state !== "approved") return result;
    return this.release(written, nowMs);
  }

  /**
   * Issues the browser's token pair exactly once. The caller switched the state to approved (with `pair:
   * issuing`) *before* D1 is called, so an approve, deny, scan, code or alarm that interleaves while this call
   * awaits D1 already sees a finished session and changes nothing. The pair is sent only on the socket that sent
   * the right code (if it is the open one); otherwise it waits for a socket that sends it.
   *
   * Storage work on this path: D1; then one read of the record and socket tag and one write batch (`pair:
   * ready` with `sentTo` already set, socket tag removed) right after the send.
   */
  private async release(record: QrRecord, nowMs: number): Promise<ViewResult> {
    let sealed: SealedPair;
    try {
      sealed = await this.issuePair(record, record.user!, nowMs);
    } catch (error) {
      // Nothing reached the browser: reopen (bound to this user, the code kept) so the phone may approve again; the alarm re-arms expiry.
      // The socket the code last came on is re-read: a reconnect may have re-sent it while D1 was awaited.
      const codeSocket = this.load()?.codeSocket ?? record.codeSocket;
      this.ctx.storage.kv.put(RECORD, { ...record, codeSocket, state: "scanned", phoneApproved: false, finishedAtMs: null, cleanupAtMs: null } satisfies QrRecord);
      this.ctx.storage.kv.delete(PAIR);
      await this.ctx.storage.setAlarm(record.expiresAtMs);
      // D1 slow or down: a typed answer (RPC carries no error classes), 503 to the phone, which may approve again.
      if (isDatabaseUnavailable(error)) return { ok: false, code: "service_unavailable" };
      throw error;
    }
    this.linked(record, nowMs);
    const event: BrowserEvent = { type: "approved", sealed };
    // Read after the await: the browser may have reconnected and re-sent its code meanwhile, or a wrong code withdrawn the pair.
    if (this.ctx.storage.kv.get<PairDelivery>(PAIR)?.status === "withdrawn") return { ok: true, view: toView(record, nowMs) };
    const codeSocket = this.load()?.codeSocket ?? null;
    const current = this.currentSocket();
    // No await between the send and the write: nothing can interleave, and the output gate holds the
    // frame until the write is durable, so `sentTo` is exactly the socket that carried the pair.
    const sentTo = current && current.tag === codeSocket && this.trySend(current.ws, event) ? current.tag : null;
    this.ctx.storage.kv.put(PAIR, { status: "ready", sealed, sentTo } satisfies PairDelivery);
    if (current && sentTo) this.finish(current.ws, current.tag, event, true);
    return { ok: true, view: toView(record, nowMs) };
  }

  /**
   * The one point where a QR login completes (whichever side acted last): the hook for the account's security
   * events. The D1 session issuePair created (method `qr`, the browser's device and place) is the durable record;
   * this writes the audit line, never a secret.
   */
  protected linked(record: QrRecord, nowMs: number): void {
    console.log(JSON.stringify({ level: "info", event: "qr_linked", time: isoMs(nowMs), user_id: record.user?.id ?? null, country: record.browser.country, city: record.browser.city }));
  }

  /** The D1 session for the phone's user, marked as signed in by QR with the browser's details; its first pair, sealed at once. */
  protected async issuePair(record: QrRecord, user: QrUser, nowMs: number): Promise<SealedPair> {
    const deps = await buildDeps(this.env, () => nowMs);
    const { access, refresh, sessionId } = await startSession(deps, user.id, "qr", record.browser);
    // The owner's "new sign-in" notice with its "this wasn't me", after the approval (src/auth/notices.ts).
    this.ctx.waitUntil(noticeSignIn(this.env, deps, { userId: user.id, sessionId, method: "qr", device: record.browser }));
    return seal(record.publicKey, record.id, { access, refresh, user });
  }

  /**
   * The compare-and-set every phone action goes through: read, decide (pure), write — no other I/O in
   * between. Returns the record as written (null when nothing changed), so callers need not read it back.
   */
  private async act(action: PhoneAction, user: QrUser, nowMs: number, tooFar = false): Promise<{ result: ViewResult; record: QrRecord | null }> {
    const record = this.load();
    if (!record) return { result: { ok: false, code: "not_found" }, record: null };
    const decision = decide(record, action, user.id, nowMs, { tooFar });
    if (!decision.ok) return { result: { ok: false, code: decision.code }, record: null };
    if (!decision.changed) return { result: { ok: true, view: toView(record, nowMs) }, record: null };
    const next: QrRecord = { ...record, state: decision.next, user, phoneApproved: decision.phoneApproved };
    // The scan draws the code: fixed from here on, so reloading the phone page shows the same one.
    if (action === "scan") next.code = drawCode(randomBytes);
    this.write(next, nowMs);
    if (next.cleanupAtMs !== null) await this.ctx.storage.setAlarm(next.cleanupAtMs);
    if (action === "scan") this.push({ type: "scanned", user, expires_at: isoMs(next.expiresAtMs) });
    if (next.state === "denied") this.push({ type: "denied" });
    return { result: { ok: true, view: toView(next, nowMs) }, record: next };
  }

  /** Writes `next` in one batch; a finished login gets its cleanup time, an approved one `pair: issuing` with it. */
  private write(next: QrRecord, nowMs: number): void {
    if (!isOpen(next.state)) {
      next.finishedAtMs = nowMs;
      next.cleanupAtMs = Date.now() + FINISHED_RETENTION_MS;
    }
    this.ctx.storage.kv.put(RECORD, next);
    if (next.state === "approved") this.ctx.storage.kv.put(PAIR, { status: "issuing" } satisfies PairDelivery);
  }

  /** A wrong code after approval: the pair, not yet received, is dropped unsent; the open socket is told denied. */
  private withdraw(): void {
    const pair = this.ctx.storage.kv.get<PairDelivery>(PAIR);
    if (pair?.status !== "ready" && pair?.status !== "issuing") return;
    this.ctx.storage.kv.put(PAIR, { status: "withdrawn" } satisfies PairDelivery);
    this.push({ type: "denied", reason: "code_mismatch" });
  }

  /** A wrong code, or the browser cancelling: the login ends denied at once, and the browser is told why. */
  private async end(record: QrRecord, nowMs: number, reason: DenyReason): Promise<void> {
    const cleanupAtMs = Date.now() + FINISHED_RETENTION_MS;
    this.ctx.storage.kv.put(RECORD, { ...record, state: "denied", denyReason: reason, finishedAtMs: nowMs, cleanupAtMs } satisfies QrRecord);
    this.push(reason ? { type: "denied", reason } : { type: "denied" });
    await this.ctx.storage.setAlarm(cleanupAtMs);
  }

  private currentSocket(): { ws: WebSocket; tag: string } | null {
    const tag = this.ctx.storage.kv.get<string>(SOCKET);
    if (!tag) return null;
    const ws = this.ctx.getWebSockets(tag)[0];
    return ws ? { ws, tag } : null;
  }

  /** Sends `event` to the open browser socket, if any, and closes it after a final event. */
  private push(event: BrowserEvent): void {
    const current = this.currentSocket();
    if (!current) return;
    this.finish(current.ws, current.tag, event, this.trySend(current.ws, event));
  }

  private trySend(ws: WebSocket, event: BrowserEvent): boolean {
    try {
      ws.send(JSON.stringify(event));
      return true;
    } catch {
      // Already closed: the event stays derivable from storage for the next connection.
      return false;
    }
  }

  /** After a send: forget a socket that failed or that carried a final event (and close the latter). */
  private finish(ws: WebSocket, _tag: string, event: BrowserEvent, sent: boolean): void {
    if (sent && !isFinalEvent(event)) return;
    // The tag was read in this same turn (or stored by fetch just before): no need to read it again.
    this.ctx.storage.kv.delete(SOCKET);
    if (!sent) return;
    try {
      ws.close(CLOSE_FINAL, event.type);
    } catch {
      // Closed meanwhile by the browser.
    }
  }

  private async forgetSocket(tag: string): Promise<void> {
    if (this.ctx.storage.kv.get<string>(SOCKET) === tag) this.ctx.storage.kv.delete(SOCKET);
  }

  /**
   * The browser's WebSocket (GET /api/qr/{id}/ws/, forwarded by the worker with the secret in a header).
   * Unknown session or wrong secret: refused before the handshake. Otherwise the socket is accepted with
   * the hibernation API, replaces any older one, and is sent the current state at once.
   */
  override async fetch(request: Request): Promise<Response> {
    const record = this.load();
    if (!record) return errorResponse(new ApiError("not_found"));
    const presented = await sha256Base64Url(request.headers.get(SECRET_HEADER) ?? "");
    // Both are 43-character digests: equal lengths, as timingSafeEqual requires.
    if (!crypto.subtle.timingSafeEqual(encoder.encode(presented), encoder.encode(record.secretHash))) {
      return errorResponse(new ApiError("permission_denied", "Wrong secret for this login code."));
    }
    const nowMs = Number(request.headers.get(NOW_HEADER)) || Date.now();
    const pair = this.ctx.storage.kv.get<PairDelivery>(PAIR) ?? null;
    const event = currentEvent(record, pair, nowMs, record.denyReason ?? null);
    if (!event) return errorResponse(new ApiError("qr_not_pending", "The sign-in was already delivered to the browser."));

    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    const tag = crypto.randomUUID();
    this.ctx.acceptWebSocket(server, [tag]);
    for (const old of this.ctx.getWebSockets()) {
      if (this.ctx.getTags(old)[0] === tag) continue;
      try {
        old.close(CLOSE_REPLACED, "replaced by a newer connection");
      } catch {
        // Already closed.
      }
    }
    this.ctx.storage.kv.put(SOCKET, tag);
    this.finish(server, tag, event, this.trySend(server, event));
    return new Response(null, { status: 101, webSocket: client });
  }

  /**
   * The browser's messages (besides "ping", answered by the auto-response without waking us):
   * `{"type": "cancel"}` — "Not you? Get a new code" — ends an open login as denied, so whoever scanned it
   * can no longer approve it. `{"type": "code", "code"}` — what its user typed: the right one is remembered
   * for this socket (and releases the pair if the phone approved, or sends it if it is ready); a wrong one ends
   * the login (policy.ts enterCode). Anything else is ignored.
   */
  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const nowMs = Date.now();
    if (message === CANCEL_MESSAGE) {
      const record = this.load();
      if (!record || !isOpen(effectiveState(record, nowMs))) return;
      return this.end(record, nowMs, "cancelled");
    }
    const sent = parseCode(message);
    if (!sent) return;
    const record = this.load();
    if (!record) return;
    const decision = enterCode(record, sent.code, nowMs);
    if (decision.kind === "ignore") return;
    if (decision.kind === "end") return record.state === "approved" ? this.withdraw() : this.end(record, nowMs, "code_mismatch");
    const tag = this.ctx.getTags(ws)[0] ?? "";
    if (decision.release) {
      const next: QrRecord = { ...record, state: "approved", codeEntered: true, codeSocket: tag };
      this.write(next, nowMs);
      await this.ctx.storage.setAlarm(next.cleanupAtMs!);
      const released = await this.release(next, nowMs);
      // D1 down: the phone sees `phone_approved: false` and may approve again; the code stays entered.
      if (!released.ok) console.warn(JSON.stringify({ level: "warn", event: "qr_release_failed", code: released.code }));
      return;
    }
    this.ctx.storage.kv.put(RECORD, { ...record, codeEntered: true, codeSocket: tag } satisfies QrRecord);
    const pair = this.ctx.storage.kv.get<PairDelivery>(PAIR);
    if (pair?.status !== "ready" || this.ctx.storage.kv.get<string>(SOCKET) !== tag) return;
    // A reconnected browser re-sent its code: the pair waiting for it goes on this socket.
    const event: BrowserEvent = { type: "approved", sealed: pair.sealed };
    if (!this.trySend(ws, event)) return;
    this.ctx.storage.kv.put(PAIR, { ...pair, sentTo: tag } satisfies PairDelivery);
    this.finish(ws, tag, event, true);
  }

  /**
   * A clean close of the socket that carried `approved` is the browser's receipt: it echoes our close
   * frame only after reading every frame before it (RFC 6455 §5.5.1), so the tokens can leave storage.
   */
  override async webSocketClose(ws: WebSocket, code: number, _reason: string, wasClean: boolean): Promise<void> {
    const tag = this.ctx.getTags(ws)[0] ?? "";
    await this.forgetSocket(tag);
    const pair = this.ctx.storage.kv.get<PairDelivery>(PAIR);
    if (pair?.status === "ready" && pair.sentTo === tag && wasClean && code === CLOSE_FINAL) {
      this.ctx.storage.kv.put(PAIR, { status: "received" } satisfies PairDelivery);
    }
    try {
      // Before compatibility date 2026-04-07 the runtime does not answer a close frame by itself.
      ws.close(code === 1005 || code === 1006 ? CLOSE_FINAL : code, "closed");
    } catch {
      // Already closed.
    }
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await this.forgetSocket(this.ctx.getTags(ws)[0] ?? "");
  }

  /** At expires_at: an open session expires (the browser is told and disconnected); once finished: cleanup. */
  override async alarm(): Promise<void> {
    const record = this.load();
    if (!record) return;
    const nowMs = Date.now();
    if (isOpen(record.state)) {
      const expired: QrRecord = { ...record, state: "expired", finishedAtMs: nowMs, cleanupAtMs: nowMs + FINISHED_RETENTION_MS };
      this.ctx.storage.kv.put(RECORD, expired);
      this.push({ type: "expired" });
      await this.ctx.storage.setAlarm(expired.cleanupAtMs!);
      return;
    }
    // An expiry alarm that lost the race to an approve or deny lands here early: re-arm for cleanup.
    if (record.cleanupAtMs !== null && nowMs < record.cleanupAtMs) {
      await this.ctx.storage.setAlarm(record.cleanupAtMs);
      return;
    }
    for (const ws of this.ctx.getWebSockets()) {
      try {
        ws.close(CLOSE_GONE, "login session ended");
      } catch {
        // Already closed.
      }
    }
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
  }
}
