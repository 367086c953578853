/**
 * @module Django Import — turns `python manage.py dumpdata auth.user` JSON into users of this worker:
 * pure planning (what is imported, what is skipped and why) and the SQL that writes it. The CLI is
 * scripts/import-django.mjs, which bundles this file and runs the SQL through `wrangler d1 execute`.
 *
 * Kept from Django: the primary key (so `user_id` in tokens matches what Django's simplejwt issued),
 * username (NFKC), email (domain lower-cased), password hash (verified here, upgraded at first sign-in; sha1, md5,
 * unsalted and PBKDF2 below 100 000 iterations are stored wrapped in argon2id: src/auth/wrapped-hash.ts),
 * is_active, is_staff, is_superuser, date_joined, last_login. first_name, last_name, groups and
 * permissions have no column here and are dropped.
 * Idempotent: `INSERT … ON CONFLICT DO NOTHING`, so users already present (same id, username or email)
 * are left exactly as they are, including any password changed or upgraded here since.
 */
import { lazy } from "../lib/lazy";
import * as z from "zod";
import { MAX_ARGON2_MEMORY_KIB, MAX_PBKDF2_ITERATIONS, UNUSABLE_PASSWORD_PREFIX, parsePasswordHash } from "./hash-format";
import { USERNAME_PATTERN, accountKey, normalizeEmail, normalizeUsername } from "./identity";
import { weakHash, wrapWeakHash } from "./wrapped-hash";

const USERNAME_MAX_LENGTH = 150;
const EMAIL_MAX_LENGTH = 254;
/**
 * Largest pk imported: 2^52. Registrations here take the largest id + 1 (AUTOINCREMENT), and every id must stay a
 * safe JavaScript integer (at most 2^53 − 1) or two users read back as one; 2^52 leaves 4.5e15 registrations of room.
 */
export const MAX_IMPORTED_ID = 2 ** 52;
// The check registration applies (src/auth/service.ts emailSchema): `<img src=x onerror=…>` is no address.
const EMAIL = lazy(() => z.email());

export interface ImportedUser {
  id: number;
  username: string;
  usernameKey: string;
  email: string;
  passwordHash: string;
  isActive: boolean;
  isStaff: boolean;
  isSuperuser: boolean;
  /** Epoch seconds. */
  dateJoined: number;
  lastLogin: number | null;
}

interface Skipped {
  pk: unknown;
  username: string | null;
  reason: string;
}

export interface ImportPlan {
  users: ImportedUser[];
  skipped: Skipped[];
}

/** What the target database already holds, so a re-run reports instead of silently skipping. */
export interface Existing {
  ids: ReadonlySet<number>;
  usernameKeys: ReadonlySet<string>;
  /** lower(email), blank excluded. */
  emails: ReadonlySet<string>;
}

const NOTHING: Existing = { ids: new Set(), usernameKeys: new Set(), emails: new Set() };

