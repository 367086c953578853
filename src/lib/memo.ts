/**
 * @module Memo — values computed once per isolate and key (imported keys, derived keys), shared by every request.
 *
 * Only the value is kept, never the promise that computes it: a request that awaits a promise settled by another
 * request's I/O is resumed in that other request and cancelled when it ends (the Workers runtime's rule; issue 26).
 * So callers that miss at the same moment each compute (a few duplicate imports on a cold isolate), and the first
 * value stored is the one every later call gets. A failed computation stores nothing: the next call retries.
 */
export class Memo<V> {
  private readonly values = new Map<string, V>();

  /** `maxKeys` bounds a map keyed by untrusted input (a Host header); past it the map starts over. */
  constructor(private readonly maxKeys = 16) {}

  async get(key: string, compute: () => Promise<V>): Promise<V> {
    const held = this.values.get(key);
    if (held !== undefined) return held;
    const value = await compute();
    const first = this.values.get(key);
    if (first !== undefined) return first;
    if (this.values.size >= this.maxKeys) this.values.clear();
    this.values.set(key, value);
    return value;
  }

  /** The value if already computed (synchronous: for hot paths that can skip an await). */
  peek(key: string): V | undefined {
    return this.values.get(key);
  }
}
