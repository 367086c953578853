import baseConfig from "./vitest.config";
import type { UserConfig } from "vitest/config";

// Micro-benchmarks reuse the test pool (same workerd, same bindings) but are never part of `npm test`.
export default async (env: unknown): Promise<UserConfig> => {
  const config = await (baseConfig as unknown as (e: unknown) => Promise<UserConfig>)(env);
  return { ...config, test: { ...config.test, include: ["bench/micro/**/*.micro.ts"], exclude: [] } };
};
