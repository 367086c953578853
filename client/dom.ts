/** @module DOM — what both pages use to find their elements and switch their views. */

/** The element with this id; the page's markup (src/pages/*.tsx) guarantees it exists. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  return document.getElementById(id) as T;
}

/** Shows the `[data-view]` section named `view` and hides the others. */
export function showView(view: string): void {
  const views = document.querySelectorAll<HTMLElement>("[data-view]");
  for (const el of views) el.hidden = el.getAttribute("data-view") !== view;
}

/** `body[data-state]`: for styling and for the e2e tests. */
export function setState(state: string): void {
  document.body.dataset.state = state;
}

/** "m:ss" for a number of seconds. */
export function minutesSeconds(seconds: number): string {
  return Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0");
}
