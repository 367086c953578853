#!/usr/bin/env node
// `npm run dev [-- --port N] [-- <wrangler dev args>]`: local keys when absent, local D1 migrated, then `wrangler dev`
// on 127.0.0.1:N (default 8787) with this checkout's own state (.wrangler/state). A taken port stops here with a
// message naming it, instead of wrangler's silent move to the next free port (8788 is the consumer example's).
// `--consumer` runs examples/consumer instead (default port 8788; `npm run dev:consumer`).
// The worker reloads on every change under src/ (wrangler follows the bundle's imports) and client/
// (wrangler.toml's [build] watch_dir reruns scripts/build-client.mjs, whose output is under src/).
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureDevVars, localIdentityVars } from "./dev-vars.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const WRANGLER = join(root, "node_modules/wrangler/bin/wrangler.js");

/** Removes `--name value` / `--name=value` from args and returns its last value. */
function takeOption(args, name) {
  let value;
  for (let i = 0; i < args.length; ) {
    if (args[i] === `--${name}` && i + 1 < args.length) {
      value = args[i + 1];
      args.splice(i, 2);
    } else if (args[i].startsWith(`--${name}=`)) {
      value = args[i].slice(name.length + 3);
      args.splice(i, 1);
    } else i++;
  }
  return value;
}

/** Resolves when host:port can be bound right now; rejects with the listen error (EADDRINUSE) otherwise. */
function checkPortFree(port, host = "127.0.0.1") {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve()));
  });
}

async function assertPortFree(port, host, what) {
  try {
    await checkPortFree(port, host);
  } catch (error) {
    const reason =
      error.code === "EADDRINUSE" ? "is already in use (another `npm run dev`?)" : `cannot be used (${error.code ?? error.message})`;
    console.error(
      `[dev] ${what} port ${port} on ${host} ${reason}. Stop that process, or pick another port: npm run dev -- --port ${port + 100}`,
    );
    process.exit(1);
  }
}

const args = process.argv.slice(2);
const consumer = args.includes("--consumer");
if (consumer) args.splice(args.indexOf("--consumer"), 1);
const port = Number(takeOption(args, "port") ?? (consumer ? 8788 : 8787));
const host = takeOption(args, "ip") ?? "127.0.0.1";
const inspectorPort = Number(takeOption(args, "inspector-port") ?? (consumer ? 9231 : 9229));
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`[dev] --port must be a port number, got ${JSON.stringify(String(port))}`);
  process.exit(1);
}

const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" };
await assertPortFree(port, host, "dev server");
await assertPortFree(inspectorPort, "127.0.0.1", "the inspector");

const wrangler = (wranglerArgs, options) => [process.execPath, [WRANGLER, ...wranglerArgs], { cwd: root, ...options }];
let devArgs;
if (consumer) {
  // The consumer's own state folder; it finds our worker through the local dev registry (docs/rpc.md).
  // Run from its own folder: wrangler compares ./worker-configuration.d.ts (ours, at the root) with the config it
  // serves and would print "Your types might be out of date" for the consumer's.
  devArgs = ["dev", "-c", "wrangler.toml", "--persist-to", ".wrangler/state"];
} else {
  if (ensureDevVars(join(root, ".dev.vars"))) console.log("[dev] wrote .dev.vars with fresh local signing keys (git-ignored)");
  const migrate = spawnSync(
    ...wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", ".wrangler/state"], {
      stdio: "inherit",
      env: { ...env, CI: "true" },
    }),
  );
  if (migrate.status !== 0) process.exit(migrate.status ?? 1);
  devArgs = ["dev", "--persist-to", ".wrangler/state"];
  // The issuer is the origin this dev server answers at (JWT_ISSUER is required; a request's Host is never trusted).
  devArgs.push(...localIdentityVars(["--ip", host, "--port", String(port), ...args]));
}
devArgs.push("--ip", host, "--port", String(port), "--inspector-port", String(inspectorPort), ...args);

const dev = spawn(...wrangler(devArgs, { stdio: "inherit", env, ...(consumer ? { cwd: join(root, "examples/consumer") } : {}) }));
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
