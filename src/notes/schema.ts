/**
 * @module Notes Schema — the one zod schema for notes: it validates requests and, through
 * `z.toJSONSchema`, becomes the OpenAPI description (src/notes/openapi.ts). Change it here only.
 */
import { z } from "zod";

export const NOTE_TITLE_MAX_LENGTH = 200;
export const NOTE_BODY_MAX_LENGTH = 10_000;
/** Ids are 128 random bits in base64url (src/auth/bytes.ts randomToken): exactly 22 characters. */
export const NOTE_ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;

// DRF's CharField refuses NUL and lone surrogates (D1 would store the latter as U+FFFD, silently).
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
function storableText<T extends z.ZodString>(schema: T): T {
  return schema
    .refine((s) => !s.includes("\u0000"), "Null characters are not allowed.")
    .refine((s) => !LONE_SURROGATE.test(s), "Surrogate characters are not allowed.") as T;
}

/** What a client writes: POST and PUT need every field, PATCH any subset (notePatchSchema). */
export const noteSchema = z.strictObject({
  title: storableText(z.string().trim().min(1).max(NOTE_TITLE_MAX_LENGTH)).meta({
    description: `Required, not blank; leading and trailing whitespace is trimmed (as DRF's CharField does). At most ${NOTE_TITLE_MAX_LENGTH} characters.`,
    examples: ["Groceries"],
  }),
  body: storableText(z.string().max(NOTE_BODY_MAX_LENGTH)).meta({
    description: `Free text, may be empty, kept exactly as sent (not trimmed). At most ${NOTE_BODY_MAX_LENGTH} characters.`,
    examples: ["Milk, eggs, bread."],
  }),
});

export const notePatchSchema = noteSchema.partial();

export type NoteInput = z.output<typeof noteSchema>;
export type NotePatch = z.output<typeof notePatchSchema>;

/** Fields of the representation a client cannot write: sent back in a request, they are ignored (DRF's read-only fields). */
export const NOTE_READ_ONLY_FIELDS = ["id", "owner", "created", "updated"] as const;

const isoDateTime = z.string().meta({ format: "date-time", examples: ["2026-05-01T09:30:00.123Z"] });

/** The representation the API answers with: the writable fields plus the read-only ones. */
export const noteOutputSchema = z.object({
  id: z.string().regex(NOTE_ID_PATTERN).meta({ readOnly: true, description: "128 random bits, base64url.", examples: ["q3Vh1mU0bYk2hSx5cJ9rLw"] }),
  ...noteSchema.shape,
  owner: z.number().int().meta({ readOnly: true, description: "The owner's user id (always the caller)." }),
  created: isoDateTime.meta({ readOnly: true, description: "ISO 8601 UTC, millisecond precision." }),
  updated: isoDateTime.meta({ readOnly: true, description: "ISO 8601 UTC; changes on every PUT and PATCH." }),
});

export type NoteOut = z.output<typeof noteOutputSchema>;
