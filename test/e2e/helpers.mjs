// Shared helpers for the browser tests: Chromium, a desktop and a phone context, API calls, screenshots.
import assert from "node:assert/strict";
import fs, { mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const BASE = process.env.E2E_BASE_URL ?? "http://127.0.0.1:8791";
export const QR_TTL_SECONDS = Number(process.env.E2E_QR_TTL ?? 120);
export const PASSWORD = "correct horse battery staple";
const SHOTS = fileURLToPath(new URL("./screenshots/", import.meta.url));

// Real browsers' user agents, so the phone sees "Chrome 156 on Linux" rather than HeadlessChrome.
export const DESKTOP_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";
export const PHONE_UA =
  "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Mobile Safari/537.36";

/** Debian's Chromium; playwright-core adds --headless and a fresh temporary --user-data-dir per launch. */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

export function desktopContext(browser, options = {}) {
  return browser.newContext({ viewport: { width: 1280, height: 800 }, userAgent: DESKTOP_UA, locale: "en-US", ...options });
}

export function phoneContext(browser, options = {}) {
  return browser.newContext({
    viewport: { width: 360, height: 740 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    userAgent: PHONE_UA,
    locale: "en-US",
    ...options,
  });
}

/**
 * Collects what would show a broken page: uncaught errors, console errors (CSP violations are reported
 * there), failed requests. `allow` lists patterns a test expects (a refused WebSocket handshake, say).
 */
export function watch(page, label) {
  const problems = [];
  const allowed = [];
  page.on("pageerror", (error) => problems.push(`${label} pageerror: ${error.message}`));
  page.on("console", (message) => {
    // Chromium logs every 4xx answer as an error; the tests assert statuses themselves.
    if (message.type() === "error" && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(message.text())) {
      problems.push(`${label} console: ${message.text()}`);
    }
  });
  page.on("requestfailed", (request) => {
    const failure = request.failure()?.errorText ?? "";
    // A navigation away aborts in-flight requests; that is not a page defect.
    if (failure === "net::ERR_ABORTED") return;
    problems.push(`${label} request failed: ${request.method()} ${request.url()} ${failure}`);
  });
  return {
    allow(pattern) {
      allowed.push(pattern);
    },
    assertClean() {
      const left = problems.filter((p) => !allowed.some((a) => a.test(p)));
      assert.deepEqual(left, [], `the ${label} page reported problems`);
    },
  };
}

export async function shot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  // Transitions finished: the picture shows the state the page settles in.
  await page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true, animations: "disabled" });
}

export async function api(path, { body, token, method } = {}) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${BASE}${path}`, {
    method: method ?? (body === undefined ? "GET" : "POST"),
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: res.status, body: json };
}

let counter = 0;
export function uniqueName(prefix) {
  counter += 1;
  return `${prefix}${counter}_${Math.random().toString(36).slice(2, 7)}`;
}

export async function registerUser(prefix = "user") {
  const username = uniqueName(prefix);
  const res = await api("/api/auth/register/", { body: { username, email: `${username}@example.com`, password: PASSWORD } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return { username, password: PASSWORD, id: res.body.id };
}

export async function state(page) {
  return page.evaluate(() => document.body.dataset.state);
}

export function waitForState(page, wanted, timeout = 10_000) {
  const list = Array.isArray(wanted) ? wanted : [wanted];
  return page.waitForFunction((states) => states.includes(document.body.dataset.state), list, { timeout });
}

/** The desktop's current code: its id and the URL the QR encodes (also shown as text). */
export async function currentCode(page) {
  return page.evaluate(() => ({
    id: document.getElementById("qr-box").dataset.codeId,
    url: document.getElementById("qr-url").textContent,
  }));
}

/** Signs the phone in through its page's form (the phone page must be showing it); it then asks to continue. */
export async function phoneSignIn(phone, user, then = "continue") {
  await waitForState(phone, "sign-in");
  const form = phone.locator("#signin-form");
  await form.getByLabel("Username").fill(user.username);
  await form.getByLabel("Password").fill(user.password);
  await phone.getByRole("button", { name: "Sign in" }).click();
  await waitForState(phone, then, 10_000);
}

/** The bearer token the desktop page sends to /api/auth/me/, captured from the wire. */
export function captureBearer(page) {
  const seen = [];
  page.on("request", (request) => {
    if (new URL(request.url()).pathname.startsWith("/api/auth/me")) {
      const auth = request.headers().authorization;
      if (auth) seen.push(auth.replace(/^Bearer /, ""));
    }
  });
  return () => seen.at(-1) ?? null;
}

/** The phone's deliberate tap on Continue (the scan): afterwards it shows the code, who is asking, Approve and Deny. */
export async function phoneContinue(phone) {
  await waitForState(phone, "continue");
  await phone.getByRole("button", { name: "Continue", exact: true }).click();
  await waitForState(phone, "request", 10_000);
}

/** The two digits the phone shows once it continued (only the phone ever has them). */
export async function phoneCode(phone) {
  await phone.locator("#code").waitFor({ state: "visible" });
  const code = (await phone.locator("#code").textContent()).trim();
  assert.match(code, /^\d\d$/, `the phone shows a 2-digit code, got ${JSON.stringify(code)}`);
  return code;
}

/** The phone's Approve: it then waits for the computer's code ("waiting"), or is done ("approved"). */
export async function phoneApprove(phone) {
  await phone.getByRole("button", { name: "Approve", exact: true }).click();
  await waitForState(phone, ["waiting", "approved"], 10_000);
}

/** The desktop's user types what the phone shows into /login's code input, and sends it with Enter. */
export async function desktopTypeCode(desktop, code) {
  await waitForState(desktop, "scanned", 10_000);
  await desktop.getByLabel(/scanned this code — type the number shown on your phone/).fill(code);
  await desktop.keyboard.press("Enter");
  await waitForState(desktop, ["confirming", "signing-in", "signed-in", "denied"], 10_000);
}

/** A 2-digit code that is not `right`: what a guesser types. */
export function otherCode(right) {
  return String((Number(right) + 1) % 100).padStart(2, "0");
}

/** Both people act, the phone first: Approve, then the desktop types the code. */
export async function approveAndType(desktop, phone) {
  const code = await phoneCode(phone);
  await phoneApprove(phone);
  await desktopTypeCode(desktop, code);
  return code;
}

/**
 * The folders where wrangler dev's send_email binding writes each mail's text part: `<tmp>/miniflare-*` then
 * `files/email-text` (miniflare 4) or `files/email/email-text` (miniflare 5, wrangler 4.16x) — searched a few levels
 * deep so the next layout is found too; the path is also what wrangler logs after "Text:".
 */
export function mailTextFolders() {
  const { readdirSync } = fs;
  const folders = [];
  const walk = (dir, depth) => {
    let entries = [];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      const full = path.join(dir, entry.name);
      if (entry.name === "email-text") folders.push(full);
      else if (depth < 4) walk(full, depth + 1);
    }
  };
  for (const dir of fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith("miniflare-"))) walk(path.join(os.tmpdir(), dir), 0);
  return folders;
}
