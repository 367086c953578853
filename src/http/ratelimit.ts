/**
 * @module Rate Limits — abuse throttles per IP or per user (Cloudflare's Rate Limiting binding) and exact
 * failed-password budgets (one AttemptCounter Durable Object per account, device credential or user).
 *
 * Throttles answer 429 `{"detail": "Request was throttled. Expected available in N seconds.", "code":
 * "throttled"}` with `Retry-After: N`, as DRF does. `RATE_LIMITS=off` turns every limit here off.
 */
import type { Context, MiddlewareHandler } from "hono";
import { ConfigError, type Config } from "../config";
import type { Clock } from "../deps";
import type { Env } from "../env";
import { deviceFromRequest } from "./device";
import { ApiError } from "./errors";
import type { AppEnv } from "./types";

declare module "hono" {
  interface ContextVariableMap {
    rateLimits: RateLimits;
  }
}

/**
 * The binding-backed throttles. Their counts live in wrangler.toml's `[[ratelimits]]` (`simple =
 * { limit, period }`, period 10 or 60); `periodSeconds` here must match, it is the Retry-After we send.
 */
export const THROTTLES = {
  signin_ip: { binding: "SIGNIN_IP_LIMITER", periodSeconds: 60 },
  register_ip: { binding: "REGISTER_IP_LIMITER", periodSeconds: 60 },
  qr_create_ip: { binding: "QR_CREATE_IP_LIMITER", periodSeconds: 60 },
  qr_lookup_ip: { binding: "QR_LOOKUP_IP_LIMITER", periodSeconds: 60 },
  qr_approve_user: { binding: "QR_APPROVE_USER_LIMITER", periodSeconds: 60 },
  account_mail_ip: { binding: "ACCOUNT_MAIL_IP_LIMITER", periodSeconds: 60 },
  account_mail_address: { binding: "ACCOUNT_MAIL_ADDRESS_LIMITER", periodSeconds: 60 },
} as const satisfies Record<string, { binding: keyof Env; periodSeconds: 10 | 60 }>;

export type ThrottleName = keyof typeof THROTTLES;

interface LimitOutcome {
  success: boolean;
  /** When refused: seconds until the caller may try again. */
  retryAfterSeconds: number;
}

/** One counter family: `limit(key)` counts one hit for `key` and says whether it is still allowed. */
export interface Limiter {
  limit(key: string): Promise<LimitOutcome>;
}

/** The Rate Limiting binding: approximate and per location, answers only `{success}`, so Retry-After is the period. */
function bindingLimiter(binding: RateLimit, periodSeconds: number): Limiter {
  return {
    async limit(key) {
      const { success } = await binding.limit({ key });
      return { success, retryAfterSeconds: periodSeconds };
    },
  };
}

/**
 * A fixed-window counter in this isolate's memory, on an injected clock: what the binding does, but
 * exact and time-travellable. For tests and single-isolate rigs; not shared between isolates.
 */
export function memoryLimiter(options: { limit: number; periodSeconds: number; clock: Clock }): Limiter {
  const windows = new Map<string, { start: number; count: number }>();
  const periodMs = options.periodSeconds * 1000;
  return {
    async limit(key) {
      const now = options.clock();
      const start = now - (now % periodMs);
      let window = windows.get(key);
      if (!window || window.start !== start) {
        window = { start, count: 0 };
        windows.set(key, window);
      }
      const retryAfterSeconds = Math.max(1, Math.ceil((start + periodMs - now) / 1000));
      if (window.count >= options.limit) return { success: false, retryAfterSeconds };
      window.count += 1;
      return { success: true, retryAfterSeconds };
    },
  };
}

/** DRF's throttled answer. */
function throttled(retryAfterSeconds: number): ApiError {
  const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
  return new ApiError(
    "throttled",
    `Request was throttled. Expected available in ${seconds} seconds.`,
    {},
    { "retry-after": String(seconds) },
  );
}

/** A slot taken for one password check; `release()` after a correct password so only failures count. */
interface AttemptSlot {
  release(): Promise<void>;
}

export interface RateLimits {
  readonly enabled: boolean;
  /** Counts one hit of `name` for `key`; throws 429 when over the limit. */
  throttle(name: ThrottleName, key: string): Promise<void>;
  /**
   * Takes a failed-password slot from one budget (see PasswordBudget); throws 429 with Retry-After while
   * that budget is spent. Taken before the password is checked, so a 429 says nothing about it.
   */
  passwordAttempt(budget: PasswordBudget): Promise<AttemptSlot>;
}

/**
 * Whose failures a password check counts against, each an AttemptCounter object of its own:
 * - `account`: sign-in from an untrusted client, keyed by the account key (NFKC, lower-cased username,
 *   whether or not the account exists, so a lock-out reveals nothing): SIGNIN_FAILURE_LIMIT per window,
 *   however many IPs the guesses come from;
 * - `device`: sign-in with a valid device credential for that account: its own SIGNIN_DEVICE_FAILURE_LIMIT, and
 *   all of the account's credentials together SIGNIN_DEVICES_FAILURE_LIMIT (`devices:<user id>`), so N old
 *   credentials do not buy N budgets;
 * - `user`: a signed-in user's own password checks (password change, account deletion): SIGNIN_FAILURE_LIMIT,
 *   apart from sign-in, so strangers locking the sign-in out do not block them.
 */
