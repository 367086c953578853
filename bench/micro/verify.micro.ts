/**
 * Micro-benchmarks inside workerd (the test pool): where POST /api/token/verify/ spends its time beyond
 * the floor's. Printed, never asserted. Run: npm run bench:micro -- verify
 */
import { env } from "cloudflare:workers";
import { it } from "vitest";
import { printResults, time } from "./timing";
import { Hono } from "hono";
import { createApp } from "../../src/app";
import { buildDeps } from "../../src/deps";
import { verify } from "../../src/auth/service";
import { verifyToken } from "../../src/auth/tokens";
import { readBodyText, readJsonObject } from "../../src/http/body";

it("prints the cost of each part of a token verify", { timeout: 180_000 }, async () => {
  const app = createApp({ clock: () => Date.now() });
  const json = (body: unknown) => ({ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  await app.request(
    "/api/auth/register/",
    json({ username: "verifybench", email: "verifybench@example.com", password: "bench password 123" }),
    env,
  );
  const signedIn = await app.request("/api/token/", json({ username: "verifybench", password: "bench password 123" }), env);
  const { access } = (await signedIn.json()) as { access: string };
  const body = JSON.stringify({ token: access });
  const results: Record<string, number> = {};
  const postTo = (path: string, b: string) =>
    new Request(`https://bench.test${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", "content-length": String(b.length) },
      body: b,
    });
  const n = 3000;
  const post = () =>
    new Request("https://bench.test/api/token/verify/", {
      method: "POST",
      headers: { "content-type": "application/json", "content-length": String(body.length) },
      body,
    });

  await time("new Request(POST, body) only", n, async () => post(), results);
  await time("readBodyText(request)", n, () => readBodyText(post()), results);
  await time(
    "request.arrayBuffer() + TextDecoder(fatal)",
    n,
    async () => new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(await post().arrayBuffer()),
    results,
  );
  await time("readJsonObject(request)", n, () => readJsonObject(post()), results);
  const appDeps = await buildDeps(env, () => Date.now());
  await time("buildDeps", n, () => buildDeps(env, () => Date.now()), results);
  await time("verifyToken (claims cache warm)", n, () => verifyToken(appDeps.tokens, access, Date.now(), undefined), results);
  await time("verify(deps, {token}) service", n, () => verify(appDeps, { token: access }), results);
  await time(
    "HTTP GET /api/hello/ via app.request",
    n,
    () => app.request("/api/hello/", { headers: { authorization: `Bearer ${access}` } }, env),
    results,
  );
  await time("HTTP GET /health via app.request", n, () => app.request("/health", {}, env), results);
  const check = await app.request("/api/token/verify/", json({ token: access }), env);
  if (check.status !== 200) throw new Error(`verify answered ${check.status}`);
  const bare = new Hono();
  bare.post("/x", async (c) => c.json(await readJsonObject(c.req.raw)));
  bare.post("/t", async (c) => c.json(JSON.parse(await c.req.raw.text())));
  bare.post("/n", async (c) => c.json({}));
  await time("bare Hono POST readJsonObject", n, () => bare.request(postTo("/x", body), undefined, env), results);
  await time("bare Hono POST request.text()", n, () => bare.request(postTo("/t", body), undefined, env), results);
  await time("bare Hono POST body unread", n, () => bare.request(postTo("/n", body), undefined, env), results);
  await time("HTTP POST /health (405)", n, () => app.request(postTo("/health", body), undefined, env), results);
  await time("HTTP GET /api/token/verify/ (405)", n, () => app.request("/api/token/verify/", {}, env), results);
  await time("HTTP POST /api/token/verify/ {} (400)", n, () => app.request(postTo("/api/token/verify/", "{}"), undefined, env), results);
  await time(
    "HTTP POST /api/token/verify/ garbage token (401)",
    n,
    () => app.request(postTo("/api/token/verify/", JSON.stringify({ token: "x.y.z" })), undefined, env),
    results,
  );
  await time("HTTP POST /api/token/verify/ via app.request", n, () => app.request(post(), undefined, env), results);

  printResults(results);
});
