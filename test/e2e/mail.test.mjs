// The account's life over mail in a real Chromium against wrangler dev (ACTIVATION_EMAIL=on, MAIL_FROM set): sign up
// through djoser's endpoint, find the activation mail in the file wrangler dev wrote, open its link and activate; then
// "Forgot your password?" on /login → the reset mail's file → its link → a new password → signed in with it, and the
// session from before the reset is dead.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { BASE, PASSWORD, api, desktopContext, launch, mailTextFolders, shot, uniqueName, waitForState, watch } from "./helpers.mjs";

const NEW_PASSWORD = "a brand new passphrase 42";

/**
 * The text part of the newest mail wrangler dev wrote (`<tmp>/miniflare-*\/files/email/email-text/*.txt`, the path it logs
 * after "send_email binding called with MessageBuilder:") that holds `needle` and a link to `/{path}/`.
 */
async function mailFile(needle, path, timeoutMs = 10_000) {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    const found = [];
    for (const folder of mailTextFolders()) {
      let files = [];
      try {
        files = readdirSync(folder);
      } catch {
        continue;
      }
      for (const file of files) {
        const full = join(folder, file);
        const text = readFileSync(full, "utf8");
        if (text.includes(needle) && text.includes(`/${path}/`)) found.push({ full, text, mtime: statSync(full).mtimeMs });
      }
    }
    if (found.length > 0) return found.sort((a, b) => b.mtime - a.mtime)[0];
    await sleep(200);
  }
  throw new Error(`no mail file holding ${needle} and /${path}/ within ${timeoutMs} ms`);
}

function linkIn(text, path) {
  const match = new RegExp(`${BASE.replace(/[.]/g, "\\.")}/${path}/[A-Za-z0-9_-]+/[0-9a-z]+-[0-9a-f]{32}`).exec(text);
  assert.ok(match, `a ${path} link in:\n${text}`);
  return match[0];
}

let browser;

before(async () => {
  browser = await launch();
});

after(async () => {
  await browser?.close();
});

describe("the account's life over mail", () => {
  it("activation mail → link → active; Forgot password? → mail file → link → new password → signed in, old sessions dead", async () => {
    const username = uniqueName("mail");
    const email = `${username}@example.com`;
    const created = await api("/api/auth/users/", { body: { username, email, password: PASSWORD } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(created.body, { username, id: created.body.id, email });
    assert.equal((await api("/api/token/", { body: { username, password: PASSWORD } })).status, 401, "inactive until activated");

    const context = await desktopContext(browser);
    const page = await context.newPage();
    const problems = watch(page, "account pages");

    // Activation: the mail wrangler dev wrote to a file, its link, one button.
    const activation = await mailFile(username, "activate");
    await page.goto(linkIn(activation.text, "activate"));
    assert.equal((await api("/api/token/", { body: { username, password: PASSWORD } })).status, 401, "opening the page activates nothing");
    await page.getByRole("button", { name: "Activate" }).click();
    await waitForState(page, "done");
    await shot(page, "mail-activated");
    const before = await api("/api/token/", { body: { username, password: PASSWORD } });
    assert.equal(before.status, 200);

    // Forgot password, from the QR login page.
    await page.goto(`${BASE}/login`);
    await page.getByRole("link", { name: "Forgot your password?" }).click();
    await page.getByLabel("Email").fill(email);
    await page.getByRole("button", { name: "Mail me a link" }).click();
    await waitForState(page, "done");
    await shot(page, "mail-forgot-sent");

    const reset = await mailFile(username, "reset");
    assert.match(reset.text, /Choose a new password/);
    assert.ok(!reset.text.includes(PASSWORD), "no password in the mail");
    const link = linkIn(reset.text, "reset");
    await page.goto(link);
    await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel("New password again").fill(NEW_PASSWORD);
    await page.getByRole("button", { name: "Save the new password" }).click();
    await waitForState(page, "done");
    await shot(page, "mail-reset-done");

    // Signed in with the new password; the session from before the reset is dead; the link is spent.
    assert.equal((await api("/api/token/", { body: { username, password: PASSWORD } })).status, 401);
    assert.equal((await api("/api/token/", { body: { username, password: NEW_PASSWORD } })).status, 200);
    assert.equal((await api("/api/hello/", { token: before.body.access })).status, 401);
    await page.goto(link);
    await page.getByLabel("New password", { exact: true }).fill("yet another passphrase 7");
    await page.getByLabel("New password again").fill("yet another passphrase 7");
    await page.getByRole("button", { name: "Save the new password" }).click();
    await waitForState(page, "dead");
    problems.assertClean();
    await context.close();
  });
});
