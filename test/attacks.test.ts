/**
 * What an attacker found against `wrangler dev` (issue 21), each replayed and refused: device credentials that
 * outlived the password, the issuer taken from the Host header, an email change with no password and no limit,
 * cacheable answers carrying tokens, and ES256 signatures whose twin (r, n - s) also verified. The bookmark attack
 * lives in test/d1-sessions.test.ts, the hostile import file in test/django-import.test.ts.
 */
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DEVICE_CREDENTIAL_HEADER } from "../src/auth/device-credential";
import {
  ORIGIN,
  PASSWORD,
  api,
  decodeJwt,
  limitedRig,
  registerUser,
  rig,
  rowCounts,
  signIn,
  signUp,
  uniqueName,
  type Rig,
} from "./helpers";
import { hashPasswordPbkdf2 } from "../src/auth/passwords";
import { startBody } from "./qr-helpers";

type Json = Record<string, unknown>;
// Tables of sign-ins on a machine shared with other runs: each may take seconds, none waits on a timer.

let ip = 0;
function fromSomewhere(): Record<string, string> {
  ip += 1;
  return { "cf-connecting-ip": `203.0.113.${ip % 250}` };
}

async function signInWith(r: Rig, username: string, password: string, credential?: string): Promise<Response> {
  return r.call("/api/token/", {
    body: { username, password },
    headers: { ...fromSomewhere(), ...(credential ? { [DEVICE_CREDENTIAL_HEADER]: credential } : {}) },
  });
}

/** The attacker, who once knew the password, signs in `times` times and keeps every device credential. */
async function collectCredentials(r: Rig, username: string, password: string, times: number): Promise<string[]> {
  const credentials: string[] = [];
  for (let i = 0; i < times; i++) {
    const res = await signInWith(r, username, password);
    expect(res.status).toBe(200);
    credentials.push(res.headers.get(DEVICE_CREDENTIAL_HEADER)!);
  }
  return credentials;
}

/** Strangers spend the account's untrusted budget (SIGNIN_FAILURE_LIMIT, 10 a minute). */
async function lockAccount(r: Rig, username: string): Promise<void> {
  for (let i = 0; i < 10; i++) expect((await signInWith(r, username, `guess ${i}`)).status).toBe(401);
  expect((await signInWith(r, username, "one more")).status).toBe(429);
}

/** Each credential's guess: 401 means it still bought a guess past the lock-out, 429 that it earned nothing. */
async function guessesWith(r: Rig, username: string, credentials: string[]): Promise<number[]> {
  const statuses: number[] = [];
  for (const credential of credentials) statuses.push((await signInWith(r, username, "attacker guess", credential)).status);
  return statuses;
}

const NEW_PASSWORD = "a brand new passphrase 42";

