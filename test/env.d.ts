import type { D1Migration } from "cloudflare:test";

declare global {
  // Vite's import.meta.glob (test/writers.test.ts reads the sources as text; workerd has no file system).
  interface ImportMeta {
    glob(pattern: string, options: { query: "?raw"; import: "default"; eager: true }): Record<string, unknown>;
  }

  namespace Cloudflare {
    // The test pool's env: the worker's bindings (worker-configuration.d.ts), its secrets, and the migrations.
    interface Env {
      JWT_SIGNING_KEYS?: string;
      JWT_SECRET?: string;
      JWT_ISSUER?: string;
      JWT_AUDIENCE?: string;
      TEST_MIGRATIONS: D1Migration[];
      /** The auxiliary worker bound to AuthService (vitest.config.ts). */
      CONSUMER: Fetcher;
    }
  }
}
