import { describe, expect, it } from "vitest";
import * as z from "zod";
import * as lazyZod from "../src/lib/zod-lazy";
import * as members from "../src/lib/zod-members";
import { lazy } from "../src/lib/lazy";

describe('the bundle\'s "zod" (src/lib/zod-lazy.ts), which tests import as "zod" too', () => {
  it("forwards every member src/lib/zod-members.ts loads, and no other", () => {
    expect(Object.keys(lazyZod).sort()).toEqual(Object.keys(members).sort());
  });

  it("builds the same schemas as zod: a forwarded call's schema parses and refuses as zod's does", () => {
    const schema = z.strictObject({ name: z.string().min(1), kind: z.enum(["a", "b"]), at: z.undefined().optional() });
    expect(schema.parse({ name: "x", kind: "a" })).toEqual({ name: "x", kind: "a" });
    expect(schema.safeParse({ name: "", kind: "c" }).success).toBe(false);
    expect(schema).toBeInstanceOf(members.ZodObject);
  });

  it("answers instanceof for zod's classes, built schemas and lazy stand-ins alike", () => {
    expect(z.object({}) instanceof z.ZodObject).toBe(true);
    expect(z.string() instanceof z.ZodType).toBe(true);
    expect(z.string().pipe(z.string()) instanceof z.ZodPipe).toBe(true);
    expect(z.string() instanceof z.ZodObject).toBe(false);
    expect({} instanceof z.ZodType).toBe(false);
    expect(lazy(() => z.object({ a: z.number() })) instanceof z.ZodObject).toBe(true);
  });

  it("refuses to construct a class it only stands in for", () => {
    expect(() => new (z.ZodObject as unknown as new () => unknown)()).toThrow(/only for instanceof/);
  });
});
