/** Password hashes in Django's formats, both ways; upgrades at sign-in; the cost of a refusal. */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  ARGON2_PARAMS,
  MAX_PBKDF2_ITERATIONS_PER_CALL,
  hashPassword,
  hashPasswordPbkdf2,
  kdf,
  parsePasswordHash,
  verifyPassword,
  webCryptoPbkdf2,
} from "../src/auth/passwords";
import { pbkdf2Sha256 } from "../src/auth/pbkdf2";
import { PASSWORD, api, deployedHashing, registerUser, signIn, uniqueName } from "./helpers";

// Made by Django 3.2 (Debian's python3-django) with the hashers' encode(password, salt[, iterations]).
const DJANGO = {
  pbkdf2_36k: "pbkdf2_sha256$36000$seasalt2024abcdefghijk$ICmFEA9RHgo0kEXYqwQrv/M8nWBd9Oumv3kfWOyFB20=",
  pbkdf2_100k: "pbkdf2_sha256$100000$seasalt2024abcdefghijk$yousm3WWBzoJX4/qFBObkP60w0x6kasPsRT6PyfTsb0=",
  pbkdf2_260k: "pbkdf2_sha256$260000$seasalt2024abcdefghijk$sgxUi6ZdKzeJMVaVDQyBe+1FLSTpuhl/DA14WsGs1Q4=",
  pbkdf2_1m: "pbkdf2_sha256$1000000$seasalt2024abcdefghijk$RicM3QXJzmx+bFiQYCh/nM3dwI+rYzLHPJznyCetVnY=",
  pbkdf2_sha1: "pbkdf2_sha1$30000$sha1saltabcdefghijklmn$XZZUQm8dpW51sZF2tNiAKW0WcK0=",
  argon2_owasp: "argon2$argon2id$v=19$m=19456,t=2,p=1$YXJnb25zYWx0YWJjZGVmZ2hpamtsbQ$NnCKCWCM6iS0hTz28+1n9Q",
  argon2_p2: "argon2$argon2id$v=19$m=1024,t=3,p=2$YXJnb25zYWx0YWJjZGVmZ2hpamtsbQ$eAL9hhyHS9XABylNxlbJDA",
  argon2_django_default: "argon2$argon2id$v=19$m=102400,t=2,p=8$YXJnb25zYWx0YWJjZGVmZ2hpamtsbQ$ZK5BzqyKn++0yHrCbHKKmQ",
};
const DJANGO_PASSWORD = "correct horse battery staple";

afterEach(() => vi.restoreAllMocks());

/** Records every WebCrypto PBKDF2 call's iteration count. */
function watchDeriveBits(): number[] {
  const iterations: number[] = [];
  const original = crypto.subtle.deriveBits.bind(crypto.subtle);
  vi.spyOn(crypto.subtle, "deriveBits").mockImplementation((algorithm, key, length) => {
    iterations.push((algorithm as { iterations: number }).iterations);
    return original(algorithm, key, length);
  });
  return iterations;
}