describe("device credentials die with the password that earned them", { timeout: 20_000 }, () => {
  it("after the owner changes the password, the attacker's four credentials buy no guess past the lock-out", async () => {
    const r = limitedRig({ clock: 2_100_000_000_000 });
    const { username } = await registerUser();
    const credentials = await collectCredentials(r, username, PASSWORD, 4);
    const { access } = await signIn(username, PASSWORD, r.call);
    expect(
      (await r.call("/api/auth/password/", { body: { old_password: PASSWORD, new_password: NEW_PASSWORD }, token: access })).status,
    ).toBe(200);
    await lockAccount(r, username);
    expect(await guessesWith(r, username, credentials)).toEqual([429, 429, 429, 429]);
  });

  it("a credential issued before the change is refused, one issued after it is honoured", async () => {
    const r = limitedRig({ clock: 2_100_100_000_000 });
    const { username } = await registerUser();
    const [old] = await collectCredentials(r, username, PASSWORD, 1);
    const { access } = await signIn(username, PASSWORD, r.call);
    await r.call("/api/auth/password/", { body: { old_password: PASSWORD, new_password: NEW_PASSWORD }, token: access });
    const [fresh] = await collectCredentials(r, username, NEW_PASSWORD, 1);
    await lockAccount(r, username);
    expect(await guessesWith(r, username, [old!, fresh!])).toEqual([429, 401]);
    expect((await signInWith(r, username, NEW_PASSWORD, fresh)).status).toBe(200);
  });

  it("signing out everywhere voids every device credential of the account", async () => {
    const r = limitedRig({ clock: 2_100_200_000_000 });
    const { username } = await registerUser();
    const credentials = await collectCredentials(r, username, PASSWORD, 3);
    const { access } = await signIn(username, PASSWORD, r.call);
    expect((await r.call("/api/auth/sessions/", { method: "DELETE", token: access })).status).toBe(200);
    await lockAccount(r, username);
    expect(await guessesWith(r, username, credentials)).toEqual([429, 429, 429]);
  });

  it("an account deleted and its username registered again: the old credential earns the newcomer's account nothing", async () => {
    const r = limitedRig({ clock: 2_100_300_000_000 });
    const username = uniqueName("reborn");
    const first = await registerUser(username);
    const [old] = await collectCredentials(r, username, PASSWORD, 1);
    const { access } = await signIn(username, PASSWORD, r.call);
    expect((await r.call("/api/auth/me/", { method: "DELETE", body: { password: PASSWORD }, token: access })).status).toBe(204);
    const second = await registerUser(username, "another passphrase 77");
    expect(second.id).not.toBe(first.id);
    await lockAccount(r, username);
    expect(await guessesWith(r, username, [old!])).toEqual([429]);
  });

  it("all of an account's credentials together get SIGNIN_DEVICES_FAILURE_LIMIT guesses a window, not 5 each", async () => {
    const r = limitedRig({ clock: 2_100_400_000_000 });
    const { username } = await registerUser();
    const credentials = await collectCredentials(r, username, PASSWORD, 4);
    // 4 credentials x 5 would be 20 guesses; together they get 10.
    const statuses = await guessesWith(r, username, [...credentials, ...credentials, ...credentials, ...credentials, ...credentials]);
    expect(statuses.filter((s) => s === 401)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(10);
    r.advance(60);
    expect((await signInWith(r, username, PASSWORD, credentials[0])).status).toBe(200);
  });
});

describe("refused sign-ins tell nothing by their time", () => {
  it("unknown user, argon2id user and a 1 000-iteration PBKDF2 user are all refused no sooner than the floor", async () => {
    const r = rig({ env: { SIGNIN_REFUSAL_FLOOR_MS: "400" } });
    const argon = await registerUser();
    const weak = await registerUser();
    await env.DB.prepare("UPDATE users SET password_hash = ? WHERE id = ?")
      .bind(await hashPasswordPbkdf2(PASSWORD, 1_000), weak.id)
      .run();
    for (const username of [uniqueName("nobody"), argon.username, weak.username]) {
      const started = Date.now();
      const res = await r.call("/api/token/", { body: { username, password: "a wrong guess" } });
      expect(res.status).toBe(401);
      expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    }
    // The right password is not held back.
    expect((await r.call("/api/token/", { body: { username: weak.username, password: PASSWORD } })).status).toBe(200);
  });
});

/** A request as a client at another Host would send it: through the deployed entry point, `url` absolute. */
function atHost(url: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(new Request(url, init));
}

const json = (body: unknown): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

describe("the issuer comes from JWT_ISSUER, never from the Host header", () => {
  it("signing in with Host: evil.example yields tokens and a device credential that name the configured origin", async () => {
    const { username } = await registerUser();
    const res = await atHost("https://evil.example/api/token/", json({ username, password: PASSWORD }));
    expect(res.status).toBe(200);
    const { access, refresh } = (await res.json()) as { access: string; refresh: string };
    for (const token of [access, refresh, res.headers.get(DEVICE_CREDENTIAL_HEADER)!]) {
      expect(decodeJwt(token).payload).toMatchObject({ iss: ORIGIN, aud: ORIGIN });
    }
    // And they work at the real origin.
    expect((await api("/api/hello/", { token: access })).status).toBe(200);
  });

  it("a QR login started at Host: evil.example hands out qr_url, ws_url and svg_url at the configured origin", async () => {
    const res = await atHost("https://evil.example/api/qr/", json(await startBody()));
    expect(res.status).toBe(201);
    const body = (await res.json()) as { qr_url: string; ws_url: string; svg_url: string };
    expect(body.qr_url.startsWith(`${ORIGIN}/qr/`)).toBe(true);
    expect(body.svg_url.startsWith(`${ORIGIN}/api/qr/`)).toBe(true);
    expect(body.ws_url.startsWith(`${ORIGIN.replace(/^https/, "wss")}/api/qr/`)).toBe(true);
    expect(JSON.stringify(body)).not.toContain("evil.example");
  });

  it("the OpenAPI document fetched at Host: evil.example names the configured origin in `servers`", async () => {
    const res = await atHost("https://evil.example/api/schema/");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { servers: Array<{ url: string }> };
    expect(doc.servers).toEqual([{ url: ORIGIN }]);
  });

  it("with JWT_ISSUER and JWT_AUDIENCE unset: 500 server_misconfigured, a log line naming both, nothing signed", async () => {
    const r = rig({ env: { JWT_ISSUER: undefined, JWT_AUDIENCE: undefined } });
    const { username } = await registerUser();
    const before = await rowCounts();
    const res = await r.call("/api/token/", { body: { username, password: PASSWORD } });
    expect(res.status).toBe(500);
    expect(((await res.json()) as Json).code).toBe("server_misconfigured");
    const logged = JSON.stringify(r.logs.filter((line) => line.level === "error" && line.event === "config_error"));
    expect(logged).toContain("JWT_ISSUER");
    expect(logged).toContain("JWT_AUDIENCE");
    expect(await rowCounts()).toEqual(before);
  });
});

describe("changing the email needs the password and is limited per user", { timeout: 20_000 }, () => {
  it("without current_password: 400 naming the field, and the email is unchanged", async () => {
    const user = await signUp();
    const res = await api("/api/auth/me/", { method: "PATCH", body: { email: `${user.username}.new@example.org` }, token: user.access });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ current_password: ["This field is required."] });
    expect(((await (await api("/api/auth/me/", { token: user.access })).json()) as Json).email).toBe(`${user.username}@example.com`);
  });

  it("with a wrong current_password: 400, and the email is unchanged", async () => {
    const user = await signUp();
    const res = await api("/api/auth/me/", {
      method: "PATCH",
      body: { email: `${user.username}.new@example.org`, current_password: "not it at all" },
      token: user.access,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ current_password: ["Invalid password."] });
    expect(((await (await api("/api/auth/me/", { token: user.access })).json()) as Json).email).toBe(`${user.username}@example.com`);
  });

  it("80 probes of which addresses exist: 5 are tried in the hour, the rest get 429", async () => {
    const r = limitedRig({ clock: 2_100_500_000_000 });
    const user = await signUp(r.call);
    const taken = await registerUser();
    const statuses: number[] = [];
    for (let i = 0; i < 80; i++) {
      const email = i % 2 === 0 ? `${taken.username}@example.com` : `free${i}.${user.username}@example.org`;
      statuses.push(
        (await r.call("/api/auth/me/", { method: "PATCH", body: { email, current_password: PASSWORD }, token: user.access })).status,
      );
    }
    expect(statuses.slice(0, 5).every((s) => s === 400 || s === 200)).toBe(true);
    expect(statuses.slice(5).every((s) => s === 429)).toBe(true);
    r.advance(3600);
    const { access } = await signIn(user.username, PASSWORD, r.call);
    const later = await r.call("/api/auth/me/", {
      method: "PATCH",
      body: { email: `${user.username}.final@example.org`, current_password: PASSWORD },
      token: access,
    });
    expect(later.status).toBe(200);
  });
});

