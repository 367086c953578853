import { defineConfig } from "vitest/config";
import baseConfig from "./vitest.config";

// Micro-benchmarks reuse the test pool's project (same workerd, same bindings) but are never part of `npm test`;
// their output is the point, so it is always shown. The project keeps its name: the consumer's service binding
// addresses the pool's runner by it.
export default defineConfig(async (env) => {
  const base = await baseConfig(env);
  const [workers] = base.test!.projects as [{ test: Record<string, unknown> }];
  const bench = { ...workers, test: { ...workers.test, include: ["bench/micro/**/*.micro.ts"], exclude: [], silent: false } };
  return { test: { ...base.test, projects: [bench] } };
});
