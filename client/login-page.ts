/**
 * @module Login Page (browser) — the desktop side of QR login on GET /login, drawn over the same headless module
 * any site embeds (./qr-login.ts: keys, code, socket, reconnects, unsealing): this file only shows its states and
 * keeps the signed-in state (./auth.ts).
 *
 * State for styling and tests: `document.body.dataset.state` is one of checking, starting, waiting,
 * scanned, confirming, signing-in, signed-in, denied, expired, error; `dataset.socket` is live, reconnecting or
 * closed. Words come from ./qr-text.ts, the table the <qr-login> element uses too.
 */
import * as Auth from "./auth";
import { byId as $, setState, showView as show } from "./dom";
import { qrSvgElement } from "./qr-draw";
import { startQrLogin, type QrLoginHandle, type QrLoginState, type QrUser } from "./qr-login";
import { CODE_INVALID, connectionText, countdownText, qrLabel, qrStateText } from "./qr-text";

const TARGET_PX = 296;

/** GET /api/auth/me/, the fields this page shows. */
interface Me {
  username: string;
  email?: string | null;
  date_joined?: string | null;
}

let login: QrLoginHandle | null = null;
let deadline = 0;
let countdownTimer = 0;
// The state on screen: its status line comes back when a lost connection is live again.
let shown: QrLoginState = { state: "starting" };

function setSocket(s: "live" | "reconnecting" | "closed"): void {
  document.body.dataset.socket = s;
}

function status(text: string, kind?: "live" | "offline"): void {
  const el = $("status");
  el.textContent = text;
  el.className = "status" + (kind ? " " + kind : "");
}

// --- the code on screen ----------------------------------------------------------------------

function drawQr(svgText: string): boolean {
  const svg = qrSvgElement(svgText, TARGET_PX);
  if (!svg) return false;
  $("qr-box").replaceChildren(svg, overlay());
  return true;
}

function overlay(): HTMLElement {
  let o = document.getElementById("qr-overlay");
  if (o) return o;
  o = document.createElement("div");
  o.id = "qr-overlay";
  o.className = "qr-overlay";
  o.hidden = true;
  return o;
}

function placeholder(text: string): void {
  const p = document.createElement("p");
  p.className = "placeholder";
  p.textContent = text;
  $("qr-box").replaceChildren(p, overlay());
  $("qr-box").classList.remove("dim");
  overlay().hidden = true;
}

/** The scanned step: the account that scanned, and the input for the number its phone shows. Focus goes to the input. */
function showScanned(prompt: string): void {
  $("code-label").textContent = prompt;
  const input = $<HTMLInputElement>("code-input");
  input.value = "";
  input.disabled = false;
  $<HTMLButtonElement>("code-submit").disabled = false;
  $("code-error").hidden = true;
  $("check").hidden = false;
  // Dimmed, with nothing drawn over it: nothing is approved yet.
  $("qr-box").classList.add("dim");
  input.focus();
}

function clearScanned(): void {
  $("check").hidden = true;
  $("qr-box").classList.remove("dim");
  overlay().hidden = true;
}

function tickCountdown(): void {
  clearTimeout(countdownTimer);
  const st = document.body.dataset.state;
  if (st !== "waiting" && st !== "scanned" && st !== "confirming") return;
  const left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
  $("countdown").textContent = countdownText(left);
  if (left > 0) countdownTimer = setTimeout(tickCountdown, 1000 - (Date.now() % 1000) + 5);
}

// --- the login's states ---------------------------------------------------------------------