describe("hashes Django made verify here", () => {
  it.each([
    ["pbkdf2_sha256, 36 000 iterations (Django 1.11)", DJANGO.pbkdf2_36k],
    ["pbkdf2_sha256, 100 000 iterations", DJANGO.pbkdf2_100k],
    ["pbkdf2_sha256, 260 000 iterations (Django 3.2)", DJANGO.pbkdf2_260k],
    ["pbkdf2_sha256, 1 000 000 iterations (Django 5.2)", DJANGO.pbkdf2_1m],
    ["pbkdf2_sha1, 30 000 iterations", DJANGO.pbkdf2_sha1],
    ["argon2id at OWASP's parameters", DJANGO.argon2_owasp],
    ["argon2id with 2 lanes and 3 passes", DJANGO.argon2_p2],
  ])("%s: the right password verifies, a wrong one does not", { timeout: 30_000 }, async (_label, encoded) => {
    expect((await verifyPassword(DJANGO_PASSWORD, encoded)).ok).toBe(true);
    expect((await verifyPassword("correct horse battery stapl", encoded)).ok).toBe(false);
  });

  it("reuses the isolate's argon2 memory: a smaller hash after a larger one, then the larger again, all match Django", async () => {
    for (const encoded of [DJANGO.argon2_owasp, DJANGO.argon2_p2, DJANGO.argon2_owasp])
      expect((await verifyPassword(DJANGO_PASSWORD, encoded)).ok).toBe(true);
  });

  it("marks every Django hash but the current argon2id parameters for an upgrade", async () => {
    expect(await verifyPassword(DJANGO_PASSWORD, DJANGO.pbkdf2_260k)).toEqual({ ok: true, needsRehash: true });
    expect(await verifyPassword(DJANGO_PASSWORD, DJANGO.argon2_p2)).toEqual({ ok: true, needsRehash: true });
    expect(await verifyPassword(DJANGO_PASSWORD, DJANGO.argon2_owasp)).toEqual({ ok: true, needsRehash: false });
  });

  it("hashes the salt string's bytes, as Django does: the same salt gives Django's exact string", async () => {
    expect(await hashPasswordPbkdf2(DJANGO_PASSWORD, 260_000, "seasalt2024abcdefghijk")).toBe(DJANGO.pbkdf2_260k);
    expect(await hashPasswordPbkdf2(DJANGO_PASSWORD, 100_000, "seasalt2024abcdefghijk")).toBe(DJANGO.pbkdf2_100k);
  });

  it("refuses Django's default argon2 (m = 100 MiB): it cannot be held in a 128 MB isolate", async () => {
    expect(parsePasswordHash(DJANGO.argon2_django_default)).toBeNull();
    expect((await verifyPassword(DJANGO_PASSWORD, DJANGO.argon2_django_default)).ok).toBe(false);
  });
});

describe("hashes made here", () => {
  it("are argon2id at OWASP's minimum (19 MiB, 2 passes, 1 lane) in Django's format, salted per hash", async () => {
    const [a, b] = [await hashPassword(PASSWORD), await hashPassword(PASSWORD)];
    expect(a).toMatch(/^argon2\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{30}\$[A-Za-z0-9+/]{43}$/);
    expect(ARGON2_PARAMS).toEqual({ memoryKiB: 19_456, timeCost: 2, parallelism: 1 });
    expect(a).not.toBe(b);
    expect((await verifyPassword(PASSWORD, a)).ok).toBe(true);
  });

  it("derive the same PBKDF2 bytes in plain JS as WebCrypto does", async () => {
    const password = new TextEncoder().encode("pässwörd");
    const salt = new TextEncoder().encode("some salt");
    expect(pbkdf2Sha256(password, salt, 100_000)).toEqual(await webCryptoPbkdf2(password, salt, 100_000, "SHA-256", 32));
    const long = new TextEncoder().encode("x".repeat(100));
    expect(pbkdf2Sha256(long, salt, 3)).toEqual(await webCryptoPbkdf2(long, salt, 3, "SHA-256", 32));
  });
});

describe("PBKDF2 within a deployed Worker's limits", () => {
  it("never asks WebCrypto for more than 100 000 iterations, whatever the stored count", { timeout: 30_000 }, async () => {
    expect(MAX_PBKDF2_ITERATIONS_PER_CALL).toBe(100_000);
    const iterations = watchDeriveBits();
    for (const encoded of [DJANGO.pbkdf2_100k, DJANGO.pbkdf2_260k, DJANGO.pbkdf2_1m]) await verifyPassword(DJANGO_PASSWORD, encoded);
    const user = await registerUser();
    await signIn(user.username);
    await api("/api/token/", { body: { username: user.username, password: "wrong password!" } });
    await api("/api/token/", { body: { username: uniqueName("ghost"), password: "wrong password!" } });
    expect(iterations).toEqual([100_000]);
  });

  it("refuses a single WebCrypto call above the cap", async () => {
    await expect(webCryptoPbkdf2(new Uint8Array(1), new Uint8Array(16), 100_001, "SHA-256", 32)).rejects.toThrow(RangeError);
  });
});

