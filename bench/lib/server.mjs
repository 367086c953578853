// Builds the worker as `wrangler deploy` would and runs it in one workerd process through Miniflare's API
// (the Miniflare wrangler itself depends on), with wrangler.toml's bindings and no dev proxy in front.
// Miniflare 5 (wrangler 4.16x) takes a new options shape: convertV4MiniflareOptions keeps the familiar one.
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { PassThrough } from "node:stream";
import { pathToFileURL } from "node:url";
import { generateJwks } from "../../scripts/keys.mjs";
import { childPids } from "./proc.mjs";

const require = createRequire(import.meta.url);
const wranglerPackagePath = require.resolve("wrangler/package.json");
const wranglerDir = dirname(wranglerPackagePath);
const wranglerPackage = JSON.parse(readFileSync(wranglerPackagePath, "utf8"));
// Resolved from wrangler's own folder: the top-level miniflare may be another major (the test pool's).
const miniflarePackagePath = createRequire(wranglerPackagePath).resolve("miniflare/package.json");
const miniflarePackage = JSON.parse(readFileSync(miniflarePackagePath, "utf8"));

export const versions = {
  wrangler: wranglerPackage.version,
  miniflare: miniflarePackage.version,
  miniflare_wanted_by_wrangler: wranglerPackage.dependencies?.miniflare ?? null,
};

let building = null;

/** Kills a build still running (cleanup on Ctrl-C). */
export function killBuildNow() {
  try {
    building?.kill("SIGKILL");
  } catch {
    // Already exited.
  }
}

/** `wrangler deploy --dry-run --outdir <outDir>`: the exact bundle a deploy would upload. */
export function buildWorker(root, outDir, { timeoutMs = 120_000, entry } = {}) {
  return new Promise((resolve, reject) => {
    // `entry`: another main module (bench/edge/worker.ts wraps ours), built with the same wrangler.toml.
    const child = spawn(
      process.execPath,
      [join(wranglerDir, wranglerPackage.bin.wrangler), "deploy", "--dry-run", "--outdir", outDir, ...(entry ? [entry] : [])],
      {
        cwd: root,
        env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "true", FORCE_COLOR: "0" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    building = child;
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      building = null;
      if (code === 0) resolve(join(outDir, entry ? `${basename(entry).replace(/\.[cm]?[jt]s$/, "")}.js` : "index.js"));
      else reject(new Error(`wrangler build failed (${signal ?? `exit ${code}`}):\n${output.split("\n").slice(-40).join("\n")}`));
    });
  });
}

/** BENCH_BASELINE: a git revision's tree (git archive) built with this checkout's node_modules, under `tmpDir`. */
export function buildRevision(root, rev, tmpDir) {
  const src = join(tmpDir, `baseline-${rev}`);
  mkdirSync(src, { recursive: true });
  execFileSync("sh", ["-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "sh", root, rev, src]);
  symlinkSync(join(root, "node_modules"), join(src, "node_modules"));
  return buildWorker(src, join(tmpDir, `baseline-${rev}-dist`));
}

/** migrations/*.sql in file-name order, split at drizzle-kit's statement breakpoints. */
function readMigrations(root) {
  const dir = join(root, "migrations");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort()
    .map((name) => ({
      name,
      statements: readFileSync(join(dir, name), "utf8")
        .split("--> statement-breakpoint")
        .map((s) => s.trim())
        .filter(Boolean),
    }));
}

/** Files under `dir`: count, bytes, and count per kind (.sqlite, -wal, -shm, ...). */
function countFiles(dir) {
  let files = 0;
  let bytes = 0;
  const kinds = {};
  const walk = (d) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        files += 1;
        const kind = /(-wal|-shm|\.sqlite|\.[a-z0-9]+)$/.exec(e.name)?.[1] ?? "other";
        kinds[kind] = (kinds[kind] ?? 0) + 1;
        try {
          bytes += statSync(p).size;
        } catch {
          // Removed meanwhile.
        }
      }
    }
  };
  walk(dir);
  return { files, bytes, kinds };
}

/**
 * Starts the built worker on 127.0.0.1 (a free port) with D1 and Durable Objects persisted under
 * `persistDir`, applies the migrations, and returns { url, pid (workerd), stop(), ... }.
 */
/** "direct": the worker's own socket (default); "entry": through Miniflare's entry worker. */
const BENCH_SOCKET = process.env.BENCH_SOCKET ?? "direct";
if (!["direct", "entry"].includes(BENCH_SOCKET)) throw new Error(`BENCH_SOCKET must be direct or entry, got ${BENCH_SOCKET}`);
const DIRECT = BENCH_SOCKET === "direct";

/**
 * The modules wrangler writes beside a built main module, by their type as workerd loads them: wasm, Text (.txt; older
 * builds loaded the docs' files so) and Data (.bin, and .gz by wrangler.toml's rule). One list for every bench.
 */