function onState(s: QrLoginState): void {
  shown = s;
  const text = qrStateText(s);
  switch (s.state) {
    case "starting":
      delete document.body.dataset.denied;
      show("code");
      setState("starting");
      placeholder(text.status);
      $("qr-box").setAttribute("aria-label", qrLabel());
      $("countdown").textContent = "";
      status(text.status);
      break;
    case "pending":
      if (!drawQr(s.svg)) placeholder("Could not draw the code.");
      $("qr-box").dataset.codeId = s.id;
      $("qr-box").setAttribute("aria-label", qrLabel(s.url));
      $("qr-url").textContent = s.url;
      clearScanned();
      show("code");
      setState("waiting");
      status(text.status);
      deadline = s.expiresAt;
      tickCountdown();
      break;
    case "scanned":
      setState("scanned");
      showScanned(text.prompt!);
      status(text.status);
      break;
    case "confirming":
      setState("confirming");
      $<HTMLInputElement>("code-input").disabled = true;
      $<HTMLButtonElement>("code-submit").disabled = true;
      status(text.status, "live");
      break;
    case "signing-in":
      clearTimeout(countdownTimer);
      setState("signing-in");
      clearScanned();
      status(text.status, "live");
      break;
    case "approved":
      Auth.setPair(s.pair);
      void showSignedIn(s.user);
      break;
    case "denied":
      clearTimeout(countdownTimer);
      setState("denied");
      document.body.dataset.denied = s.reason;
      $("denied-title").textContent = text.title;
      $("denied-text").textContent = text.status;
      show("denied");
      $("try-again").focus();
      break;
    case "expired":
      clearTimeout(countdownTimer);
      setState("expired");
      status(text.status);
      break;
    case "error":
      setState("error");
      // 0: the code on screen is replaced at once; otherwise there is no code until the retry.
      if (s.retryInMs !== 0) placeholder(text.title + ".");
      status(text.status, "offline");
      break;
  }
}

function freshCode(): void {
  if (login) login.restart();
  else
    login = startQrLogin({
      onState,
      onConnection(c) {
        setSocket(c.status);
        const lost = connectionText(c);
        if (lost) status(lost, "offline");
        else if (c.status === "live" && (shown.state === "pending" || shown.state === "scanned" || shown.state === "confirming"))
          status(qrStateText(shown).status, "live");
      },
    });
}

// --- signed in ------------------------------------------------------------------------------

function showSignedIn(hint: QrUser | null): Promise<void> {
  return Auth.authed<Me>("/api/auth/me/")
    .then((r) => {
      if (!r.ok || !r.body) {
        if (r.status === 401) return freshCode();
        throw r;
      }
      $("me-username").textContent = r.body.username;
      $("me-email").textContent = r.body.email || "";
      $("me-joined").textContent = r.body.date_joined ? new Date(r.body.date_joined).toLocaleDateString() : "";
      clearTimeout(countdownTimer);
      show("signed-in");
      setState("signed-in");
      $("signed-in-title").focus();
    })
    .catch(() => {
      // The tokens are kept; show who approved and let the refresh timer carry on.
      $("me-username").textContent = hint ? hint.username : "";
      show("signed-in");
      setState("signed-in");
    });
}

$("sign-out").addEventListener("click", () => {
  const button = $<HTMLButtonElement>("sign-out");
  button.disabled = true;
  void Auth.signOut().then(() => {
    button.disabled = false;
    freshCode();
    $("qr-heading").focus();
  });
});

// Someone else scanned (their name is on screen): cancel the code on the server, so whoever scanned it can no
// longer approve it, and start a new one.
$("not-me").addEventListener("click", () => {
  freshCode();
  $("qr-heading").focus();
});

// Typed, pasted (" 4 2 " becomes "42") or dictated; Enter or the button sends it once.
$("code-input").addEventListener("input", () => {
  const input = $<HTMLInputElement>("code-input");
  const digits = input.value.replace(/\D+/g, "").slice(0, 2);
  if (digits !== input.value) input.value = digits;
  $("code-error").hidden = true;
  input.removeAttribute("aria-invalid");
});
$("check").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = $<HTMLInputElement>("code-input");
  if (!login || !login.submitCode(input.value)) {
    $("code-error").textContent = CODE_INVALID;
    $("code-error").hidden = false;
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }
});

$("try-again").addEventListener("click", () => {
  freshCode();
  $("qr-heading").focus();
});

Auth.onSignedOut(() => {
  if (document.body.dataset.state === "signed-in") freshCode();
});

// --- start ----------------------------------------------------------------------------------

if (Auth.hasRefresh()) {
  setState("checking");
  show("checking");
  void Auth.refresh().then((ok) => {
    if (ok) return showSignedIn(null);
    show("code");
    freshCode();
  });
} else {
  freshCode();
}
