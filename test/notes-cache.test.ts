/**
 * The per-isolate cache of note list pages (NOTES_CACHE_TTL, src/notes/page-cache.ts).
 * Contract under test: a write made through this API shows on the very next list in the isolate that
 * made it, even with the cache warm; a write made behind the cache's back (another isolate or location,
 * plain SQL) shows once NOTES_CACHE_TTL has passed, never later; NOTES_CACHE_TTL=0 reads D1 on every list;
 * auth is checked before the cache; errors are never cached. The LRU bound is unit-tested at the end.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { randomToken } from "../src/lib/bytes";
import { NotePageCache, notePageCache } from "../src/notes/page-cache";
import { parseQuery } from "../src/http/query";
import { noteListQuerySchema, type NoteListPage } from "../src/notes/schema";
import { PASSWORD, countingD1, registerUser, rig, rowCounts, sessionIdOf, signIn, type Rig as TestRig } from "./helpers";

/** A D1 statement reads notes when its SQL names the table (the session check joins users and sessions only). */
const READS_NOTES = /from "notes"/i;

interface Rig {
  app: TestRig;
  d1: ReturnType<typeof countingD1>;
  userId: number;
  token: string;
  list: (query?: string, token?: string) => Promise<Response>;
  /** The list's body, asserting 200. */
  page: (query?: string) => Promise<{
    count: number;
    next: string | null;
    previous: string | null;
    results: Array<{ id: string; title: string; body: string }>;
  }>;
  write: (path: string, method: string, body?: unknown) => Promise<Response>;
}

/** A fresh user, signed in on a movable clock, every D1 statement recorded; NOTES_CACHE_TTL=`ttl`. */
async function signedIn(ttl = "2", extra: Record<string, unknown> = {}): Promise<Rig> {
  const d1 = countingD1();
  const app = rig({ env: { NOTES_CACHE_TTL: ttl, DB: d1.db, ...extra } });
  const { username, id } = await registerUser();
  const { access } = await signIn(username, PASSWORD, app.call);
  const list = (query = "", token = access) => app.call(`/api/notes/${query}`, { token });
  const page = async (query = "") => {
    const res = await list(query);
    expect(res.status, await res.clone().text()).toBe(200);
    return res.json() as never;
  };
  const write = (path: string, method: string, body?: unknown) => app.call(path, { method, body, token: access });
  return { app, d1, userId: id, token: access, list, page, write };
}

/** A note written straight to D1, as another isolate or location would (this isolate's cache is not told). */
async function insertBehindTheCache(userId: number, title: string, atMs: number): Promise<string> {
  const id = randomToken(16);
  await env.DB.prepare("INSERT INTO notes (id, user_id, title, body, created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?)")
    .bind(id, userId, title, "", atMs, atMs)
    .run();
  return id;
}

async function createThroughApi(r: Rig, title: string): Promise<{ id: string }> {
  r.app.advance(0.001); // distinct created times, so the default ordering is exact
  const res = await r.write("/api/notes/", "POST", { title, body: "" });
  expect(res.status).toBe(201);
  return res.json() as never;
}

