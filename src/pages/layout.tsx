/** @module Page Layout — the HTML document both pages share: inline CSS and script (built from client/) under the response's CSP nonce. */
import type { Child } from "hono/jsx";
import { PAGE_CSS } from "./styles";

/** JSON safe inside a <script> data block: no `</script>`, no line separators that end a JS string. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

export interface DocumentProps {
  title: string;
  nonce: string;
  /** Initial `data-state` on <body> (the client script moves it on). */
  state: string;
  narrow?: boolean;
  /** Read by the script from `#page-data` (a data block, never executed). */
  data?: unknown;
  script?: string;
  /** REFRESH_COOKIE=on: client/auth.ts keeps the refresh token in the HttpOnly cookie, never in storage. */
  refreshCookie?: boolean;
  children: Child;
}

export function Document(props: DocumentProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <meta name="robots" content="noindex" />
        <meta name="referrer" content="no-referrer" />
        {props.refreshCookie && <meta name="refresh-cookie" content="on" />}
        <title>{props.title}</title>
        {/* No favicon request: nothing leaves the page but the API calls. */}
        <link rel="icon" href="data:," />
        <style nonce={props.nonce} dangerouslySetInnerHTML={{ __html: PAGE_CSS }} />
      </head>
      <body class={props.narrow ? "narrow" : undefined} data-state={props.state}>
        {props.children}
        {props.data !== undefined && (
          <script type="application/json" id="page-data" dangerouslySetInnerHTML={{ __html: jsonForScript(props.data) }} />
        )}
        {props.script && <script nonce={props.nonce} dangerouslySetInnerHTML={{ __html: props.script }} />}
      </body>
    </html>
  );
}
