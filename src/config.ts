/** @module Config — env -> typed, validated settings, parsed once per isolate. */
import type { Env } from "./env";

/** argon2id's cost: memory in KiB, passes, lanes. */
export interface Argon2Params {
  readonly memoryKiB: number;
  readonly timeCost: number;
  readonly parallelism: number;
}
/** OWASP's argon2id minimum: 19 MiB, 2 passes, 1 lane (~45 ms of CPU in workerd; bench/micro/passwords.micro.ts). */
export const ARGON2_PARAMS: Argon2Params = { memoryKiB: 19_456, timeCost: 2, parallelism: 1 };
/** PASSWORD_HASH_COST=test: 1 MiB, 1 pass (what Django's test settings do with MD5PasswordHasher; npm test 132 -> 97 s). */
export const TEST_ARGON2_PARAMS: Argon2Params = { memoryKiB: 1_024, timeCost: 1, parallelism: 1 };

export type JwtAlgorithm = "ES256" | "EdDSA" | "HS256";
const JWT_ALGORITHMS: readonly JwtAlgorithm[] = ["ES256", "EdDSA", "HS256"];

export interface Config {
  jwtAlgorithm: JwtAlgorithm;
  /** Raw JWK set JSON (ES256/EdDSA) — imported lazily by keys.ts, once per isolate. */
  signingKeysJson: string | null;
  /** Shared secret for HS256. */
  jwtSecret: string | null;
  accessTokenLifetimeSeconds: number;
  refreshTokenLifetimeSeconds: number;
  leewaySeconds: number;
  refreshReuseIntervalSeconds: number;
  /**
   * JWT_ISSUER: the worker's public origin (scheme://host[:port]), the `iss` of its tokens and the base of every URL
   * it hands out (QR links, the OpenAPI `servers`). Required: never taken from a request's Host header.
   */
  issuer: string;
  audience: string;
  qrLoginTtlSeconds: number;
  /** QR_MAX_DISTANCE_KM: a phone known to be farther than this from the browser cannot approve; null (default): off. */
  qrMaxDistanceKm: number | null;
  /** QR_DEV_PLACES=on: a request that did not come through Cloudflare's edge may name its place (tests only; src/http/device.ts). */
  qrDevPlaces: boolean;
  rateLimitsEnabled: boolean;
  /** REFRESH_COOKIE=on: browsers keep the refresh token in an HttpOnly cookie, never in the JSON (src/auth/refresh-cookie.ts). */
  refreshCookie: boolean;
  /** A D1 call with no answer after this long fails as DatabaseUnavailable: 503 with Retry-After (src/db/guard.ts). */
  d1TimeoutMs: number;
  /** Exact per-account limit: at most this many failed password checks per window, from any IPs. */
  signInFailureLimit: number;
  signInFailureWindowSeconds: number;
  /**
   * OWASP's device cookie: a client holding a device credential for the account has its own budget of
   * this many failures per SIGNIN_FAILURE_WINDOW, so strangers locking the account out do not lock it out.
   */
  signInDeviceFailureLimit: number;
  /** All of one account's device credentials together: at most this many failures per window, however many credentials. */
  signInDevicesFailureLimit: number;
  /**
   * No refused sign-in answers sooner than this (ms after it started): every account's hash format, and an unknown
   * user, answer in the same time. Waiting costs no CPU on Workers; it must exceed the slowest verification allowed
   * (a 1 000 000-iteration PBKDF2 hash took 0.7-1.1 s on 2 loaded cores: bench/signin-timing.mjs). 0 only for test rigs.
   */
  signInRefusalFloorMs: number;
  /**
   * argon2id parameters of new hashes (older ones are upgraded at the next sign-in): OWASP's minimum, or with
   * PASSWORD_HASH_COST=test a cheap set for test rigs, accepted only while JWT_ISSUER is a reserved name that no
   * deployed worker can have (RFC 6761: *.test, *.example, *.invalid, *.localhost, localhost, loopback addresses).
   */
  passwordHashParams: Argon2Params;
  /** How long a device credential issued at sign-in stays valid (it is reissued at every sign-in). */
  deviceCredentialLifetimeSeconds: number;
  /** Origins (scheme://host[:port]) allowed cross-origin; empty: same origin only. */
  corsOrigins: string[];
  /**
   * How long an isolate may answer a bearer check from its own copy of the session row (0: every
   * request reads D1). Revocations made in this isolate are seen at once; those made elsewhere
   * (another isolate, another location, SQL) within this many seconds.
   */
  sessionCacheTtlSeconds: number;
  /**
   * How long an isolate may answer a list of notes from its own copy of the page (0: every list reads
   * D1). Note writes made in this isolate show at once; those made elsewhere within this many seconds.
   */
  notesCacheTtlSeconds: number;
  /** MAIL_FROM: the sender of every mail (send_email binding MAILER); null: mail is off and routes that need it answer 500. */
  mailFrom: string | null;
  /** PRODUCT_NAME: how mails and pages name the product (default "Edge auth"). */
  productName: string;
  /** ACTIVATION_EMAIL=on: new accounts stay inactive until the mailed link is opened (djoser's SEND_ACTIVATION_EMAIL). */
  activationEmail: boolean;
  /** How long a reset or activation link stays valid (Django's PASSWORD_RESET_TIMEOUT). */
  passwordResetTimeoutSeconds: number;
  /** Absolute URL templates with {uid} and {token} (djoser's PASSWORD_RESET_CONFIRM_URL, ACTIVATION_URL); null: our pages. */
  frontendResetUrl: string | null;
  frontendActivationUrl: string | null;
  /** No answer to "mail me a link" (reset, resend activation) comes sooner than this: known and unknown addresses alike. */
  accountMailFloorMs: number;
}

