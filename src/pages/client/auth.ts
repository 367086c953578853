/**
 * @module Page Auth Client — browser code both pages share: the token pair kept the way the API's browser
 * clients keep it. The access token lives only in memory; the refresh token in localStorage (so a new tab
 * or a reload stays signed in) and is rotated on every refresh, shortly before the access token expires.
 *
 * Plain ES2017 in a string: there is no front-end build step, and the page inlines it under its CSP nonce.
 */
export const AUTH_CLIENT_JS = String.raw`
var Auth = (function () {
  "use strict";
  var REFRESH_KEY = "edge-auth.refresh";
  var access = null;
  var refreshTimer = 0;
  var inflight = null;
  var signedOutHandlers = [];

  function claims(token) {
    try {
      var part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      while (part.length % 4) part += "=";
      return JSON.parse(atob(part));
    } catch (e) {
      return {};
    }
  }

  function storedRefresh() {
    try { return localStorage.getItem(REFRESH_KEY); } catch (e) { return null; }
  }

  function storeRefresh(token) {
    try {
      if (token) localStorage.setItem(REFRESH_KEY, token);
      else localStorage.removeItem(REFRESH_KEY);
    } catch (e) { /* storage disabled: the session lasts as long as this page */ }
  }

  // JSON in, JSON out; never throws for HTTP errors: {ok, status, body, serverNow} (serverNow from Date, ms).
  function request(path, options) {
    options = options || {};
    var headers = { accept: "application/json" };
    if (options.body !== undefined) headers["content-type"] = "application/json";
    if (options.token) headers.authorization = "Bearer " + options.token;
    return fetch(path, {
      method: options.method || (options.body !== undefined ? "POST" : "GET"),
      headers: headers,
      body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
      cache: "no-store",
      credentials: "omit",
    }).then(function (res) {
      var date = Date.parse(res.headers.get("date") || "");
      return res.text().then(function (text) {
        var body = null;
        try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
        return { ok: res.ok, status: res.status, body: body, serverNow: isNaN(date) ? null : date, retryAfter: Number(res.headers.get("retry-after")) || null };
      });
    });
  }

  // Refresh at 80 % of the access token's lifetime (exp - iat: server times, immune to this device's clock skew).
  function schedule() {
    clearTimeout(refreshTimer);
    var c = claims(access);
    var lifetimeMs = c.exp && c.iat ? (c.exp - c.iat) * 1000 : 60000;
    refreshTimer = setTimeout(function () { refresh(); }, Math.max(1000, lifetimeMs * 0.8));
  }

  function setPair(pair) {
    access = pair.access;
    if (pair.refresh) storeRefresh(pair.refresh);
    schedule();
  }

  function forget() {
    clearTimeout(refreshTimer);
    access = null;
    storeRefresh(null);
  }

  function signedOut() {
    forget();
    signedOutHandlers.forEach(function (fn) { fn(); });
  }

  // Resolves true with a fresh pair, false when signed out; a network failure keeps the tokens and retries.
  function refresh() {
    if (inflight) return inflight;
    // Read at the last moment: another tab may have rotated it already.
    var token = storedRefresh();
    if (!token) return Promise.resolve(false);
    inflight = request("/api/token/refresh/", { body: { refresh: token } }).then(function (r) {
      inflight = null;
      if (r.ok && r.body && r.body.access) {
        setPair({ access: r.body.access, refresh: r.body.refresh || token });
        return true;
      }
      if (r.status === 401 || r.status === 400) {
        // Another tab may have rotated it while this request was in flight: try once with its successor.
        if (storedRefresh() && storedRefresh() !== token) return refresh();
        signedOut();
        return false;
      }
      clearTimeout(refreshTimer);
      refreshTimer = setTimeout(function () { refresh(); }, 5000);
      return access !== null;
    }, function () {
      inflight = null;
      clearTimeout(refreshTimer);
      refreshTimer = setTimeout(function () { refresh(); }, 5000);
      return access !== null;
    });
    return inflight;
  }

  // A bearer call: refreshes first when there is no access token, and once more after a 401.
  function authed(path, options) {
    options = options || {};
    var ready = access ? Promise.resolve(true) : refresh();
    return ready.then(function (ok) {
      if (!ok) return { ok: false, status: 401, body: { code: "not_authenticated" }, serverNow: null };
      var send = function () { return request(path, Object.assign({}, options, { token: access })); };
      return send().then(function (r) {
        if (r.status !== 401) return r;
        return refresh().then(function (again) { return again ? send() : r; });
      });
    });
  }

  function signIn(username, password) {
    return request("/api/token/", { body: { username: username, password: password } }).then(function (r) {
      if (r.ok && r.body && r.body.access) setPair(r.body);
      return r;
    });
  }

  // Logout as simplejwt clients do it: blacklist the refresh token (the server ends the whole session).
  function signOut() {
    var token = storedRefresh();
    clearTimeout(refreshTimer);
    var done = token ? request("/api/token/blacklist/", { body: { refresh: token } }).catch(function () { return null; }) : Promise.resolve(null);
    return done.then(function () { forget(); });
  }

  // Signed out in another tab: follow it here too.
  window.addEventListener("storage", function (e) {
    if (e.key === REFRESH_KEY && !e.newValue && access) signedOut();
  });

  return {
    request: request,
    authed: authed,
    refresh: refresh,
    setPair: setPair,
    signIn: signIn,
    signOut: signOut,
    hasRefresh: function () { return !!storedRefresh(); },
    onSignedOut: function (fn) { signedOutHandlers.push(fn); },
  };
})();
`;
