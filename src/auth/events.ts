/**
 * @module Security Events — the account's own record of sign-ins, QR links, password changes and revocations
 * (GET /api/auth/events/). The only writer of `security_events`: each write here is an unexecuted statement the
 * caller puts in the same D1 batch as the write it describes (src/auth/sessions.ts), so an event exists exactly
 * when its action happened. Reads answer device and place (city, country), never an IP address.
 */
import { and, asc, count, desc, eq, gt, isNull, lt, ne, sql, type SQL } from "drizzle-orm";
import type { Db } from "../db/client";
import { securityEvents, sessions, users, type RevokedBy, type SessionMethod } from "../db/schema";
import type { Deps } from "../deps";
import { checkPage, lastPageFromReversed, pageOffset, type PageRequest } from "../http/pagination";
import { parseUserAgent } from "../http/user-agent";
import type { DeviceInfo } from "../http/device";
import type { SecurityEventOut } from "./wire";

/** Events older than this are deleted by the scheduled handler: a quarter covers any review of "was this me?". */
export const EVENT_RETENTION_SECONDS = 90 * 86_400;

/** Why sessions were revoked (src/auth/sessions.ts revokes, this module records). */
export type RevokeReason = "logout" | "refresh_reuse" | "user_revoked" | "password_changed" | "account_deleted" | "password_reset";

/** Who a revocation's reason names; null where another event already tells it (the password change) or nobody is left to see it. */
const REVOKED_BY_REASON: Record<RevokeReason, RevokedBy | null> = {
  logout: "sign_out",
  refresh_reuse: "reuse_detection",
  user_revoked: "user",
  password_changed: null,
  // One password_reset event counts them instead (passwordResetEvent).
  password_reset: null,
  account_deleted: null,
};

/** The insert recording a new session (password sign-in or QR link), for the session insert's batch. */
export function signInEvent(db: Db, input: { userId: number; sessionId: string; method: SessionMethod; device: DeviceInfo }, now: number) {
  return db.insert(securityEvents).values({
    userId: input.userId,
    type: input.method === "qr" ? "qr_linked" : "signed_in",
    sessionId: input.sessionId,
    userAgent: input.device.userAgent,
    country: input.device.country,
    city: input.device.city,
    createdAt: now,
  });
}

/**
 * One `session_revoked` row per session `liveWhere` selects, copied from the session rows: put it in a batch just
 * before the UPDATE that revokes the same rows, so both see the same set. Null when the reason records none.
 */
export function revocationEvents(db: Db, liveWhere: SQL | undefined, reason: RevokeReason, now: number) {
  const by = REVOKED_BY_REASON[reason];
  if (by === null) return null;
  // Every column in table order (drizzle's insert-select rule); a NULL id lets SQLite number the row.
  return db.insert(securityEvents).select(
    db
      .select({
        id: sql<number>`NULL`.as("id"),
        userId: sessions.userId,
        type: sql<"session_revoked">`'session_revoked'`.as("type"),
        sessionId: sessions.id,
        revokedBy: sql<RevokedBy>`${by}`.as("revoked_by"),
        sessionsEnded: sql<number | null>`NULL`.as("sessions_ended"),
        userAgent: sessions.userAgent,
        country: sessions.country,
        city: sessions.city,
        createdAt: sql<number>`${now}`.as("created_at"),
      })
      .from(sessions)
      .where(liveWhere),
  );
}

/**
 * One row for an action of the session `actingSid` that ends the user's other sessions (a password change, a
 * sign-out everywhere), counting those `endedWhere` selects: put it in the batch before the revoking UPDATE.
 */
export function endedOthersEvent(
  db: Db,
  type: "password_changed" | "signed_out_everywhere",
  input: { userId: number; actingSid: string; endedWhere: SQL | undefined },
  now: number,
) {
  const ended = db.select({ n: count() }).from(sessions).where(input.endedWhere);
  return db.insert(securityEvents).select(
    db
      .select({
        id: sql<number>`NULL`.as("id"),
        userId: sessions.userId,
        type: sql<typeof type>`${type}`.as("type"),
        sessionId: sessions.id,
        revokedBy: sql<RevokedBy | null>`NULL`.as("revoked_by"),
        sessionsEnded: sql<number>`(${ended})`.as("sessions_ended"),
        userAgent: sessions.userAgent,
        country: sessions.country,
        city: sessions.city,
        createdAt: sql<number>`${now}`.as("created_at"),
      })
      .from(sessions)
      .where(and(eq(sessions.id, input.actingSid), eq(sessions.userId, input.userId))),
  );
}

