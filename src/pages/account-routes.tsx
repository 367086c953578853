/** @module Account Page Routes — GET /reset, /reset/{uid}/{token}, /activate/{uid}/{token}: the mailed links' own pages (./account). */
import type { Context } from "hono";
import type { JSX } from "hono/jsx/jsx-runtime";
import { getConfig } from "../config";
import { defineRoute } from "../http/endpoint";
import { usePageCsp } from "../http/security";
import type { AppEnv } from "../http/types";
import { ActivatePage, ForgotPage, ResetPage } from "./account";

function html(c: Context<AppEnv>, page: JSX.Element): Response {
  // A fresh nonce per render, and a token in the URL: nothing may be cached (the layout also sends no Referer).
  c.header("cache-control", "no-store");
  c.header("content-type", "text/html; charset=utf-8");
  return c.body(`<!doctype html>${page.toString()}`, 200);
}

const htmlPage = (description: string) => ({ description, content: { type: "text/html", schema: { type: "string" } } });

const linkParams = {
  uid: { description: "The user id as Django writes it (base64url of its digits).", schema: { type: "string", pattern: "^[A-Za-z0-9_-]{1,64}$" }, check: (v: string) => /^[A-Za-z0-9_-]{1,64}$/.test(v) },
  token: { description: "The link's token (`<timestamp>-<32 hex>`).", schema: { type: "string", pattern: "^[0-9a-z]{1,13}-[0-9a-f]{32}$" }, check: (v: string) => /^[0-9a-z]{1,13}-[0-9a-f]{32}$/.test(v) },
};

export const accountPageRoutes = [
  defineRoute({
    method: "GET",
    path: "/reset",
    operationId: "page_forgot_password",
    tag: "pages",
    usesD1: false,
    summary: "Forgot password (page)",
    description: "Asks for the account's email and posts it to POST /api/auth/users/reset_password/.",
    auth: "anonymous",
    responses: { 200: htmlPage("HTML page.") },
    handler: (c) => html(c, <ForgotPage nonce={usePageCsp(c)} product={getConfig(c.env).productName} />),
  }),

  defineRoute({
    method: "GET",
    path: "/reset/{uid}/{token}",
    operationId: "page_reset_password",
    tag: "pages",
    usesD1: false,
    summary: "Choose a new password (page)",
    description: "Where the reset mail links (unless FRONTEND_RESET_URL is set). Opening it changes nothing; the form posts to POST /api/auth/users/reset_password_confirm/.",
    auth: "anonymous",
    notFound: true,
    params: linkParams,
    responses: { 200: htmlPage("HTML page.") },
    handler: (c, { params }) => html(c, <ResetPage nonce={usePageCsp(c)} product={getConfig(c.env).productName} uid={params.uid} token={params.token} />),
  }),

  defineRoute({
    method: "GET",
    path: "/activate/{uid}/{token}",
    operationId: "page_activate",
    tag: "pages",
    usesD1: false,
    summary: "Activate an account (page)",
    description: "Where the activation mail links (unless FRONTEND_ACTIVATION_URL is set). Opening it changes nothing; its button posts to POST /api/auth/users/activation/.",
    auth: "anonymous",
    notFound: true,
    params: linkParams,
    responses: { 200: htmlPage("HTML page.") },
    handler: (c, { params }) => html(c, <ActivatePage nonce={usePageCsp(c)} product={getConfig(c.env).productName} uid={params.uid} token={params.token} />),
  }),
];
