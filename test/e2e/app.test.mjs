// examples/app in a real Chromium: the app on its own origin embeds <qr-login> from the worker (another origin),
// a phone in a third context approves, the app calls /api/hello/, refreshes with the HttpOnly cookie and signs
// out. A page on an origin CORS_ORIGINS does not list can neither start a login nor open the socket.
// Screenshots of the element in each state are written to test/e2e/screenshots/element-*.png.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { serveApp } from "../../scripts/serve-app.mjs";
import {
  BASE,
  api,
  desktopContext,
  launch,
  otherCode,
  phoneApprove,
  phoneCode,
  phoneContext,
  phoneContinue,
  phoneSignIn,
  registerUser,
  shot,
  watch,
} from "./helpers.mjs";

/** Types `code` into the element's input (inside its shadow root) and presses Enter, as its user would. */
async function typeIntoElement(page, code) {
  const input = page.getByLabel(/scanned this code — type the number shown on your phone/);
  await input.fill(code);
  await input.press("Enter");
}

const APP = `http://127.0.0.1:${process.env.E2E_APP_PORT ?? 8801}`;
const FOREIGN = `http://127.0.0.1:${process.env.E2E_FOREIGN_PORT ?? 8802}`;

let browser;
let app;
let foreign;

before(async () => {
  browser = await launch();
  app = await serveApp({ port: Number(new URL(APP).port), auth: BASE });
  foreign = await serveApp({ port: Number(new URL(FOREIGN).port), auth: BASE });
});

after(async () => {
  await browser?.close();
  app?.close();
  foreign?.close();
});

const elementState = (page) => page.locator("qr-login").getAttribute("state");
const waitElement = (page, state, timeout = 10_000) =>
  page.waitForFunction((s) => document.querySelector("qr-login")?.getAttribute("state") === s, state, { timeout });

/** The URL the element's QR code encodes (its accessible label names it). */
async function codeUrl(page) {
  const label = await page.locator("qr-login").evaluate((el) => el.shadowRoot.querySelector(".qr").getAttribute("aria-label"));
  return /opens (\S+)$/.exec(label)[1];
}

async function openApp(origin = APP) {
  const context = await desktopContext(browser);
  const page = await context.newPage();
  const watcher = watch(page, "app");
  const requests = [];
  page.on("request", (r) => requests.push(r.url()));
  await page.goto(`${origin}/`);
  return { context, page, watcher, requests };
}

async function phoneFor(url, user) {
  const context = await phoneContext(browser);
  const page = await context.newPage();
  const watcher = watch(page, "phone");
  await page.goto(url);
  await phoneSignIn(page, user);
  await phoneContinue(page);
  return { context, page, watcher };
}

