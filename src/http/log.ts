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

/** One request's event writer: the sink and the request id bound (RequestDeps.log). */
export type EventLog = (level: LogLine["level"], event: string, fields?: Record<string, unknown>) => void;

/** Outside a request (a Durable Object, a binding call, a test calling a service): the console, no request id. */
const consoleEventLog: EventLog = (level, event, fields) => logEvent(consoleSink, null, level, event, fields);

/** An audit event of the request `deps` serves (its id attached), or on the console outside a request. */
export function audit(deps: { log?: EventLog }, level: LogLine["level"], event: string, fields?: Record<string, unknown>): void {
  if (deps.log) deps.log(level, event, fields);
  else consoleEventLog(level, event, fields);
}

/** Writes one event line through `sink`, stamped with the time and the request id. */
export function logEvent(
  sink: LogSink,
  requestId: string | null,
  level: LogLine["level"],
  event: string,
  fields: Record<string, unknown> = {},
): void {
  sink({ level, event, time: new Date().toISOString(), request_id: requestId, ...fields });
}