type PasswordBudget =
  | { kind: "account"; accountKey: string }
  | { kind: "device"; jti: string; userId: number }
  | { kind: "user"; userId: number }
  | { kind: "email_change"; userId: number };

/** Email changes per user per hour, counted whatever their outcome: 80 probes of which addresses exist become 5. */
const EMAIL_CHANGES_PER_HOUR = 5;

/** The AttemptCounter object name of a budget (`password:` is the account's, as before device credentials). */
function budgetObjectName(budget: PasswordBudget): string {
  if (budget.kind === "account") return `password:${budget.accountKey}`;
  if (budget.kind === "device") return `device:${budget.jti}`;
  if (budget.kind === "email_change") return `email-change:${budget.userId}`;
  return `user-password:${budget.userId}`;
}

const NOTHING_TO_RELEASE: AttemptSlot = { release: async () => {} };

export const NO_RATE_LIMITS: RateLimits = {
  enabled: false,
  throttle: async () => {},
  passwordAttempt: async () => NOTHING_TO_RELEASE,
};

/** Per-throttle limiters to use instead of the bindings (tests inject memory limiters on their clock). */
export type LimiterOverrides = Partial<Record<ThrottleName, Limiter>>;

export function rateLimitsFor(env: Env, config: Config, clock: Clock, overrides: LimiterOverrides = {}): RateLimits {
  if (!config.rateLimitsEnabled) return NO_RATE_LIMITS;
  return {
    enabled: true,
    async throttle(name, key) {
      let limiter = overrides[name];
      if (!limiter) {
        const { binding, periodSeconds } = THROTTLES[name];
        const bound = env[binding] as RateLimit | undefined;
        if (!bound) throw new ConfigError(binding, "is missing: declare it under [[ratelimits]] in wrangler.toml, or set RATE_LIMITS=off");
        limiter = bindingLimiter(bound, periodSeconds);
      }
      const outcome = await limiter.limit(key);
      if (!outcome.success) throw throttled(outcome.retryAfterSeconds);
    },
    async passwordAttempt(budget) {
      const namespace = env.ATTEMPT_COUNTER;
      if (!namespace)
        throw new ConfigError(
          "ATTEMPT_COUNTER",
          "is missing: declare the AttemptCounter Durable Object in wrangler.toml, or set RATE_LIMITS=off",
        );
      const windowMs = config.signInFailureWindowSeconds * 1000;
      const take = async (name: string, limit: number, ms = windowMs) => {
        const stub = namespace.get(namespace.idFromName(name));
        return { stub, reservation: await stub.reserve(clock(), limit, ms) };
      };
      if (budget.kind === "email_change") {
        const { reservation } = await take(budgetObjectName(budget), EMAIL_CHANGES_PER_HOUR, 3_600_000);
        if (!reservation.ok) throw throttled(reservation.retryAfterSeconds);
        return NOTHING_TO_RELEASE;
      }
      if (budget.kind === "device") {
        // The credential's own budget and the account's devices' shared one: both must have room.
        const taken = await Promise.all([
          take(budgetObjectName(budget), config.signInDeviceFailureLimit),
          take(`devices:${budget.userId}`, config.signInDevicesFailureLimit),
        ]);
        const refused = taken.find((t) => !t.reservation.ok);
        if (refused) {
          await Promise.all(taken.map((t) => (t.reservation.ok ? t.stub.release(t.reservation.id) : undefined)));
          throw throttled((refused.reservation as { retryAfterSeconds: number }).retryAfterSeconds);
        }
        return { release: async () => void (await Promise.all(taken.map((t) => t.stub.release((t.reservation as { id: string }).id)))) };
      }
      const { stub, reservation } = await take(budgetObjectName(budget), config.signInFailureLimit);
      if (!reservation.ok) throw throttled(reservation.retryAfterSeconds);
      return { release: () => stub.release(reservation.id) };
    },
  };
}

/** The rate limits of this request (none when the middleware did not run, e.g. outside /api/). */
export function rateLimitsOf(c: Context): RateLimits {
  return (c.get("rateLimits") as RateLimits | undefined) ?? NO_RATE_LIMITS;
}

/** One hit of `name` keyed by the client IP (Cloudflare's CF-Connecting-IP; X-Forwarded-For is client-controlled). Throws 429. */
export async function throttleByIp(c: Context, name: ThrottleName): Promise<void> {
  await rateLimitsOf(c).throttle(name, `ip:${deviceFromRequest(c.req.raw).ip ?? "unknown"}`);
}

/** One hit of `name` keyed by the signed-in user (a bearer route's `input.auth`). Throws 429. */
export async function throttleByUser(c: Context, name: ThrottleName, userId: number): Promise<void> {
  await rateLimitsOf(c).throttle(name, `user:${userId}`);
}

/** Route middleware form of throttleByIp. */
export function limitByIp(name: ThrottleName): MiddlewareHandler<AppEnv> {
  return async function limitPerIp(c, next) {
    await throttleByIp(c, name);
    await next();
  };
}
