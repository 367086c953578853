/**
 * The sign-in lockout nobody else can trigger: untrusted sources share the account's 10-a-minute budget
 * whatever their IPs; a client holding a device credential (OWASP's device cookie) for the account has
 * its own small budget; the signed-in user's own password checks count per user, apart from sign-in.
 */
import { describe, expect, it } from "vitest";
import { DEVICE_CREDENTIAL_COOKIE, DEVICE_CREDENTIAL_HEADER } from "../src/auth/device-credential";
import { PASSWORD, limitedRig, registerUser, type Call, type Rig } from "./helpers";

type Json = Record<string, unknown>;

let ip = 0;
/** Every guess from another address (the per-IP throttle never gets a say). */
function fromSomewhere(): Record<string, string> {
  ip += 1;
  return { "cf-connecting-ip": `198.51.100.${ip % 250}.${ip}` };
}

function signInCall(username: string, password: string, headers: Record<string, string> = {}): Call {
  return { body: { username, password }, headers: { ...fromSomewhere(), ...headers } };
}

/** Signs in once and returns the device credential the answer carries, and the pair. */
async function trustedSignIn(
  r: Rig,
  username: string,
  headers: Record<string, string> = {},
): Promise<{ credential: string; cookie: string; access: string; res: Response }> {
  const res = await r.call("/api/token/", signInCall(username, PASSWORD, headers));
  expect(res.status).toBe(200);
  const credential = res.headers.get(DEVICE_CREDENTIAL_HEADER)!;
  const cookie = res.headers.get("set-cookie")!;
  const { access } = (await res.json()) as { access: string };
  return { credential, cookie, access, res };
}

/** Strangers spend the account's whole budget and more, each from another address. */
async function strangersGuess(r: Rig, username: string, guesses: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < guesses; i++) statuses.push((await r.call("/api/token/", signInCall(username, `stranger guess ${i}`))).status);
  return statuses;
}

async function expectThrottled(res: Response): Promise<Json> {
  expect(res.status).toBe(429);
  const seconds = Number(res.headers.get("retry-after"));
  expect(Number.isInteger(seconds) && seconds >= 1 && seconds <= 60).toBe(true);
  const body = (await res.json()) as Json;
  expect(body).toEqual({ detail: `Request was throttled. Expected available in ${seconds} seconds.`, code: "throttled" });
  return body;
}

