/** @module Bearer Middleware — `Authorization: Bearer <jwt>`, checked against the session in D1. */
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../http/types";
import { authenticate, type Defer } from "./service";

/** ctx.waitUntil when the request has an execution context (app.request() in tests may not). */
function deferrer(c: Context<AppEnv>): Defer | undefined {
  try {
    const ctx = c.executionCtx;
    return (work) => ctx.waitUntil(work);
  } catch {
    return undefined;
  }
}

export function requireAuth(): MiddlewareHandler<AppEnv> {
  return async function bearerAuth(c, next) {
    c.set("auth", await authenticate(c.get("deps"), c.req.header("authorization") ?? null, deferrer(c)));
    await next();
  };
}
