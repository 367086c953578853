/**
 * @module Notes Schema — the one zod schema for notes: it validates requests and, through
 * `z.toJSONSchema`, becomes the OpenAPI description (through the route specs, ./routes). Change it here only.
 */
import { lazy } from "../lib/lazy";
import * as z from "zod";
import { MAX_SEARCH_LENGTH, MAX_SEARCH_TERMS, orderingQueryField, orderingText, searchQueryField, type OrderTerm } from "../http/filters";
import { pageQueryFields, pageRequestOf } from "../http/pagination";
import { isoDateTime } from "../http/wire";
import { named } from "../openapi/named";

export const NOTE_TITLE_MAX_LENGTH = 200;
export const NOTE_BODY_MAX_LENGTH = 10_000;
/** Ids are 128 random bits in base64url (src/lib/bytes.ts randomToken): exactly 22 characters. */
export const NOTE_ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;

// DRF's CharField refuses NUL and lone surrogates (D1 would store the latter as U+FFFD, silently).
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
function storableText<T extends z.ZodString>(schema: T): T {
  return schema
    .refine((s) => !s.includes("\u0000"), "Null characters are not allowed.")
    .refine((s) => !LONE_SURROGATE.test(s), "Surrogate characters are not allowed.") as T;
}

const titleField = () =>
  storableText(z.string().trim().min(1).max(NOTE_TITLE_MAX_LENGTH)).meta({
    description: `Required, not blank; leading and trailing whitespace is trimmed (as DRF's CharField does). At most ${NOTE_TITLE_MAX_LENGTH} characters.`,
    examples: ["Groceries"],
  });
const bodyField = () => storableText(z.string().max(NOTE_BODY_MAX_LENGTH));
const bodyMeta = {
  description: `Free text, may be empty, kept exactly as sent (not trimmed). At most ${NOTE_BODY_MAX_LENGTH} characters. Optional on POST and PUT: omitted, it is "" (the model field's default, as DRF applies it).`,
  examples: ["Milk, eggs, bread."],
};

/** What a client writes: POST and PUT need `title` (`body` defaults to ""), PATCH any subset (notePatchSchema). Unknown fields are ignored. */
export const noteSchema = lazy(() =>
  z.object({
    title: titleField(),
    body: bodyField().default("").meta(bodyMeta),
  }),
);

// Built from the bare fields: a PATCH that omits `body` must leave it alone, not reset it to the default.
export const notePatchSchema = lazy(() => z.object({ title: titleField().optional(), body: bodyField().meta(bodyMeta).optional() }));

/** Fields of the representation a client cannot write: sent back in a request, they are ignored (DRF's read-only fields). */
export const NOTE_READ_ONLY_FIELDS = ["id", "owner", "created", "updated"] as const;

const readOnlyInstant = { readOnly: true, examples: ["2026-05-01T09:30:00.123Z"] };

/** The representation the API answers with: the writable fields plus the read-only ones. */
export const noteOutputSchema = named("Note", () =>
  z.strictObject({
    id: z
      .string()
      .regex(NOTE_ID_PATTERN)
      .meta({ readOnly: true, description: "128 random bits, base64url.", examples: ["q3Vh1mU0bYk2hSx5cJ9rLw"] }),
    title: titleField(),
    body: bodyField().meta(bodyMeta),
    owner: z.number().int().meta({ readOnly: true, description: "The owner's user id (always the caller)." }),
    created: isoDateTime("ISO 8601 UTC, millisecond precision.", readOnlyInstant),
    updated: isoDateTime("ISO 8601 UTC; changes on every PUT and PATCH.", readOnlyInstant),
  }),
);

export type NoteOut = z.output<typeof noteOutputSchema>;

const NOTE_ORDERING_FIELDS = ["created", "updated", "title"] as const;
export type NoteOrderingField = (typeof NOTE_ORDERING_FIELDS)[number];
/** Newest first, as most note lists show them. */
const DEFAULT_NOTE_ORDERING: readonly OrderTerm<NoteOrderingField>[] = [{ field: "created", descending: true }];

/** GET /api/notes/'s query: DRF's page, search and ordering parameters, parsed into what the service reads. */
export const noteListQuerySchema = lazy(() =>
  z
    .object({
      ...pageQueryFields("Notes"),
      search: searchQueryField(
        `Terms separated by spaces or commas ("quoted phrases" stay whole); a note matches when every term occurs in its title or body, case-insensitively for ASCII letters; \`%\` and \`_\` are literal. At most ${MAX_SEARCH_LENGTH} characters and ${MAX_SEARCH_TERMS} terms, else 400 \`{"search": [...]}\`.`,
      ),
      ordering: orderingQueryField(
        NOTE_ORDERING_FIELDS,
        DEFAULT_NOTE_ORDERING,
        `Comma-separated fields among ${NOTE_ORDERING_FIELDS.map((f) => `\`${f}\``).join(", ")}; \`-\` for descending (\`-updated,title\`). Unknown fields are ignored and, if none is left, the default \`${orderingText(DEFAULT_NOTE_ORDERING)}\` applies (DRF's OrderingFilter). \`title\` sorts by code point (uppercase before lowercase). Ties are broken by \`id\`, so pages never overlap.`,
        ["-updated", "title,-created"],
      ),
    })
    .transform((q) => ({ page: pageRequestOf(q), ordering: q.ordering, search: q.search })),
);

export type NoteListQuery = z.output<typeof noteListQuerySchema>;

export interface NoteListPage {
  count: number;
  /** The page actually served (resolves `page=last`). */
  page: number;
  pageSize: number;
  results: NoteOut[];
}