/** Thrown when a setting is missing or malformed; names the setting so the log line is actionable. */
export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    problem: string,
  ) {
    super(`${setting} ${problem}`);
    this.name = "ConfigError";
  }
}

// HS256 keys shorter than the hash output weaken the MAC (RFC 7518 §3.2).
const MIN_HS256_SECRET_BYTES = 32;

function seconds(env: Env, name: keyof Env, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const text = String(raw).trim();
  if (!/^\d+$/.test(text)) throw new ConfigError(name, `must be a whole number of seconds, got ${JSON.stringify(raw)}`);
  const value = Number(text);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max} seconds, got ${value}`);
  return value;
}

const REQUIRED_IDENTITY =
  "(wrangler.toml [vars] or `wrangler dev --var`; `npm run dev` writes the local origin): a request's Host header is never trusted for it";

/** JWT_ISSUER and JWT_AUDIENCE, both required; the issuer must be an origin, as every URL handed out starts with it. */
function identity(env: Env): { issuer: string; audience: string } {
  const issuer = env.JWT_ISSUER?.trim() ?? "";
  const audience = env.JWT_AUDIENCE?.trim() ?? "";
  if (!issuer && !audience) throw new ConfigError("JWT_ISSUER, JWT_AUDIENCE", `are required ${REQUIRED_IDENTITY}`);
  if (!issuer) throw new ConfigError("JWT_ISSUER", `is required ${REQUIRED_IDENTITY}`);
  if (!audience) throw new ConfigError("JWT_AUDIENCE", `is required ${REQUIRED_IDENTITY}`);
  if (issuer.length > 512 || !isOrigin(issuer))
    throw new ConfigError(
      "JWT_ISSUER",
      `must be the worker's public origin, like https://auth.example.com (no path), got ${JSON.stringify(issuer.slice(0, 100))}`,
    );
  if (audience.length > 512) throw new ConfigError("JWT_AUDIENCE", "must be at most 512 characters");
  return { issuer, audience };
}

function isOrigin(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === "https:" || url.protocol === "http:") && url.origin === text;
  } catch {
    return false;
  }
}

function onOff(env: Env, name: "RATE_LIMITS" | "REFRESH_COOKIE" | "QR_DEV_PLACES" | "ACTIVATION_EMAIL", fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === "") return fallback;
  if (raw === "on" || raw === "true" || raw === "1") return true;
  if (raw === "off" || raw === "false" || raw === "0") return false;
  throw new ConfigError(name, `must be "on" or "off", got ${JSON.stringify(env[name])}`);
}

