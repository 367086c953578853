/** @module Worker Entry — the default export serves HTTP; Durable Object classes are exported beside it. */
import { createApp } from "./app";
import type { Env } from "./env";
import { runHousekeeping } from "./auth/purge";

export { QrSession } from "./qr/session";
export { AttemptCounter } from "./auth/attempt-counter";

const app = createApp();

export default {
  fetch: app.fetch,
  // Cron (wrangler.toml [triggers]): housekeeping, bounded per run.
  async scheduled(controller, env, ctx) {
    ctx.waitUntil(runHousekeeping(env, controller.scheduledTime));
  },
} satisfies ExportedHandler<Env>;
