/**
 * @module Phone Page (browser) — the phone side of QR login on GET /qr/{id}: signs in (or registers) when this
 * phone has no tokens, reads only the code's state until the user taps Continue (the scan, which binds the
 * code to this account), then shows who is asking and three numbers: the one on the computer's screen approves.
 *
 * State for styling and tests: `document.body.dataset.state` is one of loading, sign-in, register,
 * continue, left, request, approving, denying, approved, denied, problem; `dataset.problem` names the
 * problem (qr_expired, qr_code_mismatch, …).
 */
import type { PhonePageData, Problem } from "../src/pages/problems";
import type { QrLimitedBody, QrRequestBody } from "../src/qr/wire";
import * as Auth from "./auth";
import type { ApiResult, ErrorBody, TokenPair } from "./auth";
import { byId as $, minutesSeconds, setState, showView } from "./dom";

/** GET /api/auth/me/, the field this page shows. */
interface Me {
  username: string;
}

// `#page-data`, written by src/pages/phone.tsx.
const data = JSON.parse($("page-data").textContent || "{}") as Partial<PhonePageData>;
const id = data.id;
// Looked up by the API's `code`, which may be one this page has no words for.
const problems: Partial<Record<string, Problem>> = data.problems || {};
let request: QrRequestBody | null = null; // the scan's answer: who is asking
let clockOffset = 0; // server time - this device's time, ms
let tickTimer = 0;

function show(view: string, focusId?: string): void {
  showView(view);
  setState(view);
  if (focusId && document.getElementById(focusId)) $(focusId).focus();
}

function problem(code: string, retryAfter?: number | null): void {
  clearTimeout(tickTimer);
  const p = (problems[code] || problems.error)!;
  $("problem-title").textContent = p.title;
  $("problem-text").textContent = code === "throttled" && retryAfter ? p.text.replace("a moment", retryAfter + " seconds") : p.text;
  $("problem-retry").hidden = !(code === "error" || code === "throttled");
  document.body.dataset.problem = code;
  show("problem", "problem-title");
}

function fromResponse(r: ApiResult<unknown>): void {
  if (r.status === 401) {
    show("sign-in", "si-username");
    return;
  }
  if (r.status === 404) return problem("not_found");
  const c = !r.ok && r.body ? r.body.code : undefined;
  if (c && problems[c]) return problem(c, r.retryAfter);
  problem("error");
}

function networkProblem(): void {
  problem("error");
}

// --- who is asking --------------------------------------------------------------------------

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 5) return "just now";
  if (s < 60) return s + " seconds ago";
  const m = Math.floor(s / 60);
  return m === 1 ? "1 minute ago" : m + " minutes ago";
}

function countryName(codeText: string | null | undefined): string | null {
  if (!codeText) return null;
  try {
    return new Intl.DisplayNames([navigator.language || "en"], { type: "region" }).of(codeText) || codeText;
  } catch {
    return codeText;
  }
}

function place(p: { city?: string | null; country?: string | null }): string {
  const parts = [p.city, countryName(p.country)].filter(Boolean);
  return parts.length ? parts.join(", ") : "Unknown";
}

function renderRequest(r: QrRequestBody): void {
  request = r;
  const buttons = document.querySelectorAll<HTMLButtonElement>("[data-choice]");
  buttons.forEach((button, i) => {
    const choice = (r.choices || [])[i] || "";
    button.textContent = choice;
    button.setAttribute("aria-label", "Pick " + choice);
    button.dataset.code = choice;
    button.disabled = !choice;
  });
  const who: Partial<QrRequestBody["requester"]> = r.requester || {};
  $("d-device").textContent = who.description || "Unknown browser";
  $("d-ip").textContent = who.ip || "Unknown";
  $("d-place").textContent = place(who);
  const warnings = r.warnings || [];
  const lines: string[] = [];
  if (warnings.indexOf("different_country") >= 0) {
    lines.push(
      "It comes from " + (countryName(who.country) || "another country") + ", and this phone is in " + (countryName(r.phone && r.phone.country) || "another country") + ".",
    );
  }
  if (warnings.indexOf("different_network") >= 0) {
    lines.push("It comes from a different network than this phone (normal if your phone is on mobile data).");
  }
  $("mismatch-text").textContent = lines.join(" ");
  $("notice-mismatch").hidden = lines.length === 0;
  tick();
  show("request", "request-title");
  $<HTMLButtonElement>("deny").disabled = false;
}

