import { defineConfig } from "vitest/config";
import baseConfig from "./vitest.config";

// Micro-benchmarks reuse the test pool (same workerd, same bindings) but are never part of `npm test`;
// their output is the point, so it is always shown.
export default defineConfig(async (env) => {
  const base = await baseConfig(env);
  return { ...base, test: { ...base.test, include: ["bench/micro/**/*.micro.ts"], exclude: [], silent: false } };
});
