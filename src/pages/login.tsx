/** @module Login Page — GET /login: the desktop's QR code, its countdown and the live sign-in state. */
import { LOGIN_PAGE_JS } from "./client.generated";
import { Document } from "./layout";

export interface LoginPageProps {
  nonce: string;
  refreshCookie: boolean;
}

export function LoginPage(props: LoginPageProps) {
  return (
    <Document
      title="Sign in with your phone"
      nonce={props.nonce}
      state="starting"
      data={{}}
      script={LOGIN_PAGE_JS}
      refreshCookie={props.refreshCookie}
    >
      <main>
        <p class="brand">Edge Auth</p>
        <section data-view="code" class="login" aria-labelledby="qr-heading">
          <div class="qr-col">
            <div id="qr-box" class="qr-box" role="img" aria-label="QR code to sign in: scan it with your phone.">
              <p class="placeholder">Getting a sign-in code…</p>
              <div id="qr-overlay" class="qr-overlay" hidden />
            </div>
            <p id="countdown" class="countdown" />
          </div>
          <div>
            <h1 id="qr-heading" tabindex={-1}>
              Sign in with your phone
            </h1>
            <ol class="steps">
              <li>Open the camera on a phone where you are signed in, or can sign in.</li>
              <li>
                Point it at this code, open the link it shows and tap <strong>Continue</strong>.
              </li>
              <li>Type here the number your phone then shows, and tap Approve on the phone.</li>
            </ol>
            <form id="check" class="check-code" hidden novalidate>
              <label for="code-input">
                <span id="code-label" class="check-line" />
              </label>
              <div class="code-row">
                <input
                  id="code-input"
                  name="code"
                  class="code-input"
                  inputmode="numeric"
                  autocomplete="one-time-code"
                  maxlength={8}
                  pattern="[0-9]{2}"
                  required
                  aria-describedby="code-hint code-error"
                />
                <button type="submit" class="primary" id="code-submit">
                  Continue
                </button>
              </div>
              <p class="muted" id="code-hint">
                Two digits, one try: a wrong number cancels the sign-in. Not you?{" "}
                <button type="button" class="link" id="not-me">
                  Get a new code
                </button>
              </p>
              <p class="field-error" id="code-error" role="alert" hidden />
            </form>
            <p class="muted">
              Or open this address on your phone:
              <br />
              <code id="qr-url" />
            </p>
            <p id="status" class="status" role="status">
              Getting a sign-in code…
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
          <p id="denied-text">The sign-in was denied on the phone. Nobody was signed in.</p>
          <div class="actions center">
            <button type="button" class="primary" id="try-again">
              Try again
            </button>
          </div>
        </section>
      </main>
      <footer>
        Signing in with a code never asks for your password on this computer. <a href="/reset">Forgot your password?</a>
      </footer>
    </Document>
  );
}
