/**
 * @module Service Binding — what another Worker gets through the `AuthService` entrypoint (src/index.ts): the
 * bearer check of the HTTP API, the same function with the same session cache and revocation, as a typed result
 * instead of an HTTP answer.
 */
import { ConfigError } from "../config";
import { buildDeps, type Clock, type Deps } from "../deps";
import type { Env } from "../env";
import { ApiError } from "../http/errors";
import { Memo } from "../lib/memo";
import { authenticate, type Defer } from "./service";

/** A refusal with simplejwt's `code`, as the HTTP API would answer it (`status` included for callers that relay it). */
interface AuthRefusal {
  ok: false;
  code: "not_authenticated" | "bad_authorization_header" | "token_not_valid" | "user_inactive" | "server_misconfigured";
  detail: string;
  status: 401 | 500;
}

interface AuthSuccess {
  ok: true;
  user: { id: number; username: string };
  session_id: string;
}

export type AuthResult = AuthSuccess | AuthRefusal;

// Origins one isolate verifies tokens for (workers.dev, a custom domain, localhost): a few; the bound stops a flood.
const MAX_ORIGINS = 16;
const depsByOrigin = new WeakMap<Env, Memo<Deps>>();

/**
 * With JWT_ISSUER set, tokens must carry it, as over HTTP. Unset, the HTTP API takes each request's own origin as
 * `iss`; a binding call has no request, so a token's own `iss` (an http(s) origin) is the one it is checked
 * against — its signature by our keys already proves this worker issued it, for one of its origins.
 */
function claimedIssuer(authorization: string): string | null {
  const token = authorization.trim().split(/\s+/)[1] ?? "";
  const payload = token.split(".")[1];
  if (!payload || payload.length > 8192) return null;
  try {
    const json = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/"))) as { iss?: unknown };
    if (typeof json.iss !== "string") return null;
    const url = new URL(json.iss);
    return (url.protocol === "https:" || url.protocol === "http:") && url.origin === json.iss ? json.iss : null;
  } catch {
    return null;
  }
}

function depsFor(env: Env, origin: string, clock: Clock): Promise<Deps> {
  let byOrigin = depsByOrigin.get(env);
  if (!byOrigin) depsByOrigin.set(env, (byOrigin = new Memo<Deps>(MAX_ORIGINS)));
  return byOrigin.get(origin, () => buildDeps(env, origin, clock));
}

/** The bearer check for a service binding: `authorization` is the header value as the client sent it. */
export async function authenticateBinding(env: Env, authorization: string, clock: Clock, defer?: Defer): Promise<AuthResult> {
  try {
    if (typeof authorization !== "string") throw new ApiError("not_authenticated");
    const configured = env.JWT_ISSUER?.trim();
    // Any well-formed origin will do when no token parses: authenticate() refuses the token itself.
    const origin = configured || claimedIssuer(authorization) || "https://invalid.invalid";
    const { claims, session } = await authenticate(await depsFor(env, origin, clock), authorization, defer);
    return { ok: true, user: { id: session.userId, username: session.username }, session_id: claims.sid };
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.code === "server_misconfigured")) {
      return { ok: false, code: error.code as AuthRefusal["code"], detail: error.message, status: error.status as 401 };
    }
    if (error instanceof ConfigError) return { ok: false, code: "server_misconfigured", detail: "The auth worker is misconfigured.", status: 500 };
    throw error;
  }
}
