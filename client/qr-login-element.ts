/**
 * @module <qr-login> — the QR login as a ready element for any page on an allowed origin:
 * `<qr-login base-url="https://auth.example.com"></qr-login>`. It renders the code, the check code and every state
 * accessibly (a polite live region, a focusable heading per state, buttons for "Not you?" and "Try again") in its
 * shadow DOM, styled by CSS custom properties, and fires DOM events: `qr-login:approved` with
 * `{ pair, user }` in `detail`, and `qr-login:state` with every state. Works under a strict CSP of the
 * embedding page: no inline script or style is needed (its stylesheet is a constructed one, adopted by the
 * shadow root).
 */
import { qrSvgElement } from "./qr-draw";
import { startQrLogin, type QrLoginHandle, type QrLoginState } from "./qr-login";

const CSS = `
:host{display:inline-block;font:16px/1.5 var(--qr-login-font,system-ui,-apple-system,"Segoe UI",Roboto,sans-serif);color:var(--qr-login-fg,#1b1f24)}
.card{box-sizing:border-box;width:var(--qr-login-width,20rem);padding:var(--qr-login-padding,1rem);border:1px solid var(--qr-login-border,#d1d9e0);border-radius:var(--qr-login-radius,12px);background:var(--qr-login-bg,#fff);text-align:center}
h2{font-size:1.1rem;margin:0 0 .5rem;outline:none}
.qr{display:flex;align-items:center;justify-content:center;min-height:var(--qr-login-size,240px);background:#fff;border-radius:8px}
.qr svg{display:block;max-width:100%;height:auto}
.qr.dim svg{opacity:.15}
.code{font:700 var(--qr-login-code-size,3rem)/1.1 ui-monospace,Menlo,Consolas,monospace;letter-spacing:.1em;color:var(--qr-login-accent,#0550ae);margin:.5rem 0}
.muted{color:var(--qr-login-muted,#59636e);font-size:.9rem;margin:.25rem 0}
button{font:inherit;margin-top:.5rem;padding:.45rem .9rem;border-radius:8px;border:1px solid var(--qr-login-accent,#0550ae);background:var(--qr-login-button-bg,#fff);color:var(--qr-login-accent,#0550ae);cursor:pointer}
button:focus-visible,h2:focus-visible{outline:3px solid var(--qr-login-focus,#0969da);outline-offset:2px}
[hidden]{display:none!important}
`;

let sheet: CSSStyleSheet | null = null;
function styles(): CSSStyleSheet {
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
  }
  return sheet;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}): HTMLElementTagNameMap[K] {
  return Object.assign(document.createElement(tag), props);
}

export class QrLoginElement extends HTMLElement {
  static get observedAttributes(): string[] {
    return ["base-url"];
  }

  private login: QrLoginHandle | null = null;
  private readonly heading = el("h2", { tabIndex: -1 });
  private readonly qr = el("div", { className: "qr" });
  private readonly code = el("p", { className: "code" });
  private readonly line = el("p", { className: "muted" });
  private readonly live = el("p", { className: "muted" });
  private readonly notMe = el("button", { type: "button", textContent: "Not you? Get a new code" });
  private readonly again = el("button", { type: "button", textContent: "Try again" });
  private countdown = 0;
  private expiresAt = 0;
  private current: QrLoginState["state"] = "starting";

  constructor() {
    super();
    const root = this.attachShadow({ mode: "open" });
    root.adoptedStyleSheets = [styles()];
    this.live.setAttribute("role", "status");
    this.live.setAttribute("aria-live", "polite");
    this.qr.setAttribute("role", "img");
    const card = el("div", { className: "card" });
    card.setAttribute("part", "card");
    card.append(this.heading, this.qr, this.code, this.line, this.live, this.notMe, this.again);
    root.append(card);
    this.notMe.addEventListener("click", () => this.login?.restart());
    this.again.addEventListener("click", () => this.login?.restart());
  }

  /** The state the element shows now (also on its `state` attribute, for styling from outside). */
  get state(): QrLoginState["state"] {
    return this.current;
  }

  connectedCallback(): void {
    this.start();
  }

