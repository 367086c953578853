/**
 * Notes, the DRF-style example resource: CRUD, owner isolation, pages, search, ordering, validation,
 * bad input, and the cost of a list page in D1 round trips. Pure pagination/filter maths at the end.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { randomToken } from "../src/lib/bytes";
import { likeContains, parseOrdering, parseSearch } from "../src/http/filters";
import { lastPageFromReversed, pageCount, pageLinks, parsePageRequest } from "../src/http/pagination";
import { NOTE_BODY_MAX_LENGTH, NOTE_TITLE_MAX_LENGTH } from "../src/notes/schema";
import { parseQuery } from "../src/http/query";
import { noteListQuerySchema } from "../src/notes/schema";
import { noteListStatement } from "../src/notes/service";
import { getDb } from "../src/db/client";
import { ORIGIN, countingD1, rig, signUp as signUpVia, type User } from "./helpers";

const START_MS = Date.UTC(2026, 4, 1, 9, 0, 0);

// One app on a movable clock: notes get distinct, known timestamps without sleeping.
const { call, clock } = rig({ clock: START_MS });
const signUp = () => signUpVia(call);

function tick(ms = 1000): void {
  clock.now += ms;
}

async function json(res: Response): Promise<any> {
  return res.json();
}

async function createNote(user: User, title: string, body = ""): Promise<any> {
  tick();
  const res = await call("/api/notes/", { token: user.access, body: { title, body } });
  expect(res.status).toBe(201);
  return json(res);
}

/** Rows written straight to D1 (for lists too long to build through the API quickly). */
async function insertNotes(userId: number, count: number, prefix = "bulk"): Promise<void> {
  const statements = [];
  for (let i = 0; i < count; i++) {
    tick();
    statements.push(
      env.DB.prepare("INSERT INTO notes (id, user_id, title, body, created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?)").bind(
        randomToken(16),
        userId,
        `${prefix} ${String(i).padStart(3, "0")}`,
        "",
        clock.now,
        clock.now,
      ),
    );
  }
  await env.DB.batch(statements);
}

async function noteRows(userId: number): Promise<Array<Record<string, unknown>>> {
  const result = await env.DB.prepare("SELECT * FROM notes WHERE user_id = ? ORDER BY id").bind(userId).all();
  return result.results;
}

async function list(user: User, query = ""): Promise<any> {
  const res = await call(`/api/notes/${query}`, { token: user.access });
  expect(res.status, await res.clone().text()).toBe(200);
  return json(res);
}

