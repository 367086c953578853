/** @module Worker Entry — the default export serves HTTP; Durable Object classes are exported beside it. */
import { WorkerEntrypoint } from "cloudflare:workers";
import { createApp } from "./app";
import { authenticateBinding, type AuthResult } from "./auth/service-binding";

export type { AuthResult } from "./auth/service-binding";
import { systemClock } from "./deps";
import type { Env } from "./env";
import { runHousekeeping } from "./auth/purge";

export { QrSession } from "./qr/session";
export { AttemptCounter } from "./auth/attempt-counter";

const app = createApp();

/**
 * For the team's other Workers, over a service binding (`entrypoint = "AuthService"`): the bearer check of the
 * HTTP API — signature, claims, and the session live in D1 (revocation included) — as one RPC call.
 */
export class AuthService extends WorkerEntrypoint<Env> {
  /** `authorization`: the request's Authorization header as received (`Bearer <access>`). */
  authenticate(authorization: string): Promise<AuthResult> {
    return authenticateBinding(this.env, authorization, systemClock, (work) => this.ctx.waitUntil(work));
  }
}

export default {
  fetch: app.fetch,
  // Cron (wrangler.toml [triggers]): housekeeping, bounded per run.
  async scheduled(controller, env, ctx) {
    ctx.waitUntil(runHousekeeping(env, controller.scheduledTime));
  },
} satisfies ExportedHandler<Env>;
