#!/usr/bin/env node
// `npm run dev`: local keys when absent, local D1 migrated, then `wrangler dev` (extra args pass through).
import { spawnSync, spawn } from "node:child_process";
import { ensureDevVars, localIdentityVars } from "./dev-vars.mjs";

const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false", CI: process.env.CI ?? "true" };

if (ensureDevVars()) console.log("[dev] wrote .dev.vars with fresh local signing keys (git-ignored)");

const migrate = spawnSync("npx", ["wrangler", "d1", "migrations", "apply", "DB", "--local"], { stdio: "inherit", env });
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

const dev = spawn("npx", ["wrangler", "dev", ...process.argv.slice(2), ...localIdentityVars(process.argv.slice(2))], { stdio: "inherit", env: { ...env, CI: process.env.CI ?? "" } });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code) => process.exit(code ?? 0));
