/**
 * @module Filters — DRF's OrderingFilter and SearchFilter as pure functions over query parameters.
 *
 * - `?ordering=a,-b`: comma-separated fields, `-` for descending. Unknown fields are dropped, and
 *   if none is left the default ordering applies (DRF's `remove_invalid_fields`).
 * - `?search=`: terms split on whitespace and commas ("quoted phrases" stay whole); every term must
 *   match at least one searched field, case-insensitively (DRF's `icontains`). Longer than
 *   MAX_SEARCH_LENGTH characters, or more than MAX_SEARCH_TERMS terms: 400 `{"search": [...]}`.
 */
import * as z from "zod";
import { ValidationError } from "./errors";

const SEARCH_PARAM = "search";
export const MAX_SEARCH_LENGTH = 200;
// Each term binds a pattern and an escape per searched field (4 for notes); D1 allows 100 bound parameters per query.
export const MAX_SEARCH_TERMS = 10;

export interface OrderTerm<F extends string> {
  field: F;
  descending: boolean;
}

/** Parses `?ordering=`; `allowed` lists the public field names, `fallback` applies when none is usable. */
export function parseOrdering<F extends string>(
  raw: string | null,
  allowed: readonly F[],
  fallback: readonly OrderTerm<F>[],
): OrderTerm<F>[] {
  const terms: OrderTerm<F>[] = [];
  for (const part of (raw ?? "").split(",")) {
    const text = part.trim();
    const descending = text.startsWith("-");
    const name = descending ? text.slice(1) : text;
    const field = allowed.find((f) => f === name);
    if (field === undefined || terms.some((t) => t.field === field)) continue;
    terms.push({ field, descending });
  }
  return terms.length > 0 ? terms : [...fallback];
}

/** Renders ordering terms back into the `?ordering=` syntax. */
export function orderingText(terms: readonly OrderTerm<string>[]): string {
  return terms.map((t) => (t.descending ? `-${t.field}` : t.field)).join(",");
}

/** Splits `?search=` into terms; throws a 400 in DRF's shape when it is too long or has too many terms. */
export function parseSearch(raw: string | null): string[] {
  if (raw === null) return [];
  // DRF strips NUL from search input; a NUL could never match stored text anyway.
  const text = raw.replace(/\u0000/g, "");
  if (text.length > MAX_SEARCH_LENGTH) {
    throw new ValidationError({ [SEARCH_PARAM]: [`Ensure this field has no more than ${MAX_SEARCH_LENGTH} characters.`] });
  }
  const terms: string[] = [];
  for (const match of text.matchAll(/"([^"]*)"|[^\s,]+/g)) {
    const term = (match[1] ?? match[0]).trim();
    if (term !== "" && !terms.includes(term)) terms.push(term);
  }
  if (terms.length > MAX_SEARCH_TERMS) throw new ValidationError({ [SEARCH_PARAM]: [`Use at most ${MAX_SEARCH_TERMS} search terms.`] });
  return terms;
}

/** Splits `?search=` into terms as a zod field does: DRF's messages become issues of the field, not a thrown error. */
function searchTerms(raw: string | undefined, ctx: z.RefinementCtx): string[] {
  try {
    return parseSearch(raw ?? null);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    for (const message of error.fields[SEARCH_PARAM] ?? []) ctx.addIssue({ code: "custom", message });
    return [];
  }
}

/** `?search=` as a route spec's query field (src/http/query.ts): 400 `{"search": [...]}` when too long or too many terms. */
export function searchQueryField(description: string) {
  return z.string().meta({ description, maxLength: MAX_SEARCH_LENGTH }).optional().transform(searchTerms);
}

/** `?ordering=` as a route spec's query field over `allowed`, `fallback` when none is usable (never an error, as DRF's). */
export function orderingQueryField<F extends string>(
  allowed: readonly F[],
  fallback: readonly OrderTerm<F>[],
  description: string,
  examples: string[],
) {
  return z
    .string()
    .meta({ description, default: orderingText(fallback), examples })
    .optional()
    .transform((raw) => parseOrdering(raw ?? null, allowed, fallback));
}

/** The character that escapes LIKE wildcards in likeContains' patterns (pair it with `ESCAPE '\'`). */
export const LIKE_ESCAPE = "\\";

/** A LIKE pattern matching `term` anywhere, with `%`, `_` and the escape character taken literally. */
export function likeContains(term: string): string {
  return `%${term.replace(/[\\%_]/g, (c) => LIKE_ESCAPE + c)}%`;
}
