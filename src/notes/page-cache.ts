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
import { IsolateCache } from "../http/isolate-cache";
import type { NoteListPage, NoteListQuery } from "./schema";

/** A page per active user-and-query of a busy isolate; the map's own overhead stays near 1 MB. */
const NOTES_PAGE_CACHE_MAX_ENTRIES = 5_000;
/** The real bound: ~8 M characters of notes (≈ 8–16 MB of strings), an eighth of an isolate's 128 MB; one page is ≤ ~1 M. */
const NOTES_PAGE_CACHE_MAX_CHARS = 8_000_000;
/** Characters charged per note beyond its title and body (id, two ISO dates, object overhead), and per page. */
const NOTE_OVERHEAD_CHARS = 150;
const PAGE_OVERHEAD_CHARS = 200;

type NotePageLoader = () => Promise<NoteListPage>;

/** The cache key: the user and every input that decides the page, in one canonical form. */
function notePageKey(userId: number, query: NoteListQuery): string {
  // JSON keeps search terms unambiguous whatever characters they hold.
  return `${userId}|${query.page.page}|${query.page.pageSize}|${orderingText(query.ordering)}|${JSON.stringify(query.search)}`;
}

function chargedChars(page: NoteListPage): number {
  let size = PAGE_OVERHEAD_CHARS;
  for (const note of page.results) size += note.title.length + note.body.length + NOTE_OVERHEAD_CHARS;
  return size;
}

/** Pages keyed by user and query, owned by their user (the mechanism: src/http/isolate-cache.ts). */
export class NotePageCache {
  private readonly cache: IsolateCache<NoteListPage>;

  constructor(maxEntries = NOTES_PAGE_CACHE_MAX_ENTRIES, maxChars = NOTES_PAGE_CACHE_MAX_CHARS) {
    this.cache = new IsolateCache<NoteListPage>({ maxEntries, maxWeight: maxChars, weigh: chargedChars });
  }

  get size(): number {
    return this.cache.size;
  }

  /** Characters of notes held, as charged against maxChars. */
  get heldChars(): number {
    return this.cache.heldWeight;
  }

  /**
   * The page for (`userId`, `query`): this isolate's copy if younger than `ttlMs`, else from `load` (D1).
   * The returned page is shared with other requests: never mutate it.
   */
  read(userId: number, query: NoteListQuery, nowMs: number, ttlMs: number, load: NotePageLoader): Promise<NoteListPage> {
    return this.cache.read(notePageKey(userId, query), userId, nowMs, ttlMs, load);
  }

  /** After a write that changed any of `userId`'s notes, or deleted the user. */
  evictUser(userId: number): void {
    this.cache.evictOwner(userId);
  }

  clear(): void {
    this.cache.clear();
  }
}

/** The isolate's cache: module state lives as long as the isolate, and every request of it shares it. */
export const notePageCache = new NotePageCache();

/** Registered in src/app.ts for a user's deletion: their pages may not outlive them in this isolate. */
export function forgetUserPages(userId: number): void {
  notePageCache.evictUser(userId);
}
