/**
 * @module Service Binding — what another Worker gets through the `AuthService` entrypoint (src/index.ts): the
 * bearer check of the HTTP API, the same function with the same session cache and revocation, as a typed result
 * instead of an HTTP answer.
 */
import { ConfigError } from "../config";
import { buildDeps, type Clock, type Deps } from "../deps";
import type { Env } from "../env";
import { ApiError } from "../http/errors";
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

// Deps as values, never a promise shared between calls (src/lib/memo.ts says why).
const depsByEnv = new WeakMap<Env, Deps>();

/** The isolate's Deps for this env: tokens must carry JWT_ISSUER and JWT_AUDIENCE, exactly as over HTTP. */
async function depsFor(env: Env, clock: Clock): Promise<Deps> {
  const held = depsByEnv.get(env);
  if (held) return held;
  // A misconfigured env throws here and is retried on the next call.
  const deps = await buildDeps(env, clock);
  if (!depsByEnv.has(env)) depsByEnv.set(env, deps);
  return depsByEnv.get(env)!;
}

/** The bearer check for a service binding: `authorization` is the header value as the client sent it. */
export async function authenticateBinding(env: Env, authorization: string, clock: Clock, defer?: Defer): Promise<AuthResult> {
  try {
    if (typeof authorization !== "string") throw new ApiError("not_authenticated");
    const { claims, session } = await authenticate(await depsFor(env, clock), authorization, defer);
    return { ok: true, user: { id: session.userId, username: session.username }, session_id: claims.sid };
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.code === "server_misconfigured")) {
      return { ok: false, code: error.code as AuthRefusal["code"], detail: error.message, status: error.status as 401 };
    }
    if (error instanceof ConfigError)
      return { ok: false, code: "server_misconfigured", detail: "The auth worker is misconfigured.", status: 500 };
    throw error;
  }
}
