// The load scenarios of `npm run bench` (what each request is, and the preflight that checks it) and the seed data.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { call, expectStatus, pool } from "./http.mjs";

export const USER = { username: "bench", email: "bench@example.com", password: "bench-Pass-7f3k2q9z" };
const credentials = { username: USER.username, password: USER.password };

export async function signIn(url) {
  return expectStatus(200, url, "POST", "/api/token/", { json: credentials });
}

/** Refresh tokens of `count` brand-new sessions, one a line: each starts one rotation chain. */
async function refreshPool(url, count, file) {
  const pairs = await pool(Array.from({ length: count }), 4, () => signIn(url));
  writeFileSync(file, `${pairs.map((p) => p.refresh).join("\n")}\n`);
  return file;
}

function bearer(token) {
  return { authorization: `Bearer ${token}` };
}
const JSON_HEADERS = { "content-type": "application/json" };

/** Each: a preflight that must pass (so we never benchmark an error page), then the load spec. settings: { notes, connections }. */
export function loadScenarios(settings, tmpDir) {
  return {
    floor: {
      label: "one-line worker (the floor)",
      // Served by its own workerd (bench/lib/server.mjs ONE_LINE_WORKER), on its own socket like ours.
      target: "floor",
      async spec(ctx) {
        const body = await expectStatus(200, ctx.url, "GET", "/health");
        if (body.status !== "ok") throw new Error(`the one-line worker answered ${JSON.stringify(body)}`);
        return { method: "GET", path: "/health" };
      },
    },
    health: {
      label: "GET /health (the global chain)",
      async spec(ctx) {
        await expectStatus(200, ctx.url, "GET", "/health");
        return { method: "GET", path: "/health" };
      },
    },
    hello: {
      label: "GET /api/hello/ (bearer)",
      async spec(ctx) {
        const { access } = await signIn(ctx.url);
        const body = await expectStatus(200, ctx.url, "GET", "/api/hello/", { token: access });
        if (body.message !== "Hello, World!") throw new Error(`unexpected /api/hello/ body ${JSON.stringify(body)}`);
        return { method: "GET", path: "/api/hello/", headers: bearer(access) };
      },
    },
    notes: {
      label: `GET /api/notes/ (page of ${settings.notes})`,
      async spec(ctx) {
        if (ctx.notesUnavailable) return { skip: ctx.notesUnavailable };
        const { access } = await signIn(ctx.url);
        const body = await expectStatus(200, ctx.url, "GET", "/api/notes/", { token: access });
        if (!Array.isArray(body.results) || body.results.length !== Math.min(settings.notes, 20)) {
          throw new Error(`GET /api/notes/ gave ${body.results?.length} results, expected ${Math.min(settings.notes, 20)}`);
        }
        return { method: "GET", path: "/api/notes/", headers: bearer(access) };
      },
    },
    verify: {
      label: "POST /api/token/verify/",
      async spec(ctx) {
        const { access } = await signIn(ctx.url);
        await expectStatus(200, ctx.url, "POST", "/api/token/verify/", { json: { token: access } });
        return { method: "POST", path: "/api/token/verify/", headers: JSON_HEADERS, body: JSON.stringify({ token: access }) };
      },
    },
    signin: {
      label: "POST /api/token/ (sign-in)",
      async spec(ctx) {
        await signIn(ctx.url);
        return { method: "POST", path: "/api/token/", headers: JSON_HEADERS, body: JSON.stringify(credentials) };
      },
    },
    refresh: {
      label: "POST /api/token/refresh/ (fresh)",
      async spec(ctx, phase) {
        const probe = await signIn(ctx.url);
        await expectStatus(200, ctx.url, "POST", "/api/token/refresh/", { json: { refresh: probe.refresh } });
        // One session per connection, plus spares; a token once presented is never sent again.
        const count = settings.connections + 4;
        const tokensFile = await refreshPool(ctx.url, count, join(tmpDir, `refresh-${phase}.txt`));
        return {
          method: "POST",
          path: "/api/token/refresh/",
          headers: JSON_HEADERS,
          chain: { field: "refresh", tokensFile, tokens: count },
        };
      },
    },
  };
}

/** Registers the bench user and `notes` notes; says why if this build serves no notes API. */
export async function seed(url, notes) {
  await expectStatus(201, url, "POST", "/api/auth/register/", { json: USER });
  const { access } = await signIn(url);
  const probe = await call(url, "GET", "/api/notes/", { token: access });
  if (probe.status === 404) return { notesUnavailable: "GET /api/notes/ answered 404: the notes API is not served by this build" };
  if (probe.status !== 200)
    return { notesUnavailable: `GET /api/notes/ answered ${probe.status}: ${JSON.stringify(probe.body).slice(0, 200)}` };
  await pool(Array.from({ length: notes }), 4, (_, i) =>
    expectStatus(201, url, "POST", "/api/notes/", {
      token: access,
      json: { title: `Bench note ${i + 1}`, body: `Body of bench note ${i + 1}. `.repeat(8) },
    }),
  );
  return { notesUnavailable: null };
}
