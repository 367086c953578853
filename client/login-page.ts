/**
 * @module Login Page (browser) — the desktop side of QR login on GET /login: makes an ECDH P-256 key pair
 * (private key non-extractable), starts a code with its public key, follows the session's WebSocket
 * (pending → scanned with the check code → approved | denied | expired), opens the sealed pair with its
 * private key, reconnects with exponential backoff after a drop (the server re-sends the current state on
 * connect), and keeps the signed-in state (./auth.ts).
 *
 * State for styling and tests: `document.body.dataset.state` is one of checking, starting, waiting,
 * scanned, signing-in, signed-in, denied, expired, error; `dataset.socket` is live, reconnecting or closed.
 */
import type { BrowserCancel, BrowserEvent, QrUser } from "../src/qr/policy";
import type { QrCreated } from "../src/qr/wire";
import * as Auth from "./auth";
import { byId as $, minutesSeconds, setState, showView as show } from "./dom";
import { qrSvgElement } from "./qr-draw";
import { newKeys, openSealed, type BrowserKeys } from "./seal";

const PING_EVERY_MS = 25000;
const PONG_WITHIN_MS = 8000;
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 15000;
const TARGET_PX = 296;

/** GET /api/auth/me/, the fields this page shows. */
interface Me {
  username: string;
  email?: string | null;
  date_joined?: string | null;
}

interface Code {
  id: string;
  secret: string;
  qr_url: string;
  ws_url: string;
  svg_url: string;
  keys: BrowserKeys;
  /** When it expires, on this device's clock (ms). */
  deadline: number;
}

let code: Code | null = null;
let generation = 0; // bumps with every new code; events from older sockets are ignored
let socket: WebSocket | null = null;
let finished = false; // a final event (approved, denied, expired) arrived for this code
let attempts = 0;
let reconnectTimer = 0;
let pingTimer = 0;
let pongTimer = 0;
let countdownTimer = 0;
let expiryGrace = 0;
let retryTimer = 0;
let startFailures = 0;

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

function showScanned(user: QrUser, checkCode: string): void {
  $("check-code").textContent = checkCode;
  $("check-user").textContent = user.username;
  $("check").hidden = false;
  $("qr-box").classList.add("dim");
  const o = overlay();
  const tick = document.createElement("div");
  tick.className = "check";
  tick.setAttribute("aria-hidden", "true");
  tick.textContent = "\u2713";
  const line = document.createElement("div");
  line.textContent = "Scanned by " + user.username;
  const big = document.createElement("div");
  big.className = "big-code";
  big.textContent = checkCode;
  o.replaceChildren(tick, line, big);
  o.hidden = false;
}

function clearScanned(): void {
  $("check").hidden = true;
  $("qr-box").classList.remove("dim");
  overlay().hidden = true;
}

function useCode(c: QrCreated, serverNow: number | null, keys: BrowserKeys): void {
  generation += 1;
  finished = false;
  attempts = 0;
  const expiresAt = Date.parse(c.expires_at);
  // Count down on this device's clock, from the server's view of how long is left.
  const left = serverNow ? expiresAt - serverNow : expiresAt - Date.now();
  code = { id: c.id, secret: c.secret, qr_url: c.qr_url, ws_url: c.ws_url, svg_url: c.svg_url, keys, deadline: Date.now() + left };
  $("qr-box").dataset.codeId = c.id;
  $("qr-url").textContent = c.qr_url;
  clearScanned();
  show("code");
  setState("waiting");
  status("Waiting for your phone\u2026");
  tickCountdown();
  connect();
}