describe("examples/app on its own origin", () => {
  it("signs in by QR on the app's page, calls the API, refreshes with the cookie and signs out", async () => {
    const user = await registerUser("appuser");
    const { context, page, watcher, requests } = await openApp();
    await waitElement(page, "pending");
    await shot(page, "element-1-pending");
    const url = await codeUrl(page);
    assert.ok(url.startsWith(`${BASE}/qr/`), url);

    const phone = await phoneFor(url, user);
    await waitElement(page, "scanned");
    // The element names the account and asks for the number; it never has the number itself.
    assert.doesNotMatch(await page.locator("qr-login").evaluate((el) => el.shadowRoot.textContent), /\b\d\d\b/);
    await shot(page, "element-2-scanned");
    const code = await phoneCode(phone.page);
    await typeIntoElement(page, code);
    await waitElement(page, "confirming");
    await shot(page, "element-2b-confirming");
    await phoneApprove(phone.page);

    await page.locator("#welcome").waitFor({ state: "visible" });
    assert.equal(await page.locator("#welcome").textContent(), `Signed in as ${user.username}`);
    assert.equal(await page.locator("#hello").textContent(), "Hello, World!");
    assert.equal(await page.locator("#mode").textContent(), "The refresh token is in the auth worker's HttpOnly cookie.");
    await shot(page, "app-signed-in");
    // The cookie is the worker's (its origin), HttpOnly: nothing of it is readable on the app's page.
    const cookies = (await context.cookies(BASE)).filter((c) => c.name === "__Host-refresh" && c.value);
    assert.equal(cookies.length, 1);
    assert.equal(cookies[0].httpOnly, true);
    assert.equal(await page.evaluate(() => document.cookie), "");

    // Refresh: only the cookie carries the refresh token; the app gets a new access token and the API still answers.
    const before = await page.locator("#expires").textContent();
    const refreshed = page.waitForResponse((r) => r.url() === `${BASE}/api/token/refresh/` && r.request().method() === "POST");
    await page.getByRole("button", { name: "Refresh the access token" }).click();
    const res = await refreshed;
    assert.equal(res.status(), 200);
    assert.equal(JSON.parse(res.request().postData()).refresh, undefined, "no refresh token in the body");
    assert.equal(await page.locator("#hello").textContent(), "Hello, World!");
    assert.ok(before);

    // Sign out: the cookie is gone and the element shows a fresh code.
    await page.getByRole("button", { name: "Sign out" }).click();
    await waitElement(page, "pending");
    assert.deepEqual(
      (await context.cookies(BASE)).filter((c) => c.name === "__Host-refresh" && c.value),
      [],
    );

    // The app only ever talked to its own origin and the worker.
    assert.deepEqual(
      requests.filter((u) => !u.startsWith(APP) && !u.startsWith(BASE) && !u.startsWith("data:")),
      [],
    );
    watcher.assertClean();
    phone.watcher.assertClean();
    await phone.context.close();
    await context.close();
  });

  it("shows a wrong code as denied, with a button that starts over", async () => {
    const user = await registerUser("appdeny");
    const { context, page, watcher } = await openApp();
    await waitElement(page, "pending");
    const phone = await phoneFor(await codeUrl(page), user);
    await waitElement(page, "scanned");
    await typeIntoElement(page, otherCode(await phoneCode(phone.page)));
    await waitElement(page, "denied");
    assert.match(
      await page.locator("qr-login").evaluate((el) => el.shadowRoot.querySelector("[role=status]").textContent),
      /did not match/,
    );
    await shot(page, "element-3-denied");
    await page.getByRole("button", { name: "Try again" }).click();
    await waitElement(page, "pending");
    watcher.assertClean();
    await phone.context.close();
    await context.close();
  });

  it("a page on an origin CORS_ORIGINS does not list cannot start a login or open the socket", async () => {
    const { context, page, watcher } = await openApp(FOREIGN);
    // The module itself loads (the browser refuses its CORS answer: it never runs), or runs and cannot start.
    await page.locator("#problem, qr-login").first().waitFor({ timeout: 10_000 });
    const started = await page.evaluate(async (base) => {
      try {
        const res = await fetch(`${base}/api/qr/`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
        return `answered ${res.status}`;
      } catch {
        return "blocked";
      }
    }, BASE);
    assert.equal(started, "blocked");
    // A real login (started here, outside any browser): its socket refuses the foreign page and admits the app.
    const keys = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"]);
    const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", keys.publicKey);
    const created = await api("/api/qr/", { body: { public_key: { kty, crv, x, y } } });
    assert.equal(created.status, 201);
    const socketUrl = `${created.body.ws_url}?secret=${created.body.secret}`;
    const open = (p) =>
      p.evaluate(
        (url) =>
          new Promise((resolve) => {
            const ws = new WebSocket(url);
            ws.onopen = () => {
              ws.close();
              resolve("open");
            };
            ws.onerror = () => resolve("refused");
          }),
        socketUrl,
      );
    assert.equal(await open(page), "refused");
    const allowed = await openApp();
    assert.equal(await open(allowed.page), "open");
    await allowed.context.close();
    await shot(page, "element-4-foreign-origin");
    // Chromium reports the refused CORS answers and handshake on the console: expected here.
    watcher.allow(/CORS|blocked|WebSocket|Failed to load|ERR_FAILED|net::/);
    watcher.assertClean();
    await context.close();
  });
});
