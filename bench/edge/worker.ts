/**
 * Bench-only entry (`npm run bench -- edge`; never deployed): our worker, with its D1 binding seen from far away
 * (./far-d1.ts) in the app and in the QR object, and one probe route the bench uses to revoke a session the way
 * another edge location would (straight in D1, no cache of this isolate told).
 */
import { QrSession as BaseQrSession } from "../../src/qr/session";
import worker from "../../src/index";
import type { Env } from "../../src/env";
import { farD1, modelFrom, noteRevocation } from "./far-d1";

export { AttemptCounter, AuthService } from "../../src/index";

const wrapped = new WeakMap<Env, Env>();
function far(env: Env): Env {
  let out = wrapped.get(env);
  if (!out) wrapped.set(env, (out = { ...env, DB: farD1(env.DB, modelFrom(env as unknown as Record<string, unknown>)) }));
  return out;
}

export class QrSession extends BaseQrSession {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, far(env));
  }
}

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/__bench/revoke" && request.method === "POST") {
      const sid = url.searchParams.get("sid") ?? "";
      await env.DB.prepare("UPDATE sessions SET revoked_at = ?, revoked_reason = 'logout' WHERE id = ?")
        .bind(Math.floor(Date.now() / 1000), sid)
        .run();
      noteRevocation(sid);
      return new Response(null, { status: 204 });
    }
    return worker.fetch(request, far(env), ctx);
  },
} satisfies ExportedHandler<Env>;
