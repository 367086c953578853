import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
// @ts-expect-error -- plain ESM helper shared with `npm run dev`; generates throwaway keys per run.
import { generateJwks } from "./scripts/keys.mjs";
// @ts-expect-error -- plain ESM build script; bundles client/ into src/pages/client.generated.ts.
import { buildClient } from "./scripts/build-client.mjs";

// Keys are generated per test run: no key material lives in the repository.
const signingKeys = generateJwks("ES256", "test-key-1");

export default defineConfig(async () => {
  // The pages inline the browser bundle: every vitest run (tests and bench:micro) builds it fresh from client/.
  await buildClient({ quiet: true });
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            JWT_SIGNING_KEYS: JSON.stringify(signingKeys),
            // Required settings (src/config.ts): the origin test/helpers.ts calls the worker at.
            JWT_ISSUER: "https://auth.example.test",
            JWT_AUDIENCE: "https://auth.example.test",
            // Refused sign-ins are padded to a floor when deployed; test rigs sign in wrongly by the hundred.
            SIGNIN_REFUSAL_FLOOR_MS: "0",
            RATE_LIMITS: "off",
            // No MAIL_FROM: mail stays off (no notice per sign-in through the pool's real MAILER, which writes files);
            // test/account-mail.test.ts and test/fail-closed.test.ts set it where they need it.
            // Reset and resend-activation answers are padded to a floor when deployed; test/account-mail.test.ts sets one.
            ACCOUNT_MAIL_FLOOR_MS: "0",
            TEST_MIGRATIONS: await readD1Migrations("./migrations"),
          },
          // Another team's Worker with a real service binding to our AuthService entrypoint (test/auth-service.test.ts).
          workers: [
            {
              name: "consumer",
              modules: true,
              scriptPath: "./test/fixtures/consumer-worker.js",
              compatibilityDate: "2026-04-01",
              // The pool runs our worker as its runner ("vitest-pool-workers-runner-" + the project name, empty here).
              serviceBindings: {
                AUTH: { name: "vitest-pool-workers-runner-", entrypoint: "AuthService" },
                API: "vitest-pool-workers-runner-",
              },
            },
          ],
          serviceBindings: { CONSUMER: "consumer" },
        },
      }),
    ],
    test: {
      include: ["test/**/*.test.ts"],
      exclude: ["test/e2e/**"],
      setupFiles: ["./test/setup.ts"],
      // Every request logs a JSON line; show them only for failing tests.
      silent: "passed-only" as const,
      // Each file gets its own runtime (~3 s to start, 8-12 s under load): two at a time keeps both cores busy while
      // one starts. Not isolate: false: one runtime for every file got slower with every request (17 min, stopped).
      maxWorkers: 2,
      // 5 s (the default) timed out sign-in-heavy tests on this 2-core machine shared with other jobs (load 7-10).
      testTimeout: 20_000,
    },
  };
});
