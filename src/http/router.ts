/**
 * @module Router — the app's Hono router: Hono's RegExpRouter with its matchers built at build time. A fresh isolate's
 * first request no longer builds them from every route (5-7 ms in node, most of the first /health's routing):
 * scripts/build-router.mjs evaluates createApp() in node and writes the matchers of its paths to
 * src/http/router.generated.ts (git-ignored, rebuilt by every build, test and typecheck, like the client bundles).
 */
import type { Result, Router } from "hono/router";
import { PreparedRegExpRouter, RegExpRouter } from "hono/router/reg-exp-router";
import { SmartRouter } from "hono/router/smart-router";
import { TrieRouter } from "hono/router/trie-router";
import { PREPARED_PATHS, preparedParams } from "./router.generated";

type Route<T> = [method: string, path: string, handler: T];

/** Whether the routes' paths, in the order they were added, are the ones the prepared matchers were built for. */
function matchesPrepared(routes: readonly Route<unknown>[], prepared: readonly string[] | null): boolean {
  if (prepared === null) return false;
  const paths = [...new Set(routes.map(([, path]) => path))];
  return paths.length === prepared.length && paths.every((path, i) => path === prepared[i]);
}

/**
 * Collects the routes as they are added and, on the first match, hands them to the prepared RegExpRouter when their
 * paths are the ones it was built for, else to Hono's default (RegExpRouter, TrieRouter for what it cannot take): a
 * route added since the last build costs the cold start, never a wrong answer. `name` then says which one serves.
 */
export class AppRouter<T> implements Router<T> {
  name = "AppRouter";
  #routes: Route<T>[] | null = [];
  readonly #prepared: readonly string[] | null;

  /** `prepared`: the paths the generated matchers were built for (tests pass others to see the fallback). */
  constructor(prepared: readonly string[] | null = PREPARED_PATHS) {
    this.#prepared = prepared;
  }

  add(method: string, path: string, handler: T): void {
    if (this.#routes === null) throw new Error("Can not add a route since the matcher is already built.");
    this.#routes.push([method, path, handler]);
  }

  match(method: string, path: string): Result<T> {
    const routes = this.#routes;
    if (routes === null) throw new Error("AppRouter: the matcher was replaced on the first match");
    const router: Router<T> = matchesPrepared(routes, this.#prepared)
      ? new PreparedRegExpRouter<T>(...(preparedParams() as ConstructorParameters<typeof PreparedRegExpRouter<T>>))
      : new SmartRouter<T>({ routers: [new RegExpRouter(), new TrieRouter()] });
    for (const [m, p, handler] of routes) router.add(m, p, handler);
    this.#routes = null;
    const result = router.match(method, path);
    // Every later match goes straight to the chosen router, as Hono's SmartRouter does (bound after its own first
    // match, when the SmartRouter has put its chosen router's match in place).
    this.match = router.match.bind(router);
    this.name = router.name;
    return result;
  }
}
