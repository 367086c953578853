/**
 * @module Resource — one descriptor per resource: its tag and description, its routes, the drizzle tables it owns and
 * what it does when a user is deleted. src/app.ts lists every descriptor once; what the worker serves, the OpenAPI
 * document (its tags, which routes may answer 503) and the tests' shared tables are all derived from that list.
 */
import type { Table } from "drizzle-orm";
import type { AnyRoute } from "./endpoint";

export interface Resource {
  /** The OpenAPI tag every route of the resource is listed under. */
  tag: string;
  /** The tag's description in the document. */
  description: string;
  routes: readonly AnyRoute[];
  /** The drizzle tables (src/db/schema.ts) only this resource writes; every table has exactly one owner. */
  tables?: readonly Table[];
  /** Forget what this isolate keeps for a deleted user (the rows go by the foreign keys' cascade). */
  onUserDeleted?: (userId: number) => void;
  /** Whether its routes read or write D1, so may answer 503 (src/db/guard.ts); a route may say otherwise. Default true. */
  usesD1?: boolean;
}

/** A route as the app mounts and documents it: its resource's tag, and whether it needs D1 settled. */
export type MountedRoute = AnyRoute & { tag: string; usesD1: boolean };

/** Types a resource descriptor; returns it unchanged. */
export function defineResource(resource: Resource): Resource {
  return resource;
}

/** Every route of `resources`, in order; a bearer route always needs D1 (its session is read there). */
export function routesOf(resources: readonly Resource[]): MountedRoute[] {
  return resources.flatMap((resource) =>
    resource.routes.map((route) => ({
      ...route,
      tag: resource.tag,
      usesD1: route.usesD1 ?? (route.auth === "bearer" || (resource.usesD1 ?? true)),
    })),
  );
}
