/**
 * AuthService over a real service binding: the test pool runs an auxiliary Worker ("consumer",
 * test/fixtures/consumer-worker.js) bound to this worker's `AuthService` entrypoint, as another team's Worker
 * would be. Each test sends the consumer an Authorization header; it answers what `authenticate` returned.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { authenticateBinding, type AuthResult } from "../src/auth/service-binding";
import { api, decodeJwt, forge, signUp } from "./helpers";

async function viaBinding(authorization: string): Promise<AuthResult> {
  const res = await env.CONSUMER.fetch("https://consumer.example/", { headers: { authorization } });
  return res.json<AuthResult>();
}

describe("AuthService.authenticate over a service binding", () => {
  it("a live access token: the user and the session id", async () => {
    const user = await signUp();
    const result = await viaBinding(`Bearer ${user.access}`);
    expect(result).toEqual({ ok: true, user: { id: user.id, username: user.username }, session_id: decodeJwt(user.access).payload.sid });
  });

  it("a revoked session is refused at once, as over HTTP: token_not_valid", async () => {
    const user = await signUp();
    expect((await viaBinding(`Bearer ${user.access}`)).ok).toBe(true);
    expect((await api("/api/token/blacklist/", { method: "POST", body: { refresh: user.refresh } })).status).toBe(200);
    expect(await viaBinding(`Bearer ${user.access}`)).toEqual({
      ok: false,
      code: "token_not_valid",
      detail: "Given token not valid for any token type",
      status: 401,
    });
  });

  it("an expired token is refused: token_not_valid", async () => {
    const user = await signUp();
    const claims = decodeJwt(user.access).payload as Record<string, unknown> & { iat: number };
    const past = Math.floor(Date.now() / 1000) - 3600;
    const expired = await forge({ ...claims, iat: past, exp: past + 300 });
    expect(await viaBinding(`Bearer ${expired}`)).toMatchObject({ ok: false, code: "token_not_valid", status: 401 });
  });

  it("malformed headers get simplejwt's codes: nothing, another scheme, extra parts, a token that is not a JWT", async () => {
    expect(await viaBinding("")).toMatchObject({ ok: false, code: "not_authenticated" });
    expect(await viaBinding("Basic dXNlcjpwYXNz")).toMatchObject({ ok: false, code: "not_authenticated" });
    expect(await viaBinding("Bearer a b")).toMatchObject({ ok: false, code: "bad_authorization_header" });
    expect(await viaBinding("Bearer not-a-jwt")).toMatchObject({ ok: false, code: "token_not_valid" });
  });

  it("a token signed by our key for another issuer than its own origin claims is refused", async () => {
    const user = await signUp();
    const claims = decodeJwt(user.access).payload as Record<string, unknown>;
    const mixed = await forge({ ...claims, aud: "https://other-service.example" });
    expect(await viaBinding(`Bearer ${mixed}`)).toMatchObject({ ok: false, code: "token_not_valid" });
  });

  it("a token signed by our key that names another issuer (one minted through a forged Host header) is refused", async () => {
    const user = await signUp();
    const claims = decodeJwt(user.access).payload as Record<string, unknown>;
    const evil = await forge({ ...claims, iss: "https://evil.example", aud: "https://evil.example" });
    expect(await viaBinding(`Bearer ${evil}`)).toMatchObject({ ok: false, code: "token_not_valid", status: 401 });
  });

  it("without JWT_ISSUER the binding answers server_misconfigured, whatever the token claims", async () => {
    const user = await signUp();
    const unset = await authenticateBinding({ ...env, JWT_ISSUER: "" }, `Bearer ${user.access}`, Date.now);
    expect(unset).toMatchObject({ ok: false, code: "server_misconfigured", status: 500 });
  });
});

describe("authenticateBinding with JWT_ISSUER set", () => {
  it("checks the configured issuer, as the HTTP API does: a token issued for another origin is refused", async () => {
    const user = await signUp();
    const issuedHere = decodeJwt(user.access).payload.iss as string;
    const asIssued = await authenticateBinding(
      { ...env, JWT_ISSUER: issuedHere, JWT_AUDIENCE: issuedHere },
      `Bearer ${user.access}`,
      Date.now,
    );
    expect(asIssued.ok).toBe(true);
    const elsewhere = await authenticateBinding({ ...env, JWT_ISSUER: "https://auth.other.example" }, `Bearer ${user.access}`, Date.now);
    expect(elsewhere).toMatchObject({ ok: false, code: "token_not_valid", status: 401 });
  });
});
