/** Who writes what: the sessions module is the only writer of `sessions`, the events module of `security_events`; a user's deletion reaches other modules through a hook. */
import { describe, expect, it } from "vitest";
import { onUserDeleted } from "../src/auth/user-events";
import { PASSWORD, api, signUp } from "./helpers";

// Every source file as text, as Vite reads it (no file system inside workerd).
const SOURCES = import.meta.glob("../src/**/*.{ts,tsx}", { query: "?raw", import: "default", eager: true }) as Record<string, string>;

const SESSIONS_WRITE = [/\.(update|insert|delete)\(\s*sessions\s*\)/, /\b(UPDATE|INSERT\s+INTO|DELETE\s+FROM)\s+sessions\b/i];
const EVENTS_WRITE = [/\.(update|insert|delete)\(\s*securityEvents\s*\)/, /\b(UPDATE|INSERT\s+INTO|DELETE\s+FROM)\s+security_events\b/i];

describe("one writer per table", () => {
  it("reads the sources it checks", () => {
    expect(Object.keys(SOURCES).length).toBeGreaterThan(40);
    expect(SOURCES["../src/auth/sessions.ts"]).toMatch(SESSIONS_WRITE[0]!);
  });

  it("only src/auth/sessions.ts writes the sessions table (so every write evicts the session cache)", () => {
    const writers = Object.entries(SOURCES)
      .filter(([, text]) => SESSIONS_WRITE.some((pattern) => pattern.test(text)))
      .map(([path]) => path);
    expect(writers).toEqual(["../src/auth/sessions.ts"]);
  });

  it("only src/auth/events.ts writes the security_events table (so every event is batched with the write it describes)", () => {
    const writers = Object.entries(SOURCES)
      .filter(([, text]) => EVENTS_WRITE.some((pattern) => pattern.test(text)))
      .map(([path]) => path);
    expect(writers).toEqual(["../src/auth/events.ts"]);
  });

  it("auth never imports a resource module: a user's deletion is announced through a hook", () => {
    const authImportsNotes = Object.entries(SOURCES).filter(
      ([path, text]) => path.startsWith("../src/auth/") && /from "\.\.\/notes\//.test(text),
    );
    expect(authImportsNotes.map(([path]) => path)).toEqual([]);
  });
});

describe("the user-deletion hook", () => {
  it("a handler registered with onUserDeleted hears the deleted user's id, once per deletion", async () => {
    const heard: number[] = [];
    onUserDeleted((userId) => heard.push(userId));
    const user = await signUp();
    const res = await api("/api/auth/me/", { method: "DELETE", token: user.access, body: { password: PASSWORD } });
    expect(res.status).toBe(204);
    expect(heard.filter((id) => id === user.id)).toEqual([user.id]);
  });

  it("a refused deletion (wrong password) announces nothing", async () => {
    const heard: number[] = [];
    onUserDeleted((userId) => heard.push(userId));
    const user = await signUp();
    const res = await api("/api/auth/me/", { method: "DELETE", token: user.access, body: { password: "not the password" } });
    expect(res.status).toBe(400);
    expect(heard).toEqual([]);
  });
});