/**
 * A reset by mailed link (no session acts): one event counting the live sessions the reset ends, written only if the
 * reset's new hash is in place (a link that lost the race records nothing); for its batch, before the revoking UPDATE.
 */
export function passwordResetEvent(db: Db, userId: number, newHash: string, now: number) {
  const ended = db
    .select({ n: count() })
    .from(sessions)
    .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt), gt(sessions.expiresAt, now)));
  return db.insert(securityEvents).select(
    db
      .select({
        id: sql<number>`NULL`.as("id"),
        userId: users.id,
        type: sql<"password_reset">`'password_reset'`.as("type"),
        sessionId: sql<string | null>`NULL`.as("session_id"),
        revokedBy: sql<RevokedBy | null>`NULL`.as("revoked_by"),
        sessionsEnded: sql<number>`(${ended})`.as("sessions_ended"),
        userAgent: sql<string | null>`NULL`.as("user_agent"),
        country: sql<string | null>`NULL`.as("country"),
        city: sql<string | null>`NULL`.as("city"),
        createdAt: sql<number>`${now}`.as("created_at"),
      })
      .from(users)
      .where(and(eq(users.id, userId), eq(users.passwordHash, newHash))),
  );
}

/** The sessions `endOthers` ends: the user's live ones but the acting one (sessions.ts uses the same filter). */
export function otherLiveSessions(userId: number, keepSid: string, now: number): SQL | undefined {
  return and(eq(sessions.userId, userId), ne(sessions.id, keepSid), isNull(sessions.revokedAt), gt(sessions.expiresAt, now));
}

export interface EventPage {
  count: number;
  /** The page actually served (resolves `page=last`). */
  page: number;
  pageSize: number;
  results: SecurityEventOut[];
}

type EventRow = typeof securityEvents.$inferSelect;

// As src/auth/service.ts writes times; not imported from there, which imports sessions.ts, which imports this.
function isoSeconds(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(".000Z", "Z");
}

function present(row: EventRow, currentSid: string): SecurityEventOut {
  const { browser, os } = parseUserAgent(row.userAgent);
  return {
    id: row.id,
    type: row.type,
    created: isoSeconds(row.createdAt),
    session: row.sessionId,
    current: row.sessionId === currentSid,
    revoked_by: row.revokedBy,
    sessions_ended: row.sessionsEnded,
    browser,
    os,
    country: row.country,
    city: row.city,
  };
}

/** The user's events, newest first (ties by insertion order), a DRF page at a time: the page and the count in one round trip. */
export async function listEvents(deps: Deps, userId: number, currentSid: string, request: PageRequest): Promise<EventPage> {
  const { pageSize } = request;
  const last = request.page === "last";
  const page = last ? 1 : (request.page as number);
  const mine = eq(securityEvents.userId, userId);
  const order = last ? [asc(securityEvents.createdAt), asc(securityEvents.id)] : [desc(securityEvents.createdAt), desc(securityEvents.id)];
  const [counted, rows] = await deps.db.batch([
    deps.db.select({ n: count() }).from(securityEvents).where(mine),
    deps.db
      .select()
      .from(securityEvents)
      .where(mine)
      .orderBy(...order)
      .limit(pageSize)
      .offset(pageOffset(page, pageSize)),
  ]);
  const total = counted[0]?.n ?? 0;
  if (last) {
    const resolved = lastPageFromReversed(rows, total, pageSize);
    return { count: total, page: resolved.page, pageSize, results: resolved.rows.map((row) => present(row, currentSid)) };
  }
  checkPage(page, total, pageSize);
  return { count: total, page, pageSize, results: rows.map((row) => present(row, currentSid)) };
}

/** Deletes up to `limit` events recorded before `cutoffSeconds`; answers how many. */
export async function deleteOldEvents(db: Db, cutoffSeconds: number, limit: number): Promise<number> {
  const oldest = db.select({ id: securityEvents.id }).from(securityEvents).where(lt(securityEvents.createdAt, cutoffSeconds)).limit(limit);
  const result = await db.delete(securityEvents).where(sql`${securityEvents.id} IN ${oldest}`).run();
  return result.meta.changes ?? 0;
}
