/** Shared by the micro-benchmarks: a timed loop and the printed table. Numbers are printed, never asserted. */

/** Average µs per call of `fn` over `iterations` calls, after a warm-up (JIT, caches), into `results[label]`. */
export async function time(label: string, iterations: number, fn: () => unknown, results: Record<string, number>): Promise<void> {
  for (let i = 0; i < Math.min(100, iterations); i++) await fn();
  const start = performance.now();
  for (let i = 0; i < iterations; i++) await fn();
  // workerd coarsens timers; only long loops give a meaningful average.
  results[label] = Math.round((((performance.now() - start) * 1000) / iterations) * 10) / 10;
}

export function printResults(results: Record<string, number>): void {
  const lines = Object.entries(results).map(([label, us]) => `  ${us.toFixed(1).padStart(10)} µs  ${label}`);
  console.log(`\nµs per operation, inside workerd (vitest pool):\n${lines.join("\n")}`);
}
