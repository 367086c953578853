/**
 * @module DB Schema — the single source of truth for D1; `npm run db:generate` turns it into migrations/.
 *
 * Storage contract (times are epoch seconds, UTC, except notes' milliseconds, below). One writer per table:
 * users by src/auth/ (service: registration, last login, hash upgrades; account: email, password, deletion;
 * the Django import through wrangler), sessions only by src/auth/sessions.ts (every write there evicts the
 * session cache; test/writers.test.ts checks no other file writes it), security_events only by
 * src/auth/events.ts, notes only by src/notes/service.ts.
 * - users: one row per account. `username_key` is the lower-cased username, unique, so
 *   "Alice" and "alice" are one account (usernames are NFKC-normalised first, as Django does); `lower(email)` is
 *   unique unless blank. `password_hash` is in one of Django's formats (src/auth/passwords.ts:
 *   `argon2$argon2id$…` for new hashes, `pbkdf2_sha256$…` from Django imports), never the password. Deleting a user cascades to sessions.
 *   `credentials_epoch` counts password changes and "sign out everywhere": a device credential is honoured only
 *   for its user id (AUTOINCREMENT: never reused by a later account) at the current epoch.
 * - sessions: one row per signed-in device. A bearer token is honoured only while its row has
 *   `revoked_at IS NULL AND expires_at > now`. Refresh-token ids are stored only as SHA-256
 *   digests (`refresh_hash` for the current token, `previous_refresh_hash` for the one rotated out
 *   at `rotated_at`, kept for REFRESH_REUSE_INTERVAL). `expires_at` is the current refresh
 *   token's expiry; rows past it, or revoked, are purged by the scheduled handler.
 * - notes: the example resource (src/notes/). `id` is 128 random bits as base64url (22 characters),
 *   so ids are neither guessable nor countable. Unlike the rest, `created_at_ms`/`updated_at_ms` are
 *   epoch *milliseconds* (the API answers ISO 8601 UTC), so ordering by creation holds for notes made
 *   within one second. Deleting a user cascades to their notes. One index per list ordering, each
 *   led by `user_id` (every query is owner-scoped) and ending in `id` (the stable tie-breaker).
 */
import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const users = sqliteTable(
  "users",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    username: text("username").notNull(),
    usernameKey: text("username_key").notNull().unique(),
    email: text("email").notNull(),
    passwordHash: text("password_hash").notNull(),
    isActive: integer("is_active", { mode: "boolean" }).notNull().default(true),
    /** Django's flags, kept so an imported admin stays one; this worker grants nothing by them. */
    isStaff: integer("is_staff", { mode: "boolean" }).notNull().default(false),
    isSuperuser: integer("is_superuser", { mode: "boolean" }).notNull().default(false),
    dateJoined: integer("date_joined").notNull(),
    lastLogin: integer("last_login"),
    passwordChangedAt: integer("password_changed_at"),
    /** Device credentials carry it; a password change or "sign out everywhere" adds one, voiding every earlier credential. */
    credentialsEpoch: integer("credentials_epoch").notNull().default(0),
  },
  // Emails unique case-insensitively (SQLite's lower() folds ASCII, as email domains are); Django allows
  // a blank email, and blank ones never clash.
  (table) => [uniqueIndex("users_email_lower_idx").on(sql`lower(${table.email})`).where(sql`${table.email} <> ''`)],
);

export const SESSION_METHODS = ["password", "qr"] as const;
export type SessionMethod = (typeof SESSION_METHODS)[number];

export const sessions = sqliteTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    userId: integer("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    method: text("method", { enum: SESSION_METHODS }).notNull(),
    userAgent: text("user_agent"),
    ip: text("ip"),
    country: text("country"),
    city: text("city"),
    createdAt: integer("created_at").notNull(),
    lastUsedAt: integer("last_used_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    revokedAt: integer("revoked_at"),
    revokedReason: text("revoked_reason"),
    refreshHash: text("refresh_hash").notNull(),
    refreshIssuedAt: integer("refresh_issued_at").notNull(),
    previousRefreshHash: text("previous_refresh_hash"),
    rotatedAt: integer("rotated_at"),
  },
  (table) => [index("sessions_user_id_idx").on(table.userId), index("sessions_expires_at_idx").on(table.expiresAt)],
);

/** What an account's security events record (GET /api/auth/events/). */
export const SECURITY_EVENT_TYPES = [
  "signed_in",
  "qr_linked",
  "password_changed",
  "password_reset",
  "session_revoked",
  "signed_out_everywhere",
] as const;
export type SecurityEventType = (typeof SECURITY_EVENT_TYPES)[number];
/** Who ended a session, for `session_revoked`: its owner from the sessions list, refresh-token reuse detection, or its own sign-out. */
export const REVOKED_BY = ["user", "reuse_detection", "sign_out"] as const;
export type RevokedBy = (typeof REVOKED_BY)[number];

/**
 * - security_events: what happened to an account's sign-ins, newest first in the API. Written only by
 *   src/auth/events.ts, in the same D1 batch as the write it describes (the session insert, the revoking UPDATE),
 *   so an event is never lost or invented. `session_id` names the session it concerns (no foreign key: sessions
 *   are purged a day after they end, events live longer); `user_agent`, `country` and `city` are copied from that
 *   session (never its IP). `sessions_ended` counts the other sessions a password change or a sign-out everywhere
 *   ended. Rows older than EVENT_RETENTION_SECONDS (90 days) are deleted by the scheduled handler; deleting a user
 *   cascades to their events.
 */
export const securityEvents = sqliteTable(
  "security_events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    userId: integer("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    type: text("type", { enum: SECURITY_EVENT_TYPES }).notNull(),
    sessionId: text("session_id"),
    revokedBy: text("revoked_by", { enum: REVOKED_BY }),
    sessionsEnded: integer("sessions_ended"),
    userAgent: text("user_agent"),
    country: text("country"),
    city: text("city"),
    createdAt: integer("created_at").notNull(),
  },
  (table) => [
    index("security_events_user_created_idx").on(table.userId, table.createdAt, table.id),
    index("security_events_created_at_idx").on(table.createdAt),
  ],
);

export const notes = sqliteTable(
  "notes",
  {
    id: text("id").primaryKey(),
    userId: integer("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    title: text("title").notNull(),
    body: text("body").notNull(),
    createdAtMs: integer("created_at_ms").notNull(),
    updatedAtMs: integer("updated_at_ms").notNull(),
  },
  (table) => [
    index("notes_user_created_idx").on(table.userId, table.createdAtMs, table.id),
    index("notes_user_updated_idx").on(table.userId, table.updatedAtMs, table.id),
    index("notes_user_title_idx").on(table.userId, table.title, table.id),
  ],
);

export type User = typeof users.$inferSelect;
export type Session = typeof sessions.$inferSelect;
export type Note = typeof notes.$inferSelect;
export type SecurityEvent = typeof securityEvents.$inferSelect;
