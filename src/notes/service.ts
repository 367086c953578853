/**
 * @module Notes Service — list, create, read, replace, update, delete a user's notes: plain functions
 * over (deps, userId, input). Every statement is scoped by `user_id`, so another user's note is
 * "not found" exactly like a missing one; every call is one D1 round trip (a list page: one statement).
 */
import { and, asc, desc, eq, fillPlaceholders, or, sql, type SQL } from "drizzle-orm";
import { randomToken } from "../lib/bytes";
import { notes, type Note } from "../db/schema";
import type { Db } from "../db/client";
import type { Deps } from "../deps";
import type { z } from "zod";
import { ApiError } from "../http/errors";
import { LIKE_ESCAPE, likeContains, orderingText, type OrderTerm } from "../http/filters";
import { checkPage, lastPageFromReversed, pageOffset } from "../http/pagination";
import { notePageCache } from "./page-cache";
import {
  NOTE_ID_PATTERN,
  type NoteListPage,
  type NoteListQuery,
  type NoteOrderingField,
  type NoteOut,
  type notePatchSchema,
  type noteSchema,
} from "./schema";

const ORDER_COLUMNS = { created: notes.createdAtMs, updated: notes.updatedAtMs, title: notes.title } as const;

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function presentNote(row: Note): NoteOut {
  return { id: row.id, title: row.title, body: row.body, owner: row.userId, created: iso(row.createdAtMs), updated: iso(row.updatedAtMs) };
}

/**
 * ORDER BY for `terms`, with `id` as the tie-breaker so pages never overlap; `reversed` flips every key.
 * The tie-breaker runs the same way as the last term, so a one-field ordering walks its index
 * (user_id, field, id) forwards or backwards with no sort step.
 */
function orderBy(terms: readonly OrderTerm<NoteOrderingField>[], reversed: boolean): SQL[] {
  const keys = terms.map((t) => (t.descending !== reversed ? desc : asc)(ORDER_COLUMNS[t.field]));
  const lastDescending = terms[terms.length - 1]?.descending ?? false;
  keys.push((lastDescending !== reversed ? desc : asc)(notes.id));
  return keys;
}

/**
 * Owner-scoped filter over placeholders (`userId`, `pattern0`…): every LIKE pattern must occur in the title
 * or the body (ASCII case-insensitive, SQLite's LIKE). Values come from listValues.
 */
function listFilter(searchTerms: number): SQL {
  const clauses: SQL[] = [eq(notes.userId, sql.placeholder("userId"))];
  for (let i = 0; i < searchTerms; i++) {
    const pattern = sql.placeholder(`pattern${i}`);
    clauses.push(or(sql`${notes.title} LIKE ${pattern} ESCAPE ${LIKE_ESCAPE}`, sql`${notes.body} LIKE ${pattern} ESCAPE ${LIKE_ESCAPE}`)!);
  }
  return and(...clauses)!;
}

/**
 * A list page as ONE statement: the page's rows, each carrying the filtered total as an uncorrelated
 * scalar subquery, which SQLite evaluates once (off the owner's index). An empty page has no row to
 * carry the total, and needs none: it is page 1 of an empty list, or past the end (404) — see
 * readNotePage, which reads the rows as ListRow arrays: keep the column order.
 */
function listStatement(db: Db, query: NoteListQuery, reversed: boolean) {
  const where = listFilter(query.search.length);
  return db
    .select({
      id: notes.id,
      userId: notes.userId,
      title: notes.title,
      body: notes.body,
      createdAtMs: notes.createdAtMs,
      updatedAtMs: notes.updatedAtMs,
      total: sql<number>`(SELECT count(*) FROM ${notes} WHERE ${where})`,
    })
    .from(notes)
    .where(where)
    .orderBy(...orderBy(query.ordering, reversed))
    .limit(sql.placeholder("limit"))
    .offset(sql.placeholder("offset"));
}

/** This request's values for listStatement's placeholders. */
function listValues(userId: number, query: NoteListQuery): Record<string, unknown> {
  const { page, pageSize } = query.page;
  const values: Record<string, unknown> = { userId, limit: pageSize, offset: page === "last" ? 0 : pageOffset(page, pageSize) };
  query.search.forEach((term, i) => (values[`pattern${i}`] = likeContains(term)));
  return values;
}

/** The SQL and bound values a list page runs (exported so tests can EXPLAIN the very statement). */
export function noteListStatement(db: Db, userId: number, query: NoteListQuery): { sql: string; params: unknown[] } {
  const { sql: text, params } = listStatement(db, query, query.page.page === "last").toSQL();
  return { sql: text, params: fillPlaceholders(params, listValues(userId, query)) };
}

/** Query shapes are few (three fields, two directions, at most MAX_SEARCH_TERMS terms); the bound is a guard. */
const MAX_PREPARED_SHAPES = 128;
type PreparedList = ReturnType<ReturnType<typeof listStatement>["prepare"]>;
const preparedLists = new WeakMap<Db, Map<string, PreparedList>>();