export function modulesBeside(scriptPath) {
  const dir = dirname(scriptPath);
  const typeOf = (name) =>
    name.endsWith(".wasm") ? "CompiledWasm" : name.endsWith(".txt") ? "Text" : /\.(bin|gz)$/.test(name) ? "Data" : null;
  return readdirSync(dir)
    .map((name) => ({ name, path: join(dir, name), type: typeOf(name) }))
    .filter((module) => module.type !== null);
}

function withoutModulesRules({ modulesRules: _rules, ...options }) {
  return options;
}

export async function startWorker({
  root,
  scriptPath,
  persistDir,
  extraVars = {},
  onRuntimeOutput,
  companions = [],
  migrate = true,
  inspectorPort,
}) {
  // Other workerds of this process (the floor, a baseline build) are not this one.
  const otherPids = new Set(childPids(process.pid, "workerd"));
  // wrangler would announce ".dev.vars" secrets it reads; they are replaced below, so keep it quiet.
  process.env.WRANGLER_LOG ??= "warn";
  const { unstable_getMiniflareWorkerOptions, unstable_readConfig } = await import("wrangler");
  const { Miniflare, Log, LogLevel, convertV4MiniflareOptions } = await import(
    pathToFileURL(createRequire(wranglerPackagePath).resolve("miniflare")).href
  );

  const configPath = join(root, "wrangler.toml");
  const config = unstable_readConfig({ config: configPath }, { hideWarnings: true });
  // Every binding wrangler.toml declares (D1, Durable Objects, rate limits, ...), as the test pool mirrors them.
  const { workerOptions } = unstable_getMiniflareWorkerOptions(configPath);
  const signingKeys = JSON.stringify(generateJwks("ES256", "bench"));
  // Only wrangler.toml's [vars] (never .dev.vars secrets), a fresh key set, and rate limits off.
  // JWT_ISSUER/JWT_AUDIENCE are required: a fixed bench origin (the load clients call whatever port Miniflare picks).
  const bindings = {
    ...config.vars,
    RATE_LIMITS: "off",
    JWT_SIGNING_KEYS: signingKeys,
    JWT_ISSUER: "http://127.0.0.1",
    JWT_AUDIENCE: "http://127.0.0.1",
    ...extraVars,
  };

  const outputTail = [];
  let outputLines = 0;
  // Uncaught errors and the app's error-level log lines, kept apart so a run can report them.
  const runtimeErrors = [];
  let runtimeErrorCount = 0;
  const consume = (stream, name) => {
    let partial = "";
    // Per chunk, not per line: the worker writes a line per request (~10k/s), and this process shares the
    // machine's 2 cores with workerd; only the rare error chunk and the tail are split into lines.
    stream.on("data", (chunk) => {
      const text = partial + chunk;
      const end = text.lastIndexOf("\n");
      if (end < 0) {
        partial = text;
        return;
      }
      partial = text.slice(end + 1);
      for (let at = text.indexOf("\n"); at !== -1 && at <= end; at = text.indexOf("\n", at + 1)) outputLines += 1;
      const complete = text.slice(0, end);
      const wanted = onRuntimeOutput || name === "stderr" || complete.includes('"level":"error"');
      const lines = wanted ? complete.split("\n") : complete.slice(-4000).split("\n").slice(-50);
      for (const line of lines.slice(-50)) {
        outputTail.push(`[workerd ${name}] ${line}`);
        if (outputTail.length > 50) outputTail.shift();
      }
      if (!wanted) return;
      for (const line of lines) {
        if (line.trim() && (name === "stderr" || line.includes('"level":"error"'))) {
          runtimeErrorCount += 1;
          if (runtimeErrors.length < 20) runtimeErrors.push(line.slice(0, 2000));
        }
        onRuntimeOutput?.(line, name);
      }
    });
  };

  // Miniflare 5 hands the runtime's output over as structured log records, not streams: fed to the same consumer.
  const runtimeStdout = new PassThrough();
  const runtimeStderr = new PassThrough();
  consume(runtimeStdout, "stdout");
  consume(runtimeStderr, "stderr");
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 0,
      cf: false,
      // bench/profile.mjs: V8's profiler over the inspector protocol.
      ...(inspectorPort ? { inspectorPort } : {}),
      log: new Log(LogLevel.WARN),
      // The worker's console output (one JSON line per request) is drained here, not printed: it would drown the table.
      handleStructuredLogs({ level, message }) {
        (level === "error" || level === "warn" ? runtimeStderr : runtimeStdout).write(`${message}\n`);
      },
      d1Persist: join(persistDir, "d1"),
      durableObjectsPersist: join(persistDir, "do"),
      cachePersist: join(persistDir, "cache"),
      kvPersist: join(persistDir, "kv"),
      workers: [
        {
          // Miniflare 5 cannot take wrangler's modulesRules: the bundle's modules are listed instead (index.js, .wasm, .txt, .bin/.gz).
          ...withoutModulesRules(workerOptions),
          name: config.name ?? "worker",
          modules: [{ type: "ESModule", path: scriptPath }, ...modulesBeside(scriptPath).map(({ type, path }) => ({ type, path }))],
          // Module names are relative to this root; the bundle lives in a temp dir outside the project.
          modulesRoot: dirname(scriptPath),
          bindings,
          // The worker's own socket, as the Cloudflare edge hands it requests: not behind Miniflare's entry
          // worker (an extra hop per request that also negotiates WebSocket compression with its own flags).
          // BENCH_SOCKET=entry measures through the entry worker, as `wrangler dev` serves.
          unsafeDirectSockets: DIRECT ? [{ host: "127.0.0.1", port: 0 }] : undefined,
        },
        // Other Workers in the same workerd (bench/binding.mjs: a consumer with service bindings to ours).
        ...companions.map((worker) => ({ ...worker, unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }] })),
      ],
    }),
  );

  let disposed = false;
  const stop = async () => {
    if (disposed) return;
    disposed = true;
    const pids = childPids(process.pid, "workerd").filter((p) => !otherPids.has(p));
    try {
      await Promise.race([mf.dispose(), new Promise((r) => setTimeout(r, 10_000))]);
    } catch {
      // Already gone (e.g. Ctrl-C reached workerd first).
    }
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Exited, as it should have.
      }
    }
  };

  try {
    const entryUrl = await mf.ready;
    const url = DIRECT ? await mf.unsafeGetDirectURL(config.name ?? "worker") : entryUrl;
    const pids = childPids(process.pid, "workerd").filter((p) => !otherPids.has(p));
    if (pids.length !== 1) throw new Error(`expected one new workerd child process, found ${pids.length}`);
    const db = await mf.getD1Database("DB");
    const applied = [];
    // bench/startup.mjs times the start itself: no migrations before the first request.
    for (const migration of migrate ? readMigrations(root) : []) {
      for (const statement of migration.statements) await db.prepare(statement).run();
      applied.push(migration.name);
    }
    const companionUrls = {};
    for (const worker of companions) companionUrls[worker.name] = (await mf.unsafeGetDirectURL(worker.name)).origin;
    return {
      url: url.origin,
      companionUrls,
      pid: pids[0],
      /** Synchronous last resort for process exit (Miniflare's own exit hook may end the process first). */
      killNow() {
        try {
          process.kill(pids[0], "SIGKILL");
        } catch {
          // Already gone.
        }
      },
      migrations: applied,
      /** The worker's D1 (Miniflare's binding), for benches that seed rows. */
      db,
      vars: Object.keys(bindings).filter((k) => k !== "JWT_SIGNING_KEYS"),
      d1Databases: Object.keys(workerOptions.d1Databases ?? {}),
      ratelimits: Object.keys(workerOptions.ratelimits ?? {}),
      durableObjects: Object.fromEntries(
        Object.entries(workerOptions.durableObjects ?? {}).map(([k, v]) => [k, typeof v === "string" ? v : v.className]),
      ),
      durableObjectFiles: () => countFiles(join(persistDir, "do")),
      outputTail: () => outputTail.slice(),
      outputLines: () => outputLines,
      runtimeErrors: () => ({ count: runtimeErrorCount, first: runtimeErrors.slice() }),
      stop,
    };
  } catch (error) {
    await stop();
    if (outputTail.length) error.message += `\n${outputTail.slice(-20).join("\n")}`;
    throw error;
  }
}

