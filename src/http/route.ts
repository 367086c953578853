/** @module Route — registers a path's handlers per method, and answers 405 with `Allow` for the rest. */
import type { Handler, Hono, MiddlewareHandler } from "hono";
import { ApiError } from "./errors";
import type { AppEnv } from "./types";

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** A handler chain: middleware first, the handler last (each a Hono middleware/handler). */
export type Chain = Array<MiddlewareHandler<AppEnv> | Handler<AppEnv>>;

/**
 * Mounts `handlers` on `path` (the app is non-strict, so the trailing slash is optional) and a
 * catch-all that answers 405 (RFC 9110 §15.5.6 requires the Allow header) for any other method.
 */
export function route(app: Hono<AppEnv>, pathWithSlash: string, handlers: Partial<Record<Method, Chain>>): void {
  // A non-strict Hono drops the request's trailing slash before matching, so patterns must not have one.
  const path = pathWithSlash.length > 1 ? pathWithSlash.replace(/\/$/, "") : pathWithSlash;
  const methods = Object.keys(handlers) as Method[];
  for (const method of methods) app.on(method, path, ...(handlers[method] as [MiddlewareHandler<AppEnv>]));
  const allowed = [...methods, ...(methods.includes("GET") ? ["HEAD"] : []), "OPTIONS"].join(", ");
  app.all(path, function methodNotAllowed(c) {
    if (c.req.method === "OPTIONS") return c.body(null, 204, { allow: allowed });
    throw new ApiError("method_not_allowed", `Method "${c.req.method.slice(0, 20)}" not allowed.`, {}, { allow: allowed });
  });
}
