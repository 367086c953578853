import { env } from "cloudflare:workers";
import { SignJWT, exportJWK, generateKeyPair, type JWK } from "jose";
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../src/config";
import type { Env } from "../src/env";
import { PASSWORD, api, decodeJwt, forge, registerUser, rig, rowCounts, signIn, signUp, testKeys } from "./helpers";

async function newKey(kid: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg: "ES256" };
}

function b64url(text: string): string {
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function liveClaims() {
  const user = await registerUser();
  const pair = await signIn(user.username);
  return { user, pair, claims: decodeJwt(pair.access).payload };
}

async function expectRefused(token: string) {
  const res = await api("/api/auth/me/", { token });
  expect(res.status).toBe(401);
  expect(res.headers.get("www-authenticate")).toBe('Bearer realm="api"');
  expect(((await res.json()) as { code: string }).code).toBe("token_not_valid");
}

describe("token attacks are refused", () => {
  it("a genuine token is accepted (control)", async () => {
    const { claims } = await liveClaims();
    expect((await api("/api/auth/me/", { token: await forge(claims) })).status).toBe(200);
  });

  it("a tampered payload", async () => {
    const { pair, user } = await liveClaims();
    const [h, p, s] = pair.access.split(".");
    const payload = JSON.parse(atob(p!.replace(/-/g, "+").replace(/_/g, "/")));
    payload.user_id = user.id + 1;
    payload.sub = String(user.id + 1);
    await expectRefused(`${h}.${b64url(JSON.stringify(payload))}.${s}`);
  });

  it("a tampered signature", async () => {
    const { pair } = await liveClaims();
    const [h, p, s] = pair.access.split(".");
    const flipped = (s![0] === "A" ? "B" : "A") + s!.slice(1);
    await expectRefused(`${h}.${p}.${flipped}`);
  });

  it("alg: none", async () => {
    const { claims } = await liveClaims();
    await expectRefused(`${b64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${b64url(JSON.stringify(claims))}.`);
  });

  it("an HS256 token signed with the ES256 public key (algorithm confusion)", async () => {
    const { claims } = await liveClaims();
    const publicJwks = await (await api("/.well-known/jwks.json")).text();
    for (const secret of [publicJwks, JSON.stringify((JSON.parse(publicJwks) as { keys: unknown[] }).keys[0])]) {
      const token = await new SignJWT(claims)
        .setProtectedHeader({ alg: "HS256", typ: "JWT", kid: "test-key-1" })
        .sign(new TextEncoder().encode(secret));
      await expectRefused(token);
    }
  });

  it("a token from another issuer", async () => {
    const { claims } = await liveClaims();
    await expectRefused(await forge({ ...claims, iss: "https://evil.example" }));
  });

  it("a token for another audience", async () => {
    const { claims } = await liveClaims();
    await expectRefused(await forge({ ...claims, aud: "https://other-service.example" }));
  });

  it("an expired token", async () => {
    const r = rig();
    const pair = await signIn((await registerUser()).username, PASSWORD, r.call);
    r.advance(301);
    const res = await r.call("/api/auth/me/", { token: pair.access });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: "token_not_valid", messages: [{ message: "Token is expired" }] });
  });

  it("an expired token within JWT_LEEWAY is still accepted", async () => {
    const r = rig({ env: { JWT_LEEWAY: "30" } });
    const pair = await signIn((await registerUser()).username, PASSWORD, r.call);
    r.advance(320);
    expect((await r.call("/api/auth/me/", { token: pair.access })).status).toBe(200);
  });

  it("a token not yet valid (nbf in the future)", async () => {
    const { claims } = await liveClaims();
    await expectRefused(await forge({ ...claims, nbf: Math.floor(Date.now() / 1000) + 3600 }));
  });

  it("a token issued in the future", async () => {
    const { claims } = await liveClaims();
    const iat = Math.floor(Date.now() / 1000) + 3600;
    await expectRefused(await forge({ ...claims, iat, exp: iat + 300 }));
  });

  it("a token without exp", async () => {
    const { claims } = await liveClaims();
    const { exp: _exp, ...rest } = claims;
    await expectRefused(await forge(rest));
  });

  it("a refresh token used as an access token", async () => {
    const { pair } = await liveClaims();
    await expectRefused(pair.refresh);
  });

  it("an access token used as a refresh token", async () => {
    const { pair } = await liveClaims();
    const res = await api("/api/token/refresh/", { body: { refresh: pair.access } });
    expect(res.status).toBe(401);
  });

  it("a token whose session was revoked", async () => {
    const { pair } = await liveClaims();
    await api("/api/token/blacklist/", { body: { refresh: pair.refresh } });
    await expectRefused(pair.access);
  });

  it("a token for a session that never existed", async () => {
    const { claims } = await liveClaims();
    await expectRefused(await forge({ ...claims, sid: "AAAAAAAAAAAAAAAAAAAAAA" }));
  });

  it("a token naming another user than its session's", async () => {
    const { claims } = await liveClaims();
    const other = await registerUser();
    await expectRefused(await forge({ ...claims, sub: String(other.id), user_id: other.id }));
  });

  it("a token signed by a key that is not in the set", async () => {
    const { claims } = await liveClaims();
    await expectRefused(await forge(claims, { key: await newKey("removed-key") }));
    // Same kid as ours, different key: the signature check fails.
    await expectRefused(await forge(claims, { key: await newKey("test-key-1") }));
  });
});

