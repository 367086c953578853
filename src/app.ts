/** @module App — builds the Hono app: request ids, dependencies, the modules' routes, errors. */
import { Hono, type MiddlewareHandler } from "hono";
import { ConfigError, getConfig } from "./config";
import { getDb } from "./db/client";
import { systemClock, type Clock, type Deps } from "./deps";
import { getKeyRing } from "./auth/keys";
import { mountAuth } from "./auth/routes";
import type { TokenSettings } from "./auth/tokens";
import { ApiError, ValidationError, errorResponse } from "./http/errors";
import type { AppEnv } from "./http/types";
import { rateLimitsMiddleware, type LimiterOverrides } from "./http/ratelimit";
import { edgeChain, type LogSink } from "./http/security";
import type { Env } from "./env";
import { mountQr } from "./qr/routes";
import { mountNotes } from "./notes/routes";
import { mountOpenApi } from "./openapi/routes";
import { mountPages } from "./pages/routes";

export interface AppOptions {
  /** Milliseconds since the epoch; tests pass a movable clock. */
  clock?: Clock;
  /** Limiters to use instead of the Rate Limiting bindings (tests: memory limiters on their clock). */
  limiters?: LimiterOverrides;
  /** Where the per-request JSON log lines go (default: console). */
  log?: LogSink;
}

function log(level: "info" | "warn" | "error", fields: Record<string, unknown>): void {
  const line = JSON.stringify({ level, time: new Date().toISOString(), ...fields });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}


/** Deps for one request (or one Durable Object call): `origin` is the default `iss` and `aud`. */
export async function buildDeps(env: Env, origin: string, clock: Clock): Promise<Deps> {
  const config = getConfig(env);
  const keys = await getKeyRing(config);
  const tokens: TokenSettings = {
    keys,
    issuer: config.issuer ?? origin,
    audience: config.audience ?? origin,
    accessTokenLifetimeSeconds: config.accessTokenLifetimeSeconds,
    refreshTokenLifetimeSeconds: config.refreshTokenLifetimeSeconds,
    leewaySeconds: config.leewaySeconds,
  };
  return { db: getDb(env.DB), config, tokens, clock };
}

function depsMiddleware(clock: Clock): MiddlewareHandler<AppEnv> {
  return async function dependencies(c, next) {
    c.set("deps", await buildDeps(c.env, new URL(c.req.url).origin, clock));
    await next();
  };
}

export function createApp(options: AppOptions = {}): Hono<AppEnv> {
  const clock = options.clock ?? systemClock;
  // strict: false — every route answers with and without its trailing slash, as DESIGN.md requires.
  const app = new Hono<AppEnv>({ strict: false });

  app.use("*", edgeChain({ log: options.log }));

  app.get("/health", (c) => c.json({ status: "ok" }));

  app.use("/api/*", depsMiddleware(clock));
  app.use("/.well-known/*", depsMiddleware(clock));
  app.use("/api/*", rateLimitsMiddleware(options.limiters));
  mountAuth(app);
  mountQr(app);
  mountNotes(app);
  mountOpenApi(app);
  mountPages(app);

  app.notFound(() => errorResponse(new ApiError("not_found")));

  app.onError(function handleError(error, c) {
    if (error instanceof ApiError || error instanceof ValidationError) return errorResponse(error);
    const requestId = c.get("requestId");
    if (error instanceof ConfigError) {
      log("error", { event: "config_error", request_id: requestId, setting: error.setting, message: error.message });
      return errorResponse(new ApiError("server_misconfigured"));
    }
    log("error", {
      event: "unhandled_error",
      request_id: requestId,
      method: c.req.method,
      path: new URL(c.req.url).pathname,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      stack: error instanceof Error ? error.stack : undefined,
    });
    return errorResponse(new ApiError("server_error", `A server error occurred (request id ${requestId}).`));
  });

  return app;
}
