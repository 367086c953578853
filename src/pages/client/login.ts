/**
 * @module Login Page Client — the desktop side of QR login: makes an ECDH P-256 key pair (private key
 * non-extractable), starts a code with its public key, follows the session's WebSocket (pending → scanned
 * with the check code → approved | denied | expired), opens the sealed pair with its private key, reconnects
 * with exponential backoff after a drop (the server re-sends the current state on connect), and keeps the
 * signed-in state (see AUTH_CLIENT_JS).
 *
 * State for styling and tests: `document.body.dataset.state` is one of checking, starting, waiting,
 * scanned, signing-in, signed-in, denied, expired, error; `dataset.socket` is live, reconnecting or closed.
 */
export const LOGIN_CLIENT_JS = String.raw`
(function () {
  "use strict";
  var SVG_NS = "http://www.w3.org/2000/svg";
  var PING_EVERY_MS = 25000;
  var PONG_WITHIN_MS = 8000;
  var BACKOFF_BASE_MS = 500;
  var BACKOFF_MAX_MS = 15000;
  var TARGET_PX = 296;

  var SEAL_INFO = "qr-login pair v1";
  var ECDH = { name: "ECDH", namedCurve: "P-256" };

  function $(id) { return document.getElementById(id); }

  var code = null;          // {id, secret, qr_url, ws_url, svg_url, keys, deadline (local ms)}
  var generation = 0;       // bumps with every new code; events from older sockets are ignored
  var socket = null;
  var finished = false;     // a final event (approved, denied, expired) arrived for this code
  var attempts = 0;
  var reconnectTimer = 0, pingTimer = 0, pongTimer = 0, countdownTimer = 0, expiryGrace = 0, retryTimer = 0;
  var startFailures = 0;

  function setState(state) { document.body.dataset.state = state; }
  function setSocket(s) { document.body.dataset.socket = s; }

  function show(view) {
    var views = document.querySelectorAll("[data-view]");
    for (var i = 0; i < views.length; i++) views[i].hidden = views[i].getAttribute("data-view") !== view;
  }

  function status(text, kind) {
    var el = $("status");
    el.textContent = text;
    el.className = "status" + (kind ? " " + kind : "");
  }

  // --- the code on screen ----------------------------------------------------------------------

  function drawQr(svgText) {
    var viewBox = /\bviewBox="(0 0 [\d.]+ [\d.]+)"/.exec(svgText);
    var d = /<path\b[^>]*\sd="([MVHZ\d., -]+)"/.exec(svgText);
    if (!viewBox || !d) return false;
    var side = Number(viewBox[1].split(" ")[2]);
    var first = /^M\s*([\d.]+),([\d.]+)\s*V\s*([\d.]+)/.exec(d[1]);
    var modules = first ? Math.round(side / (Number(first[3]) - Number(first[2]))) : 0;
    var size = modules > 0 ? modules * Math.max(2, Math.floor(TARGET_PX / modules)) : TARGET_PX;
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", viewBox[1]);
    svg.setAttribute("width", String(size));
    svg.setAttribute("height", String(size));
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var bg = document.createElementNS(SVG_NS, "rect");
    bg.setAttribute("width", "100%");
    bg.setAttribute("height", "100%");
    bg.setAttribute("fill", "#fff");
    var path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", d[1]);
    path.setAttribute("fill", "#000");
    path.setAttribute("shape-rendering", "crispEdges");
    svg.appendChild(bg);
    svg.appendChild(path);
    var box = $("qr-box");
    box.replaceChildren(svg, overlay());
    return true;
  }

  function overlay() {
    var o = $("qr-overlay");
    if (o) return o;
    o = document.createElement("div");
    o.id = "qr-overlay";
    o.className = "qr-overlay";
    o.hidden = true;
    return o;
  }

  function placeholder(text) {
    var p = document.createElement("p");
    p.className = "placeholder";
    p.textContent = text;
    $("qr-box").replaceChildren(p, overlay());
    $("qr-box").classList.remove("dim");
    overlay().hidden = true;
  }

  // --- the browser's key and the sealed pair --------------------------------------------------

  // A fresh pair per code; the private key cannot be exported, so only this page can open the pair.
  function newKeys() {
    return crypto.subtle.generateKey(ECDH, false, ["deriveBits"]).then(function (keys) {
      return crypto.subtle.exportKey("jwk", keys.publicKey).then(function (jwk) {
        return { privateKey: keys.privateKey, publicJwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y } };
      });
    });
  }

  function bytesOfB64(text) {
    var b = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
    var out = new Uint8Array(b.length);
    for (var i = 0; i < b.length; i++) out[i] = b.charCodeAt(i);
    return out;
  }

  // ECDH(private key, epk) -> HKDF-SHA256(salt = id, info) -> AES-256-GCM(iv, additional data = id).
  function openSealed(privateKey, id, sealed) {
    var enc = new TextEncoder();
    return crypto.subtle.importKey("jwk", sealed.epk, ECDH, false, []).then(function (epk) {
      return crypto.subtle.deriveBits({ name: "ECDH", public: epk }, privateKey, 256);
    }).then(function (shared) {
      return crypto.subtle.importKey("raw", shared, "HKDF", false, ["deriveKey"]);
    }).then(function (ikm) {
      return crypto.subtle.deriveKey({ name: "HKDF", hash: "SHA-256", salt: enc.encode(id), info: enc.encode(SEAL_INFO) }, ikm, { name: "AES-GCM", length: 256 }, false, ["decrypt"]);
    }).then(function (key) {
      return crypto.subtle.decrypt({ name: "AES-GCM", iv: bytesOfB64(sealed.iv), additionalData: enc.encode(id) }, key, bytesOfB64(sealed.ciphertext));
    }).then(function (plain) {
      return JSON.parse(new TextDecoder().decode(plain));
    });
  }

  function showScanned(user, checkCode) {
    $("check-code").textContent = checkCode;
    $("check-user").textContent = user.username;
    $("check").hidden = false;
    var box = $("qr-box");
    box.classList.add("dim");
    var o = overlay();
    var tick = document.createElement("div");
    tick.className = "check";
    tick.setAttribute("aria-hidden", "true");
    tick.textContent = "\u2713";
    var line = document.createElement("div");
    line.textContent = "Scanned by " + user.username;
    var big = document.createElement("div");
    big.className = "big-code";
    big.textContent = checkCode;
    o.replaceChildren(tick, line, big);
    o.hidden = false;
  }

  function clearScanned() {
    $("check").hidden = true;
    $("qr-box").classList.remove("dim");
    overlay().hidden = true;
  }

  function useCode(c, serverNow, keys) {
    generation += 1;
    finished = false;
    attempts = 0;
    var expiresAt = Date.parse(c.expires_at);
    // Count down on this device's clock, from the server's view of how long is left.
    var left = serverNow ? expiresAt - serverNow : expiresAt - Date.now();
    code = { id: c.id, secret: c.secret, qr_url: c.qr_url, ws_url: c.ws_url, svg_url: c.svg_url, keys: keys, deadline: Date.now() + left };
    $("qr-box").dataset.codeId = c.id;
    $("qr-url").textContent = c.qr_url;
    clearScanned();
    show("code");
    setState("waiting");
    status("Waiting for your phone\u2026");
    tickCountdown();
    connect();
  }

  function tickCountdown() {
    clearTimeout(countdownTimer);
    if (!code || finished) return;
    var left = Math.max(0, Math.ceil((code.deadline - Date.now()) / 1000));
    var text = left > 0 ? "Expires in " + Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0") : "Expired";
    $("countdown").textContent = text;
    if (left === 0) {
      // The server's alarm sends "expired"; if it does not arrive soon (socket down), start over anyway.
      if (!expiryGrace) expiryGrace = setTimeout(function () { expiryGrace = 0; if (!finished) onExpired(); }, 2500);
      return;
    }
    countdownTimer = setTimeout(tickCountdown, 1000 - (Date.now() % 1000) + 5);
  }

  // --- starting a code ------------------------------------------------------------------------

  function freshCode() {
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
    var keys = null;
    newKeys().then(function (k) {
      keys = k;
      return Auth.request("/api/qr/", { body: { public_key: k.publicJwk } });
    }).then(function (created) {
      if (!created.ok || !created.body || !created.body.svg_url) throw created;
      return fetch(created.body.svg_url, { cache: "no-store", credentials: "omit" }).then(function (res) {
        if (!res.ok) throw res;
        return res.text();
      }).then(function (svg) {
        if (!drawQr(svg)) throw new Error("unreadable QR image");
        startFailures = 0;
        useCode(created.body, created.serverNow, keys);
      });
    }).catch(function (problem) {
      startFailures += 1;
      var wait = backoff(startFailures - 1);
      if (problem && problem.retryAfter) wait = Math.max(wait, problem.retryAfter * 1000);
      setState("error");
      placeholder("No code right now.");
      status("Could not get a sign-in code. Trying again in " + Math.ceil(wait / 1000) + " s\u2026", "offline");
      retryTimer = setTimeout(freshCode, wait);
    });
  }

  function onExpired() {
    finished = true;
    stopSocket();
    setState("expired");
    status("That code expired. Here is a new one\u2026");
    freshCode();
  }

  // --- the WebSocket --------------------------------------------------------------------------

  function backoff(n) {
    var ms = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * Math.pow(2, n));
    return Math.round(ms * (0.75 + Math.random() * 0.5));
  }

  function stopSocket() {
    clearTimeout(reconnectTimer);
    clearInterval(pingTimer);
    clearTimeout(pongTimer);
    if (socket) {
      var s = socket;
      socket = null;
      s.onopen = s.onmessage = s.onclose = s.onerror = null;
      try { s.close(1000, "done"); } catch (e) { /* already closed */ }
    }
    setSocket("closed");
  }

  function connect() {
    clearTimeout(reconnectTimer);
    if (!code || finished) return;
    var mine = generation;
    var s;
    try {
      s = new WebSocket(code.ws_url + "?secret=" + encodeURIComponent(code.secret));
    } catch (e) {
      return dropped(mine);
    }
    socket = s;
    s.onmessage = function (e) {
      if (mine !== generation || s !== socket) return;
      if (e.data === "pong") { clearTimeout(pongTimer); return; }
      var event;
      try { event = JSON.parse(e.data); } catch (err) { return; }
      attempts = 0;
      setSocket("live");
      handle(event);
    };
    s.onopen = function () {
      if (mine !== generation || s !== socket) return;
      clearInterval(pingTimer);
      // A keep-alive the server answers without waking its object; no answer means a dead connection.
      pingTimer = setInterval(function () {
        if (s.readyState !== 1) return;
        s.send("ping");
        clearTimeout(pongTimer);
        pongTimer = setTimeout(function () { if (s === socket) abandon(s, mine); }, PONG_WITHIN_MS);
      }, PING_EVERY_MS);
    };
    s.onclose = function () {
      if (s !== socket) return;
      socket = null;
      clearInterval(pingTimer);
      clearTimeout(pongTimer);
      if (mine !== generation || finished) return setSocket("closed");
      dropped(mine);
    };
  }

  // A connection that stopped answering: stop listening to it and reconnect now.
  function abandon(s, mine) {
    s.onopen = s.onmessage = s.onclose = s.onerror = null;
    try { s.close(4000, "no pong"); } catch (e) { /* already closed */ }
    socket = null;
    clearInterval(pingTimer);
    dropped(mine);
  }

  function dropped(mine) {
    if (mine !== generation || finished) return;
    if (code && Date.now() >= code.deadline) return onExpired();
    setSocket("reconnecting");
    var wait = backoff(attempts);
    attempts += 1;
    status("Connection lost. Reconnecting in " + Math.max(1, Math.round(wait / 1000)) + " s\u2026", "offline");
    // After a few refusals, ask whether the code still exists (a finished or purged session refuses the handshake).
    if (attempts >= 3 && code) {
      fetch(code.svg_url, { cache: "no-store", credentials: "omit" }).then(function (res) {
        if (mine === generation && !finished && (res.status === 404 || res.status === 410)) onExpired();
      }, function () { /* offline: keep backing off */ });
    }
    reconnectTimer = setTimeout(connect, wait);
  }

  function handle(event) {
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
      case "approved":
        finished = true;
        clearTimeout(countdownTimer);
        setState("signing-in");
        status("Approved. Signing you in\u2026", "live");
        openSealed(code.keys.privateKey, code.id, event.sealed).then(function (pair) {
          Auth.setPair({ access: pair.access, refresh: pair.refresh });
          return showSignedIn(pair.user);
        }, function () {
          // Not sealed to this page's key: never use it.
          setState("error");
          status("The sign-in could not be opened on this page. Here is a new code\u2026", "offline");
          freshCode();
        });
        break;
      case "denied":
        finished = true;
        clearTimeout(countdownTimer);
        setState("denied");
        document.body.dataset.denied = event.reason || "phone";
        $("denied-text").textContent = event.reason === "code_mismatch"
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

  function showSignedIn(hint) {
    return Auth.authed("/api/auth/me/").then(function (r) {
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
    }).catch(function () {
      // The tokens are kept; show who approved and let the refresh timer carry on.
      $("me-username").textContent = hint ? hint.username : "";
      show("signed-in");
      setState("signed-in");
    });
  }

  $("sign-out").addEventListener("click", function () {
    var button = $("sign-out");
    button.disabled = true;
    Auth.signOut().then(function () {
      button.disabled = false;
      freshCode();
      $("qr-heading").focus();
    });
  });

  // Someone else scanned (their name is on screen): walk away from this code; it can no longer sign this page in.
  $("not-me").addEventListener("click", function () {
    freshCode();
    $("qr-heading").focus();
  });

  $("try-again").addEventListener("click", function () {
    freshCode();
    $("qr-heading").focus();
  });

  Auth.onSignedOut(function () {
    if (document.body.dataset.state === "signed-in") freshCode();
  });

  // Back online or back in view: reconnect now instead of waiting out the backoff.
  function nudge() {
    if (code && !finished && !socket) connect();
  }
  window.addEventListener("online", nudge);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) nudge(); });

  // --- start ----------------------------------------------------------------------------------

  if (Auth.hasRefresh()) {
    setState("checking");
    show("checking");
    Auth.refresh().then(function (ok) {
      if (ok) return showSignedIn(null);
      show("code");
      freshCode();
    });
  } else {
    freshCode();
  }
})();
`;
