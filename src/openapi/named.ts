/**
 * @module Named Schemas — the zod schemas routes answer with, registered under the name the OpenAPI document
 * gives them (`components/schemas/<id>`). A leaf: modules name their schemas here without importing the document.
 */
import * as z from "zod";

/** Schemas the answers name (`named()`), turned into `components/schemas` once, refs between them kept. */
export const answerSchemas = z.registry<{ id: string }>();

/** Registers `schema` as the document's `components/schemas/<id>`; answers that use it become `$ref`s. */
export function named<S extends z.ZodType>(id: string, schema: S): S {
  answerSchemas.add(schema, { id });
  return schema;
}
