/**
 * Against real Django (Debian's python3-django 3.2 + python3-argon2, /usr/bin/python3): hashes Django made
 * verify in the worker, hashes the worker made verify in Django, and a `dumpdata auth.user` of a small Django
 * project imports (npm run import:django) and its users sign in with their Django passwords, through a
 * `wrangler dev` on 127.0.0.1:8861 with its own persisted D1. Run: npm run test:django
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { timingSafeEqual } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";
import { generateJwks } from "../../scripts/keys.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
const PYTHON = process.env.DJANGO_PYTHON ?? "/usr/bin/python3";
const WRANGLER = join(root, "node_modules/wrangler/bin/wrangler.js");
const PORT = Number(process.env.DJANGO_TEST_PORT ?? 8861);
const BASE = `http://127.0.0.1:${PORT}`;
const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", CI: "true" };

// Every Django default PBKDF2 count that matters (1.11, the per-call cap, 3.2, 4.2, 5.2), argon2 and sha1.
const USERS = [
  {
    username: "admin",
    email: "admin@example.com",
    password: "admin pass phrase 1",
    hasher: "pbkdf2_sha256",
    iterations: 260000,
    superuser: true,
  },
  { username: "old_1_11", email: "old@example.com", password: "thirty six thousand", hasher: "pbkdf2_sha256", iterations: 36000 },
  { username: "cap_100k", email: "cap@example.com", password: "exactly at the cap", hasher: "pbkdf2_sha256", iterations: 100000 },
  { username: "django_4_2", email: "four@example.com", password: "six hundred thousand", hasher: "pbkdf2_sha256", iterations: 600000 },
  { username: "Django_5_2", email: "Five@Example.COM", password: "one million rounds", hasher: "pbkdf2_sha256", iterations: 1000000 },
  { username: "argon_user", email: "argon@example.com", password: "memory hard please", hasher: "argon2" },
  { username: "sha1_user", email: "sha1@example.com", password: "legacy sha one", hasher: "pbkdf2_sha1", iterations: 30000 },
  {
    username: "sleeper",
    email: "sleeper@example.com",
    password: "inactive account pw",
    hasher: "pbkdf2_sha256",
    iterations: 260000,
    is_active: false,
  },
  { username: "sso_only", email: "sso@example.com", hasher: "unusable" },
  { username: "md5_user", email: "md5@example.com", password: "weak old hash", hasher: "md5" },
  { username: "big_argon", email: "big@example.com", password: "hundred megabytes", hasher: "argon2_default" },
  { username: "ADMIN", email: "other-admin@example.com", password: "case clash admin", hasher: "pbkdf2_sha256", iterations: 260000 },
  { username: "dup_mail", email: "ADMIN@example.com", password: "same email other case", hasher: "pbkdf2_sha256", iterations: 260000 },
];
// md5_user too: weak hashes are imported wrapped in argon2id (src/auth/wrapped-hash.ts), as are 36 000 and 30 000 rounds.
const IMPORTED = [...USERS.slice(0, 8), USERS.find((u) => u.username === "md5_user")];
const WRAPPED = {
  old_1_11: "argon2_wrapped_pbkdf2_sha256$36000$",
  sha1_user: "argon2_wrapped_pbkdf2_sha1$30000$",
  md5_user: "argon2_wrapped_md5$",
};

let dir;
let wrangler;
let wranglerOutput = "";
let passwords;

function python(...args) {
  const run = spawnSync(PYTHON, [join(root, "test/django/djhelper.py"), dir, ...args], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`djhelper ${args[0]} failed: ${run.stderr}`);
  return run.stdout.trim();
}

function djangoAccepts(password, hash) {
  return python("check", password, hash) === "true";
}

function d1(sql) {
  const run = spawnSync(
    process.execPath,
    [WRANGLER, "d1", "execute", "DB", "--local", "--persist-to", join(dir, "state"), "--json", "--command", sql],
    { cwd: root, env, encoding: "utf8" },
  );
  if (run.status !== 0) throw new Error(`d1 failed: ${run.stdout}${run.stderr}`);
  return JSON.parse(run.stdout.slice(run.stdout.indexOf("[")))[0].results;
}

function importDump() {
  const run = spawnSync(
    process.execPath,
    [join(root, "scripts/import-django.mjs"), join(dir, "dump.json"), "--persist-to", join(dir, "state")],
    { cwd: root, env, encoding: "utf8" },
  );
  assert.equal(run.status, 0, run.stdout + run.stderr);
  return run.stdout;
}

async function post(path, body) {
  const send = () =>
    fetch(`${BASE}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  try {
    try {
      return await send();
    } catch (error) {
      // wrangler dev's proxy may close a kept-alive connection that sat idle (start-up polling, the import): one retry
      // on a new one. wrangler 4.86 showed it as UND_ERR_SOCKET, 4.164 as EPIPE while the body is written.
      if (!["UND_ERR_SOCKET", "EPIPE"].includes(error.cause?.code)) throw error;
      return await send();
    }
  } catch (error) {
    throw new Error(`POST ${path}: ${error.cause?.message ?? error.message}\nwrangler dev said:\n${wranglerOutput.slice(-3000)}`);
  }
}

async function signIn(username, password) {
  const res = await post("/api/token/", { username, password });
  return { status: res.status, body: await res.json() };
}

function storedHash(username) {
  return d1(`SELECT password_hash FROM users WHERE username = '${username}'`)[0].password_hash;
}

/** src/auth/passwords.ts bundled for Node (its .wasm import compiled here, where compiling bytes is allowed). */
async function loadPasswords() {
  const outfile = join(dir, "passwords.mjs");
  const wasmAsModule = {
    name: "wasm-module",
    setup(b) {
      b.onResolve({ filter: /\.wasm$/ }, (args) => ({
        path: fileURLToPath(import.meta.resolve(args.path, pathToFileURL(join(args.resolveDir, "x.js")).href)),
        namespace: "wasm",
      }));
      b.onLoad({ filter: /.*/, namespace: "wasm" }, (args) => ({
        contents: `export default new WebAssembly.Module(Buffer.from(${JSON.stringify(readFileSync(args.path).toString("base64"))}, "base64"));`,
        loader: "js",
      }));
    },
  };
  await build({
    entryPoints: [join(root, "src/auth/passwords.ts")],
    bundle: true,
    format: "esm",
    platform: "node",
    outfile,
    plugins: [wasmAsModule],
    logLevel: "silent",
  });
  // workerd's non-standard crypto.subtle.timingSafeEqual, which the module uses, from Node's crypto.
  crypto.subtle.timingSafeEqual ??= (a, b) => timingSafeEqual(new Uint8Array(a), new Uint8Array(b));
  return import(pathToFileURL(outfile).href);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "real-django-"));
  writeFileSync(join(dir, "users.json"), JSON.stringify(USERS));
  python("seed");
  passwords = await loadPasswords();
  const migrate = spawnSync(
    process.execPath,
    [WRANGLER, "d1", "migrations", "apply", "DB", "--local", "--persist-to", join(dir, "state")],
    { cwd: root, env, encoding: "utf8" },
  );
  assert.equal(migrate.status, 0, migrate.stdout + migrate.stderr);
  const vars = {
    JWT_SIGNING_KEYS: JSON.stringify(generateJwks("ES256", "django-key")),
    JWT_ISSUER: BASE,
    JWT_AUDIENCE: BASE,
    RATE_LIMITS: "off",
  };
  const args = [
    WRANGLER,
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(PORT),
    "--inspector-port",
    String(PORT + 1),
    "--persist-to",
    join(dir, "state"),
    "--show-interactive-dev-session=false",
    "--log-level",
    "warn",
  ];
  for (const [name, value] of Object.entries(vars)) args.push("--var", `${name}:${value}`);
  wrangler = spawn(process.execPath, args, { cwd: root, env: { ...env, CI: "" }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  wrangler.stdout.on("data", (d) => (wranglerOutput += d));
  wrangler.stderr.on("data", (d) => (wranglerOutput += d));
  for (const started = Date.now(); Date.now() - started < 90_000; await sleep(250)) {
    if (wrangler.exitCode !== null) break;
    try {
      if ((await fetch(`${BASE}/health`)).ok) return;
    } catch {
      // not listening yet
    }
  }
  throw new Error(`wrangler dev did not start on ${BASE}:\n${wranglerOutput}`);
});