/**
 * The runtime's floor: a one-line worker with no framework, bindings or logging, answering
 * what our /health answers. Every bench run loads it beside ours: each scenario is a share of it.
 */
export const ONE_LINE_WORKER = `export default { fetch() { return new Response('{"status":"ok"}', { headers: { "content-type": "application/json" } }); } };`;

/**
 * A stand-in worker (one ES module's source) in its own workerd via the same Miniflare, for measuring
 * the runtime without our code: on its own socket like startWorker (`direct`), or behind Miniflare's
 * entry worker. `options` go to Miniflare (bindings, flags). Returns { url, pid, dispose() }.
 */
export async function startScratchWorker(source, { direct = true, ...options } = {}) {
  const otherPids = new Set(childPids(process.pid, "workerd"));
  const { Miniflare, convertV4MiniflareOptions } = await import(
    pathToFileURL(createRequire(wranglerPackagePath).resolve("miniflare")).href
  );
  const dir = mkdtempSync(join(tmpdir(), "scratch-worker-"));
  writeFileSync(join(dir, "worker.mjs"), source);
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 0,
      modules: true,
      scriptPath: join(dir, "worker.mjs"),
      modulesRoot: dir,
      // The project's date (wrangler.toml).
      compatibilityDate: "2026-04-01",
      durableObjectsPersist: join(dir, "do"),
      unsafeDirectSockets: direct ? [{ host: "127.0.0.1", port: 0 }] : undefined,
      ...options,
    }),
  );
  const dispose = async () => {
    await mf.dispose();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const entryUrl = await mf.ready;
    const url = String(direct ? await mf.unsafeGetDirectURL() : entryUrl);
    const [pid] = childPids(process.pid, "workerd").filter((p) => !otherPids.has(p));
    return { url, pid, dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}
