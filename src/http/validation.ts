/**
 * @module Validation — zod schemas checked with DRF's rules, messages and error shape.
 *
 * DRF's rule for fields a serializer does not declare: they are ignored, never an error (a front end
 * written for simplejwt may send extras such as `remember_me`). So an object schema sees only its own
 * declared keys, copied as own properties of a prototype-less object: a key named `toString`,
 * `constructor` or `__proto__` is just an unknown field, whatever the schema.
 */
import * as z from "zod";
import { ValidationError, type FieldErrors } from "./errors";

type Issue = z.core.$ZodIssue;

function typeName(expected: string): string {
  switch (expected) {
    case "string":
      return "Not a valid string.";
    case "number":
    case "int":
      return "A valid number is required.";
    case "boolean":
      return "Must be a valid boolean.";
    case "array":
      return "Expected a list of items.";
    case "object":
      return "Expected a dictionary of items.";
    default:
      return "Invalid value.";
  }
}

/** DRF's wording for one zod issue, given the raw value it was about. */
function message(issue: Issue, value: unknown, present: boolean): string {
  switch (issue.code) {
    case "invalid_type":
      if (!present || value === undefined) return "This field is required.";
      if (value === null) return "This field may not be null.";
      return typeName(issue.expected);
    case "too_small":
      if (issue.origin === "string") {
        return issue.minimum === 1 ? "This field may not be blank." : `Ensure this field has at least ${issue.minimum} characters.`;
      }
      return `Ensure this value is greater than or equal to ${issue.minimum}.`;
    case "too_big":
      if (issue.origin === "string") return `Ensure this field has no more than ${issue.maximum} characters.`;
      return `Ensure this value is less than or equal to ${issue.maximum}.`;
    case "invalid_format":
      if (issue.format === "email") return "Enter a valid email address.";
      return "Enter a valid value.";
    default:
      return issue.message;
  }
}

function valueAt(data: unknown, path: PropertyKey[]): { value: unknown; present: boolean } {
  let current: unknown = data;
  for (const key of path) {
    if (typeof current !== "object" || current === null || !Object.hasOwn(current, key)) return { value: undefined, present: false };
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return { value: current, present: true };
}

/** Turns zod issues into `{field: [messages]}`; unknown keys are reported under their own name. */
function fieldErrors(issues: readonly Issue[], data: unknown): FieldErrors {
  // No prototype: a field called `toString` must not find Object.prototype's function here.
  const errors: FieldErrors = Object.create(null) as FieldErrors;
  const add = (field: string, text: string) => {
    const list = (errors[field] ??= []);
    if (!list.includes(text)) list.push(text);
  };
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) add(key.slice(0, 100), "Unknown field.");
      continue;
    }
    const field = issue.path.length > 0 ? String(issue.path[0]) : "non_field_errors";
    const { value, present } = valueAt(data, issue.path);
    add(field, message(issue, value, present));
  }
  return errors;
}

/** The declared fields of `data` only, as own properties of a prototype-less object (unknown fields dropped, as DRF does). */
function declaredFields(schema: z.ZodObject, data: unknown): unknown {
  if (typeof data !== "object" || data === null || Array.isArray(data)) return data;
  const picked: Record<string, unknown> = Object.create(null);
  for (const key of Object.keys(schema.shape)) {
    if (Object.hasOwn(data, key)) picked[key] = (data as Record<string, unknown>)[key];
  }
  return picked;
}

/** Parses `data` with `schema` (unknown fields of an object schema ignored) or throws a ValidationError in DRF's shape. */
export function validate<S extends z.ZodType>(schema: S, data: unknown): z.output<S> {
  const input = schema instanceof z.ZodObject ? declaredFields(schema, data) : data;
  const result = schema.safeParse(input);
  if (!result.success) throw new ValidationError(fieldErrors(result.error.issues, input));
  return result.data;
}
