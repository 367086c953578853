/**
 * @module Named Schemas — the zod schemas routes answer with, registered under the name the OpenAPI document
 * gives them (`components/schemas/<id>`). A leaf: modules name their schemas here without importing the document.
 */
import * as z from "zod";
import { built, isLazy, lazy } from "../lib/lazy";

type AnswerRegistry = ReturnType<typeof z.registry<{ id: string }>>;
let registry: AnswerRegistry | undefined;

/** Schemas the answers name (`named()`), turned into `components/schemas` once, refs between them kept. Made on first use, like every schema. */
export function answerSchemas(): AnswerRegistry {
  return (registry ??= z.registry<{ id: string }>());
}

/** Every named schema in the order the modules define them, built or not: the document lists them in this order. */
const everyNamed: Array<{ id: string; schema: z.ZodType }> = [];

/**
 * The schema `build` returns, registered as the document's `components/schemas/<id>` (answers that use it become
 * `$ref`s) once it is built: on first use (src/lib/lazy.ts), or when the document is made.
 */
export function named<S extends z.ZodType>(id: string, build: () => S): S {
  const schema = lazy(() => {
    const real = build();
    answerSchemas().add(real, { id });
    return real;
  });
  everyNamed.push({ id, schema });
  return schema;
}

/**
 * Builds every named schema (so each is in `answerSchemas`), checks what each is composed of, and returns their ids in
 * the order they are defined.
 */
export function buildEveryNamed(): string[] {
  for (const { id, schema } of everyNamed) assertComposedOfBuilt(schema, `components/schemas/${id}`);
  return everyNamed.map(({ id }) => id);
}

/**
 * Throws when a stand-in from `lazy()` or `named()` sits inside `schema` (a field, an element, an option) instead of
 * the schema it stands for: zod's JSON Schema generator keys schemas by identity and would describe it wrongly or fail.
 */
export function assertComposedOfBuilt(schema: z.ZodType, where: string): void {
  const visited = new Set<object>();
  const visit = (value: unknown, path: string): void => {
    if (typeof value !== "object" || value === null || visited.has(value)) return;
    if (isLazy(value))
      throw new Error(`OpenAPI: ${where}: ${path} is a lazy() or named() schema composed without built() (src/lib/lazy.ts)`);
    visited.add(value);
    if ("_zod" in value) visit((value as z.ZodType)._zod.def, path);
    else if (Array.isArray(value)) value.forEach((item, i) => visit(item, `${path}[${i}]`));
    else if (Object.getPrototypeOf(value) === Object.prototype)
      for (const [key, item] of Object.entries(value)) visit(item, `${path}.${key}`);
  };
  visit(built(schema)._zod.def, "the schema");
}
