/**
 * @module Zod Load — zod's members, evaluated on the first call. esbuild bundles a require() of one of our modules as
 * that module's lazy initialiser, so zod's own modules run then, not at an isolate's start. The vitest pool (no
 * require) swaps this module for src/lib/zod-load.eager.ts.
 */
type Members = typeof import("./zod-members");
declare const require: (id: "./zod-members") => Members;

let members: Members | undefined;

export function zodMembers(): Members {
  return (members ??= require("./zod-members"));
}
