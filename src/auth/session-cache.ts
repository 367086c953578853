/**
 * @module Session Cache — per-isolate copies of session rows, so a warm bearer check reads no D1.
 *
 * Contract (SESSION_CACHE_TTL, config.sessionCacheTtlSeconds):
 * - A row read at time t answers bearer checks in this isolate until t + TTL (then D1 is read again).
 *   A revocation made in *another* isolate, or by SQL, is therefore seen within TTL seconds here.
 * - Every write in this code base that ends or changes a session (logout, refresh reuse, rotation,
 *   DELETE sessions, password change, account change or deletion, purge) evicts here after its
 *   statement, so the isolate that revoked a session refuses it on the very next request.
 * - Only rows that were live or revoked when read are kept; a missing row is never cached, and a row
 *   that looks expired is read again (a rotation elsewhere may have extended it): the cache can only
 *   make a session look *more* dead, never turn a missing or expired one into a live one.
 * - TTL 0 turns it off entirely: every check reads D1, no reads are shared.
 * - Bounded: least recently used rows go first beyond MAX_ENTRIES.
 */
import { IsolateCache } from "../http/isolate-cache";
import type { SessionWithUser } from "../http/types";

/** About 300 bytes a row: a few MiB at most, far below an isolate's 128 MB. */
const SESSION_CACHE_MAX_ENTRIES = 10_000;

export type SessionLoader = (sid: string) => Promise<SessionWithUser | null>;

/** Session rows keyed by session id, owned by their user (the mechanism: src/http/isolate-cache.ts). */
export class SessionCache {
  private readonly cache: IsolateCache<SessionWithUser | null>;

  constructor(readonly maxEntries = SESSION_CACHE_MAX_ENTRIES) {
    this.cache = new IsolateCache<SessionWithUser | null>({
      maxEntries,
      // A missing row is never kept; see worthKeeping.
      keep: (row, nowMs) => row !== null && worthKeeping(row, nowMs),
    });
  }

  get size(): number {
    return this.cache.size;
  }

  /**
   * The session row for `sid`: from this isolate's copy if younger than `ttlMs` (and read at or after `readAfterMs`,
   * a client's bookmark), else from `load` (D1).
   */
  read(sid: string, nowMs: number, ttlMs: number, load: SessionLoader, readAfterMs?: number): Promise<SessionWithUser | null> {
    // The owner is known only once the row is read (only kept rows are stored, never null).
    return this.cache.read(
      sid,
      (row) => row!.userId,
      nowMs,
      ttlMs,
      () => load(sid),
      readAfterMs,
    );
  }

  /** Records a `last_used_at` write so cached hits do not repeat it until the next minute. */
  noteUsed(sid: string, lastUsedAt: number): void {
    this.cache.update(sid, (row) => (row && row.lastUsedAt < lastUsedAt ? { ...row, lastUsedAt } : row));
  }

  /** After a write that ended or changed session `sid`. */
  evict(sid: string): void {
    this.cache.evict(sid);
  }

  /** After a write that ended or changed every session of a user, or the user row itself. */
  evictUser(userId: number): void {
    this.cache.evictOwner(userId);
  }

  clear(): void {
    this.cache.clear();
  }
}

/** Revoked is final, so a revoked row may be kept; a live one only while it is unexpired. */
function worthKeeping(row: SessionWithUser, nowMs: number): boolean {
  return row.revokedAt !== null || row.expiresAt > Math.floor(nowMs / 1000);
}

/** The isolate's cache: module state lives as long as the isolate, and every request of it shares it. */
export const sessionCache = new SessionCache();
