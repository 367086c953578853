/**
 * @module D1 Guard — every D1 call the worker makes answers within a deadline or fails with one typed error,
 * `DatabaseUnavailable`, which the error table answers as 503 with Retry-After (src/http/errors.ts): a D1 that is
 * down or slow never hangs a request and never surfaces as a 500. A statement that timed out may still commit
 * later; each write here is one statement or one batch, so it commits whole or not at all (docs/security.md, "When D1 is
 * slow or down").
 */

/** D1 did not answer in time, or answered with an error: the caller should retry shortly. */
export class DatabaseUnavailable extends Error {
  override readonly name = "DatabaseUnavailable";
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`D1 unavailable: ${reason}`, options);
  }
}

/** Whether `error`, or anything in its `cause` chain (drizzle wraps driver errors), is a DatabaseUnavailable. */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof DatabaseUnavailable || e.name === "DatabaseUnavailable") return true;
  }
  return false;
}

function deadline<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DatabaseUnavailable(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([work, timeout]).then(
    (value) => {
      clearTimeout(timer);
      return value;
    },
    (error: unknown) => {
      clearTimeout(timer);
      throw error instanceof DatabaseUnavailable
        ? error
        : new DatabaseUnavailable(error instanceof Error ? error.message : String(error), { cause: error });
    },
  );
}

const TERMINAL = new Set<PropertyKey>(["all", "run", "first", "raw"]);

/**
 * `d1` with a deadline on every statement and batch. Statements keep their identity for `batch()` (D1 needs its
 * own objects back), so the proxies are unwrapped there.
 */
export function guardD1<T extends D1Database | D1DatabaseSession>(d1: T, timeoutMs: number): T {
  const originals = new WeakMap<object, D1PreparedStatement>();
  const wrap = (statement: D1PreparedStatement): D1PreparedStatement => {
    const proxy = new Proxy(statement, {
      get(target, prop) {
        if (prop === "bind") return (...args: unknown[]) => wrap(target.bind(...args));
        const value = Reflect.get(target, prop, target) as unknown;
        if (TERMINAL.has(prop) && typeof value === "function") {
          return (...args: unknown[]) => {
            let started: Promise<unknown>;
            try {
              started = (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
            } catch (error) {
              started = Promise.reject(error);
            }
            return deadline(started, timeoutMs);
          };
        }
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    originals.set(proxy, statement);
    return proxy;
  };
  return new Proxy(d1, {
    get(target, prop) {
      if (prop === "prepare") return (query: string) => wrap((target as D1DatabaseSession).prepare(query));
      if (prop === "batch") {
        return (statements: D1PreparedStatement[]) => {
          let started: Promise<unknown>;
          try {
            started = (target as D1DatabaseSession).batch(statements.map((s) => originals.get(s) ?? s));
          } catch (error) {
            started = Promise.reject(error);
          }
          return deadline(started, timeoutMs);
        };
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
