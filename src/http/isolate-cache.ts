/**
 * @module Isolate Cache — the mechanism under the per-isolate caches of D1 reads (session rows, pages of
 * notes). Its users keep their instance in module state: it lives as long as the isolate, and every
 * request of the isolate shares it.
 *
 * - A value read at time t answers until t + ttl, t being when the read *started*; a clock that went
 *   backwards counts as stale, never as fresh. ttl 0: every call loads, nothing is kept or shared.
 * - Every miss runs its own load: concurrent cold reads of one key each read D1, and the newest read wins the
 *   slot. Sharing a load would hand one request's I/O to another: the Workers runtime then resumes the
 *   follower in the leader's request and cancels it when the leader ends (a hang, then a 500; issue 26).
 *   Only values are shared between requests, never a promise.
 * - Each value has an owner (a user id). After a write, `evict(key)` or `evictOwner(owner)` drops what
 *   it changed, and a load in flight for it never stores what it saw: the isolate that wrote sees the
 *   write on its very next read. A load whose owner is not known until it returns is treated as
 *   belonging to every owner.
 * - `keep` decides whether a value may be stored and served at a given time (default: always).
 * - `readAfterMs` (a client's bookmark time): a copy whose read started before it is not served, but replaced.
 * - Bounded: least recently used values go first beyond maxEntries, or beyond maxWeight by `weigh`.
 */

export interface IsolateCacheOptions<V> {
  maxEntries: number;
  keep?: (value: V, nowMs: number) => boolean;
  maxWeight?: number;
  weigh?: (value: V) => number;
}

interface Entry<V> {
  value: V;
  owner: number;
  /** Clock time (ms) when the load that produced `value` started. */
  readAtMs: number;
  weight: number;
}

/** A load in flight: bookkeeping only (no promise), so an eviction can tell it not to store. */
interface Flight {
  /** null: not known until the load returns. */
  owner: number | null;
  /** Set by an eviction while in flight: the value must not be stored. */
  stale: boolean;
}

export class IsolateCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly inflight = new Map<string, Set<Flight>>();
  private weight = 0;

  constructor(private readonly options: IsolateCacheOptions<V>) {}

  get size(): number {
    return this.entries.size;
  }

  /** Total weight held, as charged against maxWeight. */
  get heldWeight(): number {
    return this.weight;
  }

  /**
   * The value for `key`: the isolate's copy if younger than `ttlMs`, else from `load`. `owner` is the
   * user id the value belongs to, or a function that reads it off the loaded value when it is not known
   * before (then an eviction of any owner abandons the load).
   */
  async read(
    key: string,
    owner: number | ((value: V) => number),
    nowMs: number,
    ttlMs: number,
    load: () => Promise<V>,
    readAfterMs?: number,
  ): Promise<V> {
    if (ttlMs <= 0) return load();
    const entry = this.entries.get(key);
    if (entry) {
      const age = nowMs - entry.readAtMs;
      if (age >= 0 && age < ttlMs && (readAfterMs === undefined || entry.readAtMs >= readAfterMs) && this.keeps(entry.value, nowMs)) {
        // Most recently used last, so the first key is the one to drop.
        this.entries.delete(key);
        this.entries.set(key, entry);
        return entry.value;
      }
      this.drop(key, entry);
    }
    const flight: Flight = { owner: typeof owner === "number" ? owner : null, stale: false };
    let flights = this.inflight.get(key);
    if (!flights) this.inflight.set(key, (flights = new Set()));
    flights.add(flight);
    let value: V;
    try {
      value = await load();
    } finally {
      flights.delete(flight);
      if (flights.size === 0 && this.inflight.get(key) === flights) this.inflight.delete(key);
    }
    if (!flight.stale && this.keeps(value, nowMs)) {
      // Of two loads of one key, the one that started later holds the fresher value.
      const held = this.entries.get(key);
      if (!held || held.readAtMs <= nowMs) this.store(key, value, typeof owner === "number" ? owner : owner(value), nowMs);
    }
    return value;
  }

  /** Replaces a held value in place (keeping its age), e.g. to record a write the value reflects. */
  update(key: string, change: (value: V) => V): void {
    const entry = this.entries.get(key);
    if (entry) entry.value = change(entry.value);
  }

  /** After a write that changed the value of `key`. */
  evict(key: string): void {
    const entry = this.entries.get(key);
    if (entry) this.drop(key, entry);
    const flights = this.inflight.get(key);
    if (flights) this.abandon(key, flights);
  }

  /** After a write that changed every value of `owner` (or deleted the owner). */
  evictOwner(owner: number): void {
    // A few thousand entries at most: tens of µs, well under the write's own D1 round trip.
    for (const [key, entry] of this.entries) if (entry.owner === owner) this.drop(key, entry);
    for (const flights of this.inflight.values())
      for (const flight of flights) if (flight.owner === null || flight.owner === owner) flight.stale = true;
  }

  clear(): void {
    this.entries.clear();
    this.weight = 0;
    for (const [key, flights] of this.inflight) this.abandon(key, flights);
  }

  private keeps(value: V, nowMs: number): boolean {
    return this.options.keep?.(value, nowMs) ?? true;
  }

  private store(key: string, value: V, owner: number, nowMs: number): void {
    const previous = this.entries.get(key);
    if (previous) this.drop(key, previous);
    const weight = this.options.weigh?.(value) ?? 0;
    const maxWeight = this.options.maxWeight ?? Infinity;
    if (weight > maxWeight) return;
    this.entries.set(key, { value, owner, readAtMs: nowMs, weight });
    this.weight += weight;
    while (this.entries.size > this.options.maxEntries || this.weight > maxWeight) {
      const [oldestKey, oldest] = this.entries.entries().next().value!;
      this.drop(oldestKey, oldest);
    }
  }

  private drop(key: string, entry: Entry<V>): void {
    this.entries.delete(key);
    this.weight -= entry.weight;
  }

  /** The loads in flight for `key` will not store what they saw. */
  private abandon(key: string, flights: Set<Flight>): void {
    for (const flight of flights) flight.stale = true;
    this.inflight.delete(key);
  }
}
