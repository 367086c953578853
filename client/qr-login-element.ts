/**
 * @module <qr-login> — the QR login as a ready element for any page on an allowed origin:
 * `<qr-login base-url="https://auth.example.com"></qr-login>`. It renders the code, the input for the number the
 * phone shows, and every state accessibly (a polite live region, a focusable heading per state, a labelled input that
 * takes typing and paste, buttons for "Not you?" and "Try again") in its shadow DOM, with the /login page's look and
 * words (./qr-text.ts), styled by CSS custom properties, and fires DOM events: `qr-login:approved` with
 * `{ pair, user }` in `detail`, and `qr-login:state` with every state. Works under a strict CSP of the
 * embedding page: no inline script or style is needed (its stylesheet is a constructed one, adopted by the
 * shadow root).
 */
import { qrSvgElement } from "./qr-draw";
import { startQrLogin, type QrConnection, type QrLoginHandle, type QrLoginState } from "./qr-login";
import { CODE_HINT, CODE_INVALID, connectionText, countdownText, qrLabel, qrStateText, type QrStateText } from "./qr-text";

// The /login page's palette (src/pages/styles.ts): one look for both.
const CSS = `
:host{display:inline-block;font:16px/1.5 var(--qr-login-font,system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",Arial,sans-serif);color:var(--qr-login-fg,#1b1f24)}
.card{box-sizing:border-box;width:var(--qr-login-width,20rem);padding:var(--qr-login-padding,1rem);border:1px solid var(--qr-login-border,#d5dae0);border-radius:var(--qr-login-radius,16px);background:var(--qr-login-bg,#fff);text-align:center}
h2{font-size:1.15rem;margin:0 0 .5rem;outline:none}
.qr{display:flex;align-items:center;justify-content:center;min-height:var(--qr-login-size,240px);background:#fff;border-radius:12px}
.qr svg{display:block;max-width:100%;height:auto}
.qr.dim svg{opacity:.12}
form{margin:.5rem 0;text-align:left}
label{display:block;font-weight:600;margin:0 0 .25rem}
.row{display:flex;gap:.5rem}
input{box-sizing:border-box;width:6ch;min-height:44px;font:600 1.75rem/1 ui-monospace,Menlo,Consolas,monospace;letter-spacing:.15em;text-align:center;border:1px solid var(--qr-login-muted,#4a5360);border-radius:10px;padding:4px 6px;color:inherit;background:inherit}
.muted{color:var(--qr-login-muted,#4a5360);font-size:.9rem;margin:.25rem 0}
.error{color:var(--qr-login-danger,#b3261e);font-size:.9rem;margin:.25rem 0}
button{font:inherit;font-weight:600;min-height:44px;padding:.45rem .9rem;border-radius:10px;border:1px solid var(--qr-login-accent,#0b57d0);background:var(--qr-login-button-bg,#fff);color:var(--qr-login-accent,#0b57d0);cursor:pointer}
button.primary{background:var(--qr-login-accent,#0b57d0);color:var(--qr-login-on-accent,#fff)}
button:disabled{opacity:.6}
button:focus-visible,h2:focus-visible,input:focus-visible{outline:3px solid var(--qr-login-focus,#0b57d0);outline-offset:2px}
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
  private readonly form = el("form", { noValidate: true });
  private readonly label = el("label");
  private readonly input = el("input", { inputMode: "numeric", autocomplete: "one-time-code", maxLength: 8, required: true, name: "code" });
  private readonly submit = el("button", { type: "submit", className: "primary", textContent: "Continue" });
  private readonly hint = el("p", { className: "muted", textContent: CODE_HINT });
  private readonly error = el("p", { className: "error" });
  private readonly line = el("p", { className: "muted" });
  private readonly live = el("p", { className: "muted" });
  private readonly notMe = el("button", { type: "button", textContent: "Not you? Get a new code" });
  private readonly again = el("button", { type: "button", textContent: "Try again" });
  private countdown = 0;
  private expiresAt = 0;
  private current: QrLoginState["state"] = "starting";
  // The state on screen: its status line comes back when a lost connection is live again.
  private shown: QrLoginState = { state: "starting" };

  constructor() {
    super();
    const root = this.attachShadow({ mode: "open" });
    root.adoptedStyleSheets = [styles()];
    this.live.setAttribute("role", "status");
    this.live.setAttribute("aria-live", "polite");
    this.qr.setAttribute("role", "img");
    this.input.id = "code";
    this.label.htmlFor = "code";
    this.hint.id = "hint";
    this.error.id = "error";
    this.error.setAttribute("role", "alert");
    this.error.hidden = true;
    this.input.setAttribute("aria-describedby", "hint error");
    const row = el("div", { className: "row" });
    row.append(this.input, this.submit);
    this.form.append(this.label, row, this.hint, this.error);
    this.form.hidden = true;
    const card = el("div", { className: "card" });
    card.setAttribute("part", "card");
    card.append(this.heading, this.qr, this.form, this.line, this.live, this.notMe, this.again);
    root.append(card);
    // Typed or pasted (" 4 2 " becomes "42"); Enter or Continue sends it once.
    this.input.addEventListener("input", () => {
      const digits = this.input.value.replace(/\D+/g, "").slice(0, 2);
      if (digits !== this.input.value) this.input.value = digits;
      this.error.hidden = true;
    });
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      if (this.login?.submitCode(this.input.value)) return;
      this.error.textContent = CODE_INVALID;
      this.error.hidden = false;
      this.input.focus();
    });
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
    this.login = startQrLogin({
      baseUrl: this.getAttribute("base-url") ?? "",
      onState: (s) => this.render(s),
      onConnection: (c) => this.connection(c),
    });
  }

  private tick(): void {
    clearTimeout(this.countdown);
    if (this.current !== "pending" && this.current !== "scanned" && this.current !== "confirming") return;
    const left = Math.max(0, Math.ceil((this.expiresAt - Date.now()) / 1000));
    if (this.current === "pending") this.line.textContent = countdownText(left);
    if (left > 0) this.countdown = window.setTimeout(() => this.tick(), 1000);
  }

  private show(text: QrStateText, options: { qr?: "show" | "dim" | "none"; line?: string; notMe?: boolean; again?: boolean } = {}): void {
    this.heading.textContent = text.title;
    this.qr.hidden = options.qr === "none" || options.qr === undefined;
    this.qr.classList.toggle("dim", options.qr === "dim");
    this.line.textContent = options.line ?? "";
    this.line.hidden = !options.line;
    this.live.textContent = text.status;
    this.live.hidden = !text.status;
    this.notMe.hidden = !options.notMe;
    this.again.hidden = !options.again;
  }

  /** A lost socket is said in the live region, as on /login; back live, the state's own line returns. */
  private connection(c: QrConnection): void {
    const lost = connectionText(c);
    const text = lost ?? (c.status === "live" ? qrStateText(this.shown).status : null);
    if (text === null) return;
    this.live.textContent = text;
    this.live.hidden = !text;
  }

  private render(s: QrLoginState): void {
    const previous = this.current;
    this.shown = s;
    this.current = s.state;
    this.setAttribute("state", s.state);
    const text = qrStateText(s);
    this.form.hidden = s.state !== "scanned" && s.state !== "confirming";
    switch (s.state) {
      case "pending": {
        const svg = qrSvgElement(s.svg, 240);
        if (svg) this.qr.replaceChildren(svg);
        this.qr.setAttribute("aria-label", qrLabel(s.url));
        this.expiresAt = s.expiresAt;
        this.show(text, { qr: "show", line: " " });
        this.tick();
        break;
      }
      case "scanned":
        this.label.textContent = text.prompt!;
        this.input.value = "";
        this.input.disabled = this.submit.disabled = false;
        this.error.hidden = true;
        this.show(text, { qr: "dim", notMe: true });
        // The next thing to do is to type: focus the input if focus was inside the element.
        if (this.shadowRoot?.activeElement) this.input.focus();
        break;
      case "confirming":
        this.input.disabled = this.submit.disabled = true;
        this.show(text, { qr: "dim", notMe: true });
        break;
      case "approved":
        this.show(text);
        this.dispatchEvent(new CustomEvent("qr-login:approved", { detail: { pair: s.pair, user: s.user }, bubbles: true, composed: true }));
        break;
      case "denied":
        this.show(text, { again: true });
        break;
      case "error":
        this.show(text, { again: s.retryInMs === null });
        break;
      default:
        this.show(text);
    }
    // A new step moves focus to its heading only if focus was inside the element (never steals it from the page).
    if (previous !== s.state && s.state !== "scanned" && this.shadowRoot?.activeElement) this.heading.focus();
    this.dispatchEvent(
      new CustomEvent("qr-login:state", {
        detail: s.state === "approved" ? { state: s.state, user: s.user } : s,
        bubbles: true,
        composed: true,
      }),
    );
  }
}

/** Registers <qr-login> once (a page may load the module twice). */
export function defineQrLogin(name = "qr-login"): void {
  if (!customElements.get(name)) customElements.define(name, QrLoginElement);
}