function tickCountdown(): void {
  clearTimeout(countdownTimer);
  if (!code || finished) return;
  const left = Math.max(0, Math.ceil((code.deadline - Date.now()) / 1000));
  $("countdown").textContent = left > 0 ? "Expires in " + minutesSeconds(left) : "Expired";
  if (left === 0) {
    // The server's alarm sends "expired"; if it does not arrive soon (socket down), start over anyway.
    if (!expiryGrace) {
      expiryGrace = setTimeout(() => {
        expiryGrace = 0;
        if (!finished) onExpired();
      }, 2500);
    }
    return;
  }
  countdownTimer = setTimeout(tickCountdown, 1000 - (Date.now() % 1000) + 5);
}

// --- starting a code ------------------------------------------------------------------------

/** Why starting a code failed: an API answer (it may carry Retry-After), a failed fetch, or anything thrown. */
function retryAfterOf(problem: unknown): number | null {
  return problem && typeof problem === "object" && "retryAfter" in problem && typeof problem.retryAfter === "number" ? problem.retryAfter : null;
}

function freshCode(): void {
  stopSocket();
  clearTimeout(retryTimer);
  clearTimeout(expiryGrace);
  expiryGrace = 0;
  code = null;
  generation += 1;
  delete document.body.dataset.denied;
  show("code");
  setState("starting");
  placeholder("Getting a new code\u2026");
  $("countdown").textContent = "";
  status("Getting a new code\u2026");
  let keys: BrowserKeys | null = null;
  newKeys()
    .then((k) => {
      keys = k;
      return Auth.request<QrCreated>("/api/qr/", { body: { public_key: k.publicJwk } });
    })
    .then((created) => {
      if (!created.ok || !created.body || !created.body.svg_url) throw created;
      const body = created.body;
      return fetch(body.svg_url, { cache: "no-store", credentials: "omit" })
        .then((res) => {
          if (!res.ok) throw res;
          return res.text();
        })
        .then((svg) => {
          if (!drawQr(svg)) throw new Error("unreadable QR image");
          startFailures = 0;
          useCode(body, created.serverNow, keys!);
        });
    })
    .catch((problem: unknown) => {
      startFailures += 1;
      let wait = backoff(startFailures - 1);
      const retryAfter = retryAfterOf(problem);
      if (retryAfter) wait = Math.max(wait, retryAfter * 1000);
      setState("error");
      placeholder("No code right now.");
      status("Could not get a sign-in code. Trying again in " + Math.ceil(wait / 1000) + " s\u2026", "offline");
      retryTimer = setTimeout(freshCode, wait);
    });
}

function onExpired(): void {
  finished = true;
  stopSocket();
  setState("expired");
  status("That code expired. Here is a new one\u2026");
  freshCode();
}

// --- the WebSocket --------------------------------------------------------------------------

function backoff(n: number): number {
  const ms = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * Math.pow(2, n));
  return Math.round(ms * (0.75 + Math.random() * 0.5));
}

function detach(s: WebSocket): void {
  s.onopen = s.onmessage = s.onclose = s.onerror = null;
}

function stopSocket(): void {
  clearTimeout(reconnectTimer);
  clearInterval(pingTimer);
  clearTimeout(pongTimer);
  if (socket) {
    const s = socket;
    socket = null;
    detach(s);
    try {
      s.close(1000, "done");
    } catch {
      // Already closed.
    }
  }
  setSocket("closed");
}

function connect(): void {
  clearTimeout(reconnectTimer);
  if (!code || finished) return;
  const mine = generation;
  let s: WebSocket;
  try {
    s = new WebSocket(code.ws_url + "?secret=" + encodeURIComponent(code.secret));
  } catch {
    return dropped(mine);
  }
  socket = s;
  s.onmessage = (e: MessageEvent) => {
    if (mine !== generation || s !== socket) return;
    if (e.data === "pong") {
      clearTimeout(pongTimer);
      return;
    }
    let event: BrowserEvent;
    try {
      event = JSON.parse(e.data as string) as BrowserEvent;
    } catch {
      return;
    }
    attempts = 0;
    setSocket("live");
    handle(event);
  };
  s.onopen = () => {
    if (mine !== generation || s !== socket) return;
    clearInterval(pingTimer);
    // A keep-alive the server answers without waking its object; no answer means a dead connection.
    pingTimer = setInterval(() => {
      if (s.readyState !== 1) return;
      s.send("ping");
      clearTimeout(pongTimer);
      pongTimer = setTimeout(() => {
        if (s === socket) abandon(s, mine);
      }, PONG_WITHIN_MS);
    }, PING_EVERY_MS);
  };
  s.onclose = () => {
    if (s !== socket) return;
    socket = null;
    clearInterval(pingTimer);
    clearTimeout(pongTimer);
    if (mine !== generation || finished) return setSocket("closed");
    dropped(mine);
  };
}

