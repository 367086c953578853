// The worked example a team copies: a front end on its own origin that embeds <qr-login>, calls the API with the
// access token, refreshes it, and signs out. With REFRESH_COOKIE=on the refresh token lives in the auth worker's
// HttpOnly cookie (this page never holds it after the first exchange); off, it is kept in memory only.
const base = document.querySelector('meta[name="auth-base-url"]').content.replace(/\/+$/, "");
const $ = (id) => document.getElementById(id);

let access = null;
let refreshToken = null; // token mode only; cookie mode never keeps it
let cookieMode = false;

function call(path, { method = "POST", body, token } = {}) {
  const headers = { accept: "application/json", "x-requested-with": "example-app" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (token) headers.authorization = `Bearer ${token}`;
  return fetch(`${base}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "include",
  }).then(async (res) => ({
    ok: res.ok,
    status: res.status,
    body: await res.json().catch(() => null),
  }));
}

function problem(text) {
  $("problem").textContent = text;
  $("problem").hidden = !text;
}

function expiry(token) {
  const payload = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  return new Date(payload.exp * 1000).toLocaleTimeString();
}

async function showSignedIn(username) {
  const hello = await call("/api/hello/", { method: "GET", token: access });
  $("hello").textContent = hello.ok ? hello.body.message : `${hello.status} ${hello.body?.code ?? ""}`;
  $("expires").textContent = expiry(access);
  $("welcome").textContent = `Signed in as ${username}`;
  $("mode").textContent = cookieMode
    ? "The refresh token is in the auth worker's HttpOnly cookie."
    : "The refresh token is kept in this page's memory.";
  $("signed-out").hidden = true;
  $("signed-in").hidden = false;
  $("welcome").focus();
}

// The QR login's pair arrives here, opened with this page's own key: exchange its refresh token once.
$("signed-out").addEventListener("qr-login:approved", async (event) => {
  const { pair, user } = event.detail;
  const exchanged = await call("/api/token/refresh/", { body: { refresh: pair.refresh } });
  if (!exchanged.ok) return problem(`Could not finish signing in (${exchanged.status}).`);
  access = exchanged.body.access;
  cookieMode = exchanged.body.refresh === undefined;
  refreshToken = cookieMode ? null : exchanged.body.refresh;
  problem("");
  await showSignedIn(user.username);
});

$("refresh").addEventListener("click", async () => {
  const res = await call("/api/token/refresh/", { body: cookieMode ? {} : { refresh: refreshToken } });
  if (!res.ok) return problem(`Refresh refused (${res.status} ${res.body?.code ?? ""}).`);
  access = res.body.access;
  if (!cookieMode) refreshToken = res.body.refresh;
  $("expires").textContent = expiry(access);
  const hello = await call("/api/hello/", { method: "GET", token: access });
  $("hello").textContent = hello.ok ? hello.body.message : String(hello.status);
});

$("sign-out").addEventListener("click", async () => {
  await call("/api/token/blacklist/", { body: cookieMode ? {} : { refresh: refreshToken } });
  access = refreshToken = null;
  $("signed-in").hidden = true;
  $("signed-out").hidden = false;
  document.querySelector("qr-login").restart();
});

// The element comes from the auth worker itself: always the version that matches its protocol.
import(`${base}/client/qr-login.js`).then(
  () => {
    const login = document.createElement("qr-login");
    login.setAttribute("base-url", base);
    $("signed-out").append(login);
  },
  () => problem("The sign-in component could not be loaded from the auth worker."),
);
