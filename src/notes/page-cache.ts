/**
 * @module Notes Page Cache — per-isolate copies of list pages, so a warm `GET /api/notes/` reads no D1.
 *
 * Contract (NOTES_CACHE_TTL, config.notesCacheTtlSeconds):
 * - A page read at time t answers identical lists (same user, page or `last`, page size, ordering and
 *   search terms) in this isolate until t + TTL, t being when the D1 read *started*; then D1 is read again.
 *   A note written in *another* isolate or location, or by plain SQL, therefore shows within TTL seconds here.
 * - Every note write in this code base (create, replace, update, delete, account deletion) evicts that
 *   user's pages here after its statement succeeds, so the isolate that wrote shows the change on its
 *   very next list; a read that was in flight when the write landed never stores what it saw.
 * - Auth is checked on every request before the cache is consulted: a revoked session never gets a page.
 * - Only pages are kept: a 404 ("Invalid page.") or any other error is never stored (a 400 never gets here).
 * - TTL 0 turns it off entirely: every list reads D1, no reads are shared.
 * - Bounded: least recently used pages go first beyond MAX_ENTRIES pages or MAX_CHARS characters of notes.
 */
import { orderingText } from "../http/filters";
// Type-only: erased at build time, so no import cycle with the service that uses this cache.
import type { NoteListPage, NoteListQuery } from "./service";

/** A page per active user-and-query of a busy isolate; the map's own overhead stays near 1 MB. */
export const NOTES_PAGE_CACHE_MAX_ENTRIES = 5_000;
/** The real bound: ~8 M characters of notes (≈ 8–16 MB of strings), an eighth of an isolate's 128 MB; one page is ≤ ~1 M. */
export const NOTES_PAGE_CACHE_MAX_CHARS = 8_000_000;
/** Characters charged per note beyond its title and body (id, two ISO dates, object overhead), and per page. */
const NOTE_OVERHEAD_CHARS = 150;
const PAGE_OVERHEAD_CHARS = 200;

interface Entry {
  userId: number;
  page: NoteListPage;
  /** Clock time (ms) when the D1 read that produced `page` started. */
  readAtMs: number;
  /** Characters charged against maxChars. */
  size: number;
}

/** One D1 read in progress; `stale` is set by an eviction of its user (a per-read generation). */
interface Flight {
  userId: number;
  reading: Promise<NoteListPage>;
  stale: boolean;
}

export type NotePageLoader = () => Promise<NoteListPage>;

/** The cache key: the user and every input that decides the page, in one canonical form. */
export function notePageKey(userId: number, query: NoteListQuery): string {
  // JSON keeps search terms unambiguous whatever characters they hold.
  return `${userId}|${query.page.page}|${query.page.pageSize}|${orderingText(query.ordering)}|${JSON.stringify(query.search)}`;
}

function chargedChars(page: NoteListPage): number {
  let size = PAGE_OVERHEAD_CHARS;
  for (const note of page.results) size += note.title.length + note.body.length + NOTE_OVERHEAD_CHARS;
  return size;
}

export class NotePageCache {
  private readonly entries = new Map<string, Entry>();
  /** One D1 read per key at a time: concurrent cold lists share it. */
  private readonly inflight = new Map<string, Flight>();
  private chars = 0;

  constructor(
    readonly maxEntries = NOTES_PAGE_CACHE_MAX_ENTRIES,
    readonly maxChars = NOTES_PAGE_CACHE_MAX_CHARS,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** Characters of notes held, as charged against maxChars. */
  get heldChars(): number {
    return this.chars;
  }

  /**
   * The page for (`userId`, `query`): this isolate's copy if younger than `ttlMs`, else from `load` (D1).
   * The returned page is shared with other requests: never mutate it.
   */
  async read(userId: number, query: NoteListQuery, nowMs: number, ttlMs: number, load: NotePageLoader): Promise<NoteListPage> {
    if (ttlMs <= 0) return load();
    const key = notePageKey(userId, query);
    const entry = this.entries.get(key);
    if (entry) {
      const age = nowMs - entry.readAtMs;
      // A clock that went backwards (tests, skew) counts as stale, never as fresh.
      if (age >= 0 && age < ttlMs) {
        // Most recently used last, so the first key is the one to drop.
        this.entries.delete(key);
        this.entries.set(key, entry);
        return entry.page;
      }
      this.drop(key, entry);
    }
    const pending = this.inflight.get(key);
    if (pending) return pending.reading;
    const flight: Flight = { userId, reading: load(), stale: false };
    this.inflight.set(key, flight);
    let page: NoteListPage;
    try {
      page = await flight.reading;
    } finally {
      if (this.inflight.get(key) === flight) this.inflight.delete(key);
    }
    if (!flight.stale) this.store(key, { userId, page, readAtMs: nowMs, size: chargedChars(page) });
    return page;
  }

  /** After a write that changed any of `userId`'s notes, or deleted the user. */
  evictUser(userId: number): void {
    // A few thousand entries at most: tens of µs, well under the write's own D1 round trip.
    for (const [key, entry] of this.entries) if (entry.userId === userId) this.drop(key, entry);
    for (const [key, flight] of this.inflight) {
      if (flight.userId !== userId) continue;
      flight.stale = true;
      this.inflight.delete(key);
    }
  }

  clear(): void {
    this.entries.clear();
    this.chars = 0;
    for (const flight of this.inflight.values()) flight.stale = true;
    this.inflight.clear();
  }

  private store(key: string, entry: Entry): void {
    const previous = this.entries.get(key);
    if (previous) this.drop(key, previous);
    if (entry.size > this.maxChars) return;
    this.entries.set(key, entry);
    this.chars += entry.size;
    while (this.entries.size > this.maxEntries || this.chars > this.maxChars) {
      const [oldestKey, oldest] = this.entries.entries().next().value!;
      this.drop(oldestKey, oldest);
    }
  }

  private drop(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.chars -= entry.size;
  }
}

/** The isolate's cache: module state lives as long as the isolate, and every request of it shares it. */
export const notePageCache = new NotePageCache();
