// The API reference (/api/docs/) in a real Chromium: Swagger UI renders the worker's own OpenAPI document under
// the page's CSP, with no console error or CSP violation and no request leaving the worker's origin.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { BASE, desktopContext, launch, phoneContext, shot, watch } from "./helpers.mjs";

let browser;

before(async () => {
  browser = await launch();
});

after(async () => {
  await browser?.close();
});

async function openDocs(makeContext, options = {}) {
  const context = await makeContext(browser, options);
  const page = await context.newPage();
  const watcher = watch(page, "docs");
  const requests = [];
  page.on("request", (r) => requests.push(r.url()));
  const res = await page.goto(`${BASE}/api/docs/`);
  assert.equal(res.status(), 200);
  return { context, page, watcher, requests };
}

describe("the API reference page", () => {
  it("renders every operation of the document from this origin alone, under its CSP", async () => {
    const started = Date.now();
    const { context, page, watcher, requests } = await openDocs(desktopContext);
    await page.locator(".opblock").first().waitFor({ timeout: 15_000 });
    console.log(`[timing] /api/docs/ navigation -> first operation shown: ${Date.now() - started} ms (cold cache)`);
    const doc = await (await fetch(`${BASE}/api/schema/`)).json();
    const operations = Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).filter((k) => k !== "parameters").length, 0);
    assert.equal(await page.locator(".opblock").count(), operations);
    assert.ok(await page.getByText("/api/token/refresh/", { exact: true }).first().isVisible());
    assert.ok(await page.getByText("Sign in: get an access and a refresh token").isVisible());

    // Opening an operation shows its request schema, generated from the zod schema that validates it.
    await page.locator("#operations-tokens-token_obtain_pair").click();
    await page.locator("#operations-tokens-token_obtain_pair .opblock-body").waitFor();
    assert.match(await page.locator("#operations-tokens-token_obtain_pair").textContent(), /TokenObtainPairRequest|username/);
    await shot(page, "docs-desktop");

    const origin = new URL(BASE).origin;
    assert.deepEqual(
      requests.filter((u) => !u.startsWith(origin) && !u.startsWith("data:")),
      [],
    );
    watcher.assertClean();
    await context.close();
  });

  it("is readable on a 360 px phone and in a dark-mode browser", async () => {
    const phone = await openDocs(phoneContext, { colorScheme: "dark" });
    await phone.page.locator(".opblock").first().waitFor({ timeout: 15_000 });
    const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `the page scrolls sideways by ${overflow}px`);
    await shot(phone.page, "docs-phone-dark");
    phone.watcher.assertClean();
    await phone.context.close();
  });
});
