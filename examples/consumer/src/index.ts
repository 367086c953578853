/**
 * A minimal Worker of another team: its routes are protected by the auth worker's `AuthService` through a
 * service binding (wrangler.toml). `requireUser` is the Hono middleware to copy.
 */
import { Hono, type MiddlewareHandler } from "hono";
import type { AuthResult, AuthService } from "../../../src/index";

interface Env {
  AUTH: Service<AuthService>;
}

type User = Extract<AuthResult, { ok: true }>["user"];

/** 401 with simplejwt's body when the bearer token is refused; otherwise `c.get("user")` is the caller. */
export function requireUser(): MiddlewareHandler<{ Bindings: Env; Variables: { user: User; sessionId: string } }> {
  return async (c, next) => {
    const result = await c.env.AUTH.authenticate(c.req.header("authorization") ?? "");
    if (!result.ok) {
      return c.json(
        { detail: result.detail, code: result.code },
        result.status,
        result.status === 401 ? { "www-authenticate": 'Bearer realm="api"' } : {},
      );
    }
    c.set("user", result.user);
    c.set("sessionId", result.session_id);
    await next();
  };
}

const app = new Hono<{ Bindings: Env; Variables: { user: User; sessionId: string } }>();

app.get("/", (c) => c.text("consumer-example: GET /me with Authorization: Bearer <access from the auth worker>\n"));
app.get("/me", requireUser(), (c) => c.json({ hello: c.get("user").username, user: c.get("user"), session_id: c.get("sessionId") }));

export default app;