/** Django's dumpdata datetimes: ISO 8601, `Z` or an offset when USE_TZ = True, naive (taken as UTC) otherwise. */
export function djangoDateSeconds(value: unknown): number | null {
  if (typeof value !== "string" || value === "") return null;
  const text = /[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : null;
}

/** Why this worker cannot verify a stored hash, or null if it can. */
export function hashProblem(encoded: string): string | null {
  if (encoded === "" || encoded.startsWith(UNUSABLE_PASSWORD_PREFIX))
    return "unusable password (set_unusable_password): no password can sign in";
  if (parsePasswordHash(encoded)) return null;
  const algorithm = encoded.split("$")[0] || "(none)";
  const iterations = /^pbkdf2_sha(?:256|1)\$(\d{1,12})\$/.exec(encoded);
  if (iterations && Number(iterations[1]) > MAX_PBKDF2_ITERATIONS) {
    return `PBKDF2 with ${iterations[1]} iterations costs more CPU per guess than this worker spends (at most ${MAX_PBKDF2_ITERATIONS}, Django 5.2 writes 1 000 000): reset the password`;
  }
  const memory = /^argon2\$[^$]+\$v=19\$m=(\d+),/.exec(encoded);
  if (memory && Number(memory[1]) > MAX_ARGON2_MEMORY_KIB) {
    return `argon2 with m=${memory[1]} KiB needs more memory than a 128 MB isolate can give (limit ${MAX_ARGON2_MEMORY_KIB} KiB): sign in once on Django with a smaller memory_cost, or reset the password`;
  }
  return `password hasher "${algorithm.slice(0, 40)}" is not verifiable here (pbkdf2_sha256, pbkdf2_sha1 and argon2 are): sign in once on Django with PBKDF2PasswordHasher first in PASSWORD_HASHERS, or reset the password`;
}

/** Django's boolean flags as dumpdata writes them (JSON true/false); absent: Django's field default. */
function flag(fields: Record<string, unknown>, name: string, fallback: boolean): boolean | string {
  const value = fields[name];
  if (value === undefined) return fallback;
  if (typeof value === "boolean") return value;
  return `${name} is ${printable(JSON.stringify(value) ?? String(value), 40)}, not true or false`;
}

/**
 * The text of a value from the file, safe for an operator's terminal: control, format (bidi) and separator
 * characters escaped as \u{…}, at most `max` characters. Nothing read from the file is printed otherwise.
 */
export function printable(text: string, max = 80): string {
  const escaped = text.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\\]/gu, (ch) =>
    ch === "\\" ? "\\\\" : `\\u{${ch.codePointAt(0)!.toString(16)}}`,
  );
  return escaped.length > max ? `${escaped.slice(0, max)}…` : escaped;
}

/** One entry's outcome: a user to import, or why not. */
type Planned = { user: ImportedUser } | { skipped: Skipped };

/**
 * A planner over a stream of dumpdata entries, one at a time (scripts/import-django.mjs feeds it while reading the
 * file, so memory grows with the ids, usernames and emails seen, never with the file).
 * @public (the script loads this file bundled, where knip cannot follow)
 */