function setUser(m: ApiResult<Me>): void {
  const name = m && m.ok && m.body ? m.body.username : "";
  for (const slot of document.querySelectorAll(".phone-user")) slot.textContent = name;
}

function tick(): void {
  clearTimeout(tickTimer);
  if (!request) return;
  const now = Date.now() + clockOffset;
  $("d-ago").textContent = ago(now - Date.parse(request.created_at));
  const left = Math.ceil((Date.parse(request.expires_at) - now) / 1000);
  if (left <= 0) return problem("qr_expired");
  $("d-expires").textContent = "in " + minutesSeconds(left);
  tickTimer = setTimeout(tick, 1000);
}

// Reading the code changes nothing and tells the computer nothing; the details come only after the scan.
function look(): Promise<void> {
  show("loading");
  const me = Auth.authed<Me>("/api/auth/me/");
  const seen = Auth.authed<QrRequestBody | QrLimitedBody>("/api/qr/" + id + "/");
  return Promise.all([seen, me]).then(([r, m]) => {
    if (!r.ok) return fromResponse(r);
    if (r.serverNow) clockOffset = r.serverNow - Date.now();
    setUser(m);
    const body = r.body!;
    if (body && "requester" in body && body.requester) return renderRequest(body);
    const left = Math.max(0, Math.round((Date.parse(body.expires_at) - (Date.now() + clockOffset)) / 1000));
    $("continue-expires").textContent = "The code expires in " + minutesSeconds(left) + ".";
    show("continue", "continue-title");
  }, networkProblem);
}

function scan(): Promise<void> {
  show("loading");
  return Auth.authed<QrRequestBody>("/api/qr/" + id + "/scan/", { body: {} }).then((r) => {
    if (!r.ok) return fromResponse(r);
    if (r.serverNow) clockOffset = r.serverNow - Date.now();
    renderRequest(r.body!);
  }, networkProblem);
}

function setChoicesDisabled(on: boolean): void {
  for (const button of document.querySelectorAll<HTMLButtonElement>("[data-choice]")) button.disabled = on;
  $<HTMLButtonElement>("deny").disabled = on;
}

function decide(action: "approve" | "deny", pick?: string): void {
  setChoicesDisabled(true);
  setState(action === "approve" ? "approving" : "denying");
  void Auth.authed<QrRequestBody>("/api/qr/" + id + "/" + action + "/", { body: action === "approve" ? { code: pick } : {} }).then(
    (r) => {
      if (!r.ok) return fromResponse(r);
      clearTimeout(tickTimer);
      const device = (request && request.requester && request.requester.description) || "The other device";
      if (action === "approve") {
        $("approved-text").textContent = device + " is now signed in as " + ($("phone-user").textContent || "you") + ". You can close this page.";
        show("approved", "approved-title");
      } else {
        show("denied", "denied-title");
      }
    },
    () => {
      setChoicesDisabled(false);
      setState("request");
      $("request-error").hidden = false;
    },
  );
}

for (const button of document.querySelectorAll<HTMLButtonElement>("[data-choice]")) {
  button.addEventListener("click", (e) => {
    $("request-error").hidden = true;
    decide("approve", (e.currentTarget as HTMLButtonElement).dataset.code);
  });
}
$("continue").addEventListener("click", () => {
  void scan();
});
$("not-now").addEventListener("click", () => show("left", "left-title"));
$("deny").addEventListener("click", () => {
  $("request-error").hidden = true;
  decide("deny");
});
$("problem-retry").addEventListener("click", () => start());
$("phone-sign-out").addEventListener("click", () => {
  clearTimeout(tickTimer);
  void Auth.signOut().then(() => show("sign-in", "si-username"));
});

