/**
 * @module Jose, Lazily — jose, evaluated on the first key imported or token signed or checked, not at an isolate's
 * start: esbuild bundles the import() as jose's lazy initialiser, so a fresh isolate's /health never runs it.
 */
type Jose = typeof import("./jose-members");

let loaded: Jose | undefined;

/** jose's module: loaded on the first call, the same object after. */
export async function jose(): Promise<Jose> {
  // Through our own module: an import() keeps every export of its target, and jose's whole namespace is ~2x what we use.
  return (loaded ??= await import("./jose-members"));
}
