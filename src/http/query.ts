/**
 * @module Query — a route's query string read as Django's QueryDict reads it (a repeated parameter counts by its
 * last value) and parsed with the route spec's zod schema: DRF's messages on bad values, a 400 in DRF's shape.
 */
import * as z from "zod";
import { validate } from "./validation";

/** A route spec's `query`: an object of fields, optionally transformed as a whole into what the handler reads. */
export type QuerySchema = z.ZodObject | z.ZodPipe<z.ZodObject, z.ZodType>;

/** The fields a query schema declares, in order (the document lists them as parameters). */
export function queryFields(schema: QuerySchema): Record<string, z.ZodType> {
  return (schema instanceof z.ZodPipe ? schema.in : schema).shape as Record<string, z.ZodType>;
}

/** Parses `params` with `schema`: each declared field gets the last value sent, undeclared ones are ignored. */
export function parseQuery<S extends QuerySchema>(schema: S, params: URLSearchParams): z.output<S> {
  // No prototype: a parameter named `toString` is just an undeclared one.
  const values: Record<string, string> = Object.create(null);
  for (const name of Object.keys(queryFields(schema))) {
    const all = params.getAll(name);
    if (all.length > 0) values[name] = all[all.length - 1]!;
  }
  return validate(schema, values) as z.output<S>;
}
