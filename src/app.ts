/** @module App — builds the Hono app: request ids, dependencies, the resources' routes, errors. */
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { ConfigError } from "./config";
import { isDatabaseUnavailable } from "./db/guard";
import { buildDeps, systemClock, type Clock, type Deps } from "./deps";
import { accountResource, sessionsResource, tokensResource } from "./auth/resources";
import { mountRoutes } from "./http/endpoint";
import { AppRouter } from "./http/router";
import { routesOf, type Resource } from "./http/resource";
import { ApiError, ValidationError, errorResponse } from "./http/errors";
import type { AppEnv } from "./http/types";
import { rateLimitsFor, type LimiterOverrides, type RateLimits } from "./http/ratelimit";
import { edgeChain } from "./http/security";
import { consoleSink, logEvent, type LogSink } from "./http/log";
import type { Env } from "./env";
import { qrResource } from "./qr/routes";
import { notesResource } from "./notes/routes";
import { onUserDeleted } from "./auth/user-events";
import { bearerCaller } from "./auth/middleware";
import { metaResource } from "./openapi/routes";
import { pagesResource } from "./pages/routes";

export interface AppOptions {
  /** Milliseconds since the epoch; tests pass a movable clock. */
  clock?: Clock;
  /** Limiters to use instead of the Rate Limiting bindings (tests: memory limiters on their clock). */
  limiters?: LimiterOverrides;
  /** Where the event and error lines go (src/http/log.ts; default: console, one JSON line each). */
  log?: LogSink;
  /** Parse every JSON answer with the schema its route declares; a mismatch is a 500 (tests turn this on). */
  checkAnswers?: boolean;
}

/**
 * Every resource the worker serves, listed once: their routes (matched in this order), the document's tags, the
 * tables each owns and what each forgets of a deleted user. The tests' shared tables are derived from this list too.
 */
export const RESOURCES: readonly Resource[] = [
  tokensResource,
  accountResource,
  sessionsResource,
  qrResource,
  notesResource,
  pagesResource,
  metaResource(() => RESOURCES),
];

const ROUTES = routesOf(RESOURCES);

/**
 * Deps and rate limits for /api/* and /.well-known/*, in one middleware: built once per isolate and env (config and
 * keys parsed once), whatever Host the request names: the issuer and every URL come from JWT_ISSUER.
 */
function apiContext(clock: Clock, limiters: LimiterOverrides | undefined): MiddlewareHandler<AppEnv> {
  const built = new WeakMap<Env, { deps: Deps; rateLimits: RateLimits }>();
  return async function context(c, next) {
    let entry = built.get(c.env);
    if (!entry) {
      const deps = await buildDeps(c.env, clock);
      entry = { deps, rateLimits: rateLimitsFor(c.env, deps.config, clock, limiters) };
      built.set(c.env, entry);
    }
    c.set("deps", entry.deps);
    c.set("rateLimits", entry.rateLimits);
    await next();
  };
}

export function createApp(options: AppOptions = {}): Hono<AppEnv> {
  const clock = options.clock ?? systemClock;
  // strict: false — every route answers with and without its trailing slash, as DRF clients expect. The router's
  // matchers were built at build time (src/http/router.ts), not on a fresh isolate's first request.
  const app = new Hono<AppEnv>({ strict: false, router: new AppRouter() });

  const sink = options.log ?? consoleSink;

  function handleError(error: Error, c: Context<AppEnv>): Response {
    if (error instanceof ApiError || error instanceof ValidationError) return errorResponse(error);
    const requestId = c.get("requestId");
    const log = (level: "warn" | "error", { event, ...fields }: { event: string } & Record<string, unknown>) =>
      logEvent(sink, requestId, level, event, fields);
    if (isDatabaseUnavailable(error)) {
      // Fail closed: nothing was answered from unverified state; the client retries after Retry-After.
      log("warn", { event: "d1_unavailable", method: c.req.method, path: new URL(c.req.url).pathname, error: error.message });
      return errorResponse(new ApiError("service_unavailable"));
    }
    if (error instanceof ConfigError) {
      log("error", { event: "config_error", setting: error.setting, message: error.message });
      return errorResponse(new ApiError("server_misconfigured"));
    }
    log("error", {
      event: "unhandled_error",
      method: c.req.method,
      path: new URL(c.req.url).pathname,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      stack: error instanceof Error ? error.stack : undefined,
    });
    return errorResponse(new ApiError("server_error", `A server error occurred (request id ${requestId}).`));
  }

  app.use("*", edgeChain({ onError: handleError }));

  const context = apiContext(clock, options.limiters);
  app.use("/api/*", context);
  app.use("/.well-known/*", context);
  // The phone page takes a QR id: the same per-IP limit as the API's id routes needs the same context.
  app.use("/qr/*", context);
  mountRoutes(app, ROUTES, { authenticate: bearerCaller, checkAnswers: options.checkAnswers, log: sink });
  // Resources that keep per-user state hear of a user's deletion here, so auth never imports them.
  for (const resource of RESOURCES) if (resource.onUserDeleted) onUserDeleted(resource.onUserDeleted);

  // Unmatched requests (404, and 405/OPTIONS on a known path) are answered by mountRoutes' not-found handler.
  app.onError(handleError);

  return app;
}
