/**
 * @module User Events — what auth announces about a user to the modules that keep per-user state, so auth
 * never imports them: a resource registers its handler in src/app.ts (the composition root).
 */

/** Called after a user row is deleted (the foreign keys have already cascaded to the user's rows). */
export type UserDeletedHandler = (userId: number) => void;

// A Set: createApp() may run more than once per isolate (tests), and a handler counts once.
const deletedHandlers = new Set<UserDeletedHandler>();

export function onUserDeleted(handler: UserDeletedHandler): void {
  deletedHandlers.add(handler);
}

export function announceUserDeleted(userId: number): void {
  for (const handler of deletedHandlers) handler(userId);
}
