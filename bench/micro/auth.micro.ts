/**
 * Micro-benchmarks inside workerd (the test pool): costs of the auth hot path, printed, never asserted.
 * Run: npm run bench:micro
 */
import { env } from "cloudflare:workers";
import { it } from "vitest";
import { printResults, time } from "./timing";
import { getConfig } from "../../src/config";
import { getDb } from "../../src/db/client";
import { getKeyRing } from "../../src/keys";
import { authenticate, obtainPair, register } from "../../src/auth/service";
import { verifyPassword, hashPassword } from "../../src/auth/passwords";
import type { TokenSettings } from "../../src/deps";
import { accessClaims, signToken, verifyToken } from "../../src/auth/tokens";
import type { Deps } from "../../src/deps";

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
  const deps: Deps = { db: getDb(env.DB, 3000), config, tokens, clock: () => Date.now() };
  await register(deps, { username: "bench", email: "bench@example.com", password: "bench password 123" });
  const device = { userAgent: "bench", ip: "127.0.0.1", country: null, city: null };
  const pair = await obtainPair(deps, { username: "bench", password: "bench password 123" }, device);
  const claims = accessClaims(tokens, 1, "sid", Math.floor(Date.now() / 1000));
  const hash = await hashPassword("bench password 123");
  const results: Record<string, number> = {};

  await time("sign access token (ES256)", 2000, () => signToken(tokens, claims), results);
  await time(
    "verify access token (ES256; verified-claims cache warm after the first call)",
    2000,
    () => verifyToken(tokens, pair.access, Date.now(), "access"),
    results,
  );
  await time(
    "authenticate: verify + session (session cache warm; SESSION_CACHE_TTL=0 reads D1, ~1 ms)",
    500,
    () => authenticate(deps, `Bearer ${pair.access}`),
    results,
  );
  await time("password check (argon2id m=19 MiB t=2 p=1)", 20, () => verifyPassword("bench password 123", hash), results);
  await time(
    "login: POST /api/token/ logic (hash + session insert + sign pair)",
    20,
    () => obtainPair(deps, { username: "bench", password: "bench password 123" }, device),
    results,
  );

  printResults(results);
});
