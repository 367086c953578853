/** @module Notes Routes — the specs of /api/notes/ and /api/notes/{id}/: thin bindings over ./service. */
import { built } from "../lib/lazy";
import type { Context } from "hono";
import { defineRoute, type PathParamSpec } from "../http/endpoint";
import { MAX_SEARCH_LENGTH } from "../http/filters";
import { pageEnvelope, pageSchema } from "../http/pagination";
import type { AppEnv, Authenticated } from "../http/types";
import { defineResource } from "../http/resource";
import { named } from "../openapi/named";
import { notes } from "../db/schema";
import { forgetUserPages } from "./page-cache";
import { NOTE_ID_PATTERN, NOTE_READ_ONLY_FIELDS, noteListQuerySchema, noteOutputSchema, notePatchSchema, noteSchema } from "./schema";
import { createNote, deleteNote, getNote, listNotes, replaceNote, updateNote } from "./service";

const readOnly = NOTE_READ_ONLY_FIELDS.map((f) => `\`${f}\``).join(", ");
const ownerOnly = "Owner only: another user's note answers 404 exactly as a missing one does.";

const noteListSchema = named("PaginatedNoteList", () => pageSchema(built(noteOutputSchema)));

/** A malformed id names no note: 404 before the body is read or any query runs. */
const noteId: Record<"id", PathParamSpec> = {
  id: {
    description: "The note's id (22 base64url characters). A malformed id is 404 without a database query.",
    schema: { type: "string", pattern: NOTE_ID_PATTERN.source },
    check: (id) => NOTE_ID_PATTERN.test(id),
  },
};

const example = {
  id: "q3Vh1mU0bYk2hSx5cJ9rLw",
  title: "Groceries",
  body: "Milk, eggs, bread.",
  owner: 42,
  created: "2026-05-01T09:30:00.123Z",
  updated: "2026-05-01T09:31:12.456Z",
};

/** DRF's detail views look the object up before validating: another user's note is 404 whatever the body. */
async function notFoundFirst(c: Context<AppEnv>, params: { id: string }, auth: Authenticated): Promise<void> {
  await getNote(c.get("deps"), auth.claims.user_id, params.id);
}

const notesRoutes = [
  defineRoute({
    method: "GET",
    path: "/api/notes/",
    operationId: "notes_list",
    d1: "replica",
    summary: "List your notes",
    description:
      "The caller's notes, a page at a time, searchable and orderable. One D1 round trip per page (the page and the count in one statement). " +
      "Lists may lag writes made through another edge location by up to NOTES_CACHE_TTL seconds (default 2); your own writes show immediately where they were made.",
    auth: "bearer",
    query: noteListQuerySchema,
    responses: {
      200: {
        description: "A page of notes.",
        schema: noteListSchema,
        example: {
          count: 45,
          next: "https://auth.example.com/api/notes/?page=3&search=milk",
          previous: "https://auth.example.com/api/notes/?search=milk",
          results: [example],
        },
      },
      400: {
        description: "A malformed `search` (too long, too many terms).",
        shape: "FieldErrors",
        example: { search: [`Ensure this field has no more than ${MAX_SEARCH_LENGTH} characters.`] },
      },
      404: { description: "`page` is not a page of this list.", shape: "NotFound", example: { detail: "Invalid page." } },
    },
    handler: async (c, { auth, query, json }) => {
      const page = await listNotes(c.get("deps"), auth.claims.user_id, query);
      return json(200, pageEnvelope(c.req.url, page.page, page.count, page.pageSize, page.results));
    },
  }),

  defineRoute({
    method: "POST",
    path: "/api/notes/",
    operationId: "notes_create",
    summary: "Create a note",
    auth: "bearer",
    body: {
      schema: noteSchema,
      name: "NoteRequest",
      description: `POST and PUT: \`title\` is required, \`body\` defaults to "". Unknown fields are ignored (DRF); the read-only fields ${readOnly} are ignored whatever their type, so what GET returned can be PUT back. PUT of a note that is not the caller's is 404 before the body is validated.`,
      example: { title: "Groceries", body: "Milk, eggs, bread." },
    },
    responses: { 201: { description: "Created.", schema: noteOutputSchema, example } },
    handler: async (c, { auth, body, json }) => json(201, await createNote(c.get("deps"), auth.claims.user_id, body)),
  }),

  defineRoute({
    method: "GET",
    path: "/api/notes/{id}/",
    operationId: "notes_retrieve",
    d1: "replica",
    summary: "Read a note",
    description: ownerOnly,
    auth: "bearer",
    params: noteId,
    notFound: true,
    responses: { 200: { description: "The note.", schema: noteOutputSchema, example } },
    handler: async (c, { auth, params, json }) => json(200, await getNote(c.get("deps"), auth.claims.user_id, params.id)),
  }),

  defineRoute({
    method: "PUT",
    path: "/api/notes/{id}/",
    operationId: "notes_update",
    summary: "Replace a note",
    description: `${ownerOnly} Every writable field is required; a missing one is \`["This field is required."]\`.`,
    auth: "bearer",
    params: noteId,
    notFound: true,
    body: {
      schema: noteSchema,
      name: "NoteRequest",
      description: `POST and PUT: \`title\` is required, \`body\` defaults to "". Unknown fields are ignored (DRF); the read-only fields ${readOnly} are ignored whatever their type, so what GET returned can be PUT back. PUT of a note that is not the caller's is 404 before the body is validated.`,
      example: { title: "Groceries", body: "Milk, eggs, bread." },
    },
    onInvalidBody: notFoundFirst,
    responses: { 200: { description: "The note as saved.", schema: noteOutputSchema, example } },
    handler: async (c, { auth, body, params, json }) => json(200, await replaceNote(c.get("deps"), auth.claims.user_id, params.id, body)),
  }),

  defineRoute({
    method: "PATCH",
    path: "/api/notes/{id}/",
    operationId: "notes_partial_update",
    summary: "Change some fields of a note",
    description: `${ownerOnly} Fields not sent keep their values.`,
    auth: "bearer",
    params: noteId,
    notFound: true,
    body: {
      schema: notePatchSchema,
      name: "PatchedNoteRequest",
      description: `PATCH: any subset of the writable fields, even none (which still moves \`updated\`, as DRF does). Unknown fields and read-only fields (${readOnly}) are ignored. A note that is not the caller's is 404 before the body is validated.`,
      example: { title: "Groceries (Saturday)" },
    },
    onInvalidBody: notFoundFirst,
    responses: { 200: { description: "The note as saved.", schema: noteOutputSchema, example } },
    handler: async (c, { auth, body, params, json }) => json(200, await updateNote(c.get("deps"), auth.claims.user_id, params.id, body)),
  }),

  defineRoute({
    method: "DELETE",
    path: "/api/notes/{id}/",
    operationId: "notes_destroy",
    summary: "Delete a note",
    description: ownerOnly,
    auth: "bearer",
    params: noteId,
    notFound: true,
    responses: { 204: { description: "Deleted; no body." } },
    handler: async (c, { auth, params }) => {
      await deleteNote(c.get("deps"), auth.claims.user_id, params.id);
      return c.body(null, 204);
    },
  }),
];

/** The example resource, as src/app.ts lists it: its routes, the table it owns, the cached pages a deleted user leaves. */
export const notesResource = defineResource({
  tag: "notes",
  description: "The example resource, done the DRF way: copy it to add your own (docs/adding-a-resource.md).",
  tables: [notes],
  onUserDeleted: forgetUserPages,
  routes: notesRoutes,
});
