/** The Django import's planning and SQL (src/auth/django-import.ts), as plain functions, the SQL run against D1. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_IMPORTED_ID, djangoDateSeconds, hashProblem, importSql, planImport, printable } from "../src/auth/django-import";
import { md5, sha1 } from "@noble/hashes/legacy.js";
import { hashPasswordPbkdf2 } from "../src/auth/passwords";
import { api, deployedHashing, registerUser } from "./helpers";

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const utf8 = (text: string) => new TextEncoder().encode(text);

const HASH = "pbkdf2_sha256$260000$seasalt2024abcdefghijk$sgxUi6ZdKzeJMVaVDQyBe+1FLSTpuhl/DA14WsGs1Q4=";

function user(pk: number, fields: Record<string, unknown>) {
  return {
    model: "auth.user",
    pk,
    fields: {
      password: HASH,
      last_login: null,
      is_superuser: false,
      username: `u${pk}`,
      email: `u${pk}@example.com`,
      is_staff: false,
      is_active: true,
      date_joined: "2023-04-05T06:07:08.123Z",
      first_name: "",
      last_name: "",
      groups: [],
      user_permissions: [],
      ...fields,
    },
  };
}

describe("planning an import", () => {
  it("keeps Django's pk, flags and dates, and normalises username and email as Django does", () => {
    const plan = planImport([
      user(41, {
        username: "ｊｏｈｎ",
        email: "John@Example.COM",
        is_superuser: true,
        is_staff: true,
        last_login: "2024-01-01T00:00:00+01:00",
      }),
    ]);
    expect(plan.skipped).toEqual([]);
    expect(plan.users).toEqual([
      {
        id: 41,
        username: "john",
        usernameKey: "john",
        email: "John@example.com",
        passwordHash: HASH,
        isActive: true,
        isStaff: true,
        isSuperuser: true,
        dateJoined: 1680674828,
        lastLogin: 1704063600,
      },
    ]);
  });

  it("reads naive dumpdata datetimes (USE_TZ = False) as UTC", () => {
    expect(djangoDateSeconds("2023-04-05T06:07:08")).toBe(1680674828);
    expect(djangoDateSeconds(null)).toBeNull();
  });

  it.each([
    ["an unusable password", { password: "!abcdef" }, /unusable password/],
    [
      "a bcrypt hash",
      { password: "bcrypt_sha256$$2b$12$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ012" },
      /hasher "bcrypt_sha256" is not verifiable here/,
    ],
    [
      "Django's default argon2 (100 MiB)",
      { password: "argon2$argon2id$v=19$m=102400,t=2,p=8$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA" },
      /m=102400 KiB/,
    ],
    ["a username with a space", { username: "john smith" }, /username is not valid here/],
    ["no date_joined", { date_joined: null }, /date_joined/],
    [
      "PBKDF2 at 5 000 000 iterations (6 s of CPU a guess)",
      { password: "pbkdf2_sha256$5000000$salt$AAAA" },
      /5000000 iterations costs more CPU per guess/,
    ],
  ])("skips %s, saying why", (_label, fields, reason) => {
    const plan = planImport([user(7, fields)]);
    expect(plan.users).toEqual([]);
    expect(plan.skipped).toEqual([{ pk: 7, username: expect.anything(), reason: expect.stringMatching(reason) }]);
  });

  it("skips the later of two usernames equal case-insensitively, and of two equal emails", () => {
    const plan = planImport([
      user(1, { username: "Admin" }),
      user(2, { username: "ADMIN", email: "x@example.com" }),
      user(3, { email: "U1@EXAMPLE.com" }),
      user(4, { email: "" }),
      user(5, { email: "" }),
    ]);
    expect(plan.users.map((u) => u.id)).toEqual([1, 4, 5]);
    expect(plan.skipped.map((s) => [s.pk, s.reason])).toEqual([
      [2, expect.stringContaining('username is taken, case-insensitively, by "Admin" (pk 1)')],
      [3, expect.stringContaining('email is taken, case-insensitively, by "Admin" (pk 1)')],
    ]);
  });

  it("reports users already in the database instead of overwriting them", () => {
    const plan = planImport([user(1, {}), user(2, {}), user(3, {})], {
      ids: new Set([1]),
      usernameKeys: new Set(["u2"]),
      emails: new Set(["u3@example.com"]),
    });
    expect(plan.users).toEqual([]);
    expect(plan.skipped.map((s) => s.reason)).toEqual([
      expect.stringMatching(/id 1 is already taken/),
      expect.stringMatching(/username is taken/),
      expect.stringMatching(/email is taken/),
    ]);
  });

  it("skips what is not a user and says so", () => {
    expect(planImport({ not: "a list" }).skipped[0]!.reason).toMatch(/not a dumpdata document/);
    expect(planImport([{ model: "auth.group", pk: 1, fields: { name: "x" } }]).skipped[0]!.reason).toMatch(/not a user model/);
  });

  it("knows which hashes the worker verifies", () => {
    expect(hashProblem(HASH)).toBeNull();
    expect(hashProblem("argon2$argon2id$v=19$m=19456,t=2,p=1$YXJnb25zYWx0YWJjZGVmZ2hpamtsbQ$NnCKCWCM6iS0hTz28+1n9Q")).toBeNull();
    expect(hashProblem("bcrypt_sha256$$2b$12$abc")).toMatch(/bcrypt_sha256/);
  });
});

describe("a hostile dumpdata file (issue 21)", () => {
  it.each([
    ["a pk of 2^53 - 1", Number.MAX_SAFE_INTEGER, /above 2\^52/],
    ["a pk just above 2^52", MAX_IMPORTED_ID + 1, /above 2\^52/],
    ["a pk beyond JavaScript's safe integers", 1e20, /beyond JavaScript's safe integers/],
    ["a pk that is a string", "12", /not a positive integer/],
  ])("refuses %s, saying why", (_label, pk, reason) => {
    const plan = planImport([{ ...user(1, {}), pk }]);
    expect(plan.users).toEqual([]);
    expect(plan.skipped).toEqual([{ pk, username: "u1", reason: expect.stringMatching(reason) }]);
  });

  it("a pk of 2^52 is imported, and registrations after it still get distinct safe ids", async () => {
    const plan = planImport([user(MAX_IMPORTED_ID, { username: "highest", email: "highest@example.com" })]);
    expect(plan.users.map((u) => u.id)).toEqual([MAX_IMPORTED_ID]);
    await env.DB.exec(importSql(plan.users).replace(/\n/g, " "));
    const [a, b] = [await registerUser(), await registerUser()];
    expect(Number.isSafeInteger(a.id) && Number.isSafeInteger(b.id) && a.id !== b.id).toBe(true);
    expect((await api("/api/token/", { body: { username: a.username, password: "correct horse battery staple" } })).status).toBe(200);
  });

  it.each([
    ["is_active", "false"],
    ["is_active", 0],
    ["is_active", "0"],
    ["is_active", null],
    ["is_staff", "true"],
    ["is_superuser", 1],
  ])("refuses %s: %j, which is not a boolean", (name, value) => {
    const plan = planImport([user(8, { [name]: value })]);
    expect(plan.users).toEqual([]);
    expect(plan.skipped[0]!.reason).toBe(`${name} is ${JSON.stringify(value)}, not true or false`);
  });

  it.each(["<img src=x onerror=alert(1)>", "no-at-sign", "two@@example.com", "a@b@example.com"])("refuses the email %j", (email) => {
    const plan = planImport([user(9, { email })]);
    expect(plan.users).toEqual([]);
    expect(plan.skipped[0]!.reason).toBe("email is not a valid address");
  });

  it("escapes control and bidi characters before anything from the file reaches a terminal", () => {
    expect(printable("\u001b[31mevil\u001b[0m\u202e")).toBe("\\u{1b}[31mevil\\u{1b}[0m\\u{202e}");
    expect(printable("a\\b\r\n")).toBe("a\\\\b\\u{d}\\u{a}");
    expect(printable("x".repeat(200), 10)).toBe(`${"x".repeat(10)}…`);
  });
});

describe("weak hashes are wrapped in argon2id at import (issue 21)", () => {
  const PW = "correct horse battery staple";
  const weak: Array<[string, () => Promise<string>, string]> = [
    ["sha1", async () => `sha1$a1b2c$${hex(sha1(utf8(`a1b2c${PW}`)))}`, "argon2_wrapped_sha1$a1b2c$argon2id$"],
    ["md5", async () => `md5$a1b2c$${hex(md5(utf8(`a1b2c${PW}`)))}`, "argon2_wrapped_md5$a1b2c$argon2id$"],
    ["unsalted sha1", async () => `sha1$$${hex(sha1(utf8(PW)))}`, "argon2_wrapped_unsalted_sha1$$argon2id$"],
    ["unsalted md5", async () => hex(md5(utf8(PW))), "argon2_wrapped_unsalted_md5$$argon2id$"],
    [
      "PBKDF2 at 1 000 iterations",
      () => hashPasswordPbkdf2(PW, 1_000, "lowsalt123"),
      "argon2_wrapped_pbkdf2_sha256$1000$lowsalt123$argon2id$",
    ],
  ];

  it.each(weak)(
    "%s: stored wrapped (the old digest nowhere in it), signs in with the Django password, then becomes argon2id",
    async (label, make, prefix) => {
      const original = await make();
      const pk = 95_000 + weak.findIndex(([l]) => l === label);
      const plan = planImport([user(pk, { username: `weak${pk}`, email: `weak${pk}@example.com`, password: original })]);
      expect(plan.skipped).toEqual([]);
      const stored = plan.users[0]!.passwordHash;
      expect(stored.startsWith(prefix)).toBe(true);
      expect(stored).not.toContain(original.split("$").at(-1));
      await env.DB.exec(importSql(plan.users).replace(/\n/g, " "));
      expect((await api("/api/token/", { body: { username: `weak${pk}`, password: "not the password" } })).status).toBe(401);
      expect((await deployedHashing().call("/api/token/", { body: { username: `weak${pk}`, password: PW } })).status).toBe(200);
      const row = await env.DB.prepare("SELECT password_hash FROM users WHERE id = ?").bind(pk).first<{ password_hash: string }>();
      expect(row!.password_hash).toMatch(/^argon2\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    },
  );

  it("PBKDF2 at 100 000 iterations or more is kept as it is (each guess already costs)", async () => {
    const plan = planImport([user(96_000, { password: HASH })]);
    expect(plan.users[0]!.passwordHash).toBe(HASH);
  });
});

describe("the import's SQL", () => {
  it("writes users whose email holds a quote, is idempotent, and they sign in with their Django password", async () => {
    const plan = planImport([user(90_001, { username: "obrien", email: "o'brien@example.com" })]);
    const sql = importSql(plan.users);
    for (let run = 0; run < 2; run++) await env.DB.exec(sql.replace(/\n/g, " "));
    const rows = await env.DB.prepare("SELECT id, email, is_staff FROM users WHERE username_key = 'obrien'").all();
    expect(rows.results).toEqual([{ id: 90_001, email: "o'brien@example.com", is_staff: 0 }]);
    const res = await api("/api/token/", { body: { username: "OBrien", password: "correct horse battery staple" } });
    expect(res.status).toBe(200);
  });
});