const NOT_FOUND = { detail: "Not found." };
const INVALID_PAGE = { detail: "Invalid page." };
const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe("notes CRUD", () => {
  it("creates a note and answers it with a random id, the owner and ISO 8601 UTC times", async () => {
    const alice = await signUp();
    tick();
    const res = await call("/api/notes/", { token: alice.access, body: { title: "  Groceries  ", body: "  milk\n" } });
    expect(res.status).toBe(201);
    const note = await json(res);
    expect(Object.keys(note).sort()).toEqual(["body", "created", "id", "owner", "title", "updated"]);
    expect(note.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(note.owner).toBe(alice.id);
    expect(note.title).toBe("Groceries"); // trimmed, as DRF's CharField does
    expect(note.body).toBe("  milk\n"); // kept exactly
    expect(note.created).toMatch(ISO_MS);
    expect(note.created).toBe(new Date(clock.now).toISOString());
    expect(note.updated).toBe(note.created);

    const read = await call(`/api/notes/${note.id}/`, { token: alice.access });
    expect(read.status).toBe(200);
    expect(await json(read)).toEqual(note);
    // Trailing slash optional, as on every route.
    expect(await json(await call(`/api/notes/${note.id}`, { token: alice.access }))).toEqual(note);
  });

  it("gives ids that are neither sequential nor reused", async () => {
    const user = await signUp();
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push((await createNote(user, `n${i}`)).id as string);
    expect(new Set(ids).size).toBe(5);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    // No shared prefix, as a counter or a timestamp-led id (ULID, UUIDv7) would have.
    expect(new Set(ids.map((id) => id.slice(0, 3))).size).toBe(5);
  });

  it("deletes with 204 and no body; the note is then gone", async () => {
    const user = await signUp();
    const note = await createNote(user, "short-lived");
    const res = await call(`/api/notes/${note.id}/`, { method: "DELETE", token: user.access });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    const again = await call(`/api/notes/${note.id}/`, { token: user.access });
    expect(again.status).toBe(404);
    expect(await json(again)).toEqual(NOT_FOUND);
    expect((await call(`/api/notes/${note.id}/`, { method: "DELETE", token: user.access })).status).toBe(404);
    expect(await noteRows(user.id)).toEqual([]);
  });

  it('PUT replaces every writable field and needs the title (body defaults to ""); PATCH changes only what it is sent', async () => {
    const user = await signUp();
    const note = await createNote(user, "Plan", "first draft");

    const missing = await call(`/api/notes/${note.id}/`, { method: "PUT", token: user.access, body: { body: "Only a body" } });
    expect(missing.status).toBe(400);
    expect(await json(missing)).toEqual({ title: ["This field is required."] });

    tick(5000);
    const put = await call(`/api/notes/${note.id}/`, { method: "PUT", token: user.access, body: { title: "Plan B", body: "" } });
    expect(put.status).toBe(200);
    const replaced = await json(put);
    expect(replaced).toMatchObject({ id: note.id, title: "Plan B", body: "", created: note.created, owner: user.id });
    expect(replaced.updated).toBe(new Date(clock.now).toISOString());

    tick(5000);
    const patch = await call(`/api/notes/${note.id}/`, { method: "PATCH", token: user.access, body: { body: "second draft" } });
    expect(patch.status).toBe(200);
    const patched = await json(patch);
    expect(patched).toMatchObject({ title: "Plan B", body: "second draft", created: note.created });
    expect(patched.updated).toBe(new Date(clock.now).toISOString());

    // An empty PATCH is accepted and still saves (DRF: serializer.save() moves auto_now `updated`).
    tick(5000);
    const empty = await call(`/api/notes/${note.id}/`, { method: "PATCH", token: user.access });
    expect(empty.status).toBe(200);
    const touched = await json(empty);
    expect(touched).toMatchObject({ title: "Plan B", body: "second draft" });
    expect(touched.updated).toBe(new Date(clock.now).toISOString());

    // PATCH validates what it is sent: a blank title is refused and nothing changes.
    const blank = await call(`/api/notes/${note.id}/`, { method: "PATCH", token: user.access, body: { title: " " } });
    expect(await json(blank)).toEqual({ title: ["This field may not be blank."] });
    expect(await json(await call(`/api/notes/${note.id}/`, { token: user.access }))).toEqual(touched);
  });

  it("ignores read-only fields sent back, so what GET returned can be PUT back", async () => {
    const user = await signUp();
    const note = await createNote(user, "Round trip", "body");
    const edited = {
      ...note,
      title: "Round trip, edited",
      id: "AAAAAAAAAAAAAAAAAAAAAA",
      owner: 999999,
      created: "2000-01-01T00:00:00.000Z",
    };
    tick();
    const res = await call(`/api/notes/${note.id}/`, { method: "PUT", token: user.access, body: edited });
    expect(res.status).toBe(200);
    const saved = await json(res);
    expect(saved).toMatchObject({ id: note.id, owner: user.id, created: note.created, title: "Round trip, edited" });
  });

  it("deletes a user's notes with the user (ON DELETE CASCADE)", async () => {
    const user = await signUp();
    await createNote(user, "mine");
    await createNote(user, "mine too");
    expect(await noteRows(user.id)).toHaveLength(2);
    await env.DB.prepare("DELETE FROM users WHERE id = ?").bind(user.id).run();
    expect(await noteRows(user.id)).toEqual([]);
  });
});

describe("owner isolation", () => {
  it("answers another user's note on every verb with the very 404 a missing note gets, and changes nothing", async () => {
    const owner = await signUp();
    const other = await signUp();
    const note = await createNote(owner, "private", "secret body");
    const missingId = randomToken(16);
    const attempts: Array<[string, unknown]> = [
      ["GET", undefined],
      ["PUT", { title: "stolen", body: "x" }],
      ["PATCH", { title: "stolen" }],
      ["DELETE", undefined],
    ];
    for (const [method, body] of attempts) {
      const theirs = await call(`/api/notes/${note.id}/`, { method, body, token: other.access });
      const missing = await call(`/api/notes/${missingId}/`, { method, body, token: other.access });
      expect([method, theirs.status]).toEqual([method, 404]);
      expect(missing.status).toBe(404);
      const [theirsText, missingText] = [await theirs.text(), await missing.text()];
      expect(theirsText).toBe(missingText);
      expect(JSON.parse(theirsText)).toEqual(NOT_FOUND);
      expect(theirs.headers.get("content-type")).toBe(missing.headers.get("content-type"));
    }
    expect(await json(await call(`/api/notes/${note.id}/`, { token: owner.access }))).toEqual(note);
    const othersList = await list(other);
    expect(othersList.count).toBe(0);
    expect(othersList.results).toEqual([]);
  });

  it("lists only the caller's notes", async () => {
    const a = await signUp();
    const b = await signUp();
    await createNote(a, "a1");
    await createNote(b, "b1");
    await createNote(a, "a2");
    const page = await list(a);
    expect(page.count).toBe(2);
    expect(page.results.map((n: any) => n.title)).toEqual(["a2", "a1"]);
    expect(page.results.every((n: any) => n.owner === a.id)).toBe(true);
  });

  it("refuses every verb without a token: 401 with code and WWW-Authenticate", async () => {
    const id = randomToken(16);
    for (const [method, path] of [
      ["GET", "/api/notes/"],
      ["POST", "/api/notes/"],
      ["GET", `/api/notes/${id}/`],
      ["PUT", `/api/notes/${id}/`],
      ["PATCH", `/api/notes/${id}/`],
      ["DELETE", `/api/notes/${id}/`],
    ] as const) {
      const res = await call(path, { method });
      expect([method, path, res.status]).toEqual([method, path, 401]);
      expect(res.headers.get("www-authenticate")).toBe('Bearer realm="api"');
      expect((await json(res)).code).toBe("not_authenticated");
    }
  });
});

describe("pagination", () => {
  it("answers an empty list as one empty page; page 2 of it is an invalid page", async () => {
    const user = await signUp();
    expect(await list(user)).toEqual({ count: 0, next: null, previous: null, results: [] });
    const res = await call("/api/notes/?page=2", { token: user.access });
    expect(res.status).toBe(404);
    expect(await json(res)).toEqual(INVALID_PAGE);
    expect(await list(user, "?page=last")).toEqual({ count: 0, next: null, previous: null, results: [] });
  });

  it("pages 45 notes by 20 with absolute links that keep the other parameters", async () => {
    const user = await signUp();
    await insertNotes(user.id, 45, "item");

    const first = await list(user, "?ordering=title&search=item");
    expect(first.count).toBe(45);
    expect(first.results).toHaveLength(20);
    expect(first.previous).toBeNull();
    expect(first.next).toBe(`${ORIGIN}/api/notes/?ordering=title&search=item&page=2`);
    expect(first.results[0].title).toBe("item 000");

    const second = await list(user, "?ordering=title&page=2&search=item");
    expect(second.results.map((n: any) => n.title)[0]).toBe("item 020");
    expect(second.next).toBe(`${ORIGIN}/api/notes/?ordering=title&page=3&search=item`);
    // The link to page 1 drops `page`, as DRF's does.
    expect(second.previous).toBe(`${ORIGIN}/api/notes/?ordering=title&search=item`);

    const last = await list(user, "?ordering=title&page=3&search=item");
    expect(last.results.map((n: any) => n.title)).toEqual(["item 040", "item 041", "item 042", "item 043", "item 044"]);
    expect(last.next).toBeNull();
    expect(last.previous).toBe(`${ORIGIN}/api/notes/?ordering=title&page=2&search=item`);

    // `page=last` (DRF's last_page_strings) is the same page, in the same one round trip.
    const lastByName = await list(user, "?ordering=title&page=last&search=item");
    expect(lastByName.results).toEqual(last.results);
    expect(lastByName.previous).toBe(`${ORIGIN}/api/notes/?ordering=title&page=2&search=item`);

    const past = await call("/api/notes/?ordering=title&page=4&search=item", { token: user.access });
    expect(past.status).toBe(404);
    expect(await json(past)).toEqual(INVALID_PAGE);

    // The pages partition the list: no note twice, none missing.
    const all = [...first.results, ...second.results, ...last.results].map((n: any) => n.id);
    expect(new Set(all).size).toBe(45);

    const bySize = await list(user, "?page_size=7&page=7");
    expect(bySize.results).toHaveLength(3);
    expect(bySize.next).toBeNull();
    expect(bySize.previous).toBe(`${ORIGIN}/api/notes/?page_size=7&page=6`);
  });

  it("clamps page_size above the bound to 100, as DRF's max_page_size does", async () => {
    const user = await signUp();
    await insertNotes(user.id, 105);
    const page = await list(user, "?page_size=1000");
    expect(page.count).toBe(105);
    expect(page.results).toHaveLength(100);
    expect(page.next).toBe(`${ORIGIN}/api/notes/?page_size=1000&page=2`);
    const rest = await list(user, "?page_size=1000&page=2");
    expect(rest.results).toHaveLength(5);
    const huge = await list(user, `?page_size=${"9".repeat(400)}`);
    expect(huge.results).toHaveLength(100);
  });

  it("answers malformed page numbers with 404 Invalid page; malformed page sizes fall back to the default", async () => {
    const user = await signUp();
    await createNote(user, "one");
    for (const page of ["0", "-1", "abc", "1.5", "1e3", "%20", "99999999999", "2"]) {
      const res = await call(`/api/notes/?page=${page}`, { token: user.access });
      expect([page, res.status]).toEqual([page, 404]);
      expect(await json(res)).toEqual(INVALID_PAGE);
    }
    for (const size of ["abc", "1.5", "1e2", "%20", "0", "-3"]) {
      const res = await call(`/api/notes/?page_size=${size}`, { token: user.access });
      expect([size, res.status]).toEqual([size, 200]);
      expect(await json(res)).toMatchObject({ count: 1 });
    }
    // Empty values mean "not given"; a repeated parameter counts by its last value (Django's QueryDict).
    expect((await list(user, "?page=&page_size=")).count).toBe(1);
    expect((await call("/api/notes/?page=1&page=2", { token: user.access })).status).toBe(404);
  });
});

describe("search and ordering", () => {
  let user: User;
  beforeAll(async () => {
    user = await signUp();
    await createNote(user, "Banana bread", "Flour, sugar and ripe BANANAS");
    await createNote(user, "apple pie", "Apples, butter");
    await createNote(user, "Cherry jam", "100% cherries");
    await createNote(user, "snake_case", "underscores");
    await createNote(user, "snakeXcase", "no underscore here");
  });

  const titles = (page: any) => page.results.map((n: any) => n.title);

  it("searches title and body, case-insensitively, requiring every term", async () => {
    expect(titles(await list(user, "?search=banana"))).toEqual(["Banana bread"]);
    expect(titles(await list(user, "?search=APPLES"))).toEqual(["apple pie"]);
    expect(titles(await list(user, "?search=ripe%20flour"))).toEqual(["Banana bread"]);
    expect(titles(await list(user, "?search=ripe,apples"))).toEqual([]);
    expect(titles(await list(user, '?search="ripe%20bananas"'))).toEqual(["Banana bread"]);
    expect((await list(user, "?search=")).count).toBe(5);
  });

  it("takes % and _ literally", async () => {
    expect(titles(await list(user, "?search=%25"))).toEqual(["Cherry jam"]);
    expect(titles(await list(user, "?search=_"))).toEqual(["snake_case"]);
    expect(titles(await list(user, "?search=e_c"))).toEqual(["snake_case"]);
  });

  it("orders by title, created and updated, ascending and descending", async () => {
    // Code-point order: uppercase sorts before lowercase.
    expect(titles(await list(user, "?ordering=title"))).toEqual(["Banana bread", "Cherry jam", "apple pie", "snakeXcase", "snake_case"]);
    expect(titles(await list(user, "?ordering=-title"))).toEqual(["snake_case", "snakeXcase", "apple pie", "Cherry jam", "Banana bread"]);
    expect(titles(await list(user, "?ordering=created"))).toEqual(["Banana bread", "apple pie", "Cherry jam", "snake_case", "snakeXcase"]);
    expect(titles(await list(user))).toEqual(["snakeXcase", "snake_case", "Cherry jam", "apple pie", "Banana bread"]);
    const first = (await list(user, "?ordering=created")).results[0];
    tick();
    await call(`/api/notes/${first.id}/`, { method: "PATCH", token: user.access, body: { body: "edited" } });
    expect(titles(await list(user, "?ordering=-updated"))[0]).toBe("Banana bread");
    expect(titles(await list(user, "?ordering=updated"))[4]).toBe("Banana bread");
  });

  it("ignores unknown ordering fields, falling back to newest first when none is left (DRF)", async () => {
    const byDefault = titles(await list(user));
    expect(titles(await list(user, "?ordering=password"))).toEqual(byDefault);
    expect(titles(await list(user, "?ordering=-owner,id,user_id"))).toEqual(byDefault);
    expect(titles(await list(user, "?ordering=bogus,title"))).toEqual(titles(await list(user, "?ordering=title")));
    expect(titles(await list(user, "?ordering=title;DROP%20TABLE%20notes"))).toEqual(byDefault);
    expect((await list(user)).count).toBe(5);
  });

  it("refuses an overlong search or too many terms with 400", async () => {
    const long = await call(`/api/notes/?search=${"a".repeat(201)}`, { token: user.access });
    expect(long.status).toBe(400);
    expect(await json(long)).toEqual({ search: ["Ensure this field has no more than 200 characters."] });
    const many = await call(`/api/notes/?search=${Array.from({ length: 11 }, (_, i) => `t${i}`).join("+")}`, { token: user.access });
    expect(many.status).toBe(400);
    expect(await json(many)).toEqual({ search: ["Use at most 10 search terms."] });
  });
});

describe("bad input", () => {
  it("answers wrong types, blanks, oversized fields and unknown fields with DRF's field errors, writing nothing", async () => {
    const user = await signUp();
    const note = await createNote(user, "keep me", "as I am");
    const before = await noteRows(user.id);
    const cases: Array<[unknown, Record<string, string[]>]> = [
      [{}, { title: ["This field is required."] }],
      [{ title: "", body: "" }, { title: ["This field may not be blank."] }],
      [{ title: 5, body: "x" }, { title: ["Not a valid string."] }],
      [{ title: "ok", body: null }, { body: ["This field may not be null."] }],
      [
        { title: ["a"], body: { b: 1 } },
        { title: ["Not a valid string."], body: ["Not a valid string."] },
      ],
      [
        { title: "x".repeat(NOTE_TITLE_MAX_LENGTH + 1), body: "" },
        { title: [`Ensure this field has no more than ${NOTE_TITLE_MAX_LENGTH} characters.`] },
      ],
      [
        { title: "ok", body: "y".repeat(NOTE_BODY_MAX_LENGTH + 1) },
        { body: [`Ensure this field has no more than ${NOTE_BODY_MAX_LENGTH} characters.`] },
      ],
      [{ title: "", body: "", colour: "red" }, { title: ["This field may not be blank."] }],
      [{ title: "nul\u0000", body: "" }, { title: ["Null characters are not allowed."] }],
      [{ title: "ok", body: "lone \uD800 surrogate" }, { body: ["Surrogate characters are not allowed."] }],
    ];
    for (const [body, errors] of cases) {
      for (const [method, path] of [
        ["POST", "/api/notes/"],
        ["PUT", `/api/notes/${note.id}/`],
      ] as const) {
        const res = await call(path, { method, token: user.access, body });
        expect([method, body, res.status]).toEqual([method, body, 400]);
        expect(await json(res)).toEqual(errors);
      }
    }
    const patch = await call(`/api/notes/${note.id}/`, { method: "PATCH", token: user.access, body: { title: 7, extra: true } });
    expect(await json(patch)).toEqual({ title: ["Not a valid string."] });
    expect(await noteRows(user.id)).toEqual(before);
  });

  it("answers broken JSON, non-object JSON, the wrong media type and oversized bodies with 4xx JSON", async () => {
    const user = await signUp();
    const note = await createNote(user, "untouched");
    const before = await noteRows(user.id);
    for (const path of ["/api/notes/", `/api/notes/${note.id}/`]) {
      const method = path === "/api/notes/" ? "POST" : "PATCH";
      const broken = await call(path, { method, token: user.access, raw: '{"title": "x",' });
      expect(broken.status).toBe(400);
      expect((await json(broken)).code).toBe("parse_error");
      const array = await call(path, { method, token: user.access, raw: '["title"]' });
      expect(array.status).toBe(400);
      expect(await json(array)).toEqual({ non_field_errors: ["Invalid data. Expected a dictionary, but got list."] });
      const text = await call(path, { method, token: user.access, raw: "title=x", headers: { "content-type": "text/plain" } });
      expect(text.status).toBe(415);
      expect((await json(text)).code).toBe("unsupported_media_type");
      const huge = await call(path, { method, token: user.access, body: { title: "big", body: "z".repeat(70_000) } });
      expect(huge.status).toBe(413);
      expect((await json(huge)).code).toBe("request_too_large");
    }
    expect(await noteRows(user.id)).toEqual(before);
  });

  it("answers malformed ids with 404 before any notes query, whatever the body", async () => {
    const user = await signUp();
    const d1 = countingD1();
    // SESSION_CACHE_TTL=0: the bearer check reads D1 on every request, so it costs exactly one round trip here.
    const counted = { DB: d1.db, SESSION_CACHE_TTL: "0" };
    // Baseline: an authenticated request that touches no note costs the bearer check only.
    await call("/api/hello/", { token: user.access, env: counted });
    const authOnly = d1.total();
    for (const id of [
      "short",
      "x".repeat(23),
      "AAAAAAAAAAAAAAAAAAAA%2B%2B",
      "..%2F..%2Fusers",
      "%00AAAAAAAAAAAAAAAAAAAAA",
      "AAAAAAAAAAAAAAAAAAAAA'",
    ]) {
      for (const [method, raw] of [
        ["GET", undefined],
        ["PUT", "{broken"],
        ["PATCH", '{"title": 5}'],
        ["DELETE", undefined],
      ] as const) {
        const before = d1.total();
        const res = await call(`/api/notes/${id}/`, { method, token: user.access, raw, env: counted });
        expect([id, method, res.status]).toEqual([id, method, 404]);
        expect(await json(res)).toEqual(NOT_FOUND);
        expect([id, method, d1.total() - before]).toEqual([id, method, authOnly]);
      }
    }
  });
});

describe("cost", () => {
  it("lists a page in one D1 round trip (one statement: the page, its rows carrying the count) beyond the bearer check", async () => {
    const user = await signUp();
    await insertNotes(user.id, 30);
    const d1 = countingD1();
    // SESSION_CACHE_TTL=0: the bearer check reads D1 on every request, so it costs exactly one round trip here.
    const counted = { DB: d1.db, SESSION_CACHE_TTL: "0" };
    await call("/api/hello/", { token: user.access, env: counted });
    const authOnly = d1.total();
    expect(authOnly).toBe(1);
    for (const query of ["", "?page=2&page_size=10&search=bulk&ordering=-title", "?page=last", "?page=9"]) {
      const before = d1.total();
      const res = await call(`/api/notes/${query}`, { token: user.access, env: counted });
      expect(res.status === 200 || res.status === 404).toBe(true);
      expect([query, d1.total() - before]).toEqual([query, authOnly + 1]);
    }
    // Read, write and delete: one statement each.
    const note = await createNote(user, "cost");
    for (const [method, body] of [
      ["GET", undefined],
      ["PATCH", { title: "cost 2" }],
      ["PUT", { title: "cost 3", body: "" }],
      ["DELETE", undefined],
    ] as const) {
      const before = d1.total();
      const res = await call(`/api/notes/${note.id}/`, { method, body, token: user.access, env: counted });
      expect(res.status).toBeLessThan(300);
      expect([method, d1.total() - before]).toEqual([method, authOnly + 1]);
    }
  });
});

describe("indexes", () => {
  it("pages every one-field ordering straight off an index, with no sort step", async () => {
    const db = getDb(env.DB, 3000);
    for (const ordering of ["-created", "created", "-updated", "updated", "title", "-title"]) {
      for (const page of [2, "last"] as const) {
        const query = parseQuery(noteListQuerySchema, new URLSearchParams(`ordering=${ordering}&page=${page}`));
        const { sql, params } = noteListStatement(db, 1, query);
        const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
          .bind(...params)
          .all<{ detail: string }>();
        const details = plan.results.map((r) => r.detail).join(" | ");
        expect([ordering, page, details]).toEqual([
          ordering,
          page,
          expect.stringMatching(/USING (COVERING )?INDEX notes_user_\w+_idx \(user_id=\?\)/),
        ]);
        expect([ordering, page, details]).toEqual([ordering, page, expect.not.stringContaining("TEMP B-TREE")]);
      }
    }
    // The check has teeth: two fields in opposite directions do need a sort.
    const mixed = noteListStatement(db, 1, parseQuery(noteListQuerySchema, new URLSearchParams("ordering=title,-created")));
    const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${mixed.sql}`)
      .bind(...mixed.params)
      .all<{ detail: string }>();
    expect(plan.results.map((r) => r.detail).join(" | ")).toContain("TEMP B-TREE");
  });
});

describe("pagination and filter maths (pure)", () => {
  it("parses page requests the DRF way", () => {
    const q = (s: string) => parsePageRequest(new URLSearchParams(s));
    expect(q("")).toEqual({ page: 1, pageSize: 20 });
    expect(q("page=3&page_size=50")).toEqual({ page: 3, pageSize: 50 });
    expect(q("page=last")).toEqual({ page: "last", pageSize: 20 });
    expect(q("page_size=101")).toEqual({ page: 1, pageSize: 100 });
    expect(q("page_size=007")).toEqual({ page: 1, pageSize: 7 });
    expect(() => q("page=0")).toThrow("Invalid page.");
    expect(q("page_size=0")).toEqual({ page: 1, pageSize: 20 });
    expect(q("page_size=abc")).toEqual({ page: 1, pageSize: 20 });
    expect(q("page_size=+5")).toEqual({ page: 1, pageSize: 5 });
  });

  it("counts pages and builds links", () => {
    expect(pageCount(0, 20)).toBe(1);
    expect(pageCount(20, 20)).toBe(1);
    expect(pageCount(21, 20)).toBe(2);
    expect(pageLinks("https://h/x/?a=1&page=2#frag", 2, 41, 20)).toEqual({ next: "https://h/x/?a=1&page=3", previous: "https://h/x/?a=1" });
    expect(pageLinks("https://h/x/", 1, 5, 20)).toEqual({ next: null, previous: null });
    expect(lastPageFromReversed([9, 8, 7, 6], 9, 4)).toEqual({ page: 3, rows: [9] });
    expect(lastPageFromReversed([8, 7, 6, 5], 8, 4)).toEqual({ page: 2, rows: [5, 6, 7, 8] });
    expect(lastPageFromReversed([], 0, 4)).toEqual({ page: 1, rows: [] });
  });

  it("parses ordering and search, escaping LIKE wildcards", () => {
    const fields = ["created", "title"] as const;
    const fallback = [{ field: "created" as const, descending: true }];
    expect(parseOrdering("-title, created", fields, fallback)).toEqual([
      { field: "title", descending: true },
      { field: "created", descending: false },
    ]);
    expect(parseOrdering("nope,--title,title,-title", fields, fallback)).toEqual([{ field: "title", descending: false }]);
    expect(parseOrdering(null, fields, fallback)).toEqual(fallback);
    expect(parseSearch('a, b  "c d" a')).toEqual(["a", "b", "c d"]);
    expect(parseSearch("\u0000")).toEqual([]);
    expect(likeContains("100%_\\")).toBe("%100\\%\\_\\\\%");
  });
});
