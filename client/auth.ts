/**
 * @module Page Auth — the token pair kept the way the API's browser clients keep it. The access token lives
 * only in memory; the refresh token in localStorage (so a new tab or a reload stays signed in) and is rotated
 * on every refresh, shortly before the access token expires. Both pages import it.
 */

const REFRESH_KEY = "edge-auth.refresh";
/**
 * REFRESH_COOKIE=on (the page says so in a <meta>): the refresh token never touches script. The server keeps it in
 * an HttpOnly cookie; refresh and sign-out send the cookie with the CSRF header; storage holds only this hint.
 */
const SIGNED_IN_KEY = "edge-auth.signed-in";
const cookieMode = document.querySelector('meta[name="refresh-cookie"]')?.getAttribute("content") === "on";

/** A DRF error body: `{detail, code}` or `{field: [messages]}`. */
export interface ErrorBody {
  detail?: string;
  code?: string;
  [field: string]: unknown;
}

/** An answer: never thrown for HTTP errors. `serverNow` from the Date header (ms); `retryAfter` in seconds. */
export type ApiResult<T> = ({ ok: true; body: T | null } | { ok: false; body: ErrorBody | null }) & {
  status: number;
  serverNow: number | null;
  retryAfter?: number | null;
};

export interface RequestOptions {
  method?: string;
  /** Sent as JSON; its presence makes the default method POST. */
  body?: unknown;
  token?: string | null;
}

/** What /api/token/ and /api/token/refresh/ answer (refresh is absent when rotation is off). */
export interface TokenPair {
  access: string;
  refresh?: string;
}

interface Claims {
  exp?: number;
  iat?: number;
}

let access: string | null = null;
let refreshTimer = 0;
let inflight: Promise<boolean> | null = null;
const signedOutHandlers: Array<() => void> = [];

function claims(token: string | null): Claims {
  try {
    let part = (token ?? "").split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/");
    while (part.length % 4) part += "=";
    return JSON.parse(atob(part)) as Claims;
  } catch {
    return {};
  }
}

function storedRefresh(): string | null {
  try {
    if (cookieMode) return localStorage.getItem(SIGNED_IN_KEY) ? "cookie" : null;
    return localStorage.getItem(REFRESH_KEY);
  } catch {
    return null;
  }
}

function storeRefresh(token: string | null): void {
  try {
    const key = cookieMode ? SIGNED_IN_KEY : REFRESH_KEY;
    // Cookie mode stores only that a cookie exists, never the token.
    if (token) localStorage.setItem(key, cookieMode ? "1" : token);
    else localStorage.removeItem(key);
  } catch {
    // Storage disabled: the session lasts as long as this page.
  }
}

/** JSON in, JSON out; never throws for HTTP errors. `T` is the success body the route declares. */
export function request<T = unknown>(path: string, options: RequestOptions = {}): Promise<ApiResult<T>> {
  // The CSRF header the server requires of cookie-authenticated calls (harmless on the others).
  const headers: Record<string, string> = { accept: "application/json", "x-requested-with": "fetch" };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  if (options.token) headers.authorization = "Bearer " + options.token;
  return fetch(path, {
    method: options.method || (options.body !== undefined ? "POST" : "GET"),
    headers,
    body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
    cache: "no-store",
    // Cookie mode: the HttpOnly refresh cookie must be stored and sent; otherwise no cookie is needed.
    credentials: cookieMode ? "same-origin" : "omit",
  }).then((res) => {
    const date = Date.parse(res.headers.get("date") || "");
    return res.text().then((text): ApiResult<T> => {
      let body: unknown = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = null;
      }
      const serverNow = isNaN(date) ? null : date;
      const retryAfter = Number(res.headers.get("retry-after")) || null;
      // The wire is untyped: the route's declared body on success, a DRF error body otherwise.
      return res.ok
        ? { ok: true, status: res.status, body: body as T | null, serverNow, retryAfter }
        : { ok: false, status: res.status, body: body as ErrorBody | null, serverNow, retryAfter };
    });
  });
}

