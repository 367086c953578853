/** @module Wire — answer-schema pieces every module's wire.ts shares, so one field means one thing in the document. */
import * as z from "zod";

/** An ISO 8601 UTC instant as the API writes it (`2026-05-01T09:30:00Z`); `meta` adds to its document entry. */
export function isoDateTime(description = "ISO 8601 UTC.", meta: Record<string, unknown> = {}) {
  return z.string().meta({ format: "date-time", description, ...meta });
}
