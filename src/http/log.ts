/**
 * @module Log — one structured JSON line per event worth auditing and per error, never one per ordinary request:
 * the platform already records every request (Workers Logs with `[observability]`; `wrangler dev` prints each).
 * Every line carries the request's id (its `cf-ray` when it has one) so it can be found beside the platform's
 * record; no line ever holds a token, password or secret — callers pass ids and codes only.
 */

export interface LogLine {
  level: "info" | "warn" | "error";
  /** What happened, snake_case: `signin_failed`, `refresh_reuse`, `unhandled_error`, … */
  event: string;
  time: string;
  /** The request's id (X-Request-Id: CF-Ray when present); null outside a request (cron, a Durable Object alarm). */
  request_id: string | null;
  [field: string]: unknown;
}

export type LogSink = (line: LogLine) => void;

/** The default sink: one line on the console, at the console level matching the line's. */
export const consoleSink: LogSink = (line) => {
  const text = JSON.stringify(line);
  if (line.level === "error") console.error(text);
  else if (line.level === "warn") console.warn(text);
  else console.log(text);
};

/** Writes one event line through `sink`, stamped with the time and the request id. */
export function logEvent(sink: LogSink, requestId: string | null, level: LogLine["level"], event: string, fields: Record<string, unknown> = {}): void {
  sink({ level, event, time: new Date().toISOString(), request_id: requestId, ...fields });
}
