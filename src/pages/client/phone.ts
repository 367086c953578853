/**
 * @module Phone Page Client — the phone side of QR login: signs in (or registers) when this phone has no
 * tokens, reads only the code's state until the user taps Continue (the scan, which binds the code to this
 * account), then shows who is asking and three numbers: the one on the computer's screen approves.
 *
 * State for styling and tests: `document.body.dataset.state` is one of loading, sign-in, register,
 * continue, left, request, approving, denying, approved, denied, problem; `dataset.problem` names the
 * problem (qr_expired, qr_code_mismatch, …).
 */
export const PHONE_CLIENT_JS = String.raw`
(function () {
  "use strict";
  function $(id) { return document.getElementById(id); }
  var data = JSON.parse($("page-data").textContent || "{}");
  var id = data.id;
  var problems = data.problems || {};
  var request = null;       // the scan's answer: who is asking
  var clockOffset = 0;      // server time - this device's time, ms
  var tickTimer = 0;

  function setState(state) { document.body.dataset.state = state; }

  function show(view, focusId) {
    var views = document.querySelectorAll("[data-view]");
    for (var i = 0; i < views.length; i++) views[i].hidden = views[i].getAttribute("data-view") !== view;
    setState(view);
    if (focusId && $(focusId)) $(focusId).focus();
  }

  function problem(code, retryAfter) {
    clearTimeout(tickTimer);
    var p = problems[code] || problems.error;
    $("problem-title").textContent = p.title;
    $("problem-text").textContent = code === "throttled" && retryAfter ? p.text.replace("a moment", retryAfter + " seconds") : p.text;
    $("problem-retry").hidden = !(code === "error" || code === "throttled");
    document.body.dataset.problem = code;
    show("problem", "problem-title");
  }

  function fromResponse(r) {
    if (r.status === 401) { show("sign-in", "si-username"); return; }
    if (r.status === 404) return problem("not_found");
    var c = r.body && r.body.code;
    if (c && problems[c]) return problem(c, r.retryAfter);
    problem("error");
  }

  function networkProblem() { problem("error"); }

  // --- who is asking --------------------------------------------------------------------------

  function ago(ms) {
    var s = Math.max(0, Math.round(ms / 1000));
    if (s < 5) return "just now";
    if (s < 60) return s + " seconds ago";
    var m = Math.floor(s / 60);
    return m === 1 ? "1 minute ago" : m + " minutes ago";
  }

  function countryName(codeText) {
    if (!codeText) return null;
    try {
      return new Intl.DisplayNames([navigator.language || "en"], { type: "region" }).of(codeText) || codeText;
    } catch (e) {
      return codeText;
    }
  }

  function place(p) {
    var parts = [p.city, countryName(p.country)].filter(Boolean);
    return parts.length ? parts.join(", ") : "Unknown";
  }

  function renderRequest(r) {
    request = r;
    var buttons = document.querySelectorAll("[data-choice]");
    for (var i = 0; i < buttons.length; i++) {
      var choice = (r.choices || [])[i] || "";
      buttons[i].textContent = choice;
      buttons[i].setAttribute("aria-label", "Pick " + choice);
      buttons[i].dataset.code = choice;
      buttons[i].disabled = !choice;
    }
    var who = r.requester || {};
    $("d-device").textContent = who.description || "Unknown browser";
    $("d-ip").textContent = who.ip || "Unknown";
    $("d-place").textContent = place(who);
    var warnings = r.warnings || [];
    var lines = [];
    if (warnings.indexOf("different_country") >= 0) {
      lines.push("It comes from " + (countryName(who.country) || "another country") + ", and this phone is in " + (countryName(r.phone && r.phone.country) || "another country") + ".");
    }
    if (warnings.indexOf("different_network") >= 0) {
      lines.push("It comes from a different network than this phone (normal if your phone is on mobile data).");
    }
    $("mismatch-text").textContent = lines.join(" ");
    $("notice-mismatch").hidden = lines.length === 0;
    tick();
    show("request", "request-title");
    $("deny").disabled = false;
  }

  function setUser(m) {
    var name = m && m.ok && m.body ? m.body.username : "";
    var slots = document.querySelectorAll(".phone-user");
    for (var i = 0; i < slots.length; i++) slots[i].textContent = name;
  }

  function tick() {
    clearTimeout(tickTimer);
    if (!request) return;
    var now = Date.now() + clockOffset;
    $("d-ago").textContent = ago(now - Date.parse(request.created_at));
    var left = Math.ceil((Date.parse(request.expires_at) - now) / 1000);
    if (left <= 0) return problem("qr_expired");
    $("d-expires").textContent = "in " + Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
    tickTimer = setTimeout(tick, 1000);
  }

  // Reading the code changes nothing and tells the computer nothing; the details come only after the scan.
  function look() {
    show("loading");
    var me = Auth.authed("/api/auth/me/");
    var seen = Auth.authed("/api/qr/" + id + "/");
    return Promise.all([seen, me]).then(function (both) {
      var r = both[0];
      if (!r.ok) return fromResponse(r);
      if (r.serverNow) clockOffset = r.serverNow - Date.now();
      setUser(both[1]);
      if (r.body && r.body.requester) return renderRequest(r.body);
      var left = Math.max(0, Math.round((Date.parse(r.body.expires_at) - (Date.now() + clockOffset)) / 1000));
      $("continue-expires").textContent = "The code expires in " + Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0") + ".";
      show("continue", "continue-title");
    }, networkProblem);
  }

  function scan() {
    show("loading");
    return Auth.authed("/api/qr/" + id + "/scan/", { body: {} }).then(function (r) {
      if (!r.ok) return fromResponse(r);
      if (r.serverNow) clockOffset = r.serverNow - Date.now();
      renderRequest(r.body);
    }, networkProblem);
  }

  function setChoicesDisabled(on) {
    var buttons = document.querySelectorAll("[data-choice]");
    for (var i = 0; i < buttons.length; i++) buttons[i].disabled = on;
    $("deny").disabled = on;
  }

  function decide(action, pick) {
    setChoicesDisabled(true);
    setState(action === "approve" ? "approving" : "denying");
    Auth.authed("/api/qr/" + id + "/" + action + "/", { body: action === "approve" ? { code: pick } : {} }).then(function (r) {
      if (!r.ok) return fromResponse(r);
      clearTimeout(tickTimer);
      var device = (request && request.requester && request.requester.description) || "The other device";
      if (action === "approve") {
        $("approved-text").textContent = device + " is now signed in as " + ($("phone-user").textContent || "you") + ". You can close this page.";
        show("approved", "approved-title");
      } else {
        show("denied", "denied-title");
      }
    }, function () {
      setChoicesDisabled(false);
      setState("request");
      $("request-error").hidden = false;
    });
  }

  var choiceButtons = document.querySelectorAll("[data-choice]");
  for (var ci = 0; ci < choiceButtons.length; ci++) {
    choiceButtons[ci].addEventListener("click", function (e) {
      $("request-error").hidden = true;
      decide("approve", e.currentTarget.dataset.code);
    });
  }
  $("continue").addEventListener("click", function () { scan(); });
  $("not-now").addEventListener("click", function () { show("left", "left-title"); });
  $("deny").addEventListener("click", function () { $("request-error").hidden = true; decide("deny"); });
  $("problem-retry").addEventListener("click", function () { start(); });
  $("phone-sign-out").addEventListener("click", function () {
    clearTimeout(tickTimer);
    Auth.signOut().then(function () { show("sign-in", "si-username"); });
  });

  // --- sign in / create an account ------------------------------------------------------------

  function fieldErrors(form, body) {
    var shown = false;
    var errors = form.querySelectorAll("[data-error-for]");
    for (var i = 0; i < errors.length; i++) {
      var key = errors[i].getAttribute("data-error-for");
      var messages = body && body[key];
      errors[i].textContent = Array.isArray(messages) ? messages.join(" ") : "";
      errors[i].hidden = !Array.isArray(messages);
      var input = form.querySelector("[name=" + key + "]");
      if (input) input.setAttribute("aria-invalid", Array.isArray(messages) ? "true" : "false");
      if (Array.isArray(messages)) shown = true;
    }
    return shown;
  }

  function formError(el, text) {
    el.textContent = text || "";
    el.hidden = !text;
  }

  function busy(form, on) {
    var button = form.querySelector("button[type=submit]");
    button.disabled = on;
  }

  function afterSignIn(r, form, errorEl) {
    if (r.ok) return look();
    if (r.status === 401) return formError(errorEl, "Wrong username or password.");
    if (r.status === 429) return formError(errorEl, "Too many attempts. Try again in " + (r.retryAfter || 60) + " seconds.");
    if (!fieldErrors(form, r.body)) formError(errorEl, (r.body && r.body.detail) || "Could not sign in. Try again.");
  }

  $("signin-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var form = e.target;
    formError($("si-error"), "");
    fieldErrors(form, null);
    var username = form.username.value.trim();
    var password = form.password.value;
    if (!username || !password) return formError($("si-error"), "Enter your username and password.");
    busy(form, true);
    Auth.signIn(username, password).then(function (r) {
      busy(form, false);
      form.password.value = "";
      afterSignIn(r, form, $("si-error"));
    }, function () {
      busy(form, false);
      formError($("si-error"), "Can't reach the server. Check your connection and try again.");
    });
  });

  $("register-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var form = e.target;
    formError($("re-error"), "");
    fieldErrors(form, null);
    var body = { username: form.username.value.trim(), email: form.email.value.trim(), password: form.password.value };
    busy(form, true);
    Auth.request("/api/auth/register/", { body: body }).then(function (r) {
      if (!r.ok) {
        busy(form, false);
        if (r.status === 429) return formError($("re-error"), "Too many attempts. Try again in " + (r.retryAfter || 60) + " seconds.");
        if (!fieldErrors(form, r.body)) formError($("re-error"), (r.body && r.body.detail) || "Could not create the account.");
        return;
      }
      return Auth.signIn(body.username, body.password).then(function (s) {
        busy(form, false);
        form.password.value = "";
        afterSignIn(s, form, $("re-error"));
      });
    }).catch(function () {
      busy(form, false);
      formError($("re-error"), "Can't reach the server. Check your connection and try again.");
    });
  });

  $("to-register").addEventListener("click", function (e) { e.preventDefault(); show("register", "re-username"); });
  $("to-sign-in").addEventListener("click", function (e) { e.preventDefault(); show("sign-in", "si-username"); });

  Auth.onSignedOut(function () {
    var state = document.body.dataset.state;
    if (state === "request" || state === "continue") show("sign-in", "si-username");
  });

  // --- start ----------------------------------------------------------------------------------

  function start() {
    // No focus move on first paint: it would pop up the phone's keyboard before the page is read.
    if (!Auth.hasRefresh()) return show("sign-in");
    show("loading");
    Auth.refresh().then(function (ok) { return ok ? look() : show("sign-in"); }, networkProblem);
  }
  start();
})();
`;
