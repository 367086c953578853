/**
 * @module Sessions — a D1 row per signed-in device; creation, atomic refresh rotation, revocation, last use,
 * purge. The only code that writes the `sessions` table (test/writers.test.ts checks it), and each writer
 * evicts the isolate's session cache for the rows it changed, so no caller can forget to.
 */
import { and, eq, gt, isNull, lt, ne, sql, type SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "../db/client";
import { sessions, users, type Session, type SessionMethod } from "../db/schema";
import { randomToken, sha256Base64Url } from "../lib/bytes";
import { endedOthersEvent, otherLiveSessions, passwordResetEvent, revocationEvents, signInEvent, type RevokeReason } from "./events";
import { sessionCache } from "./session-cache";
import type { DeviceInfo } from "../http/device";
import type { SessionWithUser } from "../http/types";

// Re-exported for the modules that record a device with a session (qr/session.ts).
export type { DeviceInfo };

interface NewSession {
  id: string;
  /** jti of the session's first refresh token (stored only as a digest). */
  refreshJti: string;
  expiresAt: number;
}

/** The insert for a new session and its security event, unexecuted: callers run both in one batch (with any other writes). */
export async function prepareSession(
  db: Db,
  input: { userId: number; method: SessionMethod; device: DeviceInfo; nowSeconds: number; lifetimeSeconds: number },
) {
  const id = randomToken(16);
  const refreshJti = randomToken(16);
  const expiresAt = input.nowSeconds + input.lifetimeSeconds;
  const statement = db.insert(sessions).values({
    id,
    userId: input.userId,
    method: input.method,
    userAgent: input.device.userAgent,
    ip: input.device.ip,
    country: input.device.country,
    city: input.device.city,
    createdAt: input.nowSeconds,
    lastUsedAt: input.nowSeconds,
    expiresAt,
    refreshHash: await sha256Base64Url(refreshJti),
    refreshIssuedAt: input.nowSeconds,
  });
  // One list, so no caller can batch the insert without its event: a session never exists without it, nor it without the session.
  const event = signInEvent(db, { userId: input.userId, sessionId: id, method: input.method, device: input.device }, input.nowSeconds);
  return { session: { id, refreshJti, expiresAt } satisfies NewSession, statements: [statement, event] as const };
}

/** The bearer check's only query: one primary-key read of the session joined to its user. */
const SESSION_WITH_USER_SQL =
  "SELECT s.id, s.user_id, s.method, s.expires_at, s.revoked_at, s.last_used_at, u.username, u.email, u.is_active, u.date_joined, u.last_login " +
  "FROM sessions AS s INNER JOIN users AS u ON u.id = s.user_id WHERE s.id = ?1 LIMIT 1";

type SessionWithUserRow = [string, number, SessionMethod, number, number | null, number, string, string, number, number, number | null];

/** Prepared once per D1 binding per isolate; each call only binds the id (no query building per request). */
const sessionWithUserStatements = new WeakMap<D1Database, D1PreparedStatement>();

export async function loadSessionWithUser(db: Db, sid: string): Promise<SessionWithUser | null> {
  // drizzle(d1) keeps its binding as `$client` (src/db/client.ts makes one drizzle handle per binding).
  const d1 = (db as Db & { $client: D1Database }).$client;
  let statement = sessionWithUserStatements.get(d1);
  if (statement === undefined) {
    statement = d1.prepare(SESSION_WITH_USER_SQL);
    sessionWithUserStatements.set(d1, statement);
  }
  const rows = await statement.bind(sid).raw<SessionWithUserRow>();
  const row = rows[0];
  if (!row) return null;
  return {
    sessionId: row[0],
    userId: row[1],
    method: row[2],
    expiresAt: row[3],
    revokedAt: row[4],
    lastUsedAt: row[5],
    username: row[6],
    email: row[7],
    isActive: row[8] !== 0,
    dateJoined: row[9],
    lastLogin: row[10],
  };
}

export function isLive(row: { revokedAt: number | null; expiresAt: number }, nowSeconds: number): boolean {
  return row.revokedAt === null && row.expiresAt > nowSeconds;
}

export async function loadSession(db: Db, sid: string): Promise<Session | null> {
  const rows = await db.select().from(sessions).where(eq(sessions.id, sid)).limit(1);
  return rows[0] ?? null;
}

/**
 * Compare-and-set rotation: succeeds only if `presentedHash` is still the current refresh token of a
 * live session of an active user. One statement, so two concurrent refreshes cannot both win.
 */
export async function rotateRefresh(
  db: Db,
  input: { sid: string; presentedHash: string; successorHash: string; nowSeconds: number; lifetimeSeconds: number },
): Promise<{ userId: number; expiresAt: number } | null> {
  const rows = await db
    .update(sessions)
    .set({
      previousRefreshHash: sessions.refreshHash,
      refreshHash: input.successorHash,
      refreshIssuedAt: input.nowSeconds,
      rotatedAt: input.nowSeconds,
      expiresAt: input.nowSeconds + input.lifetimeSeconds,
      lastUsedAt: input.nowSeconds,
    })
    .where(
      and(
        eq(sessions.id, input.sid),
        eq(sessions.refreshHash, input.presentedHash),
        isNull(sessions.revokedAt),
        gt(sessions.expiresAt, input.nowSeconds),
        sql`${sessions.userId} IN (SELECT ${users.id} FROM ${users} WHERE ${users.isActive} = 1)`,
      ),
    )
    .returning({ userId: sessions.userId, expiresAt: sessions.expiresAt });
  // The expiry moved: this isolate's copy of the row is out of date.
  if (rows[0]) sessionCache.evict(input.sid);
  return rows[0] ?? null;
}

/**
 * Revokes the live sessions `where` selects, recording their events (`event`, else one `session_revoked` per
 * session) in the same batch, evicts them from this isolate's cache, answers their ids.
 */
async function revokeWhere(
  db: Db,
  where: SQL | undefined,
  reason: RevokeReason,
  nowSeconds: number,
  event?: BatchItem<"sqlite">,
): Promise<string[]> {
  const live = and(isNull(sessions.revokedAt), where);
  const update = db.update(sessions).set({ revokedAt: nowSeconds, revokedReason: reason }).where(live).returning({ id: sessions.id });
  // The event's INSERT … SELECT runs first in the batch, so it sees exactly the rows the UPDATE then revokes.
  const recorded = event ?? revocationEvents(db, live, reason, nowSeconds);
  const rows = recorded ? (await db.batch([recorded, update]))[1] : await update;
  // After the write, so no read that saw a session live can refill the cache (session-cache.ts).
  for (const row of rows) sessionCache.evict(row.id);
  return rows.map((row) => row.id);
}

/** Revokes a live session; true if this call did it (false: already revoked or unknown). */
export async function revokeSession(db: Db, sid: string, reason: RevokeReason, nowSeconds: number): Promise<boolean> {
  const revoked = await revokeWhere(db, eq(sessions.id, sid), reason, nowSeconds);
  // Also when another isolate revoked it first: this isolate's copy may still say live.
  sessionCache.evict(sid);
  return revoked.length > 0;
}

/** Ends one live session of `userId`; false for an unknown, ended or someone else's id. */
export async function revokeUserSession(db: Db, userId: number, sid: string, reason: RevokeReason, nowSeconds: number): Promise<boolean> {
  const revoked = await revokeWhere(
    db,
    and(eq(sessions.id, sid), eq(sessions.userId, userId), gt(sessions.expiresAt, nowSeconds)),
    reason,
    nowSeconds,
  );
  sessionCache.evict(sid);
  return revoked.length > 0;
}

/** Ends every live session of `userId` but `keepSid` (sign out everywhere else, one event); answers how many ended. */
export async function revokeOtherSessions(
  db: Db,
  userId: number,
  keepSid: string,
  reason: RevokeReason,
  nowSeconds: number,
): Promise<number> {
  const others = otherLiveSessions(userId, keepSid, nowSeconds);
  const event = endedOthersEvent(db, "signed_out_everywhere", { userId, actingSid: keepSid, endedWhere: others }, nowSeconds);
  const revoked = await revokeWhere(db, others, reason, nowSeconds, event);
  return revoked.length;
}

/**
 * Runs `first` (another table's write, e.g. the new password hash), records the `password_changed` event and ends
 * every other session of `userId` in one atomic batch: none happens without the others.
 */
export async function revokeOtherSessionsWith(
  db: Db,
  first: BatchItem<"sqlite">,
  userId: number,
  keepSid: string,
  reason: RevokeReason,
  nowSeconds: number,
): Promise<void> {
  await db.batch([
    first,
    endedOthersEvent(
      db,
      "password_changed",
      { userId, actingSid: keepSid, endedWhere: otherLiveSessions(userId, keepSid, nowSeconds) },
      nowSeconds,
    ),
    db
      .update(sessions)
      .set({ revokedAt: nowSeconds, revokedReason: reason })
      .where(and(eq(sessions.userId, userId), ne(sessions.id, keepSid), isNull(sessions.revokedAt))),
  ]);
  sessionCache.evictUser(userId);
}

/**
 * Runs `first` (a password reset's new hash, `newHash`) and ends every session of `userId` in one atomic batch. The
 * sessions end only where `first` took effect (the user's hash is now `newHash`, salted so no other write makes it):
 * a link used twice at once revokes once, and sign-ins after the winning use live on. Answers `first`'s result.
 */
export async function revokeAllSessionsWith<T>(
  db: Db,
  first: BatchItem<"sqlite">,
  userId: number,
  newHash: string,
  reason: RevokeReason,
  nowSeconds: number,
): Promise<T> {
  const [result] = await db.batch([
    first,
    ...(reason === "password_reset" ? [passwordResetEvent(db, userId, newHash, nowSeconds)] : []),
    db
      .update(sessions)
      .set({ revokedAt: nowSeconds, revokedReason: reason })
      .where(
        and(
          eq(sessions.userId, userId),
          isNull(sessions.revokedAt),
          sql`EXISTS (SELECT 1 FROM ${users} WHERE ${users.id} = ${userId} AND ${users.passwordHash} = ${newHash})`,
        ),
      ),
  ]);
  sessionCache.evictUser(userId);
  return result as T;
}

/**
 * Records a session's use at most once per `resolutionSeconds`: conditional, so concurrent requests of one
 * session write once; cached hits of the row do not write again before then.
 */
export function touchSession(db: Db, sid: string, nowSeconds: number, resolutionSeconds: number): Promise<unknown> {
  sessionCache.noteUsed(sid, nowSeconds);
  return db
    .update(sessions)
    .set({ lastUsedAt: nowSeconds })
    .where(and(eq(sessions.id, sid), lt(sessions.lastUsedAt, nowSeconds - resolutionSeconds + 1)))
    .run();
}

/** Deletes up to `limit` sessions that expired or were revoked before `cutoffSeconds`; answers how many. */
export async function deleteEndedSessions(db: Db, cutoffSeconds: number, limit: number): Promise<number> {
  // A UNION, not an OR, so the expires_at half uses its index (revoked_at has none: that half scans).
  const result = await db.run(sql`
    DELETE FROM sessions WHERE id IN (
      SELECT id FROM sessions WHERE expires_at < ${cutoffSeconds}
      UNION
      SELECT id FROM sessions WHERE revoked_at IS NOT NULL AND revoked_at < ${cutoffSeconds}
      LIMIT ${limit}
    )`);
  const count = result.meta.changes ?? 0;
  // Purged rows were already refused; dropping this isolate's copies keeps the cache from outliving them.
  if (count > 0) sessionCache.clear();
  return count;
}
