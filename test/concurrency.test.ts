/**
 * Requests of one isolate never share each other's I/O (issue 26). Each call reaches the worker from another Worker
 * through a service binding (test/fixtures/consumer-worker.js), so every request has its own context, as in
 * production (calls through `exports.default.fetch` share the test's context and cannot show it): a request that awaited a
 * D1 read started by another request was resumed in that request's context and cancelled when it ended — a
 * hang, then a 500. The contract under concurrency is 200/201 or 401 (revoked), or 503 (D1 down), never a 500.
 */
import { describe, expect, it } from "vitest";
import { Memo } from "../src/lib/memo";
import { IsolateCache } from "../src/http/isolate-cache";
import { env } from "cloudflare:workers";
import { countingD1, rig, signUp, withTimeout, type Call } from "./helpers";

/** One request from another Worker: its own request context in ours. */
function api(path: string, call: Call = {}): Promise<Response> {
  const headers: Record<string, string> = { ...(call.headers ?? {}) };
  if (call.token) headers.authorization = `Bearer ${call.token}`;
  if (call.body !== undefined) headers["content-type"] = "application/json";
  return env.CONSUMER.fetch(`https://consumer.example/proxy${path}`, {
    method: call.method ?? (call.body === undefined ? "GET" : "POST"),
    headers,
    body: call.body === undefined ? undefined : JSON.stringify(call.body),
  });
}

/** Every request of a round must answer within this; a cancelled continuation never does. */
const ANSWER_WITHIN_MS = 10_000;

async function statusOf(what: string, res: Promise<Response>): Promise<number> {
  const answer = await withTimeout(res, ANSWER_WITHIN_MS, what);
  await answer.arrayBuffer();
  return answer.status;
}

describe("a request whose session read is slow, and others arriving meanwhile", { timeout: 60_000 }, () => {
  // The leader runs in the test's own context (the rig's in-process app, same isolate, same caches) with its D1
  // read held open; the followers arrive through the service binding, each in its own context, on the same
  // cold session. On the old code they awaited the leader's read and resumed in its context: a note's body was
  // then "I/O of a different request" (a 500), and a request left in a context that ended was cancelled.
  it("every request arriving while another request's read of its session is in flight answers for itself", async () => {
    const user = await signUp();
    const counting = countingD1();
    const leader = rig({ env: { DB: counting.db } });
    counting.hold(/FROM sessions AS s INNER JOIN users/);
    const leading = leader.call("/api/hello/", { token: user.access });
    const reads = Array.from({ length: 6 }, (_, i) => statusOf(`hello ${i}`, api("/api/hello/", { token: user.access })));
    const writes = Array.from({ length: 3 }, (_, i) =>
      statusOf(`note ${i}`, api("/api/notes/", { token: user.access, body: { title: `meanwhile ${i}` } })),
    );
    const followers = Promise.all([...reads, ...writes]);
    // Let the followers reach the bearer check while the leader's read is still held.
    await new Promise((resolve) => setTimeout(resolve, 300));
    counting.release();
    expect((await leading).status).toBe(200);
    expect(await followers).toEqual([...Array(6).fill(200), ...Array(3).fill(201)]);
  });

  it("a follower's answer does not depend on the leader finishing: the leader's read fails and the followers still answer", async () => {
    const user = await signUp();
    const counting = countingD1();
    const leader = rig({ env: { DB: counting.db, D1_TIMEOUT_MS: "200" } });
    counting.fail("hang");
    const leading = leader.call("/api/hello/", { token: user.access });
    const followers = Promise.all(Array.from({ length: 6 }, (_, i) => statusOf(`hello ${i}`, api("/api/hello/", { token: user.access }))));
    expect((await leading).status).toBe(503);
    counting.fail(null);
    expect(await followers).toEqual(Array(6).fill(200));
  });
});

