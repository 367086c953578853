#!/usr/bin/env node
// Refused sign-ins as a timing oracle (issue 21, item 3): the built worker in workerd, one account per stored hash
// format, ROUNDS wrong-password sign-ins each (round-robin, sequential, 127.0.0.1 only), wall-time medians; run twice:
// SIGNIN_REFUSAL_FLOOR_MS=0 (what each format costs on its own: the oracle before) and the default floor (after).
// Then CPU per verification of a Django 5.2 hash (pbkdf2_sha256, 1 000 000 iterations) in this Node: the previous
// src/auth/pbkdf2.ts (git BEFORE_REF), the current one, and OpenSSL (what
// WebCrypto runs, refused above 100 000 iterations per call on deployed Workers).
// Run: node bench/signin-timing.mjs   (ROUNDS=7 by default; a line in bench/results/signin-timing.jsonl)
import { execFileSync } from "node:child_process";
import { pbkdf2Sync, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";
import { saveRun } from "./lib/results.mjs";
import { buildWorker, startWorker } from "./lib/server.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const BEFORE_REF = process.env.BEFORE_REF ?? "25ed0f3";
const PASSWORD = "correct horse battery staple";
const tmp = mkdtempSync(join(tmpdir(), "edge-auth-signin-timing-"));

function pbkdf2Hash(algorithm, iterations) {
  const salt = randomBytes(16).toString("hex").slice(0, 22);
  const digest = algorithm === "pbkdf2_sha256" ? "sha256" : "sha1";
  return `${algorithm}$${iterations}$${salt}$${pbkdf2Sync(PASSWORD, salt, iterations, digest === "sha256" ? 32 : 20, digest).toString("base64")}`;
}

/** Stored formats an account may carry here (the argon2id one comes from registering through the API). */
const FORMATS = {
  "pbkdf2_sha256, 1 000 iterations": () => pbkdf2Hash("pbkdf2_sha256", 1_000),
  "pbkdf2_sha256, 260 000 (Django 3.2)": () => pbkdf2Hash("pbkdf2_sha256", 260_000),
  "pbkdf2_sha256, 600 000 (Django 4.2)": () => pbkdf2Hash("pbkdf2_sha256", 600_000),
  "pbkdf2_sha256, 1 000 000 (Django 5.2)": () => pbkdf2Hash("pbkdf2_sha256", 1_000_000),
  "pbkdf2_sha1, 100 000": () => pbkdf2Hash("pbkdf2_sha1", 100_000),
};

async function post(url, path, body) {
  const send = () =>
    fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const t = performance.now();
  let res;
  try {
    res = await send();
  } catch (error) {
    // workerd may close an idle kept-alive connection as the request goes out: once more on a new one, timed afresh.
    if (error.cause?.code !== "UND_ERR_SOCKET") throw error;
    return post(url, path, body);
  }
  await res.arrayBuffer();
  return { status: res.status, ms: performance.now() - t };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
};

async function refusedMedians(scriptPath, floor) {
  const extraVars = floor === null ? {} : { SIGNIN_REFUSAL_FLOOR_MS: String(floor) };
  const server = await startWorker({ root, scriptPath, persistDir: join(tmp, `persist-${floor}`), extraVars });
  try {
    const accounts = { "unknown user": `nobody-${Date.now()}` };
    const registered = await post(server.url, "/api/auth/register/", { username: "argon", email: "argon@example.com", password: PASSWORD });
    if (registered.status !== 201) throw new Error(`register answered ${registered.status}`);
    accounts["argon2id (this worker's own)"] = "argon";
    let n = 0;
    for (const [label, make] of Object.entries(FORMATS)) {
      const username = `imported${++n}`;
      await server.db
        .prepare("INSERT INTO users (username, username_key, email, password_hash, date_joined) VALUES (?1, ?1, ?2, ?3, 0)")
        .bind(username, `${username}@example.com`, make())
        .run();
      accounts[label] = username;
    }
    // One warm-up each (the isolate's first argon2 instance, the dummy hash), then ROUNDS rounds, round-robin.
    const times = Object.fromEntries(Object.keys(accounts).map((k) => [k, []]));
    for (let round = -1; round < ROUNDS; round++) {
      for (const [label, username] of Object.entries(accounts)) {
        const { status, ms } = await post(server.url, "/api/token/", { username, password: `wrong guess ${round}` });
        if (status !== 401) throw new Error(`${label}: expected 401, got ${status}`);
        if (round >= 0) times[label].push(ms);
      }
    }
    return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, Math.round(median(v))]));
  } finally {
    await server.stop();
  }
}