describe("strangers cannot lock the owner out", () => {
  it("after 100 wrong guesses from 100 addresses, the owner with a device credential signs in at once", { timeout: 30_000 }, async () => {
    const r = limitedRig({ clock: 2_000_000_000_000 });
    const { username } = await registerUser();
    const { credential } = await trustedSignIn(r, username);
    const statuses = await strangersGuess(r, username, 100);
    expect(statuses.filter((s) => s === 401)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(90);
    const owner = await r.call("/api/token/", signInCall(username, PASSWORD, { [DEVICE_CREDENTIAL_HEADER]: credential }));
    expect(owner.status).toBe(200);
  });

  it("without a device credential the owner gets 429 with Retry-After, the same answer a wrong password gets", async () => {
    const r = limitedRig({ clock: 2_000_100_000_000 });
    const { username } = await registerUser();
    await strangersGuess(r, username, 10);
    const right = await expectThrottled(await r.call("/api/token/", signInCall(username, PASSWORD)));
    const wrong = await expectThrottled(await r.call("/api/token/", signInCall(username, "not the password")));
    expect(right).toEqual(wrong);
  });

  it("a browser's __Host-device cookie works as the header does", async () => {
    const r = limitedRig({ clock: 2_000_200_000_000 });
    const { username } = await registerUser();
    const { cookie } = await trustedSignIn(r, username);
    expect(cookie).toMatch(
      new RegExp(`^${DEVICE_CREDENTIAL_COOKIE}=[\\w.~-]+; Max-Age=7776000; Path=/; Secure; HttpOnly; SameSite=Strict$`),
    );
    await strangersGuess(r, username, 20);
    const owner = await r.call("/api/token/", signInCall(username, PASSWORD, { cookie: `theme=dark; ${cookie.split(";")[0]}` }));
    expect(owner.status).toBe(200);
  });

  it("the owner's password change from a live session is not blocked by strangers", async () => {
    const r = limitedRig({ clock: 2_000_300_000_000 });
    const { username } = await registerUser();
    const { access } = await trustedSignIn(r, username);
    await strangersGuess(r, username, 30);
    const res = await r.call("/api/auth/password/", {
      body: { old_password: PASSWORD, new_password: "a brand new passphrase 42" },
      token: access,
      headers: fromSomewhere(),
    });
    expect(res.status).toBe(200);
  });

  it("the owner's account deletion from a live session is not blocked by strangers", async () => {
    const r = limitedRig({ clock: 2_000_400_000_000 });
    const { username } = await registerUser();
    const { access } = await trustedSignIn(r, username);
    await strangersGuess(r, username, 15);
    expect((await r.call("/api/auth/me/", { method: "DELETE", body: { password: PASSWORD }, token: access })).status).toBe(204);
  });
});

describe("the device credential", () => {
  it("comes with every successful sign-in as X-Device-Credential and is never cached", async () => {
    const r = limitedRig({ clock: 2_001_000_000_000 });
    const { username } = await registerUser();
    const { credential, res } = await trustedSignIn(r, username);
    expect(credential.split(".")).toHaveLength(3);
    expect(JSON.parse(atob(credential.split(".")[0]!.replace(/-/g, "+").replace(/_/g, "/")))).toMatchObject({ typ: "device+jwt" });
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  it("has its own small budget: 5 wrong passwords with it, then it is locked out too", async () => {
    const r = limitedRig({ clock: 2_001_100_000_000 });
    const { username } = await registerUser();
    const { credential } = await trustedSignIn(r, username);
    const withIt = { [DEVICE_CREDENTIAL_HEADER]: credential };
    for (let i = 0; i < 5; i++) expect((await r.call("/api/token/", signInCall(username, `typo ${i}`, withIt))).status).toBe(401);
    await expectThrottled(await r.call("/api/token/", signInCall(username, PASSWORD, withIt)));
    // Its failures were its own: the account's untrusted budget is untouched.
    expect((await r.call("/api/token/", signInCall(username, PASSWORD))).status).toBe(200);
    r.advance(60);
    expect((await r.call("/api/token/", signInCall(username, PASSWORD, withIt))).status).toBe(200);
  });

  it("follows SIGNIN_DEVICE_FAILURE_LIMIT", async () => {
    const r = limitedRig({ clock: 2_001_200_000_000, env: { SIGNIN_DEVICE_FAILURE_LIMIT: "2" } });
    const { username } = await registerUser();
    const withIt = { [DEVICE_CREDENTIAL_HEADER]: (await trustedSignIn(r, username)).credential };
    for (let i = 0; i < 2; i++) expect((await r.call("/api/token/", signInCall(username, "typo", withIt))).status).toBe(401);
    await expectThrottled(await r.call("/api/token/", signInCall(username, PASSWORD, withIt)));
  });

  it("earns no trust for another account", async () => {
    const r = limitedRig({ clock: 2_001_300_000_000 });
    const alice = await registerUser();
    const bob = await registerUser();
    const { credential } = await trustedSignIn(r, alice.username);
    await strangersGuess(r, bob.username, 10);
    await expectThrottled(await r.call("/api/token/", signInCall(bob.username, PASSWORD, { [DEVICE_CREDENTIAL_HEADER]: credential })));
  });

  it("earns no trust when tampered with", async () => {
    const r = limitedRig({ clock: 2_001_400_000_000 });
    const { username } = await registerUser();
    const { credential } = await trustedSignIn(r, username);
    const [h, p, s] = credential.split(".") as [string, string, string];
    const tampered = `${h}.${p}.${s.slice(0, 10)}${s[10] === "A" ? "B" : "A"}${s.slice(11)}`;
    await strangersGuess(r, username, 10);
    await expectThrottled(await r.call("/api/token/", signInCall(username, PASSWORD, { [DEVICE_CREDENTIAL_HEADER]: tampered })));
  });

  it("earns no trust once expired (DEVICE_CREDENTIAL_LIFETIME)", async () => {
    const r = limitedRig({ clock: 2_001_500_000_000, env: { DEVICE_CREDENTIAL_LIFETIME: "3600" } });
    const { username } = await registerUser();
    const { credential } = await trustedSignIn(r, username);
    r.advance(3601);
    await strangersGuess(r, username, 10);
    await expectThrottled(await r.call("/api/token/", signInCall(username, PASSWORD, { [DEVICE_CREDENTIAL_HEADER]: credential })));
  });

  it("is not a bearer token nor a refresh token", async () => {
    const r = limitedRig({ clock: 2_001_600_000_000 });
    const { username } = await registerUser();
    const { credential } = await trustedSignIn(r, username);
    expect((await r.call("/api/hello/", { token: credential })).status).toBe(401);
    expect((await r.call("/api/token/refresh/", { body: { refresh: credential } })).status).toBe(401);
    expect((await r.call("/api/token/verify/", { body: { token: credential } })).status).toBe(401);
  });

  it("a browser keeps one per account: signing in to another account keeps the first account's credential", {
    timeout: 30_000,
  }, async () => {
    const r = limitedRig({ clock: 2_001_700_000_000 });
    const alice = await registerUser();
    const bob = await registerUser();
    const first = await trustedSignIn(r, alice.username);
    const second = await trustedSignIn(r, bob.username, { cookie: first.cookie.split(";")[0]! });
    const value = second.cookie.split(";")[0]!.slice(DEVICE_CREDENTIAL_COOKIE.length + 1);
    expect(value.split("~")).toEqual([second.credential, first.credential]);
    const third = await trustedSignIn(r, alice.username, { cookie: second.cookie.split(";")[0]! });
    expect(
      third.cookie
        .split(";")[0]!
        .slice(DEVICE_CREDENTIAL_COOKIE.length + 1)
        .split("~"),
    ).toEqual([third.credential, second.credential]);
    await strangersGuess(r, alice.username, 10);
    await strangersGuess(r, bob.username, 10);
    const cookie = { cookie: third.cookie.split(";")[0]! };
    expect((await r.call("/api/token/", signInCall(alice.username, PASSWORD, cookie))).status).toBe(200);
    expect((await r.call("/api/token/", signInCall(bob.username, PASSWORD, cookie))).status).toBe(200);
  });
});

describe("documentation", () => {
  it("the OpenAPI document names the device credential's header and cookie on POST /api/token/", async () => {
    const r = limitedRig({ clock: 2_002_000_000_000 });
    const doc = (await (await r.call("/api/schema/")).json()) as {
      paths: Record<
        string,
        { post: { parameters: Array<{ name: string; in: string }>; responses: Record<string, { headers?: Record<string, unknown> }> } }
      >;
    };
    const op = doc.paths["/api/token/"]!.post;
    expect(op.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: DEVICE_CREDENTIAL_HEADER, in: "header" }),
        expect.objectContaining({ name: DEVICE_CREDENTIAL_COOKIE, in: "cookie" }),
      ]),
    );
    expect(Object.keys(op.responses["200"]!.headers ?? {})).toEqual([DEVICE_CREDENTIAL_HEADER, "Set-Cookie", "X-D1-Bookmark"]);
    expect(op.responses["429"]).toBeDefined();
  });
});
