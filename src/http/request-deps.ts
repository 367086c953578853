/** @module Request Deps — the isolate's Deps with one request's own D1 session and event log, made by the route chain. */
import type { Db, RequestDb } from "../db/client";
import type { Clock, Deps, TokenSettings } from "../deps";
import type { Config } from "../config";
import { consoleSink, logEvent, type LogLine, type LogSink } from "./log";

/**
 * The isolate's Deps for one request, with that request's own D1 session (src/db/client.ts RequestDb). A class, so
 * every request's object has one shape: the bearer check reads it on the hot path.
 */
export class RequestDeps implements Deps {
  readonly config: Config;
  readonly tokens: TokenSettings;
  readonly clock: Clock;
  readonly primaryDb: (() => Db) | undefined;
  readonly readAfterMs: number | null;

  constructor(
    base: Deps,
    private readonly request: RequestDb,
    replica: boolean,
    readAfterMs: number | null,
    private readonly sink: LogSink = consoleSink,
    private readonly requestId: string | null = null,
  ) {
    this.config = base.config;
    this.tokens = base.tokens;
    this.clock = base.clock;
    this.readAfterMs = readAfterMs;
    this.primaryDb = replica && readAfterMs === null ? () => request.primary() : undefined;
  }

  get db(): Db {
    return this.request.db;
  }

  /** An audit event of this request, with its id (a method, so a request that logs nothing pays for no closure). */
  log(level: LogLine["level"], event: string, fields?: Record<string, unknown>): void {
    logEvent(this.sink, this.requestId, level, event, fields);
  }
}
