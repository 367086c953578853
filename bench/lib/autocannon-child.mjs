// Runs one autocannon load in its own process (used when wrk is not installed) and prints a JSON line
// with its own CPU use. Argument: the path of a JSON file { url, spec, connections, durationSeconds }.
import { readFileSync } from "node:fs";
import autocannon from "autocannon";

const { url, spec, connections, durationSeconds } = JSON.parse(readFileSync(process.argv[2], "utf8"));
const cpuStart = process.cpuUsage();
const chain = { ok: 0, failed: 0 };

const options = { url, connections, duration: durationSeconds, timeout: 10, method: spec.method, headers: spec.headers ?? {} };
if (spec.chain) {
  // autocannon resets a connection's context after every pass over `requests`, so the chains live in one
  // queue (as in the wrk script): onResponse puts the successor back before the connection's next setupRequest.
  const queue = readFileSync(spec.chain.tokensFile, "utf8").split("\n").filter(Boolean);
  const field = spec.chain.field;
  options.requests = [
    {
      method: spec.method,
      setupRequest(request) {
        return { ...request, body: JSON.stringify({ [field]: queue.pop() ?? "pool-exhausted" }) };
      },
      onResponse(status, body) {
        let successor;
        try {
          successor = status === 200 ? JSON.parse(body)[field] : undefined;
        } catch {
          // Not JSON: counted as a broken chain below.
        }
        if (successor) {
          queue.push(successor);
          chain.ok += 1;
        } else {
          chain.failed += 1;
        }
      },
    },
  ];
} else if (spec.body !== undefined) {
  options.body = spec.body;
}

const result = await autocannon(options);
const cpu = process.cpuUsage(cpuStart);
const seconds = result.duration;
process.stdout.write(
  `__BENCH_JSON__${JSON.stringify({
    requests: result.requests.total,
    duration_s: seconds,
    rps: result.requests.total / seconds,
    latency_ms: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
      mean: result.latency.mean,
    },
    // autocannon's non2xx: any status outside 200-299.
    errors: { bad_status: result.non2xx, connect: 0, read: 0, write: 0, timeout: result.timeouts, other: result.errors - result.timeouts },
    chain: spec.chain ? chain : undefined,
    loadgen_cpu_s: (cpu.user + cpu.system) / 1e6,
  })}\n`,
);
