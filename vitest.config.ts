import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
// @ts-expect-error -- plain ESM helper shared with `npm run dev`; generates throwaway keys per run.
import { generateJwks } from "./scripts/keys.mjs";
// @ts-expect-error -- plain ESM build script; bundles client/ into src/pages/client.generated.ts.
import { buildClient } from "./scripts/build-client.mjs";

// Keys are generated per test run: no key material lives in the repository.
const signingKeys = generateJwks("ES256", "test-key-1");

// The worker project's name; the pool serves our worker as the runner "vitest-plugin-runner-" + that name.
const PROJECT = "worker";
const RUNNER = `vitest-plugin-runner-${PROJECT}`;

export default defineConfig(async () => {
  // The pages inline the browser bundle: every vitest run (tests and bench:micro) builds it fresh from client/.
  await buildClient({ quiet: true });
  const workers = {
    // As the bundle does (wrangler.toml [alias]): "zod" is src/lib/zod-lazy.ts, so every test goes through the
    // members it forwards (one missing fails the tests that use it). Its loader is the eager one: no require() here.
    resolve: {
      alias: [
        { find: /^zod$/, replacement: fileURLToPath(new URL("./src/lib/zod-lazy.ts", import.meta.url)) },
        { find: /^\.\/zod-load$/, replacement: fileURLToPath(new URL("./src/lib/zod-load.eager.ts", import.meta.url)) },
      ],
    },
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
            // Cheap argon2 for new hashes, as Django's test settings use MD5PasswordHasher: accepted only on this reserved
            // *.test issuer; tests of the deployed cost use deployedHashing() (test/helpers.ts). npm test 132 -> 97 s.
            PASSWORD_HASH_COST: "test",
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
              serviceBindings: { AUTH: { name: RUNNER, entrypoint: "AuthService" }, API: RUNNER },
            },
          ],
          serviceBindings: { CONSUMER: "consumer" },
        },
      }),
    ],
    test: {
      name: PROJECT,
      include: ["test/**/*.test.ts"],
      exclude: ["test/e2e/**", "test/client/**"],
      setupFiles: ["./test/setup.ts"],
      // Pre-bundled once per run: each test file's runtime then loads a dozen dependency modules, not zod's and
      // drizzle's hundreds one by one (setup 105 -> 62 s summed over 30 files; npm test 148 -> 131 s).
      deps: {
        optimizer: {
          ssr: {
            enabled: true,
            include: [
              "zod/v4",
              "drizzle-orm",
              "drizzle-orm/batch",
              "drizzle-orm/d1",
              "drizzle-orm/sqlite-core",
              "hono",
              "hono/cors",
              "hono/jsx",
              "hono/jsx/jsx-runtime",
              "jose",
              "@noble/hashes/blake2.js",
              "@noble/hashes/legacy.js",
              "@noble/hashes/pbkdf2.js",
            ],
          },
        },
      },
      // Every request logs a JSON line; show them only for failing tests.
      silent: "passed-only" as const,
      // 5 s (the default) timed out sign-in-heavy tests on this 2-core machine shared with other jobs (load 7-10).
      testTimeout: 20_000,
    },
  };
  // The browser engine's tests need no Worker runtime: plain Node, no per-file runtime to start.
  const client = { test: { name: "client", include: ["test/client/**/*.test.ts"], environment: "node" as const } };
  return {
    test: {
      projects: [workers, client],
      // Each worker file gets its own runtime (~2-3 s to start): two at a time keeps both cores busy while one starts.
      // Not isolate: false: one runtime for every file got slower with every request (17 min, stopped).
      maxWorkers: 2,
    },
  };
});
