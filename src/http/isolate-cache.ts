/**
 * @module Isolate Cache — the mechanism under the per-isolate caches of D1 reads (session rows, pages of
 * notes). Its users keep their instance in module state: it lives as long as the isolate, and every
 * request of the isolate shares it.
 *
 * - A value read at time t answers until t + ttl, t being when the read *started*; a clock that went
 *   backwards counts as stale, never as fresh. ttl 0: every call loads, nothing is kept or shared.
 * - One load per key at a time: concurrent cold reads share it.
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

interface Flight<V> {
  reading: Promise<V>;
  /** null: not known until the load returns. */
  owner: number | null;
  /** Set by an eviction while in flight: the value must not be stored. */
  stale: boolean;
}

export class IsolateCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly inflight = new Map<string, Flight<V>>();
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
  async read(key: string, owner: number | ((value: V) => number), nowMs: number, ttlMs: number, load: () => Promise<V>, readAfterMs?: number): Promise<V> {
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
    const pending = this.inflight.get(key);
    // A load that started before the bookmark may not have seen its write.
    if (pending && readAfterMs === undefined) return pending.reading;
    const flight: Flight<V> = { reading: load(), owner: typeof owner === "number" ? owner : null, stale: false };
    this.inflight.set(key, flight);
    let value: V;
    try {
      value = await flight.reading;
    } finally {
      if (this.inflight.get(key) === flight) this.inflight.delete(key);
    }
    if (!flight.stale && this.keeps(value, nowMs)) this.store(key, value, typeof owner === "number" ? owner : owner(value), nowMs);
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
    const flight = this.inflight.get(key);
    if (flight) this.abandon(key, flight);
  }

  /** After a write that changed every value of `owner` (or deleted the owner). */
  evictOwner(owner: number): void {
    // A few thousand entries at most: tens of µs, well under the write's own D1 round trip.
    for (const [key, entry] of this.entries) if (entry.owner === owner) this.drop(key, entry);
    for (const [key, flight] of this.inflight) if (flight.owner === null || flight.owner === owner) this.abandon(key, flight);
  }

  clear(): void {
    this.entries.clear();
    this.weight = 0;
    for (const [key, flight] of this.inflight) this.abandon(key, flight);
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

  /** Later reads start their own load; this one will not store. */
  private abandon(key: string, flight: Flight<V>): void {
    flight.stale = true;
    this.inflight.delete(key);
  }
}