describe("answers carrying a token, a secret or who the user is are never stored by a cache", () => {
  it("sign-in, refresh, register, me, sessions, hello, notes and QR creation say Cache-Control: no-store", async () => {
    const username = uniqueName();
    const answers: Array<[string, Response]> = [];
    answers.push([
      "register",
      await api("/api/auth/register/", { body: { username, email: `${username}@example.com`, password: PASSWORD } }),
    ]);
    const signedIn = await api("/api/token/", { body: { username, password: PASSWORD } });
    answers.push(["token", signedIn]);
    const { access, refresh } = (await signedIn.clone().json()) as { access: string; refresh: string };
    answers.push(["refresh", await api("/api/token/refresh/", { body: { refresh } })]);
    answers.push(["me", await api("/api/auth/me/", { token: access })]);
    answers.push(["sessions", await api("/api/auth/sessions/", { token: access })]);
    answers.push(["hello", await api("/api/hello/", { token: access })]);
    answers.push(["notes", await api("/api/notes/", { token: access })]);
    answers.push(["qr", await api("/api/qr/", { body: await startBody() })]);
    // Refusals of those routes too: a 401 on /me must not be replayed from a cache either.
    answers.push(["me refused", await api("/api/auth/me/", { token: "nope" })]);
    for (const [name, res] of answers) expect([name, res.headers.get("cache-control")]).toEqual([name, "no-store"]);
  });

  it("the public keys stay cacheable", async () => {
    expect((await api("/.well-known/jwks.json")).headers.get("cache-control")).toBe("public, max-age=300");
  });
});

