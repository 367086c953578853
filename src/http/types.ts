/** @module HTTP Types — the Hono environment every module's routes share. */
import type { Env } from "../env";
import type { Deps } from "../deps";
import type { Authenticated } from "../auth/service";

export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    deps: Deps;
    auth: Authenticated;
  };
}
