// Run with QR_LOGIN_TTL=6 and ACCESS_TOKEN_LIFETIME=5 (scripts/e2e.mjs): codes expire and are replaced
// on their own; the signed-in desktop refreshes (and rotates) its tokens before the access token expires.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  BASE,
  QR_TTL_SECONDS,
  api,
  currentCode,
  approveAndType,
  waitForState as waitFor,
  desktopContext,
  launch,
  phoneContext,
  phoneContinue,
  phoneSignIn,
  registerUser,
  shot,
  waitForState,
  watch,
} from "./helpers.mjs";

let browser;

before(async () => {
  assert.ok(QR_TTL_SECONDS <= 10, `run with a short QR_LOGIN_TTL (got ${QR_TTL_SECONDS} s): npm run test:e2e -- short-lived`);
  browser = await launch();
});

after(async () => {
  await browser?.close();
});

describe("short-lived codes and tokens", { timeout: 90_000 }, () => {
  it("an expired code is replaced by a fresh one on its own, and the phone shows the old one as expired", async () => {
    const desktop = await desktopContext(browser);
    const d = await desktop.newPage();
    const dw = watch(d, "desktop");
    await d.goto(`${BASE}/login`);
    await waitForState(d, "waiting", 10_000);
    const first = await currentCode(d);
    assert.match(await d.locator("#countdown").textContent(), /^Expires in 0:0[4-6]$/);

    // A phone that opened the code in time, continued, and is looking at the three numbers when it runs out.
    const phone = await phoneContext(browser);
    const p = await phone.newPage();
    const pw = watch(p, "phone");
    await p.goto(first.url);
    await phoneSignIn(p, await registerUser("erin"));
    await phoneContinue(p);
    await waitFor(d, "scanned", 10_000);

    const started = Date.now();
    // The server's alarm ends the code; the page asks for a new one without any click.
    await d.waitForFunction(
      (old) => document.getElementById("qr-box").dataset.codeId !== old && document.body.dataset.state === "waiting",
      first.id,
      {
        timeout: (QR_TTL_SECONDS + 8) * 1000,
      },
    );
    console.log(`[timing] scanned -> fresh code on screen: ${Date.now() - started} ms (TTL ${QR_TTL_SECONDS} s)`);
    const second = await currentCode(d);
    assert.notEqual(second.id, first.id);
    assert.match(await d.locator("#countdown").textContent(), /^Expires in 0:0\d$/);
    await shot(d, "desktop-9-fresh-code-after-expiry");

    await waitForState(p, "problem");
    assert.equal(await p.evaluate(() => document.body.dataset.problem), "qr_expired");
    await shot(p, "phone-14-expired-while-open");

    // Opening the expired code afterwards: a server-rendered 410 page.
    const res = await p.goto(first.url);
    assert.equal(res.status(), 410);
    await shot(p, "phone-15-expired");

    dw.assertClean();
    pw.assertClean();
    await desktop.close();
    await phone.close();
  });

  it("keeps expiring codes replaced while nobody scans (two rounds)", async () => {
    const desktop = await desktopContext(browser);
    const d = await desktop.newPage();
    const dw = watch(d, "desktop");
    await d.goto(`${BASE}/login`);
    await waitForState(d, "waiting", 10_000);
    const seen = [(await currentCode(d)).id];
    for (let round = 0; round < 2; round++) {
      await d.waitForFunction(
        (ids) => !ids.includes(document.getElementById("qr-box").dataset.codeId) && document.body.dataset.state === "waiting",
        seen,
        {
          timeout: (QR_TTL_SECONDS + 8) * 1000,
        },
      );
      seen.push((await currentCode(d)).id);
    }
    assert.equal(new Set(seen).size, 3);
    dw.assertClean();
    await desktop.close();
  });

  it("a signed-in desktop refreshes its access token before it expires, rotating the refresh token", async () => {
    const user = await registerUser("frank");
    const desktop = await desktopContext(browser);
    const d = await desktop.newPage();
    const dw = watch(d, "desktop");
    await d.goto(`${BASE}/login`);
    await waitForState(d, "waiting", 10_000);
    const code = await currentCode(d);
    const phone = await phoneContext(browser);
    const p = await phone.newPage();
    const pw = watch(p, "phone");
    await p.goto(code.url);
    await phoneSignIn(p, user);
    await phoneContinue(p);
    await approveAndType(d, p);
    await waitForState(d, "signed-in", 10_000);
    const refresh1 = await d.evaluate(() => localStorage.getItem("edge-auth.refresh"));

    // ACCESS_TOKEN_LIFETIME is 5 s: the page refreshes at 80 % of it, well before the token dies.
    const refreshed = await d.waitForResponse((r) => new URL(r.url()).pathname.startsWith("/api/token/refresh"), { timeout: 10_000 });
    assert.equal(refreshed.status(), 200);
    const pair = await refreshed.json();
    const refresh2 = await d.evaluate(() => localStorage.getItem("edge-auth.refresh"));
    assert.notEqual(refresh2, refresh1);
    assert.equal(refresh2, pair.refresh);
    assert.equal((await api("/api/hello/", { token: pair.access })).status, 200);
    // And again: the rotated token keeps working.
    const again = await d.waitForResponse((r) => new URL(r.url()).pathname.startsWith("/api/token/refresh"), { timeout: 10_000 });
    assert.equal(again.status(), 200);
    assert.equal(await d.evaluate(() => document.body.dataset.state), "signed-in");
    dw.assertClean();
    pw.assertClean();
    await desktop.close();
    await phone.close();
  });
});