export function createPlanner(existing: Existing = NOTHING): { add(entry: unknown): Planned } {
  const ids = new Set(existing.ids);
  const keys = new Map<string, string>([...existing.usernameKeys].map((k) => [k, "a user already in the database"]));
  const emails = new Map<string, string>([...existing.emails].map((e) => [e, "a user already in the database"]));
  return {
    add(entry) {
      const record = (typeof entry === "object" && entry !== null ? entry : {}) as {
        model?: unknown;
        pk?: unknown;
        fields?: Record<string, unknown>;
      };
      const fields = (typeof record.fields === "object" && record.fields !== null ? record.fields : {}) as Record<string, unknown>;
      const rawName = typeof fields.username === "string" ? fields.username : null;
      const skip = (reason: string): Planned => ({ skipped: { pk: record.pk ?? null, username: rawName, reason } });
      if (typeof record.model !== "string" || !/\.user$/.test(record.model)) {
        return skip(
          `model ${printable(JSON.stringify(record.model ?? null), 60)} is not a user model (dump auth.user, or your AUTH_USER_MODEL)`,
        );
      }
      if (typeof record.pk !== "number" || !Number.isInteger(record.pk) || record.pk < 1) return skip("pk is not a positive integer");
      if (!Number.isSafeInteger(record.pk)) return skip("pk is beyond JavaScript's safe integers (2^53 − 1): it cannot be an id here");
      if (record.pk > MAX_IMPORTED_ID)
        return skip(`pk is above 2^52 (${MAX_IMPORTED_ID}): later registrations count up from the largest id and must stay below 2^53 − 1`);
      const id = record.pk;
      if (rawName === null) return skip("no username field");
      const username = normalizeUsername(rawName);
      if (username.length < 1 || username.length > USERNAME_MAX_LENGTH || !USERNAME_PATTERN.test(username)) {
        return skip("username is not valid here (letters, digits and @/./+/-/_ only, at most 150)");
      }
      const usernameKey = accountKey(username);
      if (fields.email !== undefined && fields.email !== null && typeof fields.email !== "string") return skip("email is not a string");
      const email = typeof fields.email === "string" ? normalizeEmail(fields.email.trim()) : "";
      const stored = typeof fields.password === "string" ? fields.password : "";
      // Weak formats are stored wrapped in argon2id (Django's documented wrapped-hasher upgrade), never as they came.
      const weak = weakHash(stored);
      const password = weak ? wrapWeakHash(weak) : stored;
      const flags = {
        isActive: flag(fields, "is_active", true),
        isStaff: flag(fields, "is_staff", false),
        isSuperuser: flag(fields, "is_superuser", false),
      };
      const badFlag = Object.values(flags).find((f) => typeof f === "string");
      const problem = hashProblem(password);
      const dateJoined = djangoDateSeconds(fields.date_joined);
      if (problem) return skip(problem);
      if (typeof badFlag === "string") return skip(badFlag);
      if (email.length > EMAIL_MAX_LENGTH) return skip(`email longer than ${EMAIL_MAX_LENGTH} characters`);
      if (email !== "" && !EMAIL.safeParse(email).success) return skip("email is not a valid address");
      if (dateJoined === null) return skip("date_joined is missing or not a date");
      if (ids.has(id)) return skip(`id ${id} is already taken (by a user already in the database or earlier in this file)`);
      if (keys.has(usernameKey)) return skip(`username is taken, case-insensitively, by ${keys.get(usernameKey)}`);
      if (email !== "" && emails.has(email.toLowerCase()))
        return skip(`email is taken, case-insensitively, by ${emails.get(email.toLowerCase())}`);
      ids.add(id);
      keys.set(usernameKey, `"${username}" (pk ${id}) in this file`);
      if (email !== "") emails.set(email.toLowerCase(), `"${username}" (pk ${id}) in this file`);
      return {
        user: {
          id,
          username,
          usernameKey,
          email,
          passwordHash: password,
          isActive: flags.isActive as boolean,
          isStaff: flags.isStaff as boolean,
          isSuperuser: flags.isSuperuser as boolean,
          dateJoined,
          lastLogin: djangoDateSeconds(fields.last_login),
        },
      };
    },
  };
}

/** Plans an import of a whole dumpdata document against what the database already holds. */
export function planImport(dump: unknown, existing: Existing = NOTHING): ImportPlan {
  const plan: ImportPlan = { users: [], skipped: [] };
  if (!Array.isArray(dump)) {
    plan.skipped.push({ pk: null, username: null, reason: "not a dumpdata document: expected a JSON list of objects" });
    return plan;
  }
  const planner = createPlanner(existing);
  for (const entry of dump as unknown[]) {
    const planned = planner.add(entry);
    if ("user" in planned) plan.users.push(planned.user);
    else plan.skipped.push(planned.skipped);
  }
  return plan;
}

function sqlText(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** One INSERT per user; a conflict on id, username_key or lower(email) leaves the existing row untouched. */
export function importSql(users: readonly ImportedUser[]): string {
  const lines = users.map(
    (u) =>
      "INSERT INTO users (id, username, username_key, email, password_hash, is_active, is_staff, is_superuser, date_joined, last_login) VALUES (" +
      [
        u.id,
        sqlText(u.username),
        sqlText(u.usernameKey),
        sqlText(u.email),
        sqlText(u.passwordHash),
        Number(u.isActive),
        Number(u.isStaff),
        Number(u.isSuperuser),
        u.dateJoined,
        u.lastLogin ?? "NULL",
      ].join(", ") +
      ") ON CONFLICT DO NOTHING;",
  );
  return lines.join("\n") + "\n";
}
