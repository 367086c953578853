/** @module Bearer Middleware — `Authorization: Bearer <jwt>`, checked against the session in D1. */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../http/types";
import { authenticate } from "./service";

export function requireAuth(): MiddlewareHandler<AppEnv> {
  return async function bearerAuth(c, next) {
    c.set("auth", await authenticate(c.get("deps"), c.req.header("authorization") ?? null));
    await next();
  };
}
