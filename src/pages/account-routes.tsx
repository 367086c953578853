/** @module Account Page Routes — GET /reset, /reset/{uid}/{token}, /activate/{uid}/{token}: the mailed links' own pages (./account). */
import type { Context } from "hono";
import type { JSX } from "hono/jsx/jsx-runtime";
import { getConfig } from "../config";
import { defineRoute } from "../http/endpoint";
import { usePageCsp } from "../http/security";
import type { AppEnv } from "../http/types";
import { ActivatePage, ConfirmEmailPage, ForgotPage, NotMePage, ResetPage } from "./account";

function html(c: Context<AppEnv>, page: JSX.Element): Response {
  // A fresh nonce per render, and a token in the URL: nothing may be cached (the layout also sends no Referer).
  c.header("cache-control", "no-store");
  c.header("content-type", "text/html; charset=utf-8");
  return c.body(`<!doctype html>${page.toString()}`, 200);
}

const htmlPage = (description: string) => ({ description, content: { type: "text/html", schema: { type: "string" } } });

const linkParams = {
  uid: {
    description: "The user id as Django writes it (base64url of its digits).",
    schema: { type: "string", pattern: "^[A-Za-z0-9_-]{1,64}$" },
    check: (v: string) => /^[A-Za-z0-9_-]{1,64}$/.test(v),
  },
  token: {
    description: "The link's token (`<timestamp>-<32 hex>`).",
    schema: { type: "string", pattern: "^[0-9a-z]{1,13}-[0-9a-f]{32}$" },
    check: (v: string) => /^[0-9a-z]{1,13}-[0-9a-f]{32}$/.test(v),
  },
};

const ADDRESS = /^[A-Za-z0-9_-]{4,400}$/;

/** The link's new address for display (the API checks it again); null when it is not one. */
function addressOf(encoded: string): string | null {
  try {
    const text = new TextDecoder().decode(Uint8Array.from(atob(encoded.replace(/-/g, "+").replace(/_/g, "/")), (ch) => ch.charCodeAt(0)));
    return /^[^\s@]+@[^\s@]+$/.test(text) && text.length <= 254 ? text : null;
  } catch {
    return null;
  }
}

export const accountPageRoutes = [
  defineRoute({
    method: "GET",
    path: "/reset",
    operationId: "page_forgot_password",
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
    usesD1: false,
    summary: "Choose a new password (page)",
    description:
      "Where the reset mail links (unless FRONTEND_RESET_URL is set). Opening it changes nothing; the form posts to POST /api/auth/users/reset_password_confirm/.",
    auth: "anonymous",
    notFound: true,
    params: linkParams,
    responses: { 200: htmlPage("HTML page.") },
    handler: (c, { params }) =>
      html(c, <ResetPage nonce={usePageCsp(c)} product={getConfig(c.env).productName} uid={params.uid} token={params.token} />),
  }),

  defineRoute({
    method: "GET",
    path: "/activate/{uid}/{token}",
    operationId: "page_activate",
    usesD1: false,
    summary: "Activate an account (page)",
    description:
      "Where the activation mail links (unless FRONTEND_ACTIVATION_URL is set). Opening it changes nothing; its button posts to POST /api/auth/users/activation/.",
    auth: "anonymous",
    notFound: true,
    params: linkParams,
    responses: { 200: htmlPage("HTML page.") },
    handler: (c, { params }) =>
      html(c, <ActivatePage nonce={usePageCsp(c)} product={getConfig(c.env).productName} uid={params.uid} token={params.token} />),
  }),

  defineRoute({
    method: "GET",
    path: "/confirm-email/{uid}/{email}/{token}",
    operationId: "page_confirm_email",
    usesD1: false,
    summary: "Confirm a new email address (page)",
    description: "Where the email-change mail links. Opening it changes nothing; its button posts to POST /api/auth/users/email_confirm/.",
    auth: "anonymous",
    notFound: true,
    params: {
      uid: linkParams.uid,
      email: {
        description: "The new address, base64url.",
        schema: { type: "string", pattern: "^[A-Za-z0-9_-]{4,400}$" },
        check: (v: string) => ADDRESS.test(v) && addressOf(v) !== null,
      },
      token: linkParams.token,
    },
    responses: { 200: htmlPage("HTML page.") },
    handler: (c, { params }) =>
      html(
        c,
        <ConfirmEmailPage
          nonce={usePageCsp(c)}
          product={getConfig(c.env).productName}
          uid={params.uid}
          email={params.email}
          address={addressOf(params.email)!}
          token={params.token}
        />,
      ),
  }),

  defineRoute({
    method: "GET",
    path: "/not-me/{uid}/{sid}/{token}",
    operationId: "page_not_me",
    usesD1: false,
    summary: '"This wasn\'t me" (page)',
    description: "Where a notice's \"this wasn't me\" links. Opening it changes nothing; its button posts to POST /api/auth/users/not_me/.",
    auth: "anonymous",
    notFound: true,
    params: {
      uid: linkParams.uid,
      sid: {
        description: "The session the notice is about.",
        schema: { type: "string", pattern: "^[A-Za-z0-9_-]{22}$" },
        check: (v: string) => /^[A-Za-z0-9_-]{22}$/.test(v),
      },
      token: linkParams.token,
    },
    responses: { 200: htmlPage("HTML page.") },
    handler: (c, { params }) =>
      html(
        c,
        <NotMePage nonce={usePageCsp(c)} product={getConfig(c.env).productName} uid={params.uid} sid={params.sid} token={params.token} />,
      ),
  }),
];
