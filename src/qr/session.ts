/**
 * @module QR Session Object — one Durable Object per QR login: its state, its browser WebSocket, its expiry.
 *
 * The worker validates everything it can (id and its expiry, the browser's ticket, bearer token) before calling;
 * the object owns what only it can decide. Time comes in as `nowMs` from the worker's clock, except in the alarm,
 * which runs on the platform's schedule.
 *
 * Nothing is stored until someone acts. Starting a login does not address the object at all: the id carries its
 * expiry and the browser's secret is a sealed ticket (ids.ts) with what the object needs to know about the browser.
 * The browser's socket brings that ticket; until the first event the pending record lives only in the socket's
 * attachment (`SocketAttachment`, survives hibernation and eviction), and the newest socket is the browser's.
 * The first event (the phone's scan, the browser's cancel) writes the record, the socket's tag and the expiry
 * alarm. A login nobody acted on leaves no storage, no alarm and no SQLite file; the browser knows its
 * `expires_at`, and a socket that speaks or reconnects after it is told `expired`.
 *
 * Storage contract (the synchronous KV API, so no call can interleave between a read and the write that depends
 * on it; instance fields hold nothing, so hibernation or eviction between any two steps loses nothing):
 * - "qr"     QrRecord: state, the phone user once bound, the two-digit code once scanned (shown only to that
 *            phone), whether the phone approved and whether the browser sent the right code (and on which
 *            socket), the browser's public key (ECDH P-256, public part only), device details and place (city,
 *            country, coordinates; never shown with its IP), times in epoch ms. No secret: the ticket is checked
 *            by the worker and never reaches storage.
 * - "pair"   PairDelivery: once both have acted, the pair and user *sealed to the browser's key* (seal.ts) until
 *            the browser has it (a clean close right after the `approved` event), then only
 *            `{status: "received"}`. No token is ever stored, sent or logged in clear.
 * - "socket" the tag of the one open browser socket, or absent (getWebSockets may still list a closed one).
 * - alarm    at expires_at (ends an open session), then FINISHED_RETENTION_MS after it (deletes everything).
 * Everything is deleted a minute after expires_at, when the worker starts answering the id 404 by its time:
 * deleting earlier would let the browser's ticket open the finished login again as a new one.
 */
