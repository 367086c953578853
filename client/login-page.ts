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
import { byId as $, minutesSeconds, setState, showView as show } from "./dom";
import { qrSvgElement } from "./qr-draw";
import { startQrLogin, type QrLoginHandle, type QrLoginState, type QrUser } from "./qr-login";
import { qrStateText } from "./qr-text";

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
let scannedStatus = "";
let waitingStatus = "";

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
  $("countdown").textContent = left > 0 ? "Expires in " + minutesSeconds(left) : "Expired";
  if (left > 0) countdownTimer = setTimeout(tickCountdown, 1000 - (Date.now() % 1000) + 5);
}

// --- the login's states ---------------------------------------------------------------------

function onState(s: QrLoginState): void {
  switch (s.state) {
    case "starting":
      delete document.body.dataset.denied;
      show("code");
      setState("starting");
      placeholder(qrStateText(s).status);
      $("countdown").textContent = "";
      status(qrStateText(s).status);
      break;
    case "pending":
      if (!drawQr(s.svg)) placeholder("Could not draw the code.");
      $("qr-box").dataset.codeId = s.id;
      $("qr-url").textContent = s.url;
      clearScanned();
      show("code");
      setState("waiting");
      waitingStatus = qrStateText(s).status;
      status(waitingStatus);
      deadline = s.expiresAt;
      tickCountdown();
      break;
    case "scanned":
      setState("scanned");
      showScanned(qrStateText(s).prompt!);
      scannedStatus = "";
      status("");
      break;
    case "confirming":
      setState("confirming");
      $<HTMLInputElement>("code-input").disabled = true;
      $<HTMLButtonElement>("code-submit").disabled = true;
      scannedStatus = qrStateText(s).status;
      status(scannedStatus, "live");
      break;
    case "signing-in":
      clearTimeout(countdownTimer);
      setState("signing-in");
      clearScanned();
      status(qrStateText(s).status, "live");
      break;
    case "approved":
      Auth.setPair(s.pair);
      void showSignedIn(s.user);
      break;
    case "denied":
      clearTimeout(countdownTimer);
      setState("denied");
      document.body.dataset.denied = s.reason;
      $("denied-text").textContent = qrStateText(s).status;
      show("denied");
      $("try-again").focus();
      break;
    case "expired":
      clearTimeout(countdownTimer);
      setState("expired");
      status(qrStateText(s).status);
      break;
    case "error":
      setState("error");
      if (s.retryInMs === 0) {
        status(s.message + " Here is a new code\u2026", "offline");
        break;
      }
      placeholder("No code right now.");
      status(s.message + (s.retryInMs ? " Trying again in " + Math.ceil(s.retryInMs / 1000) + " s\u2026" : ""), "offline");
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
        const st = document.body.dataset.state;
        if (c.status === "reconnecting") status("Connection lost. Reconnecting in " + Math.max(1, Math.round(c.retryInMs / 1000)) + " s\u2026", "offline");
        else if (c.status === "live" && st === "waiting") status(waitingStatus, "live");
        else if (c.status === "live" && (st === "scanned" || st === "confirming")) status(scannedStatus, "live");
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
    $("code-error").textContent = "Type the two digits shown on your phone.";
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
