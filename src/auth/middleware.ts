/** @module Bearer Check — `Authorization: Bearer <jwt>`, checked against the session in D1; src/app.ts hands it to mountRoutes. */
import type { Context } from "hono";
import type { AppEnv, Authenticated } from "../http/types";
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

/** The caller of a bearer route, or a thrown 401: what every route with `auth: "bearer"` gets as `input.auth`. */
export function bearerCaller(c: Context<AppEnv>): Promise<Authenticated> {
  return authenticate(c.get("deps"), c.req.header("authorization") ?? null, deferrer(c));
}