/** Lets a held D1 read reach the database before the test goes on. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

const titles = (body: { results: Array<{ title: string }> }) => body.results.map((n) => n.title);

describe("a warm list is answered without D1", () => {
  it("a second identical list within the TTL makes no D1 query and returns the same body", async () => {
    const r = await signedIn("2");
    await createThroughApi(r, "first");
    const cold = await r.page();
    const before = r.d1.total();
    const warm = await r.page();
    expect(r.d1.total() - before).toBe(0);
    expect(warm).toEqual(cold);
    expect(titles(warm)).toEqual(["first"]);
  });

  it("after the TTL has passed the list reads D1 again", async () => {
    const r = await signedIn("2");
    await r.page();
    const before = r.d1.count(READS_NOTES);
    r.app.advance(1.999);
    await r.page();
    expect(r.d1.count(READS_NOTES) - before).toBe(0);
    r.app.advance(0.001);
    await r.page();
    expect(r.d1.count(READS_NOTES) - before).toBe(1);
  });

  it("a clock that went backwards counts as stale: the list reads D1 again", async () => {
    const r = await signedIn("10");
    r.app.advance(1.5);
    await r.page();
    const before = r.d1.count(READS_NOTES);
    r.app.advance(-0.5); // still after the token's iat, so the bearer check accepts it
    await r.page();
    expect(r.d1.count(READS_NOTES) - before).toBe(1);
  });

  it("concurrent identical cold lists each read D1 once (no request awaits another's read), then the page is warm", async () => {
    const r = await signedIn("2");
    await createThroughApi(r, "shared");
    const before = r.d1.count(READS_NOTES);
    const bodies = await Promise.all([r.page(), r.page(), r.page()]);
    expect(r.d1.count(READS_NOTES) - before).toBe(3);
    for (const body of bodies) expect(titles(body)).toEqual(["shared"]);
    expect(titles(await r.page())).toEqual(["shared"]);
    expect(r.d1.count(READS_NOTES) - before).toBe(3);
  });
});

describe("writes made through the API show on the very next list (cache warm, clock not moved)", () => {
  it("a created note (POST)", async () => {
    const r = await signedIn("10");
    await createThroughApi(r, "old");
    expect(titles(await r.page())).toEqual(["old"]);
    await createThroughApi(r, "new");
    expect(titles(await r.page())).toEqual(["new", "old"]);
  });

  it("a replaced note (PUT)", async () => {
    const r = await signedIn("10");
    const note = await createThroughApi(r, "before");
    expect(titles(await r.page())).toEqual(["before"]);
    expect((await r.write(`/api/notes/${note.id}/`, "PUT", { title: "after", body: "b" })).status).toBe(200);
    const body = await r.page();
    expect(body.results).toMatchObject([{ id: note.id, title: "after", body: "b" }]);
  });

  it("a patched note (PATCH)", async () => {
    const r = await signedIn("10");
    const note = await createThroughApi(r, "before");
    expect(titles(await r.page())).toEqual(["before"]);
    expect((await r.write(`/api/notes/${note.id}/`, "PATCH", { title: "patched" })).status).toBe(200);
    expect(titles(await r.page())).toEqual(["patched"]);
  });

  it("a deleted note (DELETE)", async () => {
    const r = await signedIn("10");
    const note = await createThroughApi(r, "doomed");
    await createThroughApi(r, "kept");
    expect(titles(await r.page())).toEqual(["kept", "doomed"]);
    expect((await r.write(`/api/notes/${note.id}/`, "DELETE")).status).toBe(204);
    const body = await r.page();
    expect(body.count).toBe(1);
    expect(titles(body)).toEqual(["kept"]);
  });

  it("every cached page of the user is refreshed, not only the one last listed", async () => {
    const r = await signedIn("10");
    await createThroughApi(r, "alpha");
    expect(titles(await r.page("?ordering=title"))).toEqual(["alpha"]);
    expect(titles(await r.page("?search=alp"))).toEqual(["alpha"]);
    await createThroughApi(r, "alpine");
    expect(titles(await r.page("?ordering=title"))).toEqual(["alpha", "alpine"]);
    expect(titles(await r.page("?search=alp"))).toEqual(["alpine", "alpha"]);
  });

  it("a failed write (404 for a note that is not there) leaves the warm page in place", async () => {
    const r = await signedIn("10");
    await r.page();
    const before = r.d1.count(READS_NOTES);
    expect((await r.write(`/api/notes/${randomToken(16)}/`, "PATCH", { title: "x" })).status).toBe(404);
    await r.page();
    expect(r.d1.count(READS_NOTES) - before).toBe(0);
  });
});

describe("writes made behind the cache's back (plain SQL, as another isolate or location)", () => {
  it("are not shown within NOTES_CACHE_TTL, and are shown once the clock passes it (documented staleness)", async () => {
    const r = await signedIn("2");
    await createThroughApi(r, "seen");
    expect(titles(await r.page())).toEqual(["seen"]);
    await insertBehindTheCache(r.userId, "elsewhere", r.app.clock.now + 1);
    expect(titles(await r.page())).toEqual(["seen"]);
    r.app.advance(1.999);
    expect(titles(await r.page())).toEqual(["seen"]);
    r.app.advance(0.001);
    expect(titles(await r.page())).toEqual(["elsewhere", "seen"]);
  });

  it("with NOTES_CACHE_TTL=0 every list reads D1 and shows them at once", async () => {
    const r = await signedIn("0");
    const before = r.d1.count(READS_NOTES);
    expect(titles(await r.page())).toEqual([]);
    expect(titles(await r.page())).toEqual([]);
    await insertBehindTheCache(r.userId, "elsewhere", r.app.clock.now);
    expect(titles(await r.page())).toEqual(["elsewhere"]);
    expect(r.d1.count(READS_NOTES) - before).toBe(3);
  });

  it("with NOTES_CACHE_TTL=0 concurrent identical lists each read D1 (nothing shared)", async () => {
    const r = await signedIn("0");
    const before = r.d1.count(READS_NOTES);
    await Promise.all([r.page(), r.page(), r.page()]);
    expect(r.d1.count(READS_NOTES) - before).toBe(3);
  });
});

describe("what a page is cached under", () => {
  it("different pages, page sizes, orderings and searches are cached separately", async () => {
    const r = await signedIn("10");
    for (const title of ["b one", "a two", "c three"]) await createThroughApi(r, title);
    const queries: Array<[string, string[]]> = [
      ["", ["c three", "a two", "b one"]],
      ["?page_size=1", ["c three"]],
      ["?page_size=1&page=2", ["a two"]],
      ["?page_size=1&page=last", ["b one"]],
      ["?page_size=2&page=2", ["b one"]],
      ["?ordering=title", ["a two", "b one", "c three"]],
      ["?ordering=-title", ["c three", "b one", "a two"]],
      ["?search=one", ["b one"]],
      ["?search=two", ["a two"]],
      ["?search=two,one", []],
    ];
    const before = r.d1.count(READS_NOTES);
    for (const [query, expected] of queries) expect([query, titles(await r.page(query))]).toEqual([query, expected]);
    expect(r.d1.count(READS_NOTES) - before).toBe(queries.length);
    // All warm now: each answers its own page, none from D1.
    for (const [query, expected] of queries) expect([query, titles(await r.page(query))]).toEqual([query, expected]);
    expect(r.d1.count(READS_NOTES) - before).toBe(queries.length);
  });

  it("the same page asked for in other words (parameter order, repeats) is one entry, with links for the URL asked", async () => {
    const r = await signedIn("10");
    for (const title of ["x1", "x2", "x3"]) await createThroughApi(r, title);
    const first = await r.page("?page_size=1&page=2&ordering=title");
    const before = r.d1.count(READS_NOTES);
    const second = await r.page("?ordering=title&page=2&page_size=1&search=");
    expect(r.d1.count(READS_NOTES) - before).toBe(0);
    expect(second.results).toEqual(first.results);
    expect(second.next).toContain("search=");
    expect(first.next).not.toContain("search=");
  });

  it("another user with the same query never gets this user's page", async () => {
    const r = await signedIn("10");
    await createThroughApi(r, "private");
    expect(titles(await r.page())).toEqual(["private"]);
    const other = await signedIn("10");
    const body = await other.page();
    expect(body.count).toBe(0);
    expect(body.results).toEqual([]);
  });
});

describe("errors are never cached", () => {
  it("an invalid page (404) reads D1 each time, changes nothing, and becomes valid as soon as the notes exist", async () => {
    const r = await signedIn("10");
    const counts = await rowCounts();
    const before = r.d1.count(READS_NOTES);
    for (let i = 0; i < 2; i++) {
      const res = await r.list("?page=2&page_size=1");
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ detail: "Invalid page." });
    }
    expect(r.d1.count(READS_NOTES) - before).toBe(2);
    expect(await rowCounts()).toEqual(counts);
    // Written behind the cache's back, and still shown at once: no 404 was kept.
    await insertBehindTheCache(r.userId, "n1", r.app.clock.now);
    await insertBehindTheCache(r.userId, "n2", r.app.clock.now + 1);
    expect(titles(await r.page("?page=2&page_size=1"))).toEqual(["n1"]);
  });

  it("bad input (400) reads no notes and changes nothing", async () => {
    const r = await signedIn("10");
    const counts = await rowCounts();
    const before = r.d1.count(READS_NOTES);
    // A malformed page_size is not an error (DRF falls back to the default), so only search can be one.
    for (const query of [`?search=${"x".repeat(500)}`, `?search=${Array.from({ length: 11 }, (_, i) => `t${i}`).join("+")}`]) {
      const res = await r.list(query);
      expect([query, res.status]).toEqual([query, 400]);
    }
    expect(r.d1.count(READS_NOTES) - before).toBe(0);
    expect(await rowCounts()).toEqual(counts);
  });
});

describe("a read in flight when this isolate writes", () => {
  it("does not store the page it saw: the next list shows the write", async () => {
    const r = await signedIn("10");
    await createThroughApi(r, "before");
    r.d1.hold(READS_NOTES);
    const slow = r.page(); // its D1 read runs now, before the write, and answers late
    await settle();
    // The write goes through another app on the plain binding: same isolate, same cache.
    const writer = rig({ clock: r.app.clock.now + 1 });
    const res = await writer.call("/api/notes/", { body: { title: "during", body: "" }, token: r.token });
    expect(res.status).toBe(201);
    r.d1.release();
    expect(titles(await slow)).toEqual(["before"]);
    expect(titles(await r.page())).toEqual(["during", "before"]);
  });

  it("a list started after the write does not join the stale read in flight", async () => {
    const r = await signedIn("10");
    r.d1.hold(READS_NOTES);
    const slow = r.page();
    await settle();
    const writer = rig({ clock: r.app.clock.now + 1 });
    expect((await writer.call("/api/notes/", { body: { title: "during", body: "" }, token: r.token })).status).toBe(201);
    const fresh = r.page(); // held too, but its own read, run after the write
    await settle();
    r.d1.release();
    expect(titles(await slow)).toEqual([]);
    expect(titles(await fresh)).toEqual(["during"]);
  });
});

describe("auth comes before the cache", () => {
  it("a revoked session gets 401, not a cached page", async () => {
    const r = await signedIn("10");
    await createThroughApi(r, "secret");
    expect(titles(await r.page())).toEqual(["secret"]);
    // Revoked behind both caches' backs; SESSION_CACHE_TTL=0 so the bearer check sees it at once.
    const strict = rig({ clock: r.app.clock.now, env: { NOTES_CACHE_TTL: "10", SESSION_CACHE_TTL: "0" } });
    expect((await strict.call("/api/notes/", { token: r.token })).status).toBe(200);
    const sid = sessionIdOf(r.token);
    await env.DB.prepare("UPDATE sessions SET revoked_at = unixepoch(), revoked_reason = 'logout' WHERE id = ?").bind(sid).run();
    const res = await strict.call("/api/notes/", { token: r.token });
    expect(res.status).toBe(401);
    expect(JSON.stringify(await res.json())).not.toContain("secret");
  });

  it("logout in this isolate: the very next list is 401 even with the page warm", async () => {
    const d1 = countingD1();
    const app = rig({ env: { NOTES_CACHE_TTL: "10", SESSION_CACHE_TTL: "10", DB: d1.db } });
    const { username } = await registerUser();
    const pair = await signIn(username, PASSWORD, app.call);
    expect((await app.call("/api/notes/", { token: pair.access })).status).toBe(200);
    expect((await app.call("/api/notes/", { token: pair.access })).status).toBe(200);
    expect((await app.call("/api/token/blacklist/", { body: { refresh: pair.refresh } })).status).toBe(200);
    expect((await app.call("/api/notes/", { token: pair.access })).status).toBe(401);
  });

  it("account deletion drops the user's cached pages in this isolate", async () => {
    const r = await signedIn("10");
    await createThroughApi(r, "gone soon");
    await r.page();
    const query = parseQuery(noteListQuerySchema, new URLSearchParams());
    const probe = async () => {
      let loaded = false;
      await notePageCache.read(r.userId, query, r.app.clock.now, 10_000, async () => ((loaded = true), EMPTY_PAGE));
      return loaded;
    };
    expect(await probe()).toBe(false); // warm
    expect((await r.write("/api/auth/me/", "DELETE", { password: PASSWORD })).status).toBe(204);
    expect(await probe()).toBe(true);
    notePageCache.evictUser(r.userId);
  });
});

const EMPTY_PAGE: NoteListPage = { count: 0, page: 1, pageSize: 20, results: [] };

describe("NotePageCache (unit)", () => {
  const query = (page: number) => parseQuery(noteListQuerySchema, new URLSearchParams({ page: String(page) }));
  const loader = (loads: number[], n: number) => async () => {
    loads.push(n);
    return { ...EMPTY_PAGE, page: n };
  };

  it("keeps at most maxEntries pages, dropping the least recently used first", async () => {
    const cache = new NotePageCache(3);
    const loads: number[] = [];
    for (const n of [1, 2, 3]) await cache.read(7, query(n), 0, 1000, loader(loads, n));
    await cache.read(7, query(1), 1, 1000, loader(loads, 1)); // 1 is now the most recently used
    await cache.read(7, query(4), 2, 1000, loader(loads, 4)); // drops 2
    expect(cache.size).toBe(3);
    for (const n of [1, 3, 4, 2]) await cache.read(7, query(n), 3, 1000, loader(loads, n));
    expect(loads).toEqual([1, 2, 3, 4, 2]);
    expect(cache.size).toBe(3);
  });

  it("keeps at most maxChars characters of notes, and never stores a page larger than that", async () => {
    const note = (body: string) => ({ id: "i".repeat(22), title: "t", body, owner: 1, created: "", updated: "" });
    const cache = new NotePageCache(100, 2_000);
    const big = async () => ({ ...EMPTY_PAGE, results: [note("x".repeat(600))] });
    for (const n of [1, 2, 3, 4]) await cache.read(8, query(n), 0, 1000, big);
    expect(cache.heldChars).toBeLessThanOrEqual(2_000);
    expect(cache.size).toBe(2);
    await cache.read(8, query(9), 0, 1000, async () => ({ ...EMPTY_PAGE, results: [note("y".repeat(5_000))] }));
    expect(cache.size).toBe(2);
    expect(cache.heldChars).toBeLessThanOrEqual(2_000);
  });

  it("does not store a failed read, and later reads retry", async () => {
    const cache = new NotePageCache();
    let calls = 0;
    const failing = async (): Promise<NoteListPage> => {
      calls += 1;
      throw new Error("boom");
    };
    await expect(cache.read(9, query(1), 0, 1000, failing)).rejects.toThrow("boom");
    await expect(cache.read(9, query(1), 0, 1000, failing)).rejects.toThrow("boom");
    expect(calls).toBe(2);
    expect(cache.size).toBe(0);
  });

  it("evictUser drops only that user's pages; clear drops all", async () => {
    const cache = new NotePageCache();
    const loads: number[] = [];
    await cache.read(1, query(1), 0, 1000, loader(loads, 1));
    await cache.read(2, query(1), 0, 1000, loader(loads, 2));
    cache.evictUser(1);
    expect(cache.size).toBe(1);
    await cache.read(2, query(1), 0, 1000, loader(loads, 2));
    expect(loads).toEqual([1, 2]);
    cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.heldChars).toBe(0);
  });
});
