/** @module Devices — a user's own sessions: list them, end one, end all but the current one. */
import { audit } from "../http/log";
import { and, desc, eq, gt, isNull, sql } from "drizzle-orm";
import { sessions, users } from "../db/schema";
import { nowSeconds, type Deps } from "../deps";
import { ApiError } from "../http/errors";
import { parseUserAgent } from "../http/user-agent";
import { revokeOtherSessions, revokeUserSession } from "./sessions";
import { isoSeconds } from "./service";
import type { DeviceSession } from "./wire";

/** Session ids are randomToken(16): 22 base64url characters. Anything else is refused before a query. */
const SESSION_ID = /^[A-Za-z0-9_-]{22}$/;

/** Bounds the list (and the work per request); sign-ins are rate limited, so a real user stays far below. */
export const MAX_LISTED_SESSIONS = 200;

/** The caller's live sessions, most recently used first. */
export async function listSessions(deps: Deps, userId: number, currentSid: string): Promise<DeviceSession[]> {
  const now = nowSeconds(deps.clock);
  const rows = await deps.db
    .select({
      id: sessions.id,
      method: sessions.method,
      userAgent: sessions.userAgent,
      ip: sessions.ip,
      country: sessions.country,
      city: sessions.city,
      createdAt: sessions.createdAt,
      lastUsedAt: sessions.lastUsedAt,
      expiresAt: sessions.expiresAt,
    })
    .from(sessions)
    .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt), gt(sessions.expiresAt, now)))
    .orderBy(desc(sessions.lastUsedAt), desc(sessions.createdAt))
    .limit(MAX_LISTED_SESSIONS);
  return rows.map((row) => {
    const { browser, os } = parseUserAgent(row.userAgent);
    const current = row.id === currentSid;
    return {
      id: row.id,
      method: row.method,
      browser,
      os,
      ip: row.ip,
      country: row.country,
      city: row.city,
      created: isoSeconds(row.createdAt),
      // The current session is in use right now, whatever the (once-a-minute) stored value says.
      last_used: isoSeconds(current ? Math.max(row.lastUsedAt, now) : row.lastUsedAt),
      expires: isoSeconds(row.expiresAt),
      current,
    };
  });
}

/** Ends one of the caller's live sessions; 404 for an unknown, ended or someone else's id (never 403: ids are not confirmed). */
export async function endSession(deps: Deps, userId: number, sessionId: string): Promise<void> {
  if (!SESSION_ID.test(sessionId)) throw new ApiError("not_found");
  if (!(await revokeUserSession(deps.db, userId, sessionId, "user_revoked", nowSeconds(deps.clock)))) throw new ApiError("not_found");
  audit(deps, "info", "session_revoked", { user_id: userId, by: "user" });
}

/** Ends every live session of the caller but the current one, and voids every device credential; answers how many sessions ended. */
export async function endOtherSessions(deps: Deps, userId: number, currentSid: string): Promise<number> {
  // "Sign out everywhere" also takes back the failure budgets any device earned (src/auth/device-credential.ts).
  await deps.db
    .update(users)
    .set({ credentialsEpoch: sql`${users.credentialsEpoch} + 1` })
    .where(eq(users.id, userId));
  const ended = await revokeOtherSessions(deps.db, userId, currentSid, "user_revoked", nowSeconds(deps.clock));
  audit(deps, "info", "signed_out_everywhere", { user_id: userId, sessions_ended: ended });
  return ended;
}
