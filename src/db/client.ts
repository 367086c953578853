/** @module DB Client — a drizzle handle over the D1 binding, every call under the guard's deadline (./guard.ts). */
import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import { guardD1 } from "./guard";
import * as schema from "./schema";

export type Db = DrizzleD1Database<typeof schema>;

const cache = new WeakMap<D1Database | D1DatabaseSession, Map<number, Db>>();

/** One drizzle instance per D1 binding per isolate; a D1 call slower than `timeoutMs` fails as DatabaseUnavailable. */
export function getDb(d1: D1Database | D1DatabaseSession, timeoutMs: number): Db {
  let byTimeout = cache.get(d1);
  if (!byTimeout) cache.set(d1, (byTimeout = new Map()));
  let db = byTimeout.get(timeoutMs);
  if (!db) {
    // drizzle only calls prepare and batch, which a Sessions-API session has too.
    db = drizzle(guardD1(d1, timeoutMs) as D1Database, { schema });
    byTimeout.set(timeoutMs, db);
  }
  return db;
}

/** Where a request's reads may go: the nearest replica, or the primary (Cloudflare's Sessions API constraints). */
export type ReadFrom = "replica" | "primary";

/**
 * One request's D1: a Sessions-API session started at the client's bookmark (one this deployment handed out:
 * src/http/bookmark.ts) (it reads its own writes, wherever it
 * lands) or else at `readFrom`, opened on first use. `bookmark()` is what the response hands back.
 */
export class RequestDb {
  private session: D1DatabaseSession | null = null;
  private handle: Db | null = null;

  constructor(
    private readonly d1: D1Database,
    private readonly start: string,
    private readonly timeoutMs: number,
  ) {}

  static open(d1: D1Database, readFrom: ReadFrom, bookmark: string | null, timeoutMs: number): RequestDb {
    return new RequestDb(d1, bookmark ?? (readFrom === "replica" ? "first-unconstrained" : "first-primary"), timeoutMs);
  }

  get db(): Db {
    return (this.handle ??= getDb((this.session = this.d1.withSession(this.start)), this.timeoutMs));
  }

  /** A separate session on the primary: for a row a lagging replica may not have yet (a session just created). */
  primary(): Db {
    return getDb(this.d1.withSession("first-primary"), this.timeoutMs);
  }

  bookmark(): string | null {
    return this.session ? this.session.getBookmark() : null;
  }
}