function cpuMs(f) {
  const start = process.cpuUsage();
  f();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

async function pbkdf2Cpu() {
  const current = join(tmp, "pbkdf2-current.mjs");
  await build({ entryPoints: [join(root, "src/auth/pbkdf2.ts")], bundle: true, format: "esm", outfile: current, logLevel: "silent" });
  const implementations = { current: (await import(pathToFileURL(current).href)).pbkdf2Sha256 };
  try {
    const beforeSource = join(tmp, "pbkdf2-before.ts");
    writeFileSync(beforeSource, execFileSync("git", ["show", `${BEFORE_REF}:src/auth/pbkdf2.ts`], { cwd: root }));
    const before = join(tmp, "pbkdf2-before.mjs");
    await build({ entryPoints: [beforeSource], bundle: true, format: "esm", outfile: before, logLevel: "silent" });
    implementations[`before (${BEFORE_REF})`] = (await import(pathToFileURL(before).href)).pbkdf2Sha256;
  } catch {
    // Not a git checkout with that commit: the current one alone.
  }
  const pw = new TextEncoder().encode(PASSWORD);
  const salt = new TextEncoder().encode("seasalt2024abcdefghijk");
  const expected = pbkdf2Sync(pw, salt, 1_000_000, 32, "sha256");
  const rows = {};
  for (const [label, f] of Object.entries(implementations)) {
    if (Buffer.compare(Buffer.from(f(pw, salt, 1_000_000)), expected) !== 0) throw new Error(`${label} computes another PBKDF2`);
    rows[`src/auth/pbkdf2.ts ${label}`] = Math.round(median([0, 1, 2].map(() => cpuMs(() => f(pw, salt, 1_000_000)))));
  }
  // hash-wasm 4's wasm PBKDF2 (not a dependency: it cannot run in workerd) measured 3 500-3 900 ms here, 4x this JS.
  rows["OpenSSL (Node's crypto; WebCrypto's engine, capped at 100 000 per call when deployed)"] = Math.round(
    median([0, 1, 2].map(() => cpuMs(() => pbkdf2Sync(pw, salt, 1_000_000, 32, "sha256")))),
  );
  return rows;
}

try {
  console.log("building the worker (wrangler deploy --dry-run)");
  const scriptPath = await buildWorker(root, join(tmp, "dist"));
  console.log(`refused sign-ins without a floor (SIGNIN_REFUSAL_FLOOR_MS=0), ${ROUNDS} each`);
  const noFloor = await refusedMedians(scriptPath, 0);
  console.log(`refused sign-ins with the default floor, ${ROUNDS} each`);
  const withFloor = await refusedMedians(scriptPath, null);
  const cpu = await pbkdf2Cpu();
  console.log("\nmedian wall time of a refused sign-in (ms)      floor 0   default floor");
  for (const label of Object.keys(withFloor))
    console.log(`  ${label.padEnd(44)} ${String(noFloor[label]).padStart(7)}   ${String(withFloor[label]).padStart(7)}`);
  const values = Object.values(withFloor);
  const spread = (Math.max(...values) - Math.min(...values)) / Math.min(...values);
  console.log(`  spread with the floor: ${(spread * 100).toFixed(1)} % (largest vs smallest median)`);
  console.log("\nCPU per verification of a Django 5.2 hash (pbkdf2_sha256, 1 000 000 iterations), ms, median of 3:");
  for (const [label, ms] of Object.entries(cpu)) console.log(`  ${label}: ${ms}`);
  const run = {
    date: new Date().toISOString(),
    rounds: ROUNDS,
    refused_median_ms: { floor_0: noFloor, default_floor: withFloor },
    spread_with_floor: spread,
    pbkdf2_1m_cpu_ms: cpu,
  };
  const file = saveRun(root, "signin-timing", run, { "signin-timing": run });
  console.log(`\nwrote ${file}`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
