/** @module DB Client — a drizzle handle over the D1 binding, every call under the guard's deadline (./guard.ts). */
import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import { guardD1 } from "./guard";
import * as schema from "./schema";

export type Db = DrizzleD1Database<typeof schema>;

const cache = new WeakMap<D1Database, Map<number, Db>>();

/** One drizzle instance per D1 binding per isolate; a D1 call slower than `timeoutMs` fails as DatabaseUnavailable. */
export function getDb(d1: D1Database, timeoutMs: number): Db {
  let byTimeout = cache.get(d1);
  if (!byTimeout) cache.set(d1, (byTimeout = new Map()));
  let db = byTimeout.get(timeoutMs);
  if (!db) {
    db = drizzle(guardD1(d1, timeoutMs), { schema });
    byTimeout.set(timeoutMs, db);
  }
  return db;
}
