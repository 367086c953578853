/** The browser pages (GET /login, GET /qr/{id}) inside workerd: status, headers, CSP-safe markup, live embedded codes, problem pages. */
import { describe, expect, it } from "vitest";
// @ts-expect-error -- Vite's ?raw import: the browser source as written, before minification.
import loginPageSource from "../client/login-page.ts?raw";
// @ts-expect-error -- as above.
import sealSource from "../client/seal.ts?raw";
// @ts-expect-error -- as above.
import qrLoginSource from "../client/qr-login.ts?raw";
import { LOGIN_PAGE_JS, PHONE_PAGE_JS } from "../src/pages/client.generated";
import { ERRORS } from "../src/http/errors";
import { jsonForScript } from "../src/pages/layout";
import { api, registerUser, rig, signIn } from "./helpers";
import { createQr, listen } from "./qr-helpers";

const DESKTOP_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";

function cspNonce(res: Response): string {
  const csp = res.headers.get("content-security-policy") ?? "";
  const match = /script-src [^;]*'nonce-([A-Za-z0-9+/=]+)'/.exec(csp);
  expect(match, `a nonce in ${csp}`).not.toBeNull();
  return match![1]!;
}

function pageData<T>(html: string): T {
  const match = /<script type="application\/json" id="page-data">([\s\S]*?)<\/script>/.exec(html);
  expect(match).not.toBeNull();
  return JSON.parse(match![1]!) as T;
}

/** What a strict CSP and "no external resources" require of the markup itself. */
function expectCspSafe(html: string, nonce: string): void {
  // Every executable script and every style block carries this response's nonce.
  for (const tag of html.match(/<script\b[^>]*>/g) ?? []) {
    if (tag.includes('type="application/json"')) continue;
    expect(tag).toContain(`nonce="${nonce}"`);
    expect(tag).not.toMatch(/\ssrc=/);
  }
  for (const tag of html.match(/<style\b[^>]*>/g) ?? []) expect(tag).toContain(`nonce="${nonce}"`);
  // No inline event handlers, style attributes or javascript: URLs (a nonce CSP refuses all three).
  expect(html).not.toMatch(/<[^>]+\son[a-z]+\s*=/i);
  expect(html).not.toMatch(/<[^>]+\sstyle\s*=/i);
  expect(html).not.toMatch(/javascript:/i);
  // Nothing loaded from elsewhere: no src/href to another origin, no @import or url() in the CSS.
  expect(html).not.toMatch(/\s(?:src|href|action)="(?:https?:)?\/\//i);
  expect(html).not.toMatch(/@import|url\(/i);
}

/** Every input has a <label for>, every button has text. */
function expectLabelled(html: string): void {
  const inputs = html.match(/<input\b[^>]*>/g) ?? [];
  for (const input of inputs) {
    const id = /\sid="([^"]+)"/.exec(input)?.[1];
    expect(id, input).toBeTruthy();
    expect(html).toContain(`<label for="${id}">`);
  }
  for (const button of html.match(/<button\b[^>]*>([\s\S]*?)<\/button>/g) ?? []) {
    expect(button.replace(/<[^>]+>/g, "").trim().length, button).toBeGreaterThan(0);
  }
}

