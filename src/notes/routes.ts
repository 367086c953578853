/** @module Notes Routes — thin HTTP bindings for /api/notes/ and /api/notes/{id}/ (logic in ./service). */
import type { Context, Hono } from "hono";
import { requireAuth } from "../auth/middleware";
import { readJsonObject } from "../http/body";
import { pageEnvelope } from "../http/pagination";
import { route } from "../http/route";
import type { AppEnv } from "../http/types";
import { checkNoteId, createNote, deleteNote, getNote, listNotes, parseNoteListQuery, replaceNote, updateNote } from "./service";

function caller(c: Context<AppEnv>) {
  return { deps: c.get("deps"), userId: c.get("auth").claims.user_id };
}

/** The path's id, checked before the body is read so a malformed id is 404 whatever the body. */
function noteId(c: Context<AppEnv>): string {
  const id = c.req.param("id") ?? "";
  checkNoteId(id);
  return id;
}

export function mountNotes(app: Hono<AppEnv>): void {
  const auth = requireAuth();

  route(app, "/api/notes/", {
    GET: [
      auth,
      async function listNotesRoute(c) {
        const { deps, userId } = caller(c);
        const url = c.req.url;
        const page = await listNotes(deps, userId, parseNoteListQuery(new URL(url).searchParams));
        return c.json(pageEnvelope(url, page.page, page.count, page.pageSize, page.results));
      },
    ],
    POST: [
      auth,
      async function createNoteRoute(c) {
        const { deps, userId } = caller(c);
        return c.json(await createNote(deps, userId, await readJsonObject(c.req.raw)), 201);
      },
    ],
  });

  route(app, "/api/notes/:id/", {
    GET: [
      auth,
      async function getNoteRoute(c) {
        const { deps, userId } = caller(c);
        return c.json(await getNote(deps, userId, noteId(c)));
      },
    ],
    PUT: [
      auth,
      async function replaceNoteRoute(c) {
        const { deps, userId } = caller(c);
        const id = noteId(c);
        return c.json(await replaceNote(deps, userId, id, await readJsonObject(c.req.raw)));
      },
    ],
    PATCH: [
      auth,
      async function updateNoteRoute(c) {
        const { deps, userId } = caller(c);
        const id = noteId(c);
        return c.json(await updateNote(deps, userId, id, await readJsonObject(c.req.raw)));
      },
    ],
    DELETE: [
      auth,
      async function deleteNoteRoute(c) {
        const { deps, userId } = caller(c);
        await deleteNote(deps, userId, noteId(c));
        return c.body(null, 204);
      },
    ],
  });
}
