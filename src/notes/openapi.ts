/**
 * @module Notes OpenAPI — the notes paths and schemas for /api/schema/, generated from the same zod
 * schema that validates requests (./schema). src/openapi/document.ts merges them into the document.
 */
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "../http/pagination";
import { MAX_SEARCH_LENGTH, MAX_SEARCH_TERMS } from "../http/filters";
import { fromZod, jsonResponse, operation, pathParam, schemaRef, type JsonSchema, type ParameterObject, type Paths } from "../openapi/spec";
import { NOTE_ID_PATTERN, NOTE_READ_ONLY_FIELDS, notePatchSchema, noteOutputSchema, noteSchema } from "./schema";
import { DEFAULT_NOTE_ORDERING, NOTE_ORDERING_FIELDS } from "./service";

const TAG = "notes";
const readOnly = NOTE_READ_ONLY_FIELDS.map((f) => `\`${f}\``).join(", ");

export const notesSchemas: Record<string, JsonSchema> = {
  Note: fromZod(noteOutputSchema, "output"),
  NoteRequest: {
    ...fromZod(noteSchema, "input"),
    description: `POST and PUT: \`title\` is required, \`body\` defaults to "". Unknown fields are ignored (DRF); the read-only fields ${readOnly} are ignored whatever their type, so what GET returned can be PUT back. PUT of a note that is not the caller's is 404 before the body is validated.`,
  },
  PatchedNoteRequest: {
    ...fromZod(notePatchSchema, "input"),
    description: `PATCH: any subset of the writable fields, even none (which still moves \`updated\`, as DRF does). Unknown fields and read-only fields (${readOnly}) are ignored. A note that is not the caller's is 404 before the body is validated.`,
  },
  PaginatedNoteList: {
    type: "object",
    description: "DRF's page envelope.",
    properties: {
      count: { type: "integer", minimum: 0, description: "Matching notes across all pages." },
      next: { type: ["string", "null"], format: "uri", description: "Absolute URL of the next page, other query parameters kept; null on the last page." },
      previous: { type: ["string", "null"], format: "uri", description: "Absolute URL of the previous page (page 1's link has no `page`); null on the first." },
      results: { type: "array", items: schemaRef("Note") },
    },
    required: ["count", "next", "previous", "results"],
  },
};

const defaultOrdering = DEFAULT_NOTE_ORDERING.map((t) => (t.descending ? `-${t.field}` : t.field)).join(",");

const listParameters: ParameterObject[] = [
  {
    name: "page",
    in: "query",
    description: "1-based page number, or `last`. Not a positive integer, or past the last page: 404 `{\"detail\": \"Invalid page.\"}`. Page 1 of an empty list is an empty page.",
    schema: { oneOf: [{ type: "integer", minimum: 1 }, { type: "string", const: "last" }], default: 1 },
  },
  {
    name: "page_size",
    in: "query",
    description: `Notes per page, default ${DEFAULT_PAGE_SIZE}. Above ${MAX_PAGE_SIZE} it is clamped to ${MAX_PAGE_SIZE} (DRF's max_page_size). Not a positive integer (\`abc\`, \`0\`): the default, as DRF's PageNumberPagination does.`,
    schema: { type: "integer", minimum: 1, default: DEFAULT_PAGE_SIZE },
  },
  {
    name: "search",
    in: "query",
    description: `Terms separated by spaces or commas ("quoted phrases" stay whole); a note matches when every term occurs in its title or body, case-insensitively for ASCII letters; \`%\` and \`_\` are literal. At most ${MAX_SEARCH_LENGTH} characters and ${MAX_SEARCH_TERMS} terms, else 400 \`{"search": [...]}\`.`,
    schema: { type: "string", maxLength: MAX_SEARCH_LENGTH },
  },
  {
    name: "ordering",
    in: "query",
    description: `Comma-separated fields among ${NOTE_ORDERING_FIELDS.map((f) => `\`${f}\``).join(", ")}; \`-\` for descending (\`-updated,title\`). Unknown fields are ignored and, if none is left, the default \`${defaultOrdering}\` applies (DRF's OrderingFilter). \`title\` sorts by code point (uppercase before lowercase). Ties are broken by \`id\`, so pages never overlap.`,
    schema: { type: "string", default: defaultOrdering, examples: ["-updated", "title,-created"] },
  },
];