after(async () => {
  if (wrangler && wrangler.exitCode === null) {
    // The whole process group: killing only wrangler's node would leave workerd holding the port.
    process.kill(-wrangler.pid, "SIGTERM");
    await Promise.race([new Promise((r) => wrangler.on("exit", r)), sleep(10_000)]);
    if (wrangler.exitCode === null) process.kill(-wrangler.pid, "SIGKILL");
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("hashes made by Django verify here, hashes made here verify in Django", () => {
  for (const iterations of [100000, 260000, 600000, 1000000]) {
    it(`pbkdf2_sha256 at ${iterations} iterations: Django's hash verifies here`, async () => {
      const hash = python("make", "pbkdf2_sha256", "pässwörd ünïcode", String(iterations));
      assert.deepEqual(await passwords.verifyPassword("pässwörd ünïcode", hash), { ok: true, needsRehash: true });
      assert.equal((await passwords.verifyPassword("passwörd ünïcode", hash)).ok, false);
    });
    it(`pbkdf2_sha256 at ${iterations} iterations: a hash made here verifies in Django`, async () => {
      const hash = await passwords.hashPasswordPbkdf2("pässwörd ünïcode", iterations);
      assert.ok(djangoAccepts("pässwörd ünïcode", hash));
      assert.ok(!djangoAccepts("pässwörd ünïcodE", hash));
    });
  }
  it("argon2id at OWASP's parameters: Django's hash verifies here", async () => {
    const hash = python("make", "argon2", "memory hard ✓");
    assert.deepEqual(await passwords.verifyPassword("memory hard ✓", hash), { ok: true, needsRehash: false });
    assert.equal((await passwords.verifyPassword("memory hard", hash)).ok, false);
  });
  it("argon2id: the worker's new hash verifies in Django", async () => {
    const hash = await passwords.hashPassword("memory hard ✓");
    assert.match(hash, /^argon2\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert.ok(djangoAccepts("memory hard ✓", hash));
    assert.ok(!djangoAccepts("memory hard", hash));
  });
});

describe("dumpdata auth.user imports, and its users sign in with their Django passwords", () => {
  let report;
  before(() => {
    report = importDump();
  });

  it("imports the verifiable users and says what it skipped and why", () => {
    assert.match(report, /9 to import into the local D1.*, 4 skipped/);
    assert.match(report, /sso_only .*unusable password/);
    assert.match(report, /md5_user \(pk \d+, argon2_wrapped_md5\)/);
    assert.match(report, /big_argon .*m=102400 KiB/);
    assert.match(report, /ADMIN .*username is taken, case-insensitively, by "admin"/);
    assert.match(report, /dup_mail .*email is taken, case-insensitively, by "admin"/);
  });

  it("keeps Django's ids, flags and dates", () => {
    const rows = d1(
      "SELECT id, username, email, is_active, is_staff, is_superuser, date_joined FROM users WHERE username IN ('admin', 'sleeper', 'Django_5_2') ORDER BY id",
    );
    const dump = JSON.parse(readFileSync(join(dir, "dump.json"), "utf8"));
    const admin = dump.find((u) => u.fields.username === "admin");
    assert.deepEqual(rows[0], {
      id: admin.pk,
      username: "admin",
      email: "admin@example.com",
      is_active: 1,
      is_staff: 1,
      is_superuser: 1,
      date_joined: Math.floor(Date.parse(admin.fields.date_joined) / 1000),
    });
    assert.equal(rows.find((r) => r.username === "sleeper").is_active, 0);
    assert.equal(rows.find((r) => r.username === "Django_5_2").email, "Five@example.com");
  });

  it("stores weak hashes wrapped in argon2id, and Django reads them with test/django/wrapped_hashers.py (a rollback keeps them)", () => {
    for (const [username, prefix] of Object.entries(WRAPPED)) {
      const stored = storedHash(username);
      assert.ok(stored.startsWith(prefix), `${username}: ${stored.slice(0, 60)}`);
      const password = USERS.find((u) => u.username === username).password;
      assert.ok(djangoAccepts(password, stored), username);
      assert.ok(!djangoAccepts(`${password}!`, stored), username);
    }
  });

  for (const user of IMPORTED.filter((u) => u.is_active !== false)) {
    it(`${user.username} (${user.hasher}${user.iterations ? ` ${user.iterations}` : ""}) signs in with the old password, a wrong one is refused, and the hash is upgraded`, async () => {
      const before = storedHash(user.username);
      assert.equal((await signIn(user.username, `${user.password}!`)).status, 401);
      assert.equal(storedHash(user.username), before);
      const ok = await signIn(user.username.toUpperCase(), user.password);
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.ok(ok.body.access && ok.body.refresh);
      const upgraded = storedHash(user.username);
      assert.match(upgraded, /^argon2\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      if (user.hasher === "argon2") assert.equal(upgraded, before);
      // The upgraded hash still works in Django, should the team roll back.
      assert.ok(djangoAccepts(user.password, upgraded));
      assert.equal((await signIn(user.username, user.password)).status, 200);
    });
  }

  it("a user registered through the worker after the import signs in to Django with the stored hash", async () => {
    const res = await post("/api/auth/register/", { username: "made_here", email: "made@example.com", password: "registered at the edge" });
    assert.equal(res.status, 201);
    assert.ok(djangoAccepts("registered at the edge", storedHash("made_here")));
  });

  it("an inactive Django user is imported but cannot sign in", async () => {
    assert.equal((await signIn("sleeper", "inactive account pw")).status, 401);
  });

  it("is idempotent: a second run imports nothing and changes nothing", () => {
    const count = d1("SELECT count(*) AS n FROM users")[0].n;
    const hashes = d1("SELECT username, password_hash FROM users ORDER BY id");
    const again = importDump();
    assert.match(again, /0 to import/);
    assert.match(again, /admin .*id \d+ is already taken/);
    assert.equal(d1("SELECT count(*) AS n FROM users")[0].n, count);
    assert.deepEqual(d1("SELECT username, password_hash FROM users ORDER BY id"), hashes);
  });
});