/** A connection that stopped answering: stop listening to it and reconnect now. */
function abandon(s: WebSocket, mine: number): void {
  detach(s);
  try {
    s.close(4000, "no pong");
  } catch {
    // Already closed.
  }
  socket = null;
  clearInterval(pingTimer);
  dropped(mine);
}

function dropped(mine: number): void {
  if (mine !== generation || finished) return;
  if (code && Date.now() >= code.deadline) return onExpired();
  setSocket("reconnecting");
  const wait = backoff(attempts);
  attempts += 1;
  status("Connection lost. Reconnecting in " + Math.max(1, Math.round(wait / 1000)) + " s\u2026", "offline");
  // After a few refusals, ask whether the code still exists (a finished or purged session refuses the handshake).
  if (attempts >= 3 && code) {
    fetch(code.svg_url, { cache: "no-store", credentials: "omit" }).then(
      (res) => {
        if (mine === generation && !finished && (res.status === 404 || res.status === 410)) onExpired();
      },
      () => {
        // Offline: keep backing off.
      },
    );
  }
  reconnectTimer = setTimeout(connect, wait);
}

function handle(event: BrowserEvent): void {
  switch (event.type) {
    case "pending":
      clearScanned();
      setState("waiting");
      status("Waiting for your phone\u2026", "live");
      break;
    case "scanned":
      showScanned(event.user, event.code);
      setState("scanned");
      status("Scanned by " + event.user.username + " \u2014 pick " + event.code + " on your phone", "live");
      break;
    case "approved": {
      finished = true;
      clearTimeout(countdownTimer);
      setState("signing-in");
      status("Approved. Signing you in\u2026", "live");
      const current = code!;
      openSealed(current.keys.privateKey, current.id, event.sealed).then(
        (pair) => {
          Auth.setPair({ access: pair.access, refresh: pair.refresh });
          return showSignedIn(pair.user);
        },
        () => {
          // Not sealed to this page's key: never use it.
          setState("error");
          status("The sign-in could not be opened on this page. Here is a new code\u2026", "offline");
          freshCode();
        },
      );
      break;
    }
    case "denied":
      finished = true;
      clearTimeout(countdownTimer);
      setState("denied");
      document.body.dataset.denied = event.reason || "phone";
      $("denied-text").textContent =
        event.reason === "code_mismatch"
          ? "The phone picked a different number than the one shown here, so the sign-in was cancelled. Nobody was signed in."
          : "The request was denied on the phone. Nobody was signed in.";
      show("denied");
      $("try-again").focus();
      break;
    case "expired":
      onExpired();
      break;
  }
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
      stopSocket();
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
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "cancel" } satisfies BrowserCancel));
  freshCode();
  $("qr-heading").focus();
});

$("try-again").addEventListener("click", () => {
  freshCode();
  $("qr-heading").focus();
});

Auth.onSignedOut(() => {
  if (document.body.dataset.state === "signed-in") freshCode();
});

// Back online or back in view: reconnect now instead of waiting out the backoff.
function nudge(): void {
  if (code && !finished && !socket) connect();
}
window.addEventListener("online", nudge);
document.addEventListener("visibilitychange", () => {
  if (!document.hidden) nudge();
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