// --- sign in / create an account ------------------------------------------------------------

function input(form: HTMLFormElement, name: string): HTMLInputElement {
  return form.elements.namedItem(name) as HTMLInputElement;
}

/** Shows a DRF field-error body next to its fields; true if any field had one. */
function fieldErrors(form: HTMLFormElement, body: ErrorBody | null): boolean {
  let shown = false;
  for (const error of form.querySelectorAll<HTMLElement>("[data-error-for]")) {
    const key = error.getAttribute("data-error-for")!;
    const messages = body && body[key];
    error.textContent = Array.isArray(messages) ? messages.join(" ") : "";
    error.hidden = !Array.isArray(messages);
    const field = form.querySelector("[name=" + key + "]");
    if (field) field.setAttribute("aria-invalid", Array.isArray(messages) ? "true" : "false");
    if (Array.isArray(messages)) shown = true;
  }
  return shown;
}

function formError(el: HTMLElement, text: string | undefined): void {
  el.textContent = text || "";
  el.hidden = !text;
}

function busy(form: HTMLFormElement, on: boolean): void {
  form.querySelector<HTMLButtonElement>("button[type=submit]")!.disabled = on;
}

function afterSignIn(r: ApiResult<TokenPair>, form: HTMLFormElement, errorEl: HTMLElement): Promise<void> | void {
  if (r.ok) return look();
  if (r.status === 401) return formError(errorEl, "Wrong username or password.");
  if (r.status === 429) return formError(errorEl, "Too many attempts. Try again in " + (r.retryAfter || 60) + " seconds.");
  if (!fieldErrors(form, r.body)) formError(errorEl, (r.body && r.body.detail) || "Could not sign in. Try again.");
}

$("signin-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const form = e.target as HTMLFormElement;
  formError($("si-error"), "");
  fieldErrors(form, null);
  const username = input(form, "username").value.trim();
  const password = input(form, "password").value;
  if (!username || !password) return formError($("si-error"), "Enter your username and password.");
  busy(form, true);
  Auth.signIn(username, password).then(
    (r) => {
      busy(form, false);
      input(form, "password").value = "";
      void afterSignIn(r, form, $("si-error"));
    },
    () => {
      busy(form, false);
      formError($("si-error"), "Can't reach the server. Check your connection and try again.");
    },
  );
});

$("register-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const form = e.target as HTMLFormElement;
  formError($("re-error"), "");
  fieldErrors(form, null);
  const body = { username: input(form, "username").value.trim(), email: input(form, "email").value.trim(), password: input(form, "password").value };
  busy(form, true);
  Auth.request("/api/auth/register/", { body })
    .then((r) => {
      if (!r.ok) {
        busy(form, false);
        if (r.status === 429) return formError($("re-error"), "Too many attempts. Try again in " + (r.retryAfter || 60) + " seconds.");
        if (!fieldErrors(form, r.body)) formError($("re-error"), (r.body && r.body.detail) || "Could not create the account.");
        return;
      }
      return Auth.signIn(body.username, body.password).then((s) => {
        busy(form, false);
        input(form, "password").value = "";
        void afterSignIn(s, form, $("re-error"));
      });
    })
    .catch(() => {
      busy(form, false);
      formError($("re-error"), "Can't reach the server. Check your connection and try again.");
    });
});

$("to-register").addEventListener("click", (e) => {
  e.preventDefault();
  show("register", "re-username");
});
$("to-sign-in").addEventListener("click", (e) => {
  e.preventDefault();
  show("sign-in", "si-username");
});

Auth.onSignedOut(() => {
  const state = document.body.dataset.state;
  if (state === "request" || state === "continue") show("sign-in", "si-username");
});

// --- start ----------------------------------------------------------------------------------

function start(): void {
  // No focus move on first paint: it would pop up the phone's keyboard before the page is read.
  if (!Auth.hasRefresh()) return show("sign-in");
  show("loading");
  Auth.refresh().then((ok) => (ok ? look() : show("sign-in")), networkProblem);
}
start();