describe("key rotation", () => {
  it("a token signed by the previous key still verifies while that key is in the set", async () => {
    const oldKey = testKeys.keys[0]!;
    const newSigningKey = await newKey("key-2");
    const rotated = JSON.stringify({ keys: [newSigningKey, oldKey] });
    const before = rig();
    const pair = await signIn((await registerUser()).username, PASSWORD, before.call);
    const after = rig({ env: { JWT_SIGNING_KEYS: rotated } });
    expect((await after.call("/api/auth/me/", { token: pair.access })).status).toBe(200);
    // New tokens are signed by the new first key…
    const fresh = (await (await after.call("/api/token/refresh/", { body: { refresh: pair.refresh } })).json()) as { access: string };
    expect(decodeJwt(fresh.access).header.kid).toBe("key-2");
    // …and the JWKS publishes both, public parts only.
    const jwks = (await (await after.call("/.well-known/jwks.json")).json()) as { keys: JWK[] };
    expect(jwks.keys.map((k) => k.kid)).toEqual(["key-2", "test-key-1"]);
    expect(jwks.keys.every((k) => k.d === undefined)).toBe(true);
  });

  it("a token signed by a key removed from the set stops verifying", async () => {
    const pair = await signUp();
    const without = rig({ env: { JWT_SIGNING_KEYS: JSON.stringify({ keys: [await newKey("key-3")] }) } });
    expect((await without.call("/api/auth/me/", { token: pair.access })).status).toBe(401);
  });

  it("EdDSA and HS256 work end to end when configured", async () => {
    const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
    const ed = JSON.stringify({ keys: [{ ...(await exportJWK(privateKey)), kid: "ed-1" }] });
    for (const overrides of [
      { JWT_ALGORITHM: "EdDSA", JWT_SIGNING_KEYS: ed },
      { JWT_ALGORITHM: "HS256", JWT_SECRET: "an HS256 secret long enough for SHA-256 0123456789" },
    ]) {
      const r = rig({ env: overrides });
      const pair = await signIn((await registerUser()).username, PASSWORD, r.call);
      expect(decodeJwt(pair.access).header.alg).toBe(overrides.JWT_ALGORITHM);
      expect((await r.call("/api/hello/", { token: pair.access })).status).toBe(200);
      // The default ES256 worker refuses tokens of another algorithm.
      expect((await api("/api/hello/", { token: pair.access })).status).toBe(401);
    }
  });
});