/** listStatement prepared once per query shape per isolate, so a request only binds its values (bench/README.md, round 2, step 5). */
function preparedList(db: Db, query: NoteListQuery, reversed: boolean): PreparedList {
  let byShape = preparedLists.get(db);
  if (!byShape) preparedLists.set(db, (byShape = new Map()));
  const shape = `${orderingText(query.ordering)}|${query.search.length}|${reversed ? "reversed" : "forward"}`;
  let prepared = byShape.get(shape);
  if (!prepared) {
    prepared = listStatement(db, query, reversed).prepare();
    if (byShape.size < MAX_PREPARED_SHAPES) byShape.set(shape, prepared);
  }
  return prepared;
}

/** A listStatement row: id, userId, title, body, createdAtMs, updatedAtMs, total — in its select order. */
type ListRow = [string, number, string, string, number, number, number];

function noteFromRow(row: ListRow): Note {
  return { id: row[0], userId: row[1], title: row[2], body: row[3], createdAtMs: row[4], updatedAtMs: row[5] };
}

/**
 * A page of the user's notes: this isolate's copy if younger than NOTES_CACHE_TTL (src/notes/page-cache.ts),
 * else readNotePage. The page is shared with other requests: never mutate it.
 */
export function listNotes(deps: Deps, userId: number, query: NoteListQuery): Promise<NoteListPage> {
  return notePageCache.read(userId, query, deps.clock(), deps.config.notesCacheTtlSeconds * 1000, () => readNotePage(deps, userId, query));
}

/** One page and the total count in one D1 round trip (one prepared statement), then DRF's page checks. */
async function readNotePage(deps: Deps, userId: number, query: NoteListQuery): Promise<NoteListPage> {
  const { pageSize } = query.page;
  const last = query.page.page === "last";
  const pageNumber = last ? 1 : (query.page.page as number);
  // values(): plain arrays in listStatement's column order, without drizzle's per-row mapping.
  const raw = (await preparedList(deps.db, query, last).values(listValues(userId, query))) as ListRow[];
  const total = raw[0]?.[6] ?? 0;
  const rows = raw.map(noteFromRow);
  if (last) {
    const resolved = lastPageFromReversed(rows, total, pageSize);
    return { count: total, page: resolved.page, pageSize, results: resolved.rows.map(presentNote) };
  }
  checkPage(pageNumber, total, pageSize);
  return { count: total, page: pageNumber, pageSize, results: rows.map(presentNote) };
}

function notFound(): ApiError {
  return new ApiError("not_found");
}

/** A malformed id cannot name a note: 404 before any query (and before the body is read). */
function checkNoteId(id: string): void {
  if (!NOTE_ID_PATTERN.test(id)) throw notFound();
}

export async function createNote(deps: Deps, userId: number, input: z.output<typeof noteSchema>): Promise<NoteOut> {
  const now = deps.clock();
  const rows = await deps.db
    .insert(notes)
    .values({ id: randomToken(16), userId, title: input.title, body: input.body, createdAtMs: now, updatedAtMs: now })
    .returning();
  // This isolate's cached pages of the user must show the new note on the very next list.
  notePageCache.evictUser(userId);
  return presentNote(rows[0]!);
}

export async function getNote(deps: Deps, userId: number, id: string): Promise<NoteOut> {
  checkNoteId(id);
  const rows = await deps.db
    .select()
    .from(notes)
    .where(and(eq(notes.id, id), eq(notes.userId, userId)))
    .limit(1);
  if (!rows[0]) throw notFound();
  return presentNote(rows[0]);
}

async function writeNote(deps: Deps, userId: number, id: string, changes: { title?: string; body?: string }): Promise<NoteOut> {
  // An empty PATCH still saves, as DRF's does: `updated` moves (auto_now).
  const rows = await deps.db
    .update(notes)
    .set({ ...changes, updatedAtMs: deps.clock() })
    .where(and(eq(notes.id, id), eq(notes.userId, userId)))
    .returning();
  if (!rows[0]) throw notFound();
  notePageCache.evictUser(userId);
  return presentNote(rows[0]);
}

/** PUT: every writable field without a default is required. */
export async function replaceNote(deps: Deps, userId: number, id: string, input: z.output<typeof noteSchema>): Promise<NoteOut> {
  checkNoteId(id);
  return writeNote(deps, userId, id, input);
}

/** PATCH: any subset of the writable fields, including none. */
export async function updateNote(deps: Deps, userId: number, id: string, input: z.output<typeof notePatchSchema>): Promise<NoteOut> {
  checkNoteId(id);
  const changes: { title?: string; body?: string } = {};
  if (input.title !== undefined) changes.title = input.title;
  if (input.body !== undefined) changes.body = input.body;
  return writeNote(deps, userId, id, changes);
}

export async function deleteNote(deps: Deps, userId: number, id: string): Promise<void> {
  checkNoteId(id);
  const rows = await deps.db
    .delete(notes)
    .where(and(eq(notes.id, id), eq(notes.userId, userId)))
    .returning({ id: notes.id });
  if (!rows[0]) throw notFound();
  notePageCache.evictUser(userId);
}
