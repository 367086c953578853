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
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
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
  return data as Record<string, unknown>;
}