describe("concurrent requests on one cold session", { timeout: 60_000 }, () => {
  it("bearer reads and note writes on a cold session all answer 200/201 while another request rotates its refresh token", async () => {
    for (let round = 0; round < 6; round++) {
      const user = await signUp();
      const reads = Array.from({ length: 10 }, (_, i) => statusOf(`hello ${i}`, api("/api/hello/", { token: user.access })));
      const writes = Array.from({ length: 4 }, (_, i) =>
        statusOf(
          `note ${i}`,
          api("/api/notes/", { token: user.access, body: { title: `round ${round} note ${i}`, body: "x".repeat(2000) } }),
        ),
      );
      const rotation = statusOf("refresh", api("/api/token/refresh/", { body: { refresh: user.refresh } }));
      const statuses = await Promise.all([...reads, ...writes, rotation]);
      expect(statuses.slice(0, 10)).toEqual(Array(10).fill(200));
      expect(statuses.slice(10, 14)).toEqual(Array(4).fill(201));
      expect(statuses[14]).toBe(200);
    }
  });

  it("bearer reads and note writes on a cold session answer 200/201 or 401, never 500, while another request signs it out", async () => {
    for (let round = 0; round < 6; round++) {
      const user = await signUp();
      const reads = Array.from({ length: 10 }, (_, i) => statusOf(`hello ${i}`, api("/api/hello/", { token: user.access })));
      const writes = Array.from({ length: 4 }, (_, i) =>
        statusOf(
          `note ${i}`,
          api("/api/notes/", { token: user.access, body: { title: `round ${round} note ${i}`, body: "y".repeat(2000) } }),
        ),
      );
      const logout = statusOf("blacklist", api("/api/token/blacklist/", { body: { refresh: user.refresh } }));
      const statuses = await Promise.all([...reads, ...writes, logout]);
      for (const status of statuses.slice(0, 10)) expect([200, 401]).toContain(status);
      for (const status of statuses.slice(10, 14)) expect([201, 401]).toContain(status);
      expect(statuses[14]).toBe(200);
      // Once the sign-out has answered, the session is refused.
      expect(await statusOf("after", api("/api/hello/", { token: user.access }))).toBe(401);
    }
  });

  it("lists of notes on a cold page cache all answer 200 while another request writes a note", async () => {
    for (let round = 0; round < 4; round++) {
      const user = await signUp();
      const lists = Array.from({ length: 10 }, (_, i) => statusOf(`list ${i}`, api("/api/notes/?page_size=5", { token: user.access })));
      const write = statusOf("note", api("/api/notes/", { token: user.access, body: { title: "written meanwhile" } }));
      expect(await Promise.all([...lists, write])).toEqual([...Array(10).fill(200), 201]);
    }
  });
});

describe("the isolate caches share values, never loads in flight", () => {
  it("concurrent cold reads of one key each run their own load", async () => {
    const cache = new IsolateCache<string>({ maxEntries: 10 });
    let loads = 0;
    const load = async () => {
      loads += 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return "row";
    };
    await Promise.all([cache.read("k", 1, 0, 1000, load), cache.read("k", 1, 0, 1000, load), cache.read("k", 1, 0, 1000, load)]);
    expect(loads).toBe(3);
    // The value is kept: a later read within the TTL loads nothing.
    expect(await cache.read("k", 1, 10, 1000, load)).toBe("row");
    expect(loads).toBe(3);
  });

  it("a load in flight when its key is evicted stores nothing, whichever of several finishes last", async () => {
    const cache = new IsolateCache<string>({ maxEntries: 10 });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = cache.read("k", 1, 0, 1000, async () => (await gate, "before the write"));
    const other = cache.read("k", 1, 0, 1000, async () => (await gate, "before the write too"));
    cache.evictOwner(1);
    release();
    await Promise.all([slow, other]);
    expect(cache.size).toBe(0);
  });

  it("of two loads of one key, the later-started one's value is kept", async () => {
    const cache = new IsolateCache<string>({ maxEntries: 10 });
    let releaseOld!: () => void;
    const old = cache.read("k", 1, 0, 1000, () => new Promise<string>((resolve) => (releaseOld = () => resolve("old"))));
    await cache.read("k", 1, 5, 1000, async () => "new");
    releaseOld();
    await old;
    expect(await cache.read("k", 1, 6, 1000, async () => "loaded again")).toBe("new");
  });

  it("Memo keeps the value, not the promise: concurrent misses each compute, every later call gets the first value", async () => {
    const memo = new Memo<{ n: number }>();
    let computed = 0;
    const compute = async () => ({ n: ++computed });
    const [a, b] = await Promise.all([memo.get("k", compute), memo.get("k", compute)]);
    expect(computed).toBe(2);
    expect(a).toBe(b);
    expect(await memo.get("k", compute)).toBe(a);
  });

  it("Memo keeps nothing from a failed computation: the next call computes again", async () => {
    const memo = new Memo<number>();
    await expect(memo.get("k", async () => Promise.reject(new Error("import failed")))).rejects.toThrow("import failed");
    expect(await memo.get("k", async () => 7)).toBe(7);
  });
});
