/** @module Login Page — GET /login: the desktop's QR code, its countdown and the live sign-in state. */
import { AUTH_CLIENT_JS } from "./client/auth";
import { LOGIN_CLIENT_JS } from "./client/login";
import { Document } from "./layout";
import type { QrGeometry } from "./qr-svg";

/** POST /api/qr/'s answer, as the page embeds it for its script. */
export interface QrCreated {
  id: string;
  secret: string;
  qr_url: string;
  ws_url: string;
  svg_url: string;
  expires_at: string;
}

export interface LoginPageProps {
  nonce: string;
  /** The first code, created while rendering; null when that failed (the script retries). */
  code: QrCreated | null;
  geometry: QrGeometry | null;
  serverNowMs: number;
}

function countdownText(code: QrCreated | null, nowMs: number): string {
  if (!code) return "";
  const left = Math.max(0, Math.ceil((Date.parse(code.expires_at) - nowMs) / 1000));
  return `Expires in ${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
}

function QrImage({ geometry }: { geometry: QrGeometry }) {
  return (
    <svg xmlns="http://www.w3.org/2000/svg" viewBox={geometry.viewBox} width={geometry.sizePx} height={geometry.sizePx} aria-hidden="true" focusable="false">
      <rect width="100%" height="100%" fill="#fff" />
      <path d={geometry.d} fill="#000" shape-rendering="crispEdges" />
    </svg>
  );
}

export function LoginPage(props: LoginPageProps) {
  const { code, geometry } = props;
  const ready = code !== null && geometry !== null;
  return (
    <Document
      title="Sign in with your phone"
      nonce={props.nonce}
      state={ready ? "waiting" : "starting"}
      data={{ code: ready ? code : null, serverNow: props.serverNowMs }}
      script={AUTH_CLIENT_JS + LOGIN_CLIENT_JS}
    >
      <main>
        <p class="brand">Edge Auth</p>
        <section data-view="code" class="login" aria-labelledby="qr-heading">
          <div class="qr-col">
            <div id="qr-box" class="qr-box" role="img" aria-label="QR code: scan it with your phone to sign in" data-code-id={ready ? code.id : undefined}>
              {ready ? <QrImage geometry={geometry} /> : <p class="placeholder">Getting a code…</p>}
              <div id="qr-overlay" class="qr-overlay" hidden />
            </div>
            <p id="countdown" class="countdown">
              {countdownText(code, props.serverNowMs)}
            </p>
          </div>
          <div>
            <h1 id="qr-heading" tabindex={-1}>
              Sign in with your phone
            </h1>
            <ol class="steps">
              <li>Open the camera on a phone where you are signed in, or can sign in.</li>
              <li>Point it at this code and open the link it shows.</li>
              <li>
                Check the details on your phone and tap <strong>Approve</strong>.
              </li>
            </ol>
            <p class="muted">
              Or open this address on your phone:
              <br />
              <code id="qr-url">{ready ? code.qr_url : ""}</code>
            </p>
            <p id="status" class="status" role="status">
              {ready ? "Waiting for your phone…" : "Getting a code…"}
            </p>
            <noscript>
              <p class="notice">This page needs JavaScript to follow the sign-in from your phone.</p>
            </noscript>
          </div>
        </section>

        <section data-view="checking" hidden>
          <h1>Signing you in…</h1>
          <p class="muted">Checking the session saved in this browser.</p>
        </section>

        <section data-view="signed-in" class="result" hidden aria-labelledby="signed-in-title">
          <div class="check" aria-hidden="true">
            ✓
          </div>
          <h1 id="signed-in-title" tabindex={-1}>
            You're signed in
          </h1>
          <dl class="details">
            <dt>Username</dt>
            <dd id="me-username" />
            <dt>Email</dt>
            <dd id="me-email" />
            <dt>Member since</dt>
            <dd id="me-joined" />
          </dl>
          <div class="actions center">
            <button type="button" id="sign-out">
              Sign out
            </button>
          </div>
        </section>

        <section data-view="denied" class="result" hidden aria-labelledby="denied-title">
          <div class="check cross" aria-hidden="true">
            ✕
          </div>
          <h1 id="denied-title" tabindex={-1}>
            Sign-in denied
          </h1>
          <p>The request was denied on the phone. Nobody was signed in.</p>
          <div class="actions center">
            <button type="button" class="primary" id="try-again">
              Try again
            </button>
          </div>
        </section>
      </main>
      <footer>Signing in with a code never asks for your password on this computer.</footer>
    </Document>
  );
}