describe("GET /login", () => {
  it("answers a complete HTML page that is never cached, under a nonce CSP that allows nothing from elsewhere", async () => {
    const res = await api("/login", { headers: { "user-agent": DESKTOP_UA } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    const csp = res.headers.get("content-security-policy")!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).not.toContain("unsafe-eval");
    const html = await res.text();
    expect(html.startsWith('<!doctype html><html lang="en">')).toBe(true);
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1"/>');
    expectCspSafe(html, cspNonce(res));
    expectLabelled(html);
  });

  it("starts no login on the server: only the browser holds the key its pair is sealed to, so the script starts the code", async () => {
    const res = await api("/login", { headers: { "user-agent": DESKTOP_UA } });
    const html = await res.text();
    expect(pageData<Record<string, unknown>>(html)).toEqual({});
    expect(html).toContain('data-state="starting"');
    expect(html).not.toContain("data-code-id");
    expect(html).not.toMatch(/"secret"/);
    // The page inlines the bundle built from client/login-page.ts (vitest.config.ts rebuilds it for every run)...
    expect(html).toContain(`>${LOGIN_PAGE_JS}</script>`);
    // ...whose source makes a non-extractable ECDH P-256 key and sends only its public half...
    expect(sealSource).toContain('const ECDH = { name: "ECDH", namedCurve: "P-256" };');
    expect(sealSource).toContain('crypto.subtle.generateKey(ECDH, false, ["deriveBits"])');
    // (the page draws the headless module's states: client/qr-login.ts starts the code)
    expect(loginPageSource).toContain('from "./qr-login"');
    expect(qrLoginSource).toContain("JSON.stringify({ public_key: keys.publicJwk })");
    // ...and minifying kept both: the curve and usage, and a body whose only key field is the public JWK.
    expect(LOGIN_PAGE_JS).toContain('{name:"ECDH",namedCurve:"P-256"}');
    expect(LOGIN_PAGE_JS).toMatch(/\.generateKey\([\w$]+,!1,\["deriveBits"\]\)/);
    expect(LOGIN_PAGE_JS).toMatch(/\{public_key:[\w$]+\.publicJwk\}/);
  });

  it("has a labelled input for the number the phone shows (numeric keyboard, paste, one-time-code autofill) and a way out when someone else scanned", async () => {
    const html = await (await api("/login")).text();
    expect(html).toMatch(/<form id="check" class="check-code" hidden="" novalidate="">/);
    expect(html).toContain('<label for="code-input"><span id="code-label" class="check-line"></span></label>');
    expect(html).toMatch(/<input id="code-input" name="code" class="code-input" inputmode="numeric" autocomplete="one-time-code"/);
    expect(html).toMatch(/<button type="button" class="link" id="not-me">Get a new code<\/button>/);
    // No code is ever rendered on the desktop: it is the phone's alone.
    expect(html).not.toContain('id="check-code"');
  });

  it("gives every load its own nonce", async () => {
    const [a, b] = await Promise.all([api("/login"), api("/login")]);
    expect(cspNonce(a)).not.toBe(cspNonce(b));
  });

  it("answers HEAD with the headers only", async () => {
    const res = await api("/login", { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(await res.text()).toBe("");
  });

  it("answers with and without the trailing slash, and 405 with Allow for other methods", async () => {
    expect((await api("/login/")).status).toBe(200);
    const res = await api("/login", { method: "POST", body: {} });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toContain("GET");
  });

  it("renders without touching a Durable Object", async () => {
    const broken = {
      idFromName: () => {
        throw new Error("no object may be addressed");
      },
      get: () => {
        throw new Error("no object may be addressed");
      },
    };
    const app = rig({ env: { QR_SESSION: broken } });
    const res = await app.call("/login");
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('data-state="starting"');
  });
});

describe("GET /qr/{id}", () => {
  it("answers the phone page for an open code: sign-in and account forms, labelled, CSP-safe, with the id for the script", async () => {
    const qr = await createQr();
    const res = await api(`/qr/${qr.id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-store");
    const html = await res.text();
    expectCspSafe(html, cspNonce(res));
    expectLabelled(html);
    expect(pageData<{ id: string }>(html).id).toBe(qr.id);
    expect(html).toContain(`>${PHONE_PAGE_JS}</script>`);
    expect(html).toContain('<form id="signin-form" method="post" novalidate="">');
    expect(html).toContain('autocomplete="current-password"');
    expect(html).toContain('id="to-register"');
    // Opening the page scans nothing: a Continue step first, then the code to type on the computer, and Approve and
    // Deny side by side, the same size, before any longer text.
    expect(html).toContain('<button type="button" class="primary" id="continue">');
    expect(html).toContain('<p id="code" class="code-show" aria-live="off"></p>');
    expect(html).toMatch(
      /<div class="actions pair"><button type="button" class="primary" id="approve">Approve<\/button><button type="button" class="danger" id="deny">Deny<\/button><\/div>/,
    );
    expect(html.indexOf('id="approve"')).toBeLessThan(html.indexOf('id="notice-plain"'));
    // No IP address is shown to whoever scans.
    expect(html).not.toContain("IP address");
    expect(html).toContain("Approve only a code shown on a screen of your own.");
    // The secret is the desktop's alone.
    expect(html).not.toContain(qr.secret);
  });

  it("tells the phone's user what happened for every refusal the QR API can answer, not a generic error", async () => {
    const qr = await createQr();
    const { problems } = pageData<{ problems: Record<string, { title: string; text: string }> }>(await (await api(`/qr/${qr.id}`)).text());
    const qrRefusals = Object.keys(ERRORS).filter((code) => code.startsWith("qr_"));
    expect(qrRefusals).toContain("qr_browser_away");
    for (const code of qrRefusals) expect(problems[code]?.title, code).toBeTruthy();
  });

  it("answers a 404 page, with no script, for a malformed id and for an unknown one", async () => {
    for (const path of [
      "/qr/not-an-id",
      "/qr/AAAAAAAAAAAAAAAAAAAAAA",
      `/qr/${"A".repeat(28)}`,
      "/qr/%3Cscript%3E",
      `/qr/${"A".repeat(200)}`,
    ]) {
      const res = await api(path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
      const html = await res.text();
      expect(html).toContain("This code isn&#39;t valid");
      expect(html).not.toContain("<script");
      expect(html).not.toContain("<script>");
    }
  });

  it("answers 410 for an expired code and 409 for a finished one", async () => {
    const app = rig();
    const expired = await createQr(app.call);
    app.advance(120);
    const gone = await app.call(`/qr/${expired.id}`);
    expect(gone.status).toBe(410);
    expect(await gone.text()).toContain("This code has expired");

    const denied = await createQr();
    await listen(denied);
    const phone = await registerUser();
    const { access } = await signIn(phone.username);
    expect((await api(`/api/qr/${denied.id}/scan/`, { method: "POST", token: access })).status).toBe(200);
    expect((await api(`/api/qr/${denied.id}/deny/`, { method: "POST", token: access })).status).toBe(200);
    const finished = await api(`/qr/${denied.id}`);
    expect(finished.status).toBe(409);
    expect(await finished.text()).toContain("This sign-in is already finished");
  });

  it("still shows the page for a code someone scanned (only the API can tell whether it is this phone's)", async () => {
    const qr = await createQr();
    await listen(qr);
    const phone = await registerUser();
    const { access } = await signIn(phone.username);
    expect((await api(`/api/qr/${qr.id}/scan/`, { method: "POST", token: access })).status).toBe(200);
    expect((await api(`/qr/${qr.id}`)).status).toBe(200);
  });
});

describe("page helpers", () => {
  it("embeds JSON that cannot end its <script> block", () => {
    const text = jsonForScript({ a: "</script><script>alert(1)</script>", b: "\u2028" });
    expect(text).not.toContain("<");
    expect(text).not.toContain("\u2028");
    expect(JSON.parse(text)).toEqual({ a: "</script><script>alert(1)</script>", b: "\u2028" });
  });
});