import { DurableObject } from "cloudflare:workers";
import { buildDeps } from "../deps";
import { NOW_HEADER, TICKET_HEADER } from "./ids";
import { startSession } from "../auth/service";
import { noticeSignIn } from "../auth/notices";
import { isDatabaseUnavailable } from "../db/guard";
import type { DeviceInfo } from "../auth/sessions";
import type { Place } from "../http/device";
import type { Env } from "../env";
import { errorResponse, ApiError } from "../http/errors";
import {
  FINISHED_RETENTION_MS,
  currentEvent,
  decide,
  canView,
  drawCode,
  effectiveState,
  enterCode,
  isFinalEvent,
  isoMs,
  isOpen,
  untouched,
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

// 1000 after a final event (RFC 6455 §7.4.1); the 4000–4999 range is ours (§7.4.2).
const CLOSE_FINAL = 1000;
const CLOSE_REPLACED = 4001;
const CLOSE_GONE = 4004;

export interface QrRecord {
  id: string;
  state: QrState;
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

/** What the browser's secret carries (sealed by the worker at POST /api/qr/, opened by it at each socket upgrade). */
export interface BrowserTicket {
  publicKey: PublicEcJwk;
  browser: DeviceInfo;
  browserPlace: Place | null;
  createdAtMs: number;
}

/** The login as the worker knows it from the id alone. */
export interface QrLogin {
  id: string;
  expiresAtMs: number;
}

/** What a browser socket carries through hibernation: its place in connection order and the login as its ticket describes it. */
interface SocketAttachment {
  seq: number;
  record: QrRecord;
}

/** What the worker may show the phone that scanned: the record without the browser's key. */
export interface QrView {
  id: string;
  state: QrState;
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

/** `qr_browser_away`: nobody acted yet and no browser socket is open, so nothing is known about who is asking. */
type QrFailure = { ok: false; code: QrRefusal | "qr_browser_away" | "not_found" | "service_unavailable" };
export type ViewResult = { ok: true; view: QrView } | QrFailure;
type PhoneViewResult = { ok: true; detail: "full"; view: QrView } | { ok: true; detail: "limited"; view: QrLimitedView } | QrFailure;
export type PeekResult = { ok: true; state: QrState };

const CANCEL_MESSAGE = JSON.stringify({ type: "cancel" } satisfies BrowserCancel);

const RECORD = "qr";
const PAIR = "pair";
const SOCKET = "socket";

/** The pending record a ticket describes: what the first event writes. */
function pendingRecord(login: QrLogin, ticket: BrowserTicket): QrRecord {
  return {
    id: login.id,
    state: "pending",
    publicKey: ticket.publicKey,
    browser: ticket.browser,
    browserPlace: ticket.browserPlace,
    createdAtMs: ticket.createdAtMs,
    expiresAtMs: login.expiresAtMs,
    user: null,
    code: null,
    phoneApproved: false,
    codeEntered: false,
    codeSocket: null,
    denyReason: null,
    finishedAtMs: null,
    cleanupAtMs: null,
  };
}

/** Closes `ws` if it is still open. */
function closeQuietly(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason);
  } catch {
    // Already closed by the browser.
  }
}

function toView(record: QrRecord, nowMs: number): QrView {
  const state = effectiveState(record, nowMs);
  return {
    id: record.id,
    state,
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

export class QrSession extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Answered by the runtime without waking the object, so keep-alives cost nothing while hibernated.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  // One storage API: the synchronous KV (SQLite-backed objects), so act() reads, decides and writes with no
  // await in between. An awaited get() lets a concurrent call read the same state first (seen: 2 of 5 concurrent
  // approvals both issuing a session, test/qr.test.ts "concurrent approves"). The alarm is set without awaiting:
  // the output gate holds every answer and frame until the writes and the alarm are durable.
  private read<T>(key: string): T | undefined {
    return this.ctx.storage.kv.get<T>(key);
  }

  private put(key: string, value: unknown): void {
    this.ctx.storage.kv.put(key, value);
  }

  /** Deletes `key` if present: a login that never stored anything stays without storage. */
  private remove(key: string): void {
    if (this.read(key) !== undefined) this.ctx.storage.kv.delete(key);
  }

  private arm(atMs: number): void {
    void this.ctx.storage.setAlarm(atMs);
  }

  private load(): QrRecord | null {
    return this.read<QrRecord>(RECORD) ?? null;
  }

  /** The newest browser socket (by connection order) and the login its ticket described. */
  private newestSocket(): { ws: WebSocket; tag: string; attachment: SocketAttachment } | null {
    let newest: { ws: WebSocket; tag: string; attachment: SocketAttachment } | null = null;
    for (const ws of this.ctx.getWebSockets()) {
      const attachment = ws.deserializeAttachment() as SocketAttachment | null;
      if (attachment && (!newest || attachment.seq > newest.attachment.seq))
        newest = { ws, tag: this.ctx.getTags(ws)[0] ?? "", attachment };
    }
    return newest;
  }

  /** The record as stored, or before the first event the pending one the newest socket's ticket describes. */
  private known(): { record: QrRecord; stored: boolean } | null {
    const stored = this.load();
    if (stored) return { record: stored, stored: true };
    const newest = this.newestSocket();
    return newest ? { record: newest.attachment.record, stored: false } : null;
  }

  /** The login's state, for the QR image (no user check: the image shows only the public URL). */
  peek(login: QrLogin, nowMs: number): PeekResult {
    return { ok: true, state: effectiveState(this.load() ?? untouched(login.expiresAtMs), nowMs) };
  }

  /** Who is asking, for phone user `userId` (GET /api/qr/{id}/): the details only to the account that scanned. */
  view(login: QrLogin, userId: number, nowMs: number): PhoneViewResult {
    const record = this.load();
    const session = record ?? untouched(login.expiresAtMs);
    const allowed = canView(session, userId, nowMs);
    if (!allowed.ok) return allowed;
    if (allowed.detail === "limited" || !record)
      return {
        ok: true,
        detail: "limited",
        view: { id: login.id, state: effectiveState(session, nowMs), expiresAtMs: session.expiresAtMs },
      };
    return { ok: true, detail: "full", view: toView(record, nowMs) };
  }

  scan(login: QrLogin, user: QrUser, nowMs: number): ViewResult {
    return this.act(login, "scan", user, nowMs).result;
  }

  deny(login: QrLogin, user: QrUser, nowMs: number): ViewResult {
    return this.act(login, "deny", user, nowMs).result;
  }

  /**
   * The phone approves. The pair is issued only when the browser has also sent the right code; until then
   * the login stays `scanned` with `phoneApproved`. Beyond QR_MAX_DISTANCE_KM: 403 qr_too_far, still open.
   */
  async approve(
    login: QrLogin,
    user: QrUser,
    nowMs: number,
    input: ApproveInput = { phonePlace: null, maxDistanceKm: null },
  ): Promise<ViewResult> {
    const record = this.load();
    const tooFar = record ? proximity(record.browserPlace ?? null, input.phonePlace, input.maxDistanceKm).overLimit : false;
    const { result, record: written } = this.act(login, "approve", user, nowMs, tooFar);
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
      this.put(RECORD, {
        ...record,
        codeSocket,
        state: "scanned",
        phoneApproved: false,
        finishedAtMs: null,
        cleanupAtMs: null,
      } satisfies QrRecord);
      this.remove(PAIR);
      this.arm(record.expiresAtMs);
      // D1 slow or down: a typed answer (RPC carries no error classes), 503 to the phone, which may approve again.
      if (isDatabaseUnavailable(error)) return { ok: false, code: "service_unavailable" };
      throw error;
    }
    this.linked(record, nowMs);
    const event: BrowserEvent = { type: "approved", sealed };
    // Read after the await: the browser may have reconnected and re-sent its code meanwhile, or a wrong code withdrawn the pair.
    if (this.read<PairDelivery>(PAIR)?.status === "withdrawn") return { ok: true, view: toView(record, nowMs) };
    const codeSocket = this.load()?.codeSocket ?? null;
    const current = this.currentSocket();
    // No await between the send and the write: nothing can interleave, and the output gate holds the
    // frame until the write is durable, so `sentTo` is exactly the socket that carried the pair.
    const sentTo = current && current.tag === codeSocket && this.trySend(current.ws, event) ? current.tag : null;
    this.put(PAIR, { status: "ready", sealed, sentTo } satisfies PairDelivery);
    if (current && sentTo) this.finish(current.ws, event, true);
    return { ok: true, view: toView(record, nowMs) };
  }

  /**
   * The one point where a QR login completes (whichever side acted last): the hook for the account's security
   * events. The D1 session issuePair created (method `qr`, the browser's device and place) is the durable record;
   * this writes the audit line, never a secret.
   */
  protected linked(record: QrRecord, nowMs: number): void {
    console.log(
      JSON.stringify({
        level: "info",
        event: "qr_linked",
        time: isoMs(nowMs),
        user_id: record.user?.id ?? null,
        country: record.browser.country,
        city: record.browser.city,
      }),
    );
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
   * The compare-and-set every phone action goes through: read, decide (pure), write — no I/O in between.
   * Returns the record as written (null when nothing changed), so callers need not read it back.
   */
  private act(
    login: QrLogin,
    action: PhoneAction,
    user: QrUser,
    nowMs: number,
    tooFar = false,
  ): { result: ViewResult; record: QrRecord | null } {
    const known = this.known();
    if (!known) {
      // Nothing stored and no browser listening: the id's time still answers, but a scan would bind a login whose asker is unknown.
      const decision = decide(untouched(login.expiresAtMs), action, user.id, nowMs);
      return { result: { ok: false, code: decision.ok ? "qr_browser_away" : decision.code }, record: null };
    }
    const { record, stored } = known;
    const decision = decide(record, action, user.id, nowMs, { tooFar });
    if (!decision.ok) return { result: { ok: false, code: decision.code }, record: null };
    if (!decision.changed) return { result: { ok: true, view: toView(record, nowMs) }, record: null };
    const next: QrRecord = { ...record, state: decision.next, user, phoneApproved: decision.phoneApproved };
    // The scan draws the code: fixed from here on, so reloading the phone page shows the same one.
    if (action === "scan") next.code = drawCode(randomBytes);
    this.write(next, stored, nowMs);
    if (action === "scan") this.push({ type: "scanned", user, expires_at: isoMs(next.expiresAtMs) });
    if (next.state === "denied") this.push({ type: "denied" });
    return { result: { ok: true, view: toView(next, nowMs) }, record: next };
  }

  /**
   * Writes `next` in one batch, with its alarm: a finished login gets its cleanup time (an approved one also
   * `pair: issuing`). The first write (`stored` false) also names the browser's socket and arms the expiry.
   */
  private write(next: QrRecord, stored: boolean, nowMs: number): void {
    if (!isOpen(next.state)) {
      next.finishedAtMs = nowMs;
      next.cleanupAtMs = next.expiresAtMs + FINISHED_RETENTION_MS;
    }
    if (!stored) {
      const newest = this.newestSocket();
      if (newest) this.put(SOCKET, newest.tag);
    }
    this.put(RECORD, next);
    if (next.state === "approved") this.put(PAIR, { status: "issuing" } satisfies PairDelivery);
    if (next.cleanupAtMs !== null) this.arm(next.cleanupAtMs);
    else if (!stored) this.arm(next.expiresAtMs);
  }

  /** A wrong code after approval: the pair, not yet received, is dropped unsent; the open socket is told denied. */
  private withdraw(): void {
    const pair = this.read<PairDelivery>(PAIR);
    if (pair?.status !== "ready" && pair?.status !== "issuing") return;
    this.put(PAIR, { status: "withdrawn" } satisfies PairDelivery);
    this.push({ type: "denied", reason: "code_mismatch" });
  }

  /** A wrong code, or the browser cancelling: the login ends denied at once, and the browser is told why. */
  private end(record: QrRecord, stored: boolean, nowMs: number, reason: DenyReason): void {
    this.write({ ...record, state: "denied", denyReason: reason }, stored, nowMs);
    this.push(reason ? { type: "denied", reason } : { type: "denied" });
  }

  private currentSocket(): { ws: WebSocket; tag: string } | null {
    const tag = this.read<string>(SOCKET);
    if (!tag) return null;
    const ws = this.ctx.getWebSockets(tag)[0];
    return ws ? { ws, tag } : null;
  }

  /** Sends `event` to the open browser socket, if any, and closes it after a final event. */
  private push(event: BrowserEvent): void {
    const current = this.currentSocket();
    if (!current) return;
    this.finish(current.ws, event, this.trySend(current.ws, event));
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
  private finish(ws: WebSocket, event: BrowserEvent, sent: boolean): void {
    if (sent && !isFinalEvent(event)) return;
    this.remove(SOCKET);
    if (sent) closeQuietly(ws, CLOSE_FINAL, event.type);
  }

  private forgetSocket(ws: WebSocket): void {
    if (this.read<string>(SOCKET) === this.ctx.getTags(ws)[0]) this.ctx.storage.kv.delete(SOCKET);
  }

  /**
   * The browser's WebSocket (GET /api/qr/{id}/ws/, forwarded by the worker once it has opened the browser's ticket,
   * which it passes in a header with the id's expiry). The socket is accepted with the hibernation API, carries
   * the pending record in its attachment, replaces any older one, and is sent the current state at once.
   */
  override fetch(request: Request): Response {
    const { login, ticket } = JSON.parse(request.headers.get(TICKET_HEADER) ?? "null") as { login: QrLogin; ticket: BrowserTicket };
    const nowMs = Number(request.headers.get(NOW_HEADER)) || Date.now();
    const stored = this.load();
    const record = stored ?? pendingRecord(login, ticket);
    const pair = this.read<PairDelivery>(PAIR) ?? null;
    const event = currentEvent(record, pair, nowMs, record.denyReason ?? null);
    if (!event) return errorResponse(new ApiError("qr_not_pending", "The sign-in was already delivered to the browser."));

    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    const tag = crypto.randomUUID();
    const older = this.ctx.getWebSockets();
    const seq = Math.max(0, ...older.map((ws) => (ws.deserializeAttachment() as SocketAttachment | null)?.seq ?? 0)) + 1;
    this.ctx.acceptWebSocket(server, [tag]);
    server.serializeAttachment({ seq, record: pendingRecord(login, ticket) } satisfies SocketAttachment);
    for (const old of older) closeQuietly(old, CLOSE_REPLACED, "replaced by a newer connection");
    if (stored) this.put(SOCKET, tag);
    this.finish(server, event, this.trySend(server, event));
    return new Response(null, { status: 101, webSocket: client });
  }

  /**
   * The browser's messages (besides "ping", answered by the auto-response without waking us):
   * `{"type": "cancel"}` — "Not you? Get a new code" — ends an open login as denied, so whoever scanned it
   * can no longer approve it. `{"type": "code", "code"}` — what its user typed: the right one is remembered
   * for this socket (and releases the pair if the phone approved, or sends it if it is ready); a wrong one ends
   * the login (policy.ts enterCode). Anything else is ignored. A login nobody acted on has no alarm: a socket
   * that speaks after its expiry is told `expired` and closed.
   */
  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const nowMs = Date.now();
    const stored = this.load();
    const record = stored ?? (ws.deserializeAttachment() as SocketAttachment | null)?.record;
    if (!record) return;
    if (!stored && effectiveState(record, nowMs) === "expired") {
      const event: BrowserEvent = { type: "expired" };
      return this.finish(ws, event, this.trySend(ws, event));
    }
    if (message === CANCEL_MESSAGE) {
      if (isOpen(effectiveState(record, nowMs))) this.end(record, stored !== null, nowMs, "cancelled");
      return;
    }
    const sent = parseCode(message);
    if (!sent || !stored) return;
    const decision = enterCode(stored, sent.code, nowMs);
    if (decision.kind === "ignore") return;
    if (decision.kind === "end") return stored.state === "approved" ? this.withdraw() : this.end(stored, true, nowMs, "code_mismatch");
    const tag = this.ctx.getTags(ws)[0] ?? "";
    if (decision.release) {
      const next: QrRecord = { ...stored, state: "approved", codeEntered: true, codeSocket: tag };
      this.write(next, true, nowMs);
      const released = await this.release(next, nowMs);
      // D1 down: the phone sees `phone_approved: false` and may approve again; the code stays entered.
      if (!released.ok) console.warn(JSON.stringify({ level: "warn", event: "qr_release_failed", code: released.code }));
      return;
    }
    this.put(RECORD, { ...stored, codeEntered: true, codeSocket: tag } satisfies QrRecord);
    const pair = this.read<PairDelivery>(PAIR);
    if (pair?.status !== "ready" || this.read<string>(SOCKET) !== tag) return;
    // A reconnected browser re-sent its code: the pair waiting for it goes on this socket.
    const event: BrowserEvent = { type: "approved", sealed: pair.sealed };
    if (!this.trySend(ws, event)) return;
    this.put(PAIR, { ...pair, sentTo: tag } satisfies PairDelivery);
    this.finish(ws, event, true);
  }

  /**
   * A clean close of the socket that carried `approved` is the browser's receipt: it echoes our close
   * frame only after reading every frame before it (RFC 6455 §5.5.1), so the tokens can leave storage.
   */
  override webSocketClose(ws: WebSocket, code: number, _reason: string, wasClean: boolean): void {
    const tag = this.ctx.getTags(ws)[0] ?? "";
    this.forgetSocket(ws);
    const pair = this.read<PairDelivery>(PAIR);
    if (pair?.status === "ready" && pair.sentTo === tag && wasClean && code === CLOSE_FINAL) {
      this.put(PAIR, { status: "received" } satisfies PairDelivery);
    }
    // Before compatibility date 2026-04-07 the runtime does not answer a close frame by itself.
    closeQuietly(ws, code === 1005 || code === 1006 ? CLOSE_FINAL : code, "closed");
  }

  override webSocketError(ws: WebSocket): void {
    this.forgetSocket(ws);
  }

  /** At expires_at: an open session expires (the browser is told and disconnected); once finished: cleanup. */
  override async alarm(): Promise<void> {
    const record = this.load();
    if (!record) return;
    const nowMs = Date.now();
    if (isOpen(record.state)) {
      this.write({ ...record, state: "expired" }, true, nowMs);
      this.push({ type: "expired" });
      return;
    }
    // An expiry alarm that lost the race to an approve or deny lands here early: re-arm for cleanup.
    if (record.cleanupAtMs !== null && nowMs < record.cleanupAtMs) {
      this.arm(record.cleanupAtMs);
      return;
    }
    for (const ws of this.ctx.getWebSockets()) closeQuietly(ws, CLOSE_GONE, "login session ended");
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
  }
}
