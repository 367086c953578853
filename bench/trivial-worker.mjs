// The runtime's own latency tail: a one-line worker (no framework, no bindings) served exactly as
// `npm run bench` serves ours (one workerd via Miniflare, the worker's own socket), loaded by wrk with the
// same settings. Its p90/p99 are what the p99 ratios in the results table are measured against.
//
//   node bench/trivial-worker.mjs        (needs wrk; 127.0.0.1 only; 2 x 10 s)
import { execFileSync } from "node:child_process";
import { ONE_LINE_WORKER, startScratchWorker } from "./lib/server.mjs";

const { url, dispose } = await startScratchWorker(ONE_LINE_WORKER);
try {
  for (let run = 1; run <= 2; run++) {
    const out = execFileSync("wrk", ["-t1", "-c16", "-d10s", "--latency", url], { encoding: "utf8" });
    const pick = (p) => new RegExp(`^\\s+${p}%\\s+(\\S+)`, "m").exec(out)?.[1];
    console.log(`run ${run}: ${/Requests\/sec:\s+(\S+)/.exec(out)?.[1]} req/s; latency p50 ${pick(50)}, p75 ${pick(75)}, p90 ${pick(90)}, p99 ${pick(99)}`);
  }
} finally {
  await dispose();
}
