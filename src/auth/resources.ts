/** @module Auth Resources — the three resources auth serves (tokens, account, sessions), as src/app.ts lists them. */
import { securityEvents, sessions, users } from "../db/schema";
import { defineResource } from "../http/resource";
import { djoserRoutes, notMeRoutes } from "./djoser-routes";
import { accountRoutes, sessionRoutes, tokenRoutes } from "./routes";

export const tokensResource = defineResource({
  tag: "tokens",
  description: "Sign in, refresh, verify and sign out: djangorestframework-simplejwt's contract, verified against live sessions.",
  routes: tokenRoutes,
});

export const accountResource = defineResource({
  tag: "account",
  description: "Register, read and change your account, change your password, delete the account.",
  tables: [users],
  routes: [...accountRoutes, ...djoserRoutes],
});

export const sessionsResource = defineResource({
  tag: "sessions",
  description: "Your signed-in devices: list them, sign one or all others out; your account's security events.",
  tables: [sessions, securityEvents],
  routes: [...sessionRoutes, ...notMeRoutes],
});
