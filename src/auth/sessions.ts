/** @module Sessions — a D1 row per signed-in device; creation, atomic refresh rotation, revocation. */
import { and, eq, gt, isNull, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { sessions, users, type Session, type SessionMethod } from "../db/schema";
import { randomToken, sha256Base64Url } from "./bytes";

/** What is recorded about the device that signs in (all optional: requests may lack them). */
export interface DeviceInfo {
  userAgent: string | null;
  ip: string | null;
  country: string | null;
  city: string | null;
}

export interface NewSession {
  id: string;
  /** jti of the session's first refresh token (stored only as a digest). */
  refreshJti: string;
  expiresAt: number;
}

/** The insert for a new session, unexecuted, so callers can batch it with other writes. */
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
  return { session: { id, refreshJti, expiresAt } satisfies NewSession, statement };
}

/** The session and its user, in one primary-key read (the bearer middleware's only query). */
export async function loadSessionWithUser(db: Db, sid: string) {
  const rows = await db
    .select({
      sessionId: sessions.id,
      userId: sessions.userId,
      method: sessions.method,
      expiresAt: sessions.expiresAt,
      revokedAt: sessions.revokedAt,
      lastUsedAt: sessions.lastUsedAt,
      username: users.username,
      email: users.email,
      isActive: users.isActive,
      dateJoined: users.dateJoined,
      lastLogin: users.lastLogin,
    })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(eq(sessions.id, sid))
    .limit(1);
  return rows[0] ?? null;
}

export type SessionWithUser = NonNullable<Awaited<ReturnType<typeof loadSessionWithUser>>>;

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
  return rows[0] ?? null;
}

export type RevokeReason = "logout" | "refresh_reuse" | "user_revoked" | "password_changed" | "account_deleted";

/** Revokes a live session; true if this call did it (false: already revoked or unknown). */
export async function revokeSession(db: Db, sid: string, reason: RevokeReason, nowSeconds: number): Promise<boolean> {
  const rows = await db
    .update(sessions)
    .set({ revokedAt: nowSeconds, revokedReason: reason })
    .where(and(eq(sessions.id, sid), isNull(sessions.revokedAt)))
    .returning({ id: sessions.id });
  return rows.length > 0;
}
