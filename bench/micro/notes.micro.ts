/**
 * Micro-benchmarks inside workerd (the test pool): where a page of notes spends its time, printed, never asserted.
 * Run: npm run bench:micro -- notes
 */
import { env } from "cloudflare:workers";
import { it } from "vitest";
import { printResults, time } from "./timing";
import { getConfig } from "../../src/config";
import { register } from "../../src/auth/service";
import { createApp } from "../../src/app";
import { buildDeps } from "../../src/deps";
import { parseQuery } from "../../src/http/query";
import { noteListQuerySchema } from "../../src/notes/schema";
import { createNote, listNotes } from "../../src/notes/service";
import type { Deps } from "../../src/deps";

it("prints the cost of each part of a page of notes", { timeout: 180_000 }, async () => {
  const config = getConfig(env);
  const deps = await buildDeps(env, () => Date.now());
  const user = await register(deps, { username: "notesbench", email: "notesbench@example.com", password: "bench password 123" });
  const userId = (user as { id: number }).id;
  for (let i = 0; i < 20; i++)
    await createNote(deps, userId, { title: `Bench note ${i + 1}`, body: `Body of bench note ${i + 1}. `.repeat(8) });
  const app = createApp({ clock: () => Date.now() });
  // Signed in through the app, so the token carries the app's own issuer and audience.
  const signedIn = await app.request(
    "/api/token/",
    {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "notesbench", password: "bench password 123" }),
    },
    env,
  );
  const { access } = (await signedIn.json()) as { access: string };
  const bearer = { headers: { authorization: `Bearer ${access}` } };
  const results: Record<string, number> = {};
  const n = 1000;

  await time("D1: SELECT 1 (raw)", n, () => env.DB.prepare("SELECT 1").raw(), results);
  await time(
    "D1: 20 note rows (raw, no count)",
    n,
    () =>
      env.DB.prepare(
        "SELECT id, user_id, title, body, created_at_ms, updated_at_ms FROM notes WHERE user_id = ? ORDER BY created_at_ms DESC, id DESC LIMIT 20",
      )
        .bind(userId)
        .raw(),
    results,
  );
  await time(
    "D1: 20 note ids only (raw)",
    n,
    () => env.DB.prepare("SELECT id FROM notes WHERE user_id = ? ORDER BY created_at_ms DESC, id DESC LIMIT 20").bind(userId).raw(),
    results,
  );
  await time("D1: count only (raw)", n, () => env.DB.prepare("SELECT count(*) FROM notes WHERE user_id = ?").bind(userId).raw(), results);
  const query = parseQuery(noteListQuerySchema, new URLSearchParams());
  const uncached: Deps = { ...deps, config: { ...config, notesCacheTtlSeconds: 0 } };
  await time("listNotes, NOTES_CACHE_TTL=0 (prepared statement + rows + present)", n, () => listNotes(uncached, userId, query), results);
  await time("listNotes, page cache warm", n, () => listNotes(deps, userId, query), results);
  await time("HTTP GET /health via app.request", n, () => app.request("/health", {}, env), results);
  const check = async (path: string) => {
    const res = await app.request(path, bearer, env);
    if (res.status !== 200) throw new Error(`${path} answered ${res.status}`);
  };
  await check("/api/hello/");
  await check("/api/notes/");
  await time("HTTP GET /api/hello/ via app.request (session cache warm)", n, () => app.request("/api/hello/", bearer, env), results);
  await time("HTTP GET /api/notes/ via app.request (page cache warm)", n, () => app.request("/api/notes/", bearer, env), results);

  printResults(results);
});
