import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

// The same SQL drizzle-kit generated into migrations/ and wrangler applies; idempotent per file.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
