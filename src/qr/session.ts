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
 * - "qr"     QrRecord: state, the phone user once bound, the check code and its three choices once
 *            scanned, the browser's public key (ECDH P-256, public part only) and device details, the
 *            origin that created it (JWT_ISSUER: the base of its URLs), times in epoch ms. The browser
 *            secret is stored only as its SHA-256 (`secretHash`) and compared in constant time.
 * - "pair"   PairDelivery: after approval, the pair and user *sealed to the browser's key* (seal.ts) until
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
import type { Env } from "../env";
import { errorResponse, ApiError } from "../http/errors";
import {
  currentEvent,
  decide,
  canView,
  drawCheck,
  effectiveState,
  isFinalEvent,
  isOpen,
  type BrowserCancel,
  type BrowserEvent,
  type CheckChallenge,
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
  createdAtMs: number;
  expiresAtMs: number;
  user: QrUser | null;
  /** Drawn by the scan; the browser shows `code`, the bound phone picks among `choices`. */
  check: CheckChallenge | null;
  /** Why a denied session was denied, for a reconnecting browser. */
  denyReason: DenyReason;
  finishedAtMs: number | null;
  /** When the cleanup alarm may delete everything (set when the session finishes). */
  cleanupAtMs: number | null;
}

/** What the worker may show the phone that scanned: the record without its secret hash, key or the right code. */
export interface QrView {
  id: string;
  state: QrState;
  origin: string;
  browser: DeviceInfo;
  createdAtMs: number;
  expiresAtMs: number;
  user: QrUser | null;
  /** The three codes to pick from, while the session waits for the pick; null otherwise. */
  choices: string[] | null;
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
    createdAtMs: record.createdAtMs,
    expiresAtMs: record.expiresAtMs,
    user: record.user,
    choices: state === "scanned" && record.check ? record.check.choices : null,
  };
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
      createdAtMs: input.nowMs,
      expiresAtMs,
      user: null,
      check: null,
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
   * Approves and issues the browser's token pair exactly once. The state is switched to approved
   * *before* D1 is called, so an approve, deny, scan or alarm that interleaves while this call
   * awaits D1 already sees a finished session and changes nothing.
   *
   * Storage work on this path (the object's hot path): one read of the record; one write batch
   * (record + `pair: issuing` + cleanup alarm); D1; then one read of the socket tag and one write batch
   * (`pair: ready` with `sentTo` already set, socket tag removed) right after the send.
   */
  async approve(user: QrUser, code: string, nowMs: number): Promise<ViewResult> {
    const { result, record } = await this.act("approve", user, nowMs, code);
    if (!result.ok || !record) return result;
    let sealed: SealedPair;
    try {
      sealed = await this.issuePair(record, user, nowMs);
    } catch (error) {
      // Nothing reached the browser: reopen (bound to this user) so the phone may retry; the alarm re-arms expiry.
      this.ctx.storage.put(RECORD, { ...record, state: "scanned", finishedAtMs: null, cleanupAtMs: null } satisfies QrRecord);
      this.ctx.storage.delete(PAIR);
      await this.ctx.storage.setAlarm(record.expiresAtMs);
      // D1 slow or down: a typed answer (RPC carries no error classes), 503 to the phone, which may approve again.
      if (isDatabaseUnavailable(error)) return { ok: false, code: "service_unavailable" };
      throw error;
    }
    const event: BrowserEvent = { type: "approved", sealed };
    const current = await this.currentSocket();
    // No await between the send and the write: nothing can interleave, and the output gate holds the
    // frame until the write is durable, so `sentTo` is exactly the socket that carried the pair.
    const sentTo = current && this.trySend(current.ws, event) ? current.tag : null;
    await this.ctx.storage.put(PAIR, { status: "ready", sealed, sentTo } satisfies PairDelivery);
    if (current) await this.finish(current.ws, current.tag, event, sentTo !== null);
    return result;
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
  private async act(action: PhoneAction, user: QrUser, nowMs: number, code?: string): Promise<{ result: ViewResult; record: QrRecord | null }> {
    const record = this.load();
    if (!record) return { result: { ok: false, code: "not_found" }, record: null };
    const decision = decide(record, action, user.id, nowMs, code);
    if (!decision.ok) {
      if (decision.ends) await this.end(record, nowMs, "code_mismatch");
      return { result: { ok: false, code: decision.code }, record: null };
    }
    if (!decision.changed) return { result: { ok: true, view: toView(record, nowMs) }, record: null };
    const next: QrRecord = { ...record, state: decision.next, user };
    // The scan draws the check code: fixed from here on, so repeated views show the same three choices.
    if (next.state === "scanned") next.check = drawCheck(randomBytes);
    if (!isOpen(next.state)) {
      next.finishedAtMs = nowMs;
      next.cleanupAtMs = Date.now() + FINISHED_RETENTION_MS;
    }
    // One write batch: the puts are not awaited one by one, so they and the alarm commit together.
    if (next.state === "approved") {
      this.ctx.storage.put({ [RECORD]: next, [PAIR]: { status: "issuing" } satisfies PairDelivery });
    } else {
      this.ctx.storage.put(RECORD, next);
    }
    if (next.cleanupAtMs !== null) await this.ctx.storage.setAlarm(next.cleanupAtMs);
    if (next.state === "scanned") await this.push({ type: "scanned", user, code: next.check!.code, expires_at: new Date(next.expiresAtMs).toISOString() });
    if (next.state === "denied") await this.push({ type: "denied" });
    return { result: { ok: true, view: toView(next, nowMs) }, record: next };
  }

  /** A wrong check code, or the browser cancelling: the login ends denied at once, and the browser is told why. */
  private async end(record: QrRecord, nowMs: number, reason: DenyReason): Promise<void> {
    const cleanupAtMs = Date.now() + FINISHED_RETENTION_MS;
    this.ctx.storage.put(RECORD, { ...record, state: "denied", denyReason: reason, finishedAtMs: nowMs, cleanupAtMs } satisfies QrRecord);
    await this.ctx.storage.setAlarm(cleanupAtMs);
    await this.push(reason ? { type: "denied", reason } : { type: "denied" });
  }

  private async currentSocket(): Promise<{ ws: WebSocket; tag: string } | null> {
    const tag = this.ctx.storage.kv.get<string>(SOCKET);
    if (!tag) return null;
    const ws = this.ctx.getWebSockets(tag)[0];
    return ws ? { ws, tag } : null;
  }

  /** Sends `event` to the open browser socket, if any, and closes it after a final event. */
  private async push(event: BrowserEvent): Promise<void> {
    const current = await this.currentSocket();
    if (!current) return;
    await this.finish(current.ws, current.tag, event, this.trySend(current.ws, event));
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
  private async finish(ws: WebSocket, tag: string, event: BrowserEvent, sent: boolean): Promise<void> {
    if (sent && !isFinalEvent(event)) return;
    // The tag was read in this same turn (or stored by fetch just before): no need to read it again.
    this.ctx.storage.delete(SOCKET);
    if (!sent) return;
    try {
      ws.close(CLOSE_FINAL, event.type);
    } catch {
      // Closed meanwhile by the browser.
    }
  }

  private async forgetSocket(tag: string): Promise<void> {
    if (this.ctx.storage.kv.get<string>(SOCKET) === tag) await this.ctx.storage.delete(SOCKET);
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
    this.ctx.storage.put(SOCKET, tag);
    const sent = this.trySend(server, event);
    if (sent && event.type === "approved") {
      // A reconnect that is sent the pair: record which socket carried it, in the same write batch.
      this.ctx.storage.put(PAIR, { ...(pair as Extract<PairDelivery, { status: "ready" }>), sentTo: tag } satisfies PairDelivery);
    }
    await this.finish(server, tag, event, sent);
    return new Response(null, { status: 101, webSocket: client });
  }

  /**
   * The browser's one message (besides "ping", answered by the auto-response without waking us):
   * `{"type": "cancel"}` — "Not you? Get a new code" — ends an open login as denied, so whoever scanned it
   * can no longer approve it. Anything else is ignored; the socket is the secret's holder, as for reading.
   */
  override async webSocketMessage(_ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (message !== CANCEL_MESSAGE) return;
    const record = this.load();
    const nowMs = Date.now();
    if (!record || !isOpen(effectiveState(record, nowMs))) return;
    await this.end(record, nowMs, "cancelled");
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
      await this.ctx.storage.put(PAIR, { status: "received" } satisfies PairDelivery);
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
      this.ctx.storage.put(RECORD, expired);
      await this.ctx.storage.setAlarm(expired.cleanupAtMs!);
      await this.push({ type: "expired" });
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
