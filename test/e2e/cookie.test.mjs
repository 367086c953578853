// REFRESH_COOKIE=on in a real Chromium against wrangler dev on http://127.0.0.1: the QR login's pair is moved into
// the HttpOnly __Host-refresh cookie at once, no script-readable storage ever holds a refresh token, a reload stays
// signed in through the cookie alone, and signing out clears it.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  BASE,
  api,
  captureBearer,
  currentCode,
  approveAndType,
  desktopContext,
  launch,
  phoneContext,
  phoneContinue,
  phoneSignIn,
  registerUser,
  waitForState,
  watch,
} from "./helpers.mjs";

let browser;

before(async () => {
  browser = await launch();
});

after(async () => {
  await browser?.close();
});

async function refreshCookies(context) {
  return (await context.cookies(BASE)).filter((c) => c.name === "__Host-refresh" && c.value !== "");
}

describe("REFRESH_COOKIE=on in the browser", () => {
  it("a QR login ends with the refresh token in an HttpOnly cookie only; reload refreshes from it; sign-out clears it", async () => {
    const user = await registerUser("cookie");
    const desktopCtx = await desktopContext(browser);
    const d = await desktopCtx.newPage();
    const watcher = watch(d, "desktop");
    const bearer = captureBearer(d);
    const exchanges = [];
    d.on("response", async (res) => {
      if (new URL(res.url()).pathname === "/api/token/refresh/")
        exchanges.push({ status: res.status(), setCookie: (await res.allHeaders())["set-cookie"] ?? "" });
    });
    await d.goto(`${BASE}/login`);
    await waitForState(d, "waiting");
    const code = await currentCode(d);

    const phoneCtx = await phoneContext(browser);
    const p = await phoneCtx.newPage();
    const phoneWatcher = watch(p, "phone");
    await p.goto(code.url);
    await phoneSignIn(p, user);
    await phoneContinue(p);
    await approveAndType(d, p);
    await waitForState(d, "signed-in", 5000);

    // The unsealed pair's refresh token went straight into the cookie: one exchange, and nothing in storage.
    await d.waitForFunction(() => localStorage.getItem("edge-auth.signed-in") === "1");
    assert.equal(exchanges.length, 1);
    assert.equal(exchanges[0].status, 200);
    assert.match(exchanges[0].setCookie, /__Host-refresh=[\w-]+\.[\w-]+\.[\w-]+; Max-Age=\d+; Path=\/; Secure; HttpOnly; SameSite=Strict/);
    const stored = await d.evaluate(() => JSON.stringify({ ...localStorage, ...sessionStorage }));
    assert.doesNotMatch(stored, /eyJ/, "no token in script-readable storage");
    assert.equal(await d.evaluate(() => document.cookie), "", "the cookie is invisible to script");
    const [cookie] = await refreshCookies(desktopCtx);
    assert.ok(cookie, "Chromium kept the __Host- cookie on http://127.0.0.1");
    assert.deepEqual([cookie.httpOnly, cookie.secure, cookie.sameSite, cookie.path], [true, true, "Strict", "/"]);
    const access1 = bearer();
    assert.equal((await api("/api/hello/", { token: access1 })).status, 200);

    // A reload: no refresh token anywhere but the cookie, yet the page signs in again by refreshing from it.
    await d.reload();
    await waitForState(d, "signed-in");
    const [rotated] = await refreshCookies(desktopCtx);
    assert.notEqual(rotated.value, cookie.value, "the cookie was rotated");
    assert.notEqual(bearer(), access1);

    // Sign out: the session ends (its tokens die) and the cookie is gone.
    const access2 = bearer();
    await d.getByRole("button", { name: "Sign out" }).click();
    await waitForState(d, "waiting");
    assert.deepEqual(await refreshCookies(desktopCtx), []);
    assert.equal((await api("/api/hello/", { token: access2 })).status, 401);
    assert.equal(await d.evaluate(() => localStorage.getItem("edge-auth.signed-in")), null);

    watcher.assertClean();
    phoneWatcher.assertClean();
    await desktopCtx.close();
    await phoneCtx.close();
  });
});