describe("configuration", () => {
  // wrangler.toml declares these, but an operator may remove them: parsing must fall back to the defaults.
  const base = { ...env, RATE_LIMITS: undefined, JWT_SECRET: undefined, JWT_ALGORITHM: undefined } as unknown as Env;

  it("has simplejwt's defaults", () => {
    expect(parseConfig(base)).toMatchObject({
      jwtAlgorithm: "ES256",
      accessTokenLifetimeSeconds: 300,
      refreshTokenLifetimeSeconds: 86_400,
      leewaySeconds: 0,
      refreshReuseIntervalSeconds: 10,
      issuer: "https://auth.example.test",
      audience: "https://auth.example.test",
      qrLoginTtlSeconds: 120,
      rateLimitsEnabled: true,
    });
  });

  it.each([
    ["JWT_ALGORITHM", { JWT_ALGORITHM: "none" }],
    ["JWT_ALGORITHM", { JWT_ALGORITHM: "RS256" }],
    ["ACCESS_TOKEN_LIFETIME", { ACCESS_TOKEN_LIFETIME: "5m" }],
    ["ACCESS_TOKEN_LIFETIME", { ACCESS_TOKEN_LIFETIME: "0" }],
    ["REFRESH_TOKEN_LIFETIME", { REFRESH_TOKEN_LIFETIME: "60", ACCESS_TOKEN_LIFETIME: "300" }],
    ["JWT_LEEWAY", { JWT_LEEWAY: "-1" }],
    ["RATE_LIMITS", { RATE_LIMITS: "maybe" }],
    ["JWT_SIGNING_KEYS", { JWT_SIGNING_KEYS: "" }],
    ["JWT_SECRET", { JWT_ALGORITHM: "HS256" }],
    ["JWT_SECRET", { JWT_ALGORITHM: "HS256", JWT_SECRET: "short" }],
    ["JWT_ISSUER", { JWT_ISSUER: "" }],
    ["JWT_ISSUER", { JWT_ISSUER: "https://auth.example.test/api" }],
    ["JWT_AUDIENCE", { JWT_AUDIENCE: "" }],
  ])("a wrong %s fails loudly, naming the setting", (setting, overrides) => {
    expect(() => parseConfig({ ...base, ...overrides })).toThrow(ConfigError);
    try {
      parseConfig({ ...base, ...overrides });
    } catch (error) {
      expect((error as ConfigError).setting).toBe(setting);
      expect((error as Error).message).toContain(setting);
    }
  });

  it("a worker without signing keys answers 500 and logs which setting is missing, and signs nothing", async () => {
    const r = rig({ env: { JWT_SIGNING_KEYS: undefined } });
    const before = await rowCounts();
    const res = await r.call("/api/token/", { body: { username: "anyone", password: PASSWORD } });
    expect(res.status).toBe(500);
    const body = (await res.json()) as { detail: string; code: string };
    expect(body.code).toBe("server_misconfigured");
    expect(JSON.stringify(body)).not.toContain("JWT_SIGNING_KEYS");
    expect(r.logs).toContainEqual(expect.objectContaining({ level: "error", event: "config_error", setting: "JWT_SIGNING_KEYS" }));
    expect(await rowCounts()).toEqual(before);
  });

  it.each([
    ["not JSON", "{keys"],
    ["an empty set", '{"keys": []}'],
    ["a key without kid", JSON.stringify({ keys: [{ ...testKeys.keys[0], kid: undefined }] })],
    ["a signing key without its private part", JSON.stringify({ keys: [{ ...testKeys.keys[0], d: undefined }] })],
    ["a key of the wrong curve", JSON.stringify({ keys: [{ ...testKeys.keys[0], crv: "P-384" }] })],
  ])("a JWT_SIGNING_KEYS that is %s answers 500 and names the setting in the log", async (_, keys) => {
    const r = rig({ env: { JWT_SIGNING_KEYS: keys } });
    const res = await r.call("/api/hello/");
    expect(res.status).toBe(500);
    expect(r.logs).toContainEqual(expect.objectContaining({ level: "error", event: "config_error", setting: "JWT_SIGNING_KEYS" }));
  });

  it("JWT_ISSUER and JWT_AUDIENCE replace the origin in new tokens and are required of presented ones", async () => {
    const r = rig({ env: { JWT_ISSUER: "https://issuer.example", JWT_AUDIENCE: "my-api" } });
    const pair = await signIn((await registerUser()).username, PASSWORD, r.call);
    expect(decodeJwt(pair.access).payload).toMatchObject({ iss: "https://issuer.example", aud: "my-api" });
    expect((await r.call("/api/hello/", { token: pair.access })).status).toBe(200);
    expect((await api("/api/hello/", { token: pair.access })).status).toBe(401);
  });

  it("ACCESS_TOKEN_LIFETIME sets the access token's lifetime", async () => {
    const r = rig({ env: { ACCESS_TOKEN_LIFETIME: "60" } });
    const pair = await signIn((await registerUser()).username, PASSWORD, r.call);
    const { iat, exp } = decodeJwt(pair.access).payload as { iat: number; exp: number };
    expect(exp - iat).toBe(60);
  });
});
