/**
 * The embeddable QR login module: served at an immutable, versioned URL (the plain path redirects to it), loadable
 * from CORS_ORIGINS only, and its unsealing (client/seal.ts) opens exactly what the worker seals (src/qr/seal.ts).
 */
import { describe, expect, it } from "vitest";
import { newKeys, openSealed } from "../client/seal";
import { seal } from "../src/qr/seal";
import { rig } from "./helpers";

const APP = "https://app.example.com";
const { call } = rig({ env: { CORS_ORIGINS: APP } });

describe("GET /client/qr-login.js", () => {
  it("redirects, uncached, to the current version's URL, which serves the module for a year", async () => {
    const plain = await call("/client/qr-login.js");
    expect(plain.status).toBe(302);
    expect(plain.headers.get("cache-control")).toBe("no-cache");
    const location = plain.headers.get("location")!;
    expect(location).toMatch(/^\/client\/qr-login\.[0-9a-f]{12}\.js$/);
    const res = await call(location);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    const text = await res.text();
    expect(text).toContain("qr-login");
    expect(text).toMatch(/export\s*\{/);
    // Dependency-free: nothing imported from elsewhere.
    expect(text).not.toMatch(/\bfrom\s*["']|\bimport\s*\(\s*["']/);
  });

  it("answers 404 for any other version, so a stale URL never gets a mismatched module", async () => {
    for (const path of ["/client/qr-login.000000000000.js", "/client/qr-login.abc.js", "/client/qr-login.min.js"]) {
      const res = await call(path);
      expect([path, res.status]).toEqual([path, 404]);
    }
  });

  it("is readable by pages on CORS_ORIGINS and by nobody else's", async () => {
    const location = (await call("/client/qr-login.js")).headers.get("location")!;
    const listed = await call(location, { headers: { origin: APP } });
    expect(listed.headers.get("access-control-allow-origin")).toBe(APP);
    const foreign = await call(location, { headers: { origin: "https://evil.example" } });
    expect(foreign.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("the module's unsealing (client/seal.ts)", () => {
  it("opens the pair the worker sealed to its key, and nothing sealed for another login or key", async () => {
    const keys = await newKeys();
    const contents = { access: "a.b.c", refresh: "d.e.f", user: { id: 7, username: "alice" } };
    const sealed = await seal(keys.publicJwk, "login-id-1", contents);
    expect(await openSealed(keys.privateKey, "login-id-1", sealed)).toEqual(contents);
    await expect(openSealed(keys.privateKey, "login-id-2", sealed)).rejects.toThrow();
    const other = await newKeys();
    await expect(openSealed(other.privateKey, "login-id-1", sealed)).rejects.toThrow();
  });
});