// P-256's group order: (r, s) and (r, n - s) are both valid ECDSA signatures of one message.
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

function sOf(token: string): bigint {
  const signature = Uint8Array.from(atob(token.split(".")[2]!.replace(/-/g, "+").replace(/_/g, "/")), (ch) => ch.charCodeAt(0));
  return BigInt(`0x${Array.from(signature.subarray(32), (b) => b.toString(16).padStart(2, "0")).join("")}`);
}

/** The same token with s replaced by n - s: still a valid ECDSA signature. */
function highSTwin(token: string): string {
  const [h, p, sig] = token.split(".");
  const bytes = Uint8Array.from(atob(sig!.replace(/-/g, "+").replace(/_/g, "/")), (ch) => ch.charCodeAt(0));
  let twin = N - sOf(token);
  for (let i = 63; i >= 32; i--, twin >>= 8n) bytes[i] = Number(twin & 0xffn);
  const encoded = btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
  return `${h}.${p}.${encoded}`;
}

describe("ES256 signatures are low-S only: one string per token", { timeout: 20_000 }, () => {
  it("every token the worker signs has s <= n/2", async () => {
    const { username } = await registerUser();
    for (let i = 0; i < 8; i++) {
      const res = await api("/api/token/", { body: { username, password: PASSWORD } });
      const { access, refresh } = (await res.json()) as { access: string; refresh: string };
      for (const token of [access, refresh, res.headers.get(DEVICE_CREDENTIAL_HEADER)!]) expect(sOf(token) <= N / 2n).toBe(true);
    }
  });

  it("an access token with s replaced by n - s is refused; the original still works", async () => {
    const user = await signUp();
    const twin = highSTwin(user.access);
    expect(twin).not.toBe(user.access);
    const res = await api("/api/hello/", { token: twin });
    expect(res.status).toBe(401);
    expect(((await res.json()) as Json).code).toBe("token_not_valid");
    expect((await api("/api/token/verify/", { body: { token: twin } })).status).toBe(401);
    expect((await api("/api/hello/", { token: user.access })).status).toBe(200);
  });

  it("a refresh token's high-S twin neither refreshes nor signs out", async () => {
    const user = await signUp();
    const twin = highSTwin(user.refresh);
    expect((await api("/api/token/refresh/", { body: { refresh: twin } })).status).toBe(401);
    expect((await api("/api/token/blacklist/", { body: { refresh: twin } })).status).toBe(401);
    expect((await api("/api/token/refresh/", { body: { refresh: user.refresh } })).status).toBe(200);
  });

  it("a device credential's high-S twin earns no trust", async () => {
    const r = limitedRig({ clock: 2_100_600_000_000 });
    const { username } = await registerUser();
    const [credential] = await collectCredentials(r, username, PASSWORD, 1);
    await lockAccount(r, username);
    expect(await guessesWith(r, username, [highSTwin(credential!)])).toEqual([429]);
    expect(await guessesWith(r, username, [credential!])).toEqual([401]);
  });
});
