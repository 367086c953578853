/** @module Deps — what route logic depends on, built once per request and passed as an argument. */
import type { Config } from "./config";
import type { Db } from "./db/client";
import type { TokenSettings } from "./auth/tokens";

/** Milliseconds since the epoch. Injected so tests move time instead of sleeping. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();

export interface Deps {
  db: Db;
  config: Config;
  tokens: TokenSettings;
  clock: Clock;
}

export function nowSeconds(clock: Clock): number {
  return Math.floor(clock() / 1000);
}
