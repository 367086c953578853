/** @module Session Purge — the cron's housekeeping: delete sessions that ended more than a grace period ago, and security events past their retention. */
import { getConfig } from "../config";
import { getDb, type Db } from "../db/client";
import type { Env } from "../env";
import { EVENT_RETENTION_SECONDS, deleteOldEvents } from "./events";
import { deleteEndedSessions } from "./sessions";

export interface PurgeOptions {
  /** Ended sessions are kept this long (a replayed token still reads "blacklisted", support can see them). */
  graceSeconds: number;
  /** Rows per DELETE: D1 statements should stay short (each holds the single writer). */
  batchSize: number;
  /** Bounds one run; the next cron carries on where this one stopped. */
  maxBatches: number;
}

const PURGE_DEFAULTS: PurgeOptions = { graceSeconds: 86_400, batchSize: 500, maxBatches: 20 };

export interface PurgeResult {
  deleted: number;
  batches: number;
  /** True when the run stopped at maxBatches with rows possibly left for the next run. */
  more: boolean;
}

/** Deletes sessions expired or revoked before `nowSeconds - graceSeconds`, in bounded batches. */
export function purgeEndedSessions(db: Db, nowSeconds: number, options: Partial<PurgeOptions> = {}): Promise<PurgeResult> {
  const settings = { ...PURGE_DEFAULTS, ...options };
  return inBatches((limit) => deleteEndedSessions(db, nowSeconds - settings.graceSeconds, limit), settings);
}

/** Deletes security events older than EVENT_RETENTION_SECONDS (`graceSeconds` is ignored), in bounded batches. */
export function purgeOldEvents(db: Db, nowSeconds: number, options: Partial<PurgeOptions> = {}): Promise<PurgeResult> {
  const settings = { ...PURGE_DEFAULTS, ...options };
  return inBatches((limit) => deleteOldEvents(db, nowSeconds - EVENT_RETENTION_SECONDS, limit), settings);
}

async function inBatches(deleteUpTo: (limit: number) => Promise<number>, { batchSize, maxBatches }: PurgeOptions): Promise<PurgeResult> {
  let deleted = 0;
  let batches = 0;
  while (batches < maxBatches) {
    const count = await deleteUpTo(batchSize);
    batches += 1;
    deleted += count;
    if (count < batchSize) return { deleted, batches, more: false };
  }
  return { deleted, batches, more: true };
}

/** The scheduled handler's work: purge, then one structured log line. Never throws (a cron retry would not help). */
export async function runHousekeeping(env: Env, scheduledTimeMs: number, options: Partial<PurgeOptions> = {}): Promise<PurgeResult | null> {
  const started = Date.now();
  try {
    const db = getDb(env.DB, getConfig(env).d1TimeoutMs);
    const nowSeconds = Math.floor(scheduledTimeMs / 1000);
    const result = await purgeEndedSessions(db, nowSeconds, options);
    console.log(
      JSON.stringify({
        level: "info",
        event: "sessions_purged",
        time: new Date().toISOString(),
        ...result,
        duration_ms: Date.now() - started,
      }),
    );
    const events = await purgeOldEvents(db, nowSeconds, options);
    console.log(
      JSON.stringify({
        level: "info",
        event: "security_events_purged",
        time: new Date().toISOString(),
        ...events,
        duration_ms: Date.now() - started,
      }),
    );
    return result;
  } catch (error) {
    console.error(
      JSON.stringify({
        level: "error",
        event: "purge_failed",
        time: new Date().toISOString(),
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      }),
    );
    return null;
  }
}
