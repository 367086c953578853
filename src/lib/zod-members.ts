/**
 * @module Zod Members — the members of zod our code calls or checks with `instanceof`, in one module: the deployed
 * bundle evaluates zod only when this module is first loaded (src/lib/zod-lazy.ts). "zod/v4" is the same zod as "zod",
 * under a name wrangler.toml's [alias] leaves alone.
 */
export {
  array,
  boolean,
  email,
  enum,
  literal,
  looseObject,
  number,
  object,
  registry,
  strictObject,
  string,
  toJSONSchema,
  undefined,
  union,
  ZodObject,
  ZodPipe,
  ZodType,
} from "zod/v4";
