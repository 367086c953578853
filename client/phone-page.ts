/**
 * @module Phone Page (browser) — the phone side of QR login on GET /qr/{id}: signs in (or registers) when this
 * phone has no tokens, reads only the code's state until the user taps Continue (the scan, which binds the
 * code to this account), then shows the number to type on the computer, who is asking and from how far, and
 * Approve / Deny. After Approve it waits (polling the login) until the computer has typed the number.
 *
 * State for styling and tests: `document.body.dataset.state` is one of loading, sign-in, register,
 * continue, left, request, approving, waiting, denying, approved, denied, problem; `dataset.problem` names the
 * problem (qr_expired, qr_too_far, …); `dataset.denied` why a login ended (code_mismatch when the computer typed
 * a wrong number).
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
let pollTimer = 0;
const POLL_EVERY_MS = 2000;

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
  $("problem-retry").hidden = !(code === "error" || code === "throttled" || code === "qr_browser_away");
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

function distanceText(km: number): string {
  return km < 5 ? "nearby" : "about " + km.toLocaleString(navigator.language || "en") + " km from this phone";
}

function renderRequest(r: QrRequestBody): void {
  request = r;
  if (r.status === "scanned" && r.phone_approved) return showWaiting(r);
  $("code").textContent = r.code || "––";
  $("code").setAttribute("aria-label", (r.code || "").split("").join(" "));
  const who: Partial<QrRequestBody["requester"]> = r.requester || {};
  $("d-device").textContent = who.description || "Unknown browser";
  // Locally there is no place at all: say nothing rather than something false.
  const where = [who.city, countryName(who.country)].filter(Boolean).join(", ");
  $("d-place").textContent = where ? (r.distance ? where + " \u2014 " + distanceText(r.distance.km) : where) : "";
  $("d-place").hidden = !where;
  const warnings = r.warnings || [];
  const lines: string[] = [];
  if (warnings.indexOf("different_country") >= 0) {
    lines.push(
      "The computer is in " +
        (countryName(who.country) || "another country") +
        "; this phone is in " +
        (countryName(r.phone && r.phone.country) || "another country") +
        ".",
    );
  } else if (warnings.indexOf("far_apart") >= 0 && r.distance) {
    lines.push("The computer is " + distanceText(r.distance.km) + ".");
  }
  if (warnings.indexOf("different_network") >= 0 && lines.length === 0) {
    lines.push("It is on a different network than this phone (normal if your phone is on mobile data).");
  }
  const tooFar = !!(r.distance && r.distance.over_limit);
  if (tooFar) lines.push("It is too far away to be approved from this phone.");
  $("mismatch-text").textContent = lines.join(" ");
  $("notice-mismatch").hidden = lines.length === 0;
  tick();
  show("request", "request-title");
  $<HTMLButtonElement>("approve").disabled = tooFar;
  $<HTMLButtonElement>("deny").disabled = false;
}

/** Approved here, the computer has not typed the number yet: show it again, and follow the login until it ends. */
function showWaiting(r: QrRequestBody): void {
  $("code-again").textContent = r.code || "";
  if (document.body.dataset.state !== "waiting") show("waiting", "waiting-title");
  poll();
}

function poll(): void {
  clearTimeout(pollTimer);
  pollTimer = setTimeout(() => {
    void Auth.authed<QrRequestBody | QrLimitedBody>("/api/qr/" + id + "/").then((r) => {
      if (document.body.dataset.state !== "waiting") return;
      if (!r.ok) return fromResponse(r);
      const body = r.body as QrRequestBody;
      if (body.status === "approved") return finished("approve");
      if (body.status === "denied") return finished("deny", "computer");
      if (body.status === "scanned" && !body.phone_approved) {
        // The server could not finish (it reopened the login): approve again.
        renderRequest(body);
        $("request-error").textContent = "The sign-in could not be completed. Try Approve again.";
        $("request-error").hidden = false;
        return;
      }
      poll();
    }, poll);
  }, POLL_EVERY_MS);
}

function finished(action: "approve" | "deny", by: "phone" | "computer" = "phone"): void {
  clearTimeout(tickTimer);
  clearTimeout(pollTimer);
  const device = (request && request.requester && request.requester.description) || "The other device";
  if (action === "approve") {
    $("approved-text").textContent =
      device + " is now signed in as " + ($("phone-user").textContent || "you") + ". You can close this page.";
    show("approved", "approved-title");
    return;
  }
  document.body.dataset.denied = by === "computer" ? "code_mismatch" : "phone";
  $("denied-text").textContent =
    by === "computer"
      ? "The computer typed a different number (or cancelled), so nobody was signed in. If that was not you, someone may be trying to get into your account."
      : "Nobody was signed in. If you didn't start this sign-in yourself, consider changing your password.";
  show("denied", "denied-title");
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

function setButtonsDisabled(on: boolean): void {
  $<HTMLButtonElement>("approve").disabled = on;
  $<HTMLButtonElement>("deny").disabled = on;
}

function decide(action: "approve" | "deny"): void {
  setButtonsDisabled(true);
  setState(action === "approve" ? "approving" : "denying");
  void Auth.authed<QrRequestBody>("/api/qr/" + id + "/" + action + "/", { body: {} }).then(
    (r) => {
      if (!r.ok) return fromResponse(r);
      const body = r.body!;
      if (action === "approve" && body.status === "scanned") return renderRequest(body);
      finished(action);
    },
    () => {
      setButtonsDisabled(false);
      setState("request");
      $("request-error").textContent = "Can't reach the server. Check your connection and try again.";
      $("request-error").hidden = false;
    },
  );
}

$("approve").addEventListener("click", () => {
  $("request-error").hidden = true;
  decide("approve");
});
$("deny-late").addEventListener("click", () => {
  clearTimeout(pollTimer);
  show("request");
  decide("deny");
});
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
  const body = {
    username: input(form, "username").value.trim(),
    email: input(form, "email").value.trim(),
    password: input(form, "password").value,
  };
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
