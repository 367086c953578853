/**
 * @module Zod, Lazily — what the bundle imports as "zod" (wrangler.toml [alias]; vitest.config.ts for the tests): each
 * member our code uses, forwarding to zod, which is evaluated on the first call (src/lib/zod-load.ts). Schemas are
 * built on first use already (src/lib/lazy.ts), so an isolate that validates nothing never evaluates zod: measured
 * +5.6 ms of a fresh isolate's start beside the one-line worker. Types still come from zod itself (tsc sees "zod").
 * A member missing here is undefined in the bundle: every test goes through this module too.
 */
import type * as Zod from "zod";
import { zodMembers } from "./zod-load";

type Members = ReturnType<typeof zodMembers>;
type Callable = keyof { [K in keyof Members as Members[K] extends (...args: never[]) => unknown ? K : never]: true };

/** A function that calls zod's member of that name, loading zod on the first call. */
function forward<K extends Callable>(name: K): Members[K] {
  return ((...args: unknown[]) => (zodMembers()[name] as (...a: unknown[]) => unknown)(...args)) as Members[K];
}

/** For `x instanceof z.ZodObject`: asks zod's class of that name, loading zod first. */
function classOf<K extends "ZodObject" | "ZodPipe" | "ZodType">(name: K): Members[K] {
  const stand = function () {
    throw new Error(`zod's ${name} is only for instanceof here (src/lib/zod-lazy.ts)`);
  };
  Object.defineProperty(stand, Symbol.hasInstance, { value: (value: unknown) => value instanceof zodMembers()[name] });
  return stand as unknown as Members[K];
}

export const array: typeof Zod.array = forward("array");
export const boolean: typeof Zod.boolean = forward("boolean");
export const email: typeof Zod.email = forward("email");
const _enum: typeof Zod.enum = forward("enum");
export const literal: typeof Zod.literal = forward("literal");
export const looseObject: typeof Zod.looseObject = forward("looseObject");
export const number: typeof Zod.number = forward("number");
export const object: typeof Zod.object = forward("object");
export const registry: typeof Zod.registry = forward("registry");
export const strictObject: typeof Zod.strictObject = forward("strictObject");
export const string: typeof Zod.string = forward("string");
export const toJSONSchema: typeof Zod.toJSONSchema = forward("toJSONSchema");
const _undefined: typeof Zod.undefined = forward("undefined");
export const union: typeof Zod.union = forward("union");
export const ZodObject: typeof Zod.ZodObject = classOf("ZodObject");
export const ZodPipe: typeof Zod.ZodPipe = classOf("ZodPipe");
export const ZodType: typeof Zod.ZodType = classOf("ZodType");
export { _enum as enum, _undefined as undefined };
