// A djoser client, written from djoser's documentation (https://djoser.readthedocs.io/en/latest/base_endpoints.html),
// not from this worker's code: its base URL is /api/auth/, it sends what djoser documents and expects djoser's status
// codes and shapes. Run against wrangler dev with ACTIVATION_EMAIL=on (the `mail` phase of `npm run test:e2e`).
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { mailTextFolders } from "./helpers.mjs";

const BASE = `${process.env.E2E_BASE_URL ?? "http://127.0.0.1:8791"}/api/auth/`;
const TOKEN_URL = `${process.env.E2E_BASE_URL ?? "http://127.0.0.1:8791"}/api/token/`;

/** djoser's client side: JSON in, JSON out, `Authorization: Bearer` (SimpleJWT) once signed in. */
class DjoserClient {
  constructor(base) {
    this.base = base;
    this.access = null;
  }
  async request(method, path, body) {
    const headers = { "content-type": "application/json", accept: "application/json" };
    if (this.access) headers.authorization = `Bearer ${this.access}`;
    const res = await fetch(new URL(path, this.base), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, data: text ? JSON.parse(text) : null };
  }
  createUser(fields) {
    return this.request("POST", "users/", fields);
  }
  activate(uid, token) {
    return this.request("POST", "users/activation/", { uid, token });
  }
  resendActivation(email) {
    return this.request("POST", "users/resend_activation/", { email });
  }
  me() {
    return this.request("GET", "users/me/");
  }
  setPassword(newPassword, currentPassword) {
    return this.request("POST", "users/set_password/", { new_password: newPassword, current_password: currentPassword });
  }
  resetPassword(email) {
    return this.request("POST", "users/reset_password/", { email });
  }
  resetPasswordConfirm(uid, token, newPassword) {
    return this.request("POST", "users/reset_password_confirm/", { uid, token, new_password: newPassword });
  }
  async login(username, password) {
    const res = await fetch(TOKEN_URL, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password }),
    });
    const data = await res.json();
    if (res.status === 200) this.access = data.access;
    return { status: res.status, data };
  }
}

/** The uid and token of the newest mail wrangler dev wrote that holds `needle` and a `/{path}/uid/token` link. */
async function mailedLink(needle, path) {
  for (let tries = 0; tries < 50; tries++) {
    const found = [];
    for (const folder of mailTextFolders()) {
      let files = [];
      try {
        files = readdirSync(folder);
      } catch {
        continue;
      }
      for (const file of files) {
        const text = readFileSync(join(folder, file), "utf8");
        const match = new RegExp(`/${path}/([^/\\s]+)/([^/\\s]+)`).exec(text);
        if (text.includes(needle) && match) found.push({ mtime: statSync(join(folder, file)).mtimeMs, uid: match[1], token: match[2] });
      }
    }
    if (found.length > 0) return found.sort((a, b) => b.mtime - a.mtime)[0];
    await sleep(200);
  }
  throw new Error(`no /${path}/ mail for ${needle}`);
}

describe("a djoser client (from djoser's documentation)", () => {
  it("registers, activates, reads me, sets and resets its password with djoser's requests and answers", async () => {
    const client = new DjoserClient(BASE);
    const username = `djoser${Date.now().toString(36)}`;
    const email = `${username}@example.com`;
    const created = await client.createUser({ username, password: "first horse battery staple", email });
    assert.equal(created.status, 201);
    assert.deepEqual(Object.keys(created.data).sort(), ["email", "id", "username"]);
    assert.equal((await client.login(username, "first horse battery staple")).status, 401, "inactive before activation");

    assert.equal((await client.resendActivation(email)).status, 204);
    const activation = await mailedLink(username, "activate");
    assert.equal((await client.activate(activation.uid, activation.token)).status, 204);
    const stale = await client.activate(activation.uid, activation.token);
    assert.equal(stale.status, 403);
    assert.equal(stale.data.detail, "Stale token for given user.");

    assert.equal((await client.login(username, "first horse battery staple")).status, 200);
    const me = await client.me();
    assert.equal(me.status, 200);
    assert.equal(me.data.username, username);
    assert.equal(me.data.email, email);

    const wrong = await client.setPassword("second horse battery staple", "not my password");
    assert.equal(wrong.status, 400);
    assert.ok(Array.isArray(wrong.data.current_password));
    assert.equal((await client.setPassword("second horse battery staple", "first horse battery staple")).status, 204);

    assert.equal((await client.resetPassword(email)).status, 204);
    assert.equal((await client.resetPassword("nobody-at-all@example.com")).status, 204);
    const reset = await mailedLink(username, "reset");
    const bad = await client.resetPasswordConfirm(reset.uid, `${reset.token}x`, "third horse battery staple");
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.data, { token: ["Invalid token for given user."] });
    const noUser = await client.resetPasswordConfirm("OTk5OTk5", reset.token, "third horse battery staple");
    assert.deepEqual(noUser.data, { uid: ["Invalid user id or user doesn't exist."] });
    assert.equal((await client.resetPasswordConfirm(reset.uid, reset.token, "third horse battery staple")).status, 204);
    assert.equal((await client.me()).status, 401, "the reset ended this session");
    assert.equal((await client.login(username, "third horse battery staple")).status, 200);
  });
});
