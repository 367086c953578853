/**
 * Micro-benchmarks inside workerd (the test pool): costs of the auth hot path, printed, never asserted.
 * Run: npm run bench:micro
 */
import { env } from "cloudflare:workers";
import { it } from "vitest";
import { getConfig } from "../../src/config";
import { getDb } from "../../src/db/client";
import { getKeyRing } from "../../src/auth/keys";
import { authenticate, obtainPair, register } from "../../src/auth/service";
import { verifyPassword, hashPassword } from "../../src/auth/passwords";
import { accessClaims, signToken, verifyToken, type TokenSettings } from "../../src/auth/tokens";
import type { Deps } from "../../src/deps";

async function time(label: string, iterations: number, fn: () => Promise<unknown>, results: Record<string, number>) {
  for (let i = 0; i < Math.min(50, iterations); i++) await fn(); // warm-up
  const start = performance.now();
  for (let i = 0; i < iterations; i++) await fn();
  // workerd coarsens timers; only long loops give a meaningful average.
  const microseconds = ((performance.now() - start) * 1000) / iterations;
  results[label] = Math.round(microseconds * 10) / 10;
}

it("prints the cost of verifying a token and of one login", { timeout: 120_000 }, async () => {
  const config = getConfig(env);
  const keys = await getKeyRing(config);
  const tokens: TokenSettings = {
    keys,
    issuer: "https://bench.test",
    audience: "https://bench.test",
    accessTokenLifetimeSeconds: 300,
    refreshTokenLifetimeSeconds: 86_400,
    leewaySeconds: 0,
  };
  const deps: Deps = { db: getDb(env.DB), config, tokens, clock: () => Date.now() };
  await register(deps, { username: "bench", email: "bench@example.com", password: "bench password 123" });
  const device = { userAgent: "bench", ip: "127.0.0.1", country: null, city: null };
  const pair = await obtainPair(deps, { username: "bench", password: "bench password 123" }, device);
  const claims = accessClaims(tokens, 1, "sid", Math.floor(Date.now() / 1000));
  const hash = await hashPassword("bench password 123");
  const results: Record<string, number> = {};

  await time("sign access token (ES256)", 2000, () => signToken(tokens, claims), results);
  await time("verify access token: signature + claims (ES256)", 2000, () => verifyToken(tokens, pair.access, Date.now(), "access"), results);
  await time("authenticate: verify + session read from D1", 500, () => authenticate(deps, `Bearer ${pair.access}`), results);
  await time("password check (PBKDF2-SHA256, 100k iterations)", 20, () => verifyPassword("bench password 123", hash), results);
  await time("login: POST /api/token/ logic (hash + session insert + sign pair)", 20, () => obtainPair(deps, { username: "bench", password: "bench password 123" }, device), results);

  const lines = Object.entries(results).map(([label, us]) => `  ${us.toFixed(1).padStart(10)} µs  ${label}`);
  console.log(`\nµs per operation, inside workerd (vitest pool):\n${lines.join("\n")}`);
});