function count(
  env: Env,
  name:
    | "SIGNIN_FAILURE_LIMIT"
    | "SIGNIN_DEVICE_FAILURE_LIMIT"
    | "SIGNIN_DEVICES_FAILURE_LIMIT"
    | "D1_TIMEOUT_MS"
    | "SIGNIN_REFUSAL_FLOOR_MS"
    | "QR_MAX_DISTANCE_KM"
    | "ACCOUNT_MAIL_FLOOR_MS",
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const text = String(raw).trim();
  if (!/^\d+$/.test(text)) throw new ConfigError(name, `must be a whole number, got ${JSON.stringify(raw)}`);
  const value = Number(text);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

// An Origin header is exactly scheme://host[:port] (RFC 6454 §6.1): no path, no trailing slash, no wildcard.
const ORIGIN_PATTERN = /^https?:\/\/[a-z0-9.-]+(?::\d{1,5})?$|^https?:\/\/\[[0-9a-f:.]+\](?::\d{1,5})?$/;

function origins(env: Env, name: "CORS_ORIGINS"): string[] {
  const raw = env[name]?.trim();
  if (!raw) return [];
  const list = raw.split(/[\s,]+/).filter(Boolean);
  for (const entry of list) {
    if (entry === "*") throw new ConfigError(name, 'must list origins explicitly; "*" would let any site call the API');
    if (!ORIGIN_PATTERN.test(entry))
      throw new ConfigError(name, `entries must look like https://app.example.com (lower case, no path), got ${JSON.stringify(entry)}`);
  }
  return [...new Set(list)];
}

// RFC 5321 §4.5.3.1: a path of at most 256 octets; one plain address, no display name or header-breaking characters.
const MAIL_ADDRESS = /^[^\s@<>()",;:\\]+@[^\s@<>()",;:\\]+\.[^\s@<>()",;:\\]+$/;

function mailFrom(env: Env): string | null {
  const raw = env.MAIL_FROM?.trim();
  if (!raw) return null;
  if (raw.length > 254 || !MAIL_ADDRESS.test(raw))
    throw new ConfigError("MAIL_FROM", `must be one address like auth@example.com, got ${JSON.stringify(raw.slice(0, 100))}`);
  return raw;
}

/** A link template for a product's own front end: absolute http(s), with both placeholders. */
function linkTemplate(env: Env, name: "FRONTEND_RESET_URL" | "FRONTEND_ACTIVATION_URL"): string | null {
  const raw = env[name]?.trim();
  if (!raw) return null;
  let ok = false;
  try {
    const url = new URL(raw.replace("{uid}", "u").replace("{token}", "t"));
    ok = url.protocol === "https:" || url.protocol === "http:";
  } catch {
    ok = false;
  }
  if (!ok || !raw.includes("{uid}") || !raw.includes("{token}") || raw.length > 1000)
    throw new ConfigError(
      name,
      `must be an absolute URL holding {uid} and {token}, like https://app.example.com/reset/{uid}/{token}, got ${JSON.stringify(raw.slice(0, 100))}`,
    );
  return raw;
}

function productName(env: Env): string {
  const raw = env.PRODUCT_NAME?.trim() ?? "";
  if (!raw) return "Edge auth";
  // It goes into subject lines: no line breaks, bounded.
  if (raw.length > 80 || /[\r\n\u0000-\u001f]/.test(raw))
    throw new ConfigError("PRODUCT_NAME", "must be one line of at most 80 characters");
  return raw;
}

/** Validates every setting; throws ConfigError naming the first bad one. Pure: no I/O, no caching. */
export function parseConfig(env: Env): Config {
  const algorithmRaw = (env.JWT_ALGORITHM ?? "").trim() || "ES256";
  const jwtAlgorithm = JWT_ALGORITHMS.find((a) => a === algorithmRaw);
  if (!jwtAlgorithm)
    throw new ConfigError("JWT_ALGORITHM", `must be one of ${JWT_ALGORITHMS.join(", ")}, got ${JSON.stringify(algorithmRaw)}`);

  let signingKeysJson: string | null = null;
  let jwtSecret: string | null = null;
  if (jwtAlgorithm === "HS256") {
    const secret = env.JWT_SECRET ?? "";
    if (!secret)
      throw new ConfigError(
        "JWT_SECRET",
        "is required when JWT_ALGORITHM is HS256 (locally: `npm run keys` writes it to .dev.vars, then restart `npm run dev`; deployed: `wrangler secret put JWT_SECRET`)",
      );
    if (new TextEncoder().encode(secret).length < MIN_HS256_SECRET_BYTES)
      throw new ConfigError("JWT_SECRET", `must be at least ${MIN_HS256_SECRET_BYTES} bytes`);
    jwtSecret = secret;
  } else {
    const keys = (env.JWT_SIGNING_KEYS ?? "").trim();
    if (!keys)
      throw new ConfigError(
        "JWT_SIGNING_KEYS",
        `is required when JWT_ALGORITHM is ${jwtAlgorithm} (locally: \`npm run keys\` writes them to .dev.vars, then restart \`npm run dev\`; deployed: \`wrangler secret put JWT_SIGNING_KEYS\`)`,
      );
    signingKeysJson = keys;
  }

  const accessTokenLifetimeSeconds = seconds(env, "ACCESS_TOKEN_LIFETIME", 300, 1, 86_400);
  const refreshTokenLifetimeSeconds = seconds(env, "REFRESH_TOKEN_LIFETIME", 86_400, 1, 365 * 86_400);
  if (refreshTokenLifetimeSeconds < accessTokenLifetimeSeconds)
    throw new ConfigError("REFRESH_TOKEN_LIFETIME", "must not be shorter than ACCESS_TOKEN_LIFETIME");

  const ids = identity(env);
  return {
    jwtAlgorithm,
    signingKeysJson,
    jwtSecret,
    accessTokenLifetimeSeconds,
    refreshTokenLifetimeSeconds,
    leewaySeconds: seconds(env, "JWT_LEEWAY", 0, 0, 300),
    refreshReuseIntervalSeconds: seconds(env, "REFRESH_REUSE_INTERVAL", 10, 0, 300),
    ...ids,
    passwordHashParams: passwordHashParams(env, ids.issuer),
    qrLoginTtlSeconds: seconds(env, "QR_LOGIN_TTL", 120, 5, 3_600),
    // 0 or empty: off. Half the Earth's circumference is the farthest two places can be.
    qrMaxDistanceKm: count(env, "QR_MAX_DISTANCE_KM", 0, 0, 20_050) || null,
    qrDevPlaces: onOff(env, "QR_DEV_PLACES", false),
    rateLimitsEnabled: onOff(env, "RATE_LIMITS", true),
    refreshCookie: onOff(env, "REFRESH_COOKIE", false),
    d1TimeoutMs: count(env, "D1_TIMEOUT_MS", 3000, 50, 30000),
    signInFailureLimit: count(env, "SIGNIN_FAILURE_LIMIT", 10, 1, 1_000),
    signInFailureWindowSeconds: seconds(env, "SIGNIN_FAILURE_WINDOW", 60, 10, 86_400),
    signInDeviceFailureLimit: count(env, "SIGNIN_DEVICE_FAILURE_LIMIT", 5, 1, 100),
    signInDevicesFailureLimit: count(env, "SIGNIN_DEVICES_FAILURE_LIMIT", 10, 1, 1_000),
    signInRefusalFloorMs: count(env, "SIGNIN_REFUSAL_FLOOR_MS", 1_500, 0, 10_000),
    deviceCredentialLifetimeSeconds: seconds(env, "DEVICE_CREDENTIAL_LIFETIME", 90 * 86_400, 3_600, 400 * 86_400),
    corsOrigins: origins(env, "CORS_ORIGINS"),
    // "A few seconds at most": the longest a revocation made elsewhere can go unseen (docs/configuration.md).
    sessionCacheTtlSeconds: seconds(env, "SESSION_CACHE_TTL", 2, 0, 10),
    notesCacheTtlSeconds: seconds(env, "NOTES_CACHE_TTL", 2, 0, 10),
    mailFrom: mailFrom(env),
    productName: productName(env),
    activationEmail: onOff(env, "ACTIVATION_EMAIL", false),
    passwordResetTimeoutSeconds: seconds(env, "PASSWORD_RESET_TIMEOUT", 3_600, 60, 7 * 86_400),
    frontendResetUrl: linkTemplate(env, "FRONTEND_RESET_URL"),
    frontendActivationUrl: linkTemplate(env, "FRONTEND_ACTIVATION_URL"),
    accountMailFloorMs: count(env, "ACCOUNT_MAIL_FLOOR_MS", 250, 0, 5000),
  };
}

/** Never a deployed worker's origin: names RFC 6761 reserves for tests and loopback addresses. */
function isReservedTestOrigin(origin: string): boolean {
  const host = new URL(origin).hostname;
  return /(^|\.)(test|example|invalid|localhost)$/.test(host) || host === "127.0.0.1" || host === "[::1]";
}

/** PASSWORD_HASH_COST: a deployed worker always hashes at OWASP's minimum; "test" is refused on a real origin. */
function passwordHashParams(env: Env, issuer: string): Argon2Params {
  const raw = env.PASSWORD_HASH_COST?.trim() ?? "";
  if (raw === "" || raw === "standard") return ARGON2_PARAMS;
  if (raw !== "test") throw new ConfigError("PASSWORD_HASH_COST", `must be "standard" or "test", got ${JSON.stringify(raw.slice(0, 40))}`);
  if (!isReservedTestOrigin(issuer))
    throw new ConfigError(
      "PASSWORD_HASH_COST",
      `"test" is only for test rigs whose JWT_ISSUER is a reserved test name (*.test, localhost, …), not ${issuer}`,
    );
  return TEST_ARGON2_PARAMS;
}

const cache = new WeakMap<object, Config>();

/** parseConfig, memoised per env object (workerd hands the same env to every request of an isolate). */
export function getConfig(env: Env): Config {
  let config = cache.get(env);
  if (!config) {
    config = parseConfig(env);
    cache.set(env, config);
  }
  return config;
}