// Refresh at 80 % of the access token's lifetime (exp - iat: server times, immune to this device's clock skew).
function schedule(): void {
  clearTimeout(refreshTimer);
  const c = claims(access);
  const lifetimeMs = c.exp && c.iat ? (c.exp - c.iat) * 1000 : 60000;
  refreshTimer = setTimeout(
    () => {
      void refresh();
    },
    Math.max(1000, lifetimeMs * 0.8),
  );
}

export function setPair(pair: TokenPair): void {
  access = pair.access;
  if (cookieMode && pair.refresh) {
    // A pair that reached script (a QR login's unsealed one): move its refresh token into the cookie, once.
    void request<TokenPair>("/api/token/refresh/", { body: { refresh: pair.refresh } }).then((r) => {
      if (r.ok && r.body && r.body.access) {
        access = r.body.access;
        storeRefresh("cookie");
        schedule();
      }
    });
  } else if (pair.refresh || cookieMode) storeRefresh(pair.refresh ?? "cookie");
  schedule();
}

function forget(): void {
  clearTimeout(refreshTimer);
  access = null;
  storeRefresh(null);
}

function signedOut(): void {
  forget();
  signedOutHandlers.forEach((fn) => fn());
}

/** The server or the network did not answer: keep the tokens and try again shortly. */
function retryLater(): boolean {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => {
    void refresh();
  }, 5000);
  return access !== null;
}

/** Resolves true with a fresh pair, false when signed out; a network failure keeps the tokens and retries. */
export function refresh(): Promise<boolean> {
  if (inflight) return inflight;
  // Read at the last moment: another tab may have rotated it already.
  const token = storedRefresh();
  if (!token) return Promise.resolve(false);
  inflight = request<TokenPair>("/api/token/refresh/", { body: cookieMode ? {} : { refresh: token } }).then(
    (r): boolean | Promise<boolean> => {
      inflight = null;
      if (r.ok && r.body && r.body.access) {
        setPair(cookieMode ? { access: r.body.access } : { access: r.body.access, refresh: r.body.refresh || token });
        return true;
      }
      if (r.status === 401 || r.status === 400) {
        // Another tab may have rotated it while this request was in flight: try once with its successor.
        if (storedRefresh() && storedRefresh() !== token) return refresh();
        signedOut();
        return false;
      }
      return retryLater();
    },
    () => {
      inflight = null;
      return retryLater();
    },
  );
  return inflight;
}

/** A bearer call: refreshes first when there is no access token, and once more after a 401. */
export function authed<T = unknown>(path: string, options: RequestOptions = {}): Promise<ApiResult<T>> {
  const ready = access ? Promise.resolve(true) : refresh();
  return ready.then((ok): ApiResult<T> | Promise<ApiResult<T>> => {
    if (!ok) return { ok: false, status: 401, body: { code: "not_authenticated" }, serverNow: null };
    const send = () => request<T>(path, Object.assign({}, options, { token: access }));
    return send().then((r) => {
      if (r.status !== 401) return r;
      return refresh().then((again) => (again ? send() : r));
    });
  });
}

export function signIn(username: string, password: string): Promise<ApiResult<TokenPair>> {
  return request<TokenPair>("/api/token/", { body: { username, password } }).then((r) => {
    if (r.ok && r.body && r.body.access) setPair(r.body);
    return r;
  });
}

/** Logout as simplejwt clients do it: blacklist the refresh token (the server ends the whole session). */
export function signOut(): Promise<void> {
  const token = storedRefresh();
  clearTimeout(refreshTimer);
  const done = token
    ? request("/api/token/blacklist/", { body: cookieMode ? {} : { refresh: token } }).catch(() => null)
    : Promise.resolve(null);
  return done.then(() => forget());
}

export function hasRefresh(): boolean {
  return !!storedRefresh();
}

export function onSignedOut(fn: () => void): void {
  signedOutHandlers.push(fn);
}

// Signed out in another tab: follow it here too.
window.addEventListener("storage", (e) => {
  if ((e.key === REFRESH_KEY || e.key === SIGNED_IN_KEY) && !e.newValue && access) signedOut();
});