  disconnectedCallback(): void {
    this.login?.cancel();
    this.login = null;
    clearTimeout(this.countdown);
  }

  attributeChangedCallback(): void {
    if (this.isConnected && this.login) {
      this.login.cancel();
      this.login = null;
      this.start();
    }
  }

  /** Starts over with a new code (cancelling the current one on the server). */
  restart(): void {
    this.login?.restart();
  }

  private start(): void {
    if (this.login) return;
    this.login = startQrLogin({ baseUrl: this.getAttribute("base-url") ?? "", onState: (s) => this.render(s) });
  }

  private tick(): void {
    clearTimeout(this.countdown);
    if (this.current !== "pending" && this.current !== "scanned") return;
    const left = Math.max(0, Math.ceil((this.expiresAt - Date.now()) / 1000));
    if (this.current === "pending") this.line.textContent = `Expires in ${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
    if (left > 0) this.countdown = window.setTimeout(() => this.tick(), 1000);
  }

  private show(heading: string, options: { qr?: "show" | "dim" | "none"; code?: string; line?: string; live: string; notMe?: boolean; again?: boolean }): void {
    this.heading.textContent = heading;
    this.qr.hidden = options.qr === "none" || options.qr === undefined;
    this.qr.classList.toggle("dim", options.qr === "dim");
    this.code.hidden = !options.code;
    this.code.textContent = options.code ?? "";
    this.line.textContent = options.line ?? "";
    this.line.hidden = !options.line;
    this.live.textContent = options.live;
    this.notMe.hidden = !options.notMe;
    this.again.hidden = !options.again;
  }

  private render(s: QrLoginState): void {
    const previous = this.current;
    this.current = s.state;
    this.setAttribute("state", s.state);
    switch (s.state) {
      case "starting":
        this.show("Sign in with your phone", { live: "Getting a sign-in code…" });
        break;
      case "pending": {
        const svg = qrSvgElement(s.svg, 240);
        if (svg) this.qr.replaceChildren(svg);
        this.qr.setAttribute("aria-label", `QR code to sign in. It opens ${s.url}`);
        this.expiresAt = s.expiresAt;
        this.show("Sign in with your phone", { qr: "show", line: " ", live: "Scan the code with your phone's camera." });
        this.tick();
        break;
      }
      case "scanned":
        this.show(`Scanned by ${s.user.username}`, {
          qr: "dim",
          code: s.code,
          live: `Pick ${s.code} on your phone to sign in.`,
          notMe: true,
        });
        break;
      case "signing-in":
        this.show("Approved", { live: "Approved. Signing you in…" });
        break;
      case "approved":
        this.show(`Signed in as ${s.user.username}`, { live: `Signed in as ${s.user.username}.` });
        this.dispatchEvent(new CustomEvent("qr-login:approved", { detail: { pair: s.pair, user: s.user }, bubbles: true, composed: true }));
        break;
      case "denied":
        this.show("Sign-in cancelled", {
          live:
            s.reason === "code_mismatch"
              ? "The phone picked a different number, so the sign-in was cancelled. Nobody was signed in."
              : "The sign-in was denied on the phone. Nobody was signed in.",
          again: true,
        });
        break;
      case "expired":
        this.show("Code expired", { live: "That code expired. Getting a new one…" });
        break;
      case "error":
        this.show("No code right now", { live: `${s.message}${s.retryInMs ? ` Trying again in ${Math.ceil(s.retryInMs / 1000)} s…` : ""}`, again: s.retryInMs === null });
        break;
    }
    // A new step moves focus to its heading only if focus was inside the element (never steals it from the page).
    if (previous !== s.state && this.shadowRoot?.activeElement) this.heading.focus();
    this.dispatchEvent(new CustomEvent("qr-login:state", { detail: s.state === "approved" ? { state: s.state, user: s.user } : s, bubbles: true, composed: true }));
  }
}

/** Registers <qr-login> once (a page may load the module twice). */
export function defineQrLogin(name = "qr-login"): void {
  if (!customElements.get(name)) customElements.define(name, QrLoginElement);
}
