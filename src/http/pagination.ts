/**
 * @module Pagination — DRF's PageNumberPagination as pure functions: `?page=`, `?page_size=`, and the
 * `{count, next, previous, results}` envelope with absolute links that keep the other query parameters.
 *
 * Rules (DRF's, except where marked):
 * - `page`: a positive integer, or `last`; absent means 1. Anything else, or a page past the last,
 *   is 404 `{"detail": "Invalid page."}`. Page 1 of an empty list is valid (an empty page).
 * - `page_size`: default 20; above 100 it is clamped to 100 (DRF's `max_page_size`); anything that is
 *   not a positive integer (`abc`, `0`, `-5`) falls back to the default, as DRF's `get_page_size` does.
 * - A repeated parameter counts by its last value, as Django's QueryDict does.
 */
import * as z from "zod";
import { ApiError } from "./errors";

const DEFAULT_PAGE_SIZE = 20;
const MAX_PAGE_SIZE = 100;
const PAGE_PARAM = "page";
const PAGE_SIZE_PARAM = "page_size";
// Past this no list can reach; refusing it up front keeps OFFSET a safe integer.
const MAX_PAGE_NUMBER = 1_000_000_000;

export interface PageRequest {
  /** 1-based page number, or "last" (resolved once the count is known). */
  page: number | "last";
  pageSize: number;
}

export interface Page<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

/** DRF's page envelope around `item`, for a list route's answer. */
export function pageSchema<S extends z.ZodType>(item: S) {
  return z
    .strictObject({
      count: z.number().int().min(0).meta({ description: "Matching items across all pages." }),
      next: z
        .string()
        .nullable()
        .meta({ format: "uri", description: "Absolute URL of the next page, other query parameters kept; null on the last page." }),
      previous: z
        .string()
        .nullable()
        .meta({ format: "uri", description: "Absolute URL of the previous page (page 1's link has no `page`); null on the first." }),
      results: z.array(item),
    })
    .meta({ description: "DRF's page envelope." });
}

function invalidPage(): ApiError {
  return new ApiError("not_found", "Invalid page.");
}

/** Django's QueryDict.__getitem__: the last value of a repeated parameter. */
function lastParam(params: URLSearchParams, name: string): string | null {
  const values = params.getAll(name);
  return values.length === 0 ? null : values[values.length - 1]!;
}

/** `?page=` and `?page_size=` from a query string; throws 404 for a bad page. */
export function parsePageRequest(params: URLSearchParams): PageRequest {
  return { page: parsePage(lastParam(params, PAGE_PARAM)), pageSize: parsePageSize(lastParam(params, PAGE_SIZE_PARAM)) };
}

function parsePage(rawPage: string | null | undefined): number | "last" {
  if (rawPage === null || rawPage === undefined || rawPage === "") return 1;
  if (rawPage === "last") return "last";
  if (!/^[0-9]{1,10}$/.test(rawPage)) throw invalidPage();
  const page = Number(rawPage);
  if (page < 1 || page > MAX_PAGE_NUMBER) throw invalidPage();
  return page;
}

function parsePageSize(raw: string | null | undefined): number {
  // DRF: _positive_int(raw, strict=True, cutoff=max_page_size), any ValueError -> the default.
  if (raw === null || raw === undefined || !/^\s*\+?[0-9]+\s*$/.test(raw)) return DEFAULT_PAGE_SIZE;
  const digits = raw
    .trim()
    .replace(/^\+/, "")
    .replace(/^0+(?=\d)/, "");
  // Compared as text length first so a 400-digit number does not become Infinity.
  const size = digits.length > 6 ? Infinity : Number(digits);
  if (size < 1) return DEFAULT_PAGE_SIZE;
  return Math.min(size, MAX_PAGE_SIZE);
}

/**
 * A list route's `?page=` and `?page_size=` as a route spec's query fields (src/http/query.ts): documented as
 * DRF documents them, parsed by DRF's rules above (a bad page throws 404 "Invalid page." rather than a 400).
 * `items` names what a page holds, for the document.
 */
export function pageQueryFields(items: string) {
  return {
    // Documented as what a client sends; `type` is dropped: every query value arrives as text.
    page: z
      .string()
      .meta({
        description:
          '1-based page number, or `last`. Not a positive integer, or past the last page: 404 `{"detail": "Invalid page."}`. Page 1 of an empty list is an empty page.',
        type: undefined,
        oneOf: [
          { type: "integer", minimum: 1 },
          { type: "string", const: "last" },
        ],
        default: 1,
      })
      .optional()
      .transform(parsePage),
    page_size: z
      .string()
      .meta({
        description: `${items} per page, default ${DEFAULT_PAGE_SIZE}. Above ${MAX_PAGE_SIZE} it is clamped to ${MAX_PAGE_SIZE} (DRF's max_page_size). Not a positive integer (\`abc\`, \`0\`): the default, as DRF's PageNumberPagination does.`,
        type: "integer",
        minimum: 1,
        default: DEFAULT_PAGE_SIZE,
      })
      .optional()
      .transform(parsePageSize),
  };
}

/** The page a list route's query asks for, from pageQueryFields' output. */
export function pageRequestOf(query: { page: number | "last"; page_size: number }): PageRequest {
  return { page: query.page, pageSize: query.page_size };
}

/** How many pages `count` items make; an empty list still has its (empty) first page, as Django's Paginator. */
export function pageCount(count: number, pageSize: number): number {
  return Math.max(1, Math.ceil(count / pageSize));
}

/** Rows to skip for a numbered page. */
export function pageOffset(page: number, pageSize: number): number {
  return (page - 1) * pageSize;
}

/** Throws "Invalid page." when `page` lies past the last page of `count` items. */
export function checkPage(page: number, count: number, pageSize: number): void {
  if (page > pageCount(count, pageSize)) throw invalidPage();
}

/**
 * `page=last` in one query: fetch the first `pageSize` rows in *reversed* order alongside the count,
 * then keep as many as the last page holds and restore the order. Returns the page number too.
 */
export function lastPageFromReversed<T>(reversedRows: readonly T[], count: number, pageSize: number): { page: number; rows: T[] } {
  const page = pageCount(count, pageSize);
  const size = count - (page - 1) * pageSize;
  return { page, rows: reversedRows.slice(0, Math.max(0, size)).reverse() };
}

/**
 * DRF's next/previous links: the request's absolute URL with `page` replaced; the link to page 1
 * drops `page` altogether (DRF's `remove_query_param`). Every other parameter is kept.
 */
export function pageLinks(
  requestUrl: string,
  page: number,
  count: number,
  pageSize: number,
): { next: string | null; previous: string | null } {
  const pages = pageCount(count, pageSize);
  const link = (target: number): string => {
    const url = new URL(requestUrl);
    url.hash = "";
    if (target === 1) url.searchParams.delete(PAGE_PARAM);
    else url.searchParams.set(PAGE_PARAM, String(target));
    return url.toString();
  };
  return {
    next: page < pages ? link(page + 1) : null,
    previous: page > 1 ? link(page - 1) : null,
  };
}

/** The envelope DRF clients parse. */
export function pageEnvelope<T>(requestUrl: string, page: number, count: number, pageSize: number, results: T[]): Page<T> {
  return { count, ...pageLinks(requestUrl, page, count, pageSize), results };
}