const idParam = pathParam("id", "The note's id (22 base64url characters). A malformed id is 404 without a database query.", {
  type: "string",
  pattern: NOTE_ID_PATTERN.source,
});

const example = {
  id: "q3Vh1mU0bYk2hSx5cJ9rLw",
  title: "Groceries",
  body: "Milk, eggs, bread.",
  owner: 42,
  created: "2026-05-01T09:30:00.123Z",
  updated: "2026-05-01T09:31:12.456Z",
};

const ownerOnly = "Owner only: another user's note answers 404 exactly as a missing one does.";

export const notesPaths: Paths = {
  "/api/notes/": {
    get: operation({
      operationId: "notes_list",
      tag: TAG,
      summary: "List your notes",
      description:
        "The caller's notes, a page at a time, searchable and orderable. One D1 round trip per page (the page and the count in one statement). " +
        "Lists may lag writes made through another edge location by up to NOTES_CACHE_TTL seconds (default 2); your own writes show immediately where they were made.",
      auth: "bearer",
      parameters: listParameters,
      responses: {
        "200": jsonResponse("A page of notes.", schemaRef("PaginatedNoteList"), {
          count: 45,
          next: "https://auth.example.com/api/notes/?page=3&search=milk",
          previous: "https://auth.example.com/api/notes/?search=milk",
          results: [example],
        }),
        "400": jsonResponse("A malformed `search` (too long, too many terms).", schemaRef("FieldErrors"), { search: [`Ensure this field has no more than ${MAX_SEARCH_LENGTH} characters.`] }),
        "404": jsonResponse("`page` is not a page of this list.", schemaRef("NotFound"), { detail: "Invalid page." }),
      },
    }),
    post: operation({
      operationId: "notes_create",
      tag: TAG,
      summary: "Create a note",
      auth: "bearer",
      body: { schema: schemaRef("NoteRequest"), example: { title: "Groceries", body: "Milk, eggs, bread." } },
      responses: { "201": jsonResponse("Created.", schemaRef("Note"), example) },
    }),
  },
  "/api/notes/{id}/": {
    parameters: [idParam],
    get: operation({
      operationId: "notes_retrieve",
      tag: TAG,
      summary: "Read a note",
      description: ownerOnly,
      auth: "bearer",
      notFound: true,
      responses: { "200": jsonResponse("The note.", schemaRef("Note"), example) },
    }),
    put: operation({
      operationId: "notes_update",
      tag: TAG,
      summary: "Replace a note",
      description: `${ownerOnly} Every writable field is required; a missing one is \`["This field is required."]\`.`,
      auth: "bearer",
      notFound: true,
      body: { schema: schemaRef("NoteRequest") },
      responses: { "200": jsonResponse("The note as saved.", schemaRef("Note"), example) },
    }),
    patch: operation({
      operationId: "notes_partial_update",
      tag: TAG,
      summary: "Change some fields of a note",
      description: `${ownerOnly} Fields not sent keep their values.`,
      auth: "bearer",
      notFound: true,
      body: { schema: schemaRef("PatchedNoteRequest"), example: { title: "Groceries (Saturday)" } },
      responses: { "200": jsonResponse("The note as saved.", schemaRef("Note"), example) },
    }),
    delete: operation({
      operationId: "notes_destroy",
      tag: TAG,
      summary: "Delete a note",
      description: ownerOnly,
      auth: "bearer",
      notFound: true,
      responses: { "204": { description: "Deleted; no body." } },
    }),
  },
};
