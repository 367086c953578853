/** @module Request Body — reads a JSON object body with DRF's errors for size, media type and syntax. */
import { ApiError, ValidationError } from "./errors";

/** Largest request body any route accepts; checked before the body is buffered. */
export const MAX_BODY_BYTES = 64 * 1024;

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

function tooLarge(): ApiError {
  return new ApiError("request_too_large", `Request body is too large (limit ${MAX_BODY_BYTES} bytes).`);
}

/** Reads at most `limit` bytes of the body, failing fast on Content-Length and again while streaming. */
export async function readBodyText(request: Request, limit = MAX_BODY_BYTES): Promise<string> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw tooLarge();
  // A declared length is enforced by the runtime's HTTP framing, so one native read is safe and ~2x
  // cheaper than the reader loop below (bench/micro/verify.micro.ts); chunked bodies are counted as they stream.
  if (declared !== null) return declared === "0" ? "" : decodeUtf8(await request.arrayBuffer(), limit);
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return decodeUtf8(bytes, limit);
}

// One per isolate: decode() without { stream: true } starts from a clean state each call (Encoding §10.2.3),
// and a decoder per request was 3.8 µs of a verify's CPU (bench/profile.mjs verify).
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

function decodeUtf8(bytes: ArrayBuffer | Uint8Array, limit: number): string {
  // Also guards a body longer than its Content-Length claimed, should a runtime ever pass one through.
  if (bytes.byteLength > limit) throw tooLarge();
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new ApiError("parse_error", "JSON parse error - body is not valid UTF-8.");
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "list";
  if (typeof value === "string") return "str";
  if (typeof value === "number") return Number.isInteger(value) ? "int" : "float";
  if (typeof value === "boolean") return "bool";
  return typeof value;
}

/**
 * The request's JSON object. An empty body reads as `{}` (DRF does the same), so missing
 * fields are reported field by field rather than as a parse error.
 */
export async function readJsonObject(request: Request): Promise<Record<string, unknown>> {
  const text = await readBodyText(request);
  if (text.trim() === "") return {};
  const type = request.headers.get("content-type") ?? "";
  if (!JSON_TYPE.test(type)) {
    throw new ApiError("unsupported_media_type", `Unsupported media type "${type.split(";")[0]!.trim().slice(0, 100)}" in request.`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message.slice(0, 200) : "invalid JSON";
    throw new ApiError("parse_error", `JSON parse error - ${reason}`);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new ValidationError({ non_field_errors: [`Invalid data. Expected a dictionary, but got ${describe(data)}.`] });
  }
  const problem = structureProblem(text, data);
  if (problem) throw new ApiError("parse_error", `JSON parse error - ${problem}`);
  return data as Record<string, unknown>;
}

/** Deeper JSON than any route needs is refused, so no later recursion (validation, logging) can overflow. */
export const MAX_JSON_DEPTH = 32;

// Every string literal of already-valid JSON, left to right; group 1 is set when it is an object key.
const JSON_STRING = /"[^"\\]*(?:\\.[^"\\]*)*"(\s*:)?/g;

/**
 * Duplicate keys (`{"a":1,"a":2}`: JSON.parse silently keeps the last, RFC 8259 §4 leaves it undefined,
 * and two parsers may disagree on which wins) and excessive nesting. Fast path, no second parse: the
 * number of key tokens in the text equals the number of keys JSON.parse kept iff no object repeated one.
 */
export function structureProblem(text: string, data: unknown): string | null {
  let parsedKeys = 0;
  const stack: Array<[unknown, number]> = [[data, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (typeof value !== "object" || value === null) continue;
    if (depth > MAX_JSON_DEPTH) return `nested deeper than ${MAX_JSON_DEPTH} levels.`;
    const children = Array.isArray(value) ? value : Object.values(value);
    if (!Array.isArray(value)) parsedKeys += children.length;
    for (const child of children) if (typeof child === "object" && child !== null) stack.push([child, depth + 1]);
  }
  let textKeys = 0;
  for (const match of text.matchAll(JSON_STRING)) if (match[1] !== undefined) textKeys += 1;
  if (textKeys === parsedKeys) return null;
  return `duplicate key ${JSON.stringify(firstDuplicateKey(text)?.slice(0, 100) ?? "")}.`;
}

/** The slow path, only once a duplicate is known to exist: which key, for the error message. */
function firstDuplicateKey(text: string): string | null {
  // Tracks one key set per open object; strings are skipped whole, so brackets inside them do not count.
  const open: Array<Set<string> | null> = [];
  const token = /"[^"\\]*(?:\\.[^"\\]*)*"(\s*:)?|[{}[\]]/g;
  for (const match of text.matchAll(token)) {
    const t = match[0];
    if (t === "{") open.push(new Set());
    else if (t === "[") open.push(null);
    else if (t === "}" || t === "]") open.pop();
    else if (match[1] !== undefined) {
      const keys = open[open.length - 1];
      const key = JSON.parse(t.slice(0, t.lastIndexOf('"') + 1)) as string;
      if (keys?.has(key)) return key;
      keys?.add(key);
    }
  }
  return null;
}
