/** @module Worker Entry — the default export serves HTTP; Durable Object classes are exported beside it. */
import { createApp } from "./app";
import type { Env } from "./env";

const app = createApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