describe("refusals", () => {
  it.each([
    ["an unusable password (Django's '!')", "!Xy8fTq0mQb3LmV9zR2aP4sN7eK1wJ6hC5uD0gF3i"],
    ["an unknown hasher", "md5$abc$0123456789abcdef0123456789abcdef"],
    ["an absurd iteration count", "pbkdf2_sha256$999999999$AAAA$AAAA"],
    ["a truncated hash", "pbkdf2_sha256$1000$salt"],
    ["argon2 of an old version", "argon2$argon2i$m=512,t=2,p=2$c29tZXNhbHQ$AAAAAAAAAAAAAAAAAAAAAA"],
  ])("%s never matches", async (_label, encoded) => {
    expect((await verifyPassword("anything at all", encoded)).ok).toBe(false);
  });

  it("costs exactly what a wrong password costs, for an unknown user and an unreadable hash", async () => {
    const argon2 = vi.spyOn(kdf, "argon2");
    const pbkdf2 = vi.spyOn(kdf, "pbkdf2");
    await verifyPassword("warm", null); // the dummy hash is made once per isolate
    argon2.mockClear();
    const stored = await hashPassword("the real password");
    argon2.mockClear();
    await verifyPassword("a guess", stored);
    await verifyPassword("a guess", null);
    await verifyPassword("a guess", "!unusable");
    const work = argon2.mock.calls.map(([variant, , salt, params, bytes]) => [
      variant,
      salt.length,
      params.memoryKiB,
      params.timeCost,
      params.parallelism,
      bytes,
    ]);
    expect(work).toHaveLength(3);
    expect(work[1]).toEqual(work[0]);
    expect(work[2]).toEqual(work[0]);
    expect(pbkdf2).not.toHaveBeenCalled();
  });
});

describe("sign-in with an old hash", () => {
  async function storedHash(userId: number): Promise<string> {
    const row = await env.DB.prepare("SELECT password_hash FROM users WHERE id = ?").bind(userId).first<{ password_hash: string }>();
    return row!.password_hash;
  }

  it("signs in with a Django pbkdf2_sha256 hash at 260 000 iterations and upgrades it to argon2id", { timeout: 30_000 }, async () => {
    const user = await registerUser();
    await env.DB.prepare("UPDATE users SET password_hash = ? WHERE id = ?").bind(DJANGO.pbkdf2_260k, user.id).run();
    expect((await api("/api/token/", { body: { username: user.username, password: "not it at all" } })).status).toBe(401);
    expect(await storedHash(user.id)).toBe(DJANGO.pbkdf2_260k);
    const deployed = deployedHashing();
    await signIn(user.username, DJANGO_PASSWORD, deployed.call);
    expect(await storedHash(user.id)).toMatch(/^argon2\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    await signIn(user.username, DJANGO_PASSWORD, deployed.call);
  });

  it("answers an unknown user and a wrong password alike, after the same hashing work", async () => {
    const deployed = deployedHashing();
    const { username } = await registerUser(undefined, PASSWORD, deployed.call);
    const argon2 = vi.spyOn(kdf, "argon2");
    await deployed.call("/api/token/", { body: { username: uniqueName("warm"), password: "whatever it is" } });
    argon2.mockClear();
    const unknown = await deployed.call("/api/token/", { body: { username: uniqueName("nobody"), password: "guess number one" } });
    const wrong = await deployed.call("/api/token/", { body: { username, password: "guess number one" } });
    const [a, b] = argon2.mock.calls.map(([variant, , salt, params, bytes]) => [
      variant,
      salt.length,
      params.memoryKiB,
      params.timeCost,
      params.parallelism,
      bytes,
    ]);
    expect(a).toEqual(["argon2id", 22, 19_456, 2, 1, 32]);
    expect(b).toEqual(a);
    expect([unknown.status, wrong.status]).toEqual([401, 401]);
    expect(await unknown.text()).toBe(await wrong.text());
  });
});
