/**
 * @module Lazy — a module-level object built on first use instead of when the module loads.
 *
 * zod builds a schema eagerly and expensively (each instance gets its ~60 methods as closures): the wire, body and
 * query schemas built at load took a fresh isolate ~20 ms CPU before its first answer, most of them for routes that
 * answer later or never (docs/benchmarks.md, "Cold start"). `lazy(() => z.object(…))` stands in for the schema:
 * the first property read, `instanceof` or `in` builds it, synchronously, and every later one reads the same object,
 * a value kept by the isolate (no promise or I/O shared between requests: issue 26).
 */

/** Marks the proxies `lazy` returns, so `built` can tell them from the objects they stand in for. */
const REAL = Symbol("lazy.real");

export function lazy<T extends object>(build: () => T): T {
  let value: T | undefined;
  const real = (): T => (value ??= build());
  // The target is only a placeholder: every trap answers from the built object.
  return new Proxy(Object.create(null) as T, {
    get: (_target, key) => {
      const object = real();
      return key === REAL ? object : Reflect.get(object, key, object);
    },
    set: (_target, key, next) => Reflect.set(real(), key, next),
    has: (_target, key) => Reflect.has(real(), key),
    getPrototypeOf: () => Reflect.getPrototypeOf(real()),
    ownKeys: () => Reflect.ownKeys(real()),
    getOwnPropertyDescriptor: (_target, key) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(real(), key);
      // A proxy may not report a property its (empty, extensible) target lacks as non-configurable.
      return descriptor && { ...descriptor, configurable: true };
    },
    defineProperty: (_target, key, descriptor) => Reflect.defineProperty(real(), key, descriptor),
    deleteProperty: (_target, key) => Reflect.deleteProperty(real(), key),
  });
}

/**
 * The object a `lazy` stand-in stands for, built now (any other value as it is). A schema composed into another
 * (a field of an object, an array's element, a union's option) must be the real one: zod's JSON Schema generator
 * keys what it has seen by the object itself, and would not recognise a stand-in as the schema it stands for.
 */
export function built<T>(value: T): T {
  return ((value as { [REAL]?: T } | null)?.[REAL] as T | undefined) ?? value;
}

/** Whether `value` is a stand-in `lazy` returned (built or not). */
export function isLazy(value: unknown): boolean {
  return typeof value === "object" && value !== null && built(value) !== value;
}
