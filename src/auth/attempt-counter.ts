/**
 * @module Attempt Counter — an exact sliding-window count of failed attempts for one key, kept in
 * that key's own Durable Object.
 *
 * Why a Durable Object: the Rate Limiting binding counts per location and approximately, and D1 would
 * need a table and two statements per attempt; one object per account is a single-threaded owner of
 * the count, so "at most N failures per window" holds exactly, from any number of IPs and isolates.
 *
 * Objects, by name (src/http/ratelimit.ts budgetObjectName): `password:<account key>` for untrusted
 * sign-ins, `device:<device credential jti>` for a client that signed in before, `user-password:<user id>`
 * for a signed-in user's own password checks.
 * Storage contract: key `attempts` holds `[{id, atMs}]` (epoch ms, no usernames or passwords). An alarm
 * one window after the last reservation deletes everything, so idle accounts keep no storage.
 */
import { DurableObject } from "cloudflare:workers";

export interface Attempt {
  id: string;
  /** Epoch milliseconds, from the calling worker's clock. */
  atMs: number;
}

export type Reservation = { ok: true; id: string } | { ok: false; retryAfterSeconds: number };

/**
 * Pure policy: drops attempts older than the window, then takes a slot if fewer than `limit` remain.
 * Refused: how long until the oldest slot frees (at least 1 s).
 */
export function reserveSlot(
  attempts: readonly Attempt[],
  input: { nowMs: number; limit: number; windowMs: number; id: string },
): { attempts: Attempt[]; reservation: Reservation } {
  const live = attempts.filter((a) => a.atMs > input.nowMs - input.windowMs);
  if (live.length >= input.limit) {
    const oldest = Math.min(...live.map((a) => a.atMs));
    const retryAfterSeconds = Math.max(1, Math.ceil((oldest + input.windowMs - input.nowMs) / 1000));
    return { attempts: live, reservation: { ok: false, retryAfterSeconds } };
  }
  return { attempts: [...live, { id: input.id, atMs: input.nowMs }], reservation: { ok: true, id: input.id } };
}

const KEY = "attempts";

export class AttemptCounter extends DurableObject {
  // The synchronous KV API (SQLite-backed objects): no await between reading the count and writing it,
  // so concurrent calls cannot interleave there and the count stays exact. No instance fields.
  #read(): Attempt[] {
    return this.ctx.storage.kv.get<Attempt[]>(KEY) ?? [];
  }

  /**
   * Takes a slot before the password is checked (so concurrent guesses cannot all slip past the
   * count); the caller releases it if the password was right, so only failures count.
   */
  async reserve(nowMs: number, limit: number, windowMs: number): Promise<Reservation> {
    const { attempts, reservation } = reserveSlot(this.#read(), { nowMs, limit, windowMs, id: crypto.randomUUID() });
    this.ctx.storage.kv.put(KEY, attempts);
    // The alarm runs on real time, one window after the last reservation: everything is stale by then.
    await this.ctx.storage.setAlarm(Date.now() + windowMs);
    return reservation;
  }

  async release(id: string): Promise<void> {
    const current = this.#read();
    const attempts = current.filter((a) => a.id !== id);
    if (attempts.length !== current.length) this.ctx.storage.kv.put(KEY, attempts);
  }

  override async alarm(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }
}
