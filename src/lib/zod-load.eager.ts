/** @module Zod Load, Eager — src/lib/zod-load.ts for the vitest pool, where require() does not exist (vitest.config.ts). */
import * as members from "./zod-members";

export function zodMembers(): typeof members {
  return members;
}
