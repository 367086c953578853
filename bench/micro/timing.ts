/** Shared by the micro-benchmarks: a timed loop and the printed table. Numbers are printed, never asserted. */

/**
 * µs per call of `fn`: the median of 7 batches of `iterations / 7` calls after a warm-up (JIT, caches),
 * into `results[label]`; the median shrugs off a GC pause or a neighbour's burst landing in one batch.
 */
export async function time(label: string, iterations: number, fn: () => unknown, results: Record<string, number>): Promise<void> {
  for (let i = 0; i < Math.min(100, iterations); i++) await fn();
  const batches = 7;
  const perBatch = Math.max(1, Math.floor(iterations / batches));
  const samples: number[] = [];
  for (let b = 0; b < batches; b++) {
    const start = performance.now();
    for (let i = 0; i < perBatch; i++) await fn();
    // workerd coarsens timers; only long batches give a meaningful average.
    samples.push(((performance.now() - start) * 1000) / perBatch);
  }
  samples.sort((a, b) => a - b);
  results[label] = Math.round(samples[batches >> 1]! * 10) / 10;
}

export function printResults(results: Record<string, number>): void {
  const lines = Object.entries(results).map(([label, us]) => `  ${us.toFixed(1).padStart(10)} µs  ${label}`);
  console.log(`\nµs per operation, inside workerd (vitest pool):\n${lines.join("\n")}`);
}
