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
import type { SessionWithUser } from "./sessions";

/** About 300 bytes a row: a few MiB at most, far below an isolate's 128 MB. */
export const SESSION_CACHE_MAX_ENTRIES = 10_000;

interface Entry {
  row: SessionWithUser;
  /** Clock time (ms) when the D1 read that produced `row` started. */
  readAtMs: number;
}

export type SessionLoader = (sid: string) => Promise<SessionWithUser | null>;

export class SessionCache {
  private readonly entries = new Map<string, Entry>();
  /** One D1 read per session at a time: concurrent cold requests share it. */
  private readonly inflight = new Map<string, Promise<SessionWithUser | null>>();
  /** Bumped by every eviction: a read that started before it must not store what it saw. */
  private generation = 0;

  constructor(readonly maxEntries = SESSION_CACHE_MAX_ENTRIES) {}

  get size(): number {
    return this.entries.size;
  }

  /** The session row for `sid`: from this isolate's copy if younger than `ttlMs`, else from `load` (D1). */
  async read(sid: string, nowMs: number, ttlMs: number, load: SessionLoader): Promise<SessionWithUser | null> {
    if (ttlMs <= 0) return load(sid);
    const entry = this.entries.get(sid);
    if (entry) {
      const age = nowMs - entry.readAtMs;
      // A clock that went backwards (tests, skew) counts as stale, never as fresh.
      if (age >= 0 && age < ttlMs && worthKeeping(entry.row, nowMs)) {
        // Most recently used last, so the first key is the one to drop.
        this.entries.delete(sid);
        this.entries.set(sid, entry);
        return entry.row;
      }
      this.entries.delete(sid);
    }
    const pending = this.inflight.get(sid);
    if (pending) return pending;
    const generation = this.generation;
    const reading = load(sid);
    this.inflight.set(sid, reading);
    let row: SessionWithUser | null;
    try {
      row = await reading;
    } finally {
      if (this.inflight.get(sid) === reading) this.inflight.delete(sid);
    }
    if (row && generation === this.generation && worthKeeping(row, nowMs)) {
      this.entries.set(sid, { row, readAtMs: nowMs });
      if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    }
    return row;
  }

  /** Records a `last_used_at` write so cached hits do not repeat it until the next minute. */
  noteUsed(sid: string, lastUsedAt: number): void {
    const entry = this.entries.get(sid);
    if (entry && entry.row.lastUsedAt < lastUsedAt) entry.row = { ...entry.row, lastUsedAt };
  }

  /** After a write that ended or changed session `sid`. */
  evict(sid: string): void {
    this.generation += 1;
    this.entries.delete(sid);
    this.inflight.delete(sid);
  }

  /** After a write that ended or changed every session of a user, or the user row itself. */
  evictUser(userId: number): void {
    this.generation += 1;
    for (const [sid, entry] of this.entries) if (entry.row.userId === userId) this.entries.delete(sid);
    // Reads in flight carry no user id yet: let every later request start its own.
    this.inflight.clear();
  }

  clear(): void {
    this.generation += 1;
    this.entries.clear();
    this.inflight.clear();
  }
}

/** Revoked is final, so a revoked row may be kept; a live one only while it is unexpired. */
function worthKeeping(row: SessionWithUser, nowMs: number): boolean {
  return row.revokedAt !== null || row.expiresAt > Math.floor(nowMs / 1000);
}

/** The isolate's cache: module state lives as long as the isolate, and every request of it shares it. */
export const sessionCache = new SessionCache();
