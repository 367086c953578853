/**
 * @module Page Routes — GET /login (the desktop's QR login page) and GET /qr/{id} (the phone's approval
 * page, what the code encodes). Server-rendered with hono/jsx; CSS and script are inline under a
 * per-response CSP nonce, so each page is one round trip (plus the desktop's WebSocket).
 */
import type { Context, Hono } from "hono";
import type { JSX } from "hono/jsx/jsx-runtime";
import { usePageCsp } from "../http/security";
import { route } from "../http/route";
import type { AppEnv } from "../http/types";
import { isQrId } from "../qr/ids";
import { renderQrSvg } from "../qr/render";
import { LoginPage, type QrCreated } from "./login";
import { PhonePage, ProblemPage } from "./phone";
import { PROBLEMS, type ProblemCode } from "./problems";
import { qrGeometry } from "./qr-svg";

// What POST /api/qr/ records about the browser: the page's own request carries it.
const FORWARDED_HEADERS = ["user-agent", "cf-connecting-ip", "accept-language"];

function html(c: Context<AppEnv>, page: JSX.Element, status: 200 | 404 | 409 | 410 | 429 | 500 = 200): Response {
  // Every render holds a fresh nonce (and /login a browser secret): nothing may be cached or reused.
  c.header("cache-control", "no-store");
  c.header("content-type", "text/html; charset=utf-8");
  return c.body(`<!doctype html>${page.toString()}`, status);
}

function executionContext(c: Context<AppEnv>) {
  try {
    return c.executionCtx;
  } catch {
    // app.request() in tests runs without one.
    return undefined;
  }
}

/**
 * Starts the page's first QR login through the API itself (same validation, rate limit and recorded
 * device as the script's later POST /api/qr/), in process: no network hop, and no second round trip
 * for the browser. Null when that fails; the script then retries with backoff.
 */
async function createFirstCode(app: Hono<AppEnv>, c: Context<AppEnv>): Promise<QrCreated | null> {
  const headers = new Headers({ "content-type": "application/json", accept: "application/json" });
  for (const name of FORWARDED_HEADERS) {
    const value = c.req.header(name);
    if (value) headers.set(name, value);
  }
  // request.cf (country, city) travels with the init, so the phone sees where the browser is.
  const cf = (c.req.raw as Request & { cf?: IncomingRequestCfProperties }).cf;
  const request = new Request(new URL("/api/qr/", c.req.url), { method: "POST", headers, body: "{}", ...(cf ? { cf } : {}) } as RequestInit);
  const res = await app.fetch(request, c.env, executionContext(c));
  if (res.status !== 201) return null;
  return (await res.json()) as QrCreated;
}

async function peekState(c: Context<AppEnv>, id: string): Promise<ProblemCode | "open" | "unknown"> {
  try {
    const stub = c.env.QR_SESSION.get(c.env.QR_SESSION.idFromName(id));
    const result = await stub.peek(Date.now());
    if (!result.ok) return "not_found";
    if (result.view.state === "expired") return "qr_expired";
    if (result.view.state === "approved" || result.view.state === "denied") return "qr_not_pending";
    return "open";
  } catch {
    // The script asks the API itself and shows whatever it answers.
    return "unknown";
  }
}

export function mountPages(app: Hono<AppEnv>): void {
  route(app, "/login", {
    GET: [
      async function loginPage(c) {
        const nonce = usePageCsp(c);
        // A HEAD (a link checker, a prefetch) gets the headers without starting a login nobody will see.
        const code = c.req.method === "HEAD" ? null : await createFirstCode(app, c);
        const geometry = code ? qrGeometry(renderQrSvg(code.qr_url)) : null;
        return html(c, <LoginPage nonce={nonce} code={code} geometry={geometry} serverNowMs={Date.now()} />);
      },
    ],
  });

  route(app, "/qr/:id", {
    GET: [
      async function phonePage(c) {
        const nonce = usePageCsp(c);
        const id = c.req.param("id") ?? "";
        // A malformed id never reaches a Durable Object.
        const state = isQrId(id) ? await peekState(c, id) : "not_found";
        if (state === "open" || state === "unknown") return html(c, <PhonePage nonce={nonce} id={id} />);
        return html(c, <ProblemPage nonce={nonce} code={state} />, PROBLEMS[state].status);
      },
    ],
  });
}
