// BENCH_SPLIT (bench/isolate-start.mjs, bench/startup.mjs): where a cold start goes, as three cut-down copies of a
// built bundle, each still given the bundle's other modules (.wasm, .gz):
// - "parsed": the bundle's code inside a function never called: V8 pre-parses it and nothing runs.
// - "compiled": the same function in parentheses, which V8 compiles eagerly, as it compiles a module's top level
//   (inner functions stay pre-parsed).
// - "evaluated": the bundle as built, its module evaluated (createApp() included), with a one-line default export
//   answering /health.
// The steps between rows (floor, parsed, compiled, evaluated, the bundle itself) are pre-parsing, top-level
// compilation, evaluation and the first request.
import { ONE_LINE_WORKER } from "./server.mjs";

/** The three variants' main-module sources, from a wrangler-built (esbuild, minified) main module's source. */
export function splitBundle(built) {
  const source = built.replace(/\n\/\/# sourceMappingURL=.*\s*$/, "");
  const exportsAt = source.lastIndexOf("export{");
  const exported = source.slice(exportsAt);
  if (!/^export\{[^}]*\};?\s*$/.test(exported) || !/ as default[,}]/.test(exported))
    throw new Error("BENCH_SPLIT: the bundle does not end in one export{...} with a default export");
  // Imports cannot sit in a function: dropped (their names are never evaluated there).
  const body = source.slice(0, exportsAt).replace(/import(?:\{[^}]*\}|\s*[\w$]+\s*)from"[^"]*";?/g, "");
  // The Durable Object and entrypoint classes wrangler.toml names stay exported, as empty stand-ins.
  const classes = [...exported.matchAll(/[\w$]+ as ([\w$]+)/g)].map((m) => m[1]).filter((name) => name !== "default");
  const standIns = classes.map((name) => `export class ${name} {}`).join("\n");
  const withoutDefault = exported.replace(/,?[\w$]+ as default/, "").replace("export{,", "export{");
  return [
    { label: "parsed", js: `${ONE_LINE_WORKER}\nfunction never(){${body}}\n${standIns}\n` },
    { label: "compiled", js: `${ONE_LINE_WORKER}\nglobalThis.never=(function(){${body}});\n${standIns}\n` },
    { label: "evaluated", js: `${source.slice(0, exportsAt)}${withoutDefault}\n${ONE_LINE_WORKER}\n` },
  ];
}
