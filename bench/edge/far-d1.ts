/**
 * Bench code, never shipped: a D1 binding "far" from its primary. The primary answers after EDGE_PRIMARY_RTT_MS
 * (150), the nearest replica after EDGE_REPLICA_RTT_MS (5) and shows writes only EDGE_REPLICATION_LAG_MS (500)
 * after they happened — modelled for what the bench measures: a session row's revocation. Sessions follow D1's
 * Sessions API: "first-primary" reads the primary; "first-unconstrained" reads the replica until the session writes;
 * a bookmark younger than the lag reads the primary. EDGE_STRATEGY=primary sends every session to the primary
 * (today's design without replicas).
 */
interface Model {
  primaryMs: number;
  replicaMs: number;
  lagMs: number;
  primaryOnly: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const WRITE = /^\s*(insert|update|delete)\b/i;
const REVOKE = /^\s*update\s+"?sessions"?\s+set\s+"?revoked_at"?/i;
const SESSION_READ = /from\s+sessions\s+s\s+join\s+users/i;

/** Revocation time (ms) per session id, as the primary saw it. Module scope: one isolate, as the bench runs. */
const revokedAt = new Map<string, number>();
/** When each bookmark a write produced was handed out. */
const bookmarkTimes = new Map<string, number>();

export function modelFrom(env: Record<string, unknown>): Model {
  const num = (name: string, fallback: number) => (env[name] === undefined ? fallback : Number(env[name]));
  return {
    primaryMs: num("EDGE_PRIMARY_RTT_MS", 150),
    replicaMs: num("EDGE_REPLICA_RTT_MS", 5),
    lagMs: num("EDGE_REPLICATION_LAG_MS", 500),
    primaryOnly: env.EDGE_STRATEGY === "primary",
  };
}

/** Marks `sid` revoked now, as a far location's write would (used by the bench's revocation probe too). */
export function noteRevocation(sid: string): void {
  revokedAt.set(sid, Date.now());
}

interface Where {
  primary: boolean;
}

function statement(inner: D1PreparedStatement, sql: string, model: Model, where: Where, args: unknown[] = []): D1PreparedStatement {
  return new Proxy(inner, {
    get(target, prop) {
      if (prop === "bind") return (...a: unknown[]) => statement(target.bind(...a), sql, model, where, a);
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== "function") return value;
      if (prop !== "all" && prop !== "run" && prop !== "first" && prop !== "raw")
        return (value as (...a: unknown[]) => unknown).bind(target);
      return async (...a: unknown[]) => {
        const write = WRITE.test(sql);
        if (write) where.primary = true;
        await sleep(where.primary ? model.primaryMs : model.replicaMs);
        const result = await (value as (...x: unknown[]) => Promise<unknown>).apply(target, a);
        if (REVOKE.test(sql)) {
          // drizzle binds the revocation time first; the affected ids come back through RETURNING.
          const rows =
            (result as { results?: Array<Record<string, unknown>> })?.results ?? (Array.isArray(result) ? (result as unknown[]) : []);
          for (const row of rows) {
            const id = Array.isArray(row) ? row[0] : (row as Record<string, unknown>).id;
            if (typeof id === "string") noteRevocation(id);
          }
          void args;
        }
        if (!where.primary && SESSION_READ.test(sql) && prop === "raw") {
          // The replica still shows a revocation younger than the lag as live.
          const now = Date.now();
          return (result as unknown[][]).map((row) => {
            const at = revokedAt.get(row[0] as string);
            return at !== undefined && now - at < model.lagMs ? [...row.slice(0, 4), null, ...row.slice(5)] : row;
          });
        }
        return result;
      };
    },
  });
}

function session(inner: D1DatabaseSession, model: Model, where: Where): D1DatabaseSession {
  return new Proxy(inner, {
    get(target, prop) {
      if (prop === "prepare") return (sql: string) => statement(target.prepare(sql), sql, model, where);
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          where.primary = true;
          await sleep(model.primaryMs);
          return target.batch(statements);
        };
      }
      if (prop === "getBookmark") {
        return () => {
          const mark = target.getBookmark();
          if (mark && where.primary && !bookmarkTimes.has(mark)) bookmarkTimes.set(mark, Date.now());
          return mark;
        };
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** `d1` as seen from far away: see the module's comment. */
export function farD1(d1: D1Database, model: Model): D1Database {
  const primary: Where = { primary: true };
  return new Proxy(d1, {
    get(target, prop) {
      if (prop === "prepare") return (sql: string) => statement(target.prepare(sql), sql, model, primary);
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          await sleep(model.primaryMs);
          return target.batch(statements);
        };
      }
      if (prop === "withSession") {
        return (constraint?: string) => {
          const at = constraint && !constraint.startsWith("first-") ? bookmarkTimes.get(constraint) : undefined;
          const fresh = at !== undefined && Date.now() - at < model.lagMs;
          const onPrimary = model.primaryOnly || constraint === "first-primary" || constraint === undefined || fresh;
          return session(target.withSession(constraint), model, { primary: onPrimary });
        };
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
