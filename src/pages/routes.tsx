/**
 * @module Page Routes — GET /login (the desktop's QR login page) and GET /qr/{id} (the phone's approval
 * page, what the code encodes). Server-rendered with hono/jsx; CSS and script are inline under a
 * per-response CSP nonce. The login page starts its code from the browser, since only the browser
 * holds the key the approved pair is sealed to.
 */
import type { Context } from "hono";
import type { JSX } from "hono/jsx/jsx-runtime";
import { usePageCsp } from "../http/security";
import { getConfig } from "../config";
import { defineRoute } from "../http/endpoint";
import { defineResource } from "../http/resource";
import type { AppEnv } from "../http/types";
import { accountPageRoutes } from "./account-routes";
import { ApiError } from "../http/errors";
import { enforceQrRateLimit } from "../qr/limits";
import { issuedHere } from "../qr/routes";
import { qrIdExpiresAtMs } from "../qr/ids";
import { QR_LOGIN_MODULE_HASH, QR_LOGIN_MODULE_JS } from "./client.generated";
import { LoginPage } from "./login";
import { PhonePage, ProblemPage } from "./phone";
import { PROBLEMS, type ProblemCode } from "./problems";

function html(c: Context<AppEnv>, page: JSX.Element, status: 200 | 403 | 404 | 409 | 410 | 429 | 500 = 200): Response {
  // Every render holds a fresh nonce (and /login a browser secret): nothing may be cached or reused.
  c.header("cache-control", "no-store");
  c.header("content-type", "text/html; charset=utf-8");
  return c.body(`<!doctype html>${page.toString()}`, status);
}

async function peekState(c: Context<AppEnv>, id: string): Promise<ProblemCode | "open" | "unknown"> {
  try {
    const stub = c.env.QR_SESSION.get(c.env.QR_SESSION.idFromName(id));
    const { state } = await stub.peek({ id, expiresAtMs: qrIdExpiresAtMs(id) }, c.get("deps").clock());
    if (state === "expired") return "qr_expired";
    if (state === "approved" || state === "denied") return "qr_not_pending";
    return "open";
  } catch {
    // The script asks the API itself and shows whatever it answers.
    return "unknown";
  }
}

const htmlPage = (description: string) => ({ description, content: { type: "text/html", schema: { type: "string" } } });

const MODULE_FILE = `qr-login.${QR_LOGIN_MODULE_HASH}.js`;

const pageRoutes = [
  defineRoute({
    method: "GET",
    path: "/client/{file}",
    operationId: "client_qr_login",
    summary: "The embeddable QR login module",
    description:
      '`qr-login.js` redirects (302, not cached) to the current build\'s `qr-login.{version}.js`, one dependency-free ES module: `startQrLogin({ baseUrl, onState })` (headless) and the `<qr-login base-url="…">` element, registered on import. The versioned file is cached for a year (`immutable`): its name changes with its content. Pages on CORS_ORIGINS may load it (module scripts are fetched in CORS mode). Any other file, or another version, is 404. docs/qr-embed.md.',
    auth: "anonymous",
    notFound: true,
    params: {
      file: {
        description: "`qr-login.js`, or `qr-login.{version}.js` with the 12 hex digits the redirect names.",
        schema: { type: "string", pattern: "^qr-login(\\.[0-9a-f]{12})?\\.js$" },
        check: (file: string) => file === "qr-login.js" || file === MODULE_FILE,
      },
    },
    responses: {
      200: { description: "The module (the versioned file).", content: { type: "text/javascript", schema: { type: "string" } } },
      302: {
        description: "`qr-login.js`: to the current version.",
        headers: { Location: { description: "/client/qr-login.{version}.js", schema: { type: "string" } } },
      },
    },
    handler: (c, { params }) =>
      params.file === "qr-login.js"
        ? c.body(null, 302, { location: `/client/${MODULE_FILE}`, "cache-control": "no-cache" })
        : c.body(QR_LOGIN_MODULE_JS, 200, {
            "content-type": "text/javascript; charset=utf-8",
            "cache-control": "public, max-age=31536000, immutable",
          }),
  }),

  defineRoute({
    method: "GET",
    path: "/login",
    operationId: "page_login",
    summary: "The QR login page (desktop)",
    description:
      "Makes the browser's key, starts a code, shows it and the check code once scanned, and follows the WebSocket until the phone approves; opens the sealed pair. No external scripts, fonts or styles.",
    auth: "anonymous",
    responses: { 200: htmlPage("HTML page.") },
    handler: (c) => html(c, <LoginPage nonce={usePageCsp(c)} refreshCookie={getConfig(c.env).refreshCookie} />),
  }),

  defineRoute({
    method: "GET",
    path: "/qr/{id}",
    operationId: "page_qr_approve",
    summary: "The approval page (phone)",
    description:
      "What the code opens: signs the phone in if needed; opening it changes nothing until the user taps Continue (the scan); then shows who is asking, three numbers to pick from, and Deny. Ids the worker never issued are 404 without touching any object; limited per IP.",
    auth: "anonymous",
    // Its own 404 and 429 are pages, not the API's JSON: the id is judged inside.
    params: { id: { description: "The QR login's id, as encoded in the code." } },
    responses: { 200: htmlPage("HTML page (also for unknown or finished sessions, which it explains).") },
    handler: async (c, { params }) => {
      const nonce = usePageCsp(c);
      const id = params.id;
      try {
        await enforceQrRateLimit(c, "lookup");
      } catch (error) {
        if (!(error instanceof ApiError) || error.code !== "throttled") throw error;
        for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
        return html(c, <ProblemPage nonce={nonce} code="throttled" />, 429);
      }
      // An id the worker never issued never reaches a Durable Object.
      const state = (await issuedHere(c.env, id)) ? await peekState(c, id) : "not_found";
      if (state === "open" || state === "unknown")
        return html(c, <PhonePage nonce={nonce} id={id} refreshCookie={getConfig(c.env).refreshCookie} />);
      return html(c, <ProblemPage nonce={nonce} code={state} />, PROBLEMS[state].status);
    },
  }),
];

/** The HTML pages, as src/app.ts lists them: they read no D1 of their own (the phone page asks the QR object). */
export const pagesResource = defineResource({
  tag: "pages",
  description: "HTML pages for people.",
  usesD1: false,
  routes: [...pageRoutes, ...accountPageRoutes],
});
