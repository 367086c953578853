/**
 * @module Account Pages — GET /reset (forgot password), /reset/{uid}/{token} (choose a new password) and
 * /activate/{uid}/{token}: the mailed links' landing pages for products without a front end for them (otherwise
 * FRONTEND_RESET_URL / FRONTEND_ACTIVATION_URL). The same look, CSP and script rules as /login; the script posts to
 * djoser's endpoints. Opening a page changes nothing: mail scanners fetch links, so every change is a button press.
 */
import { ACCOUNT_PAGE_JS } from "./client.generated";
import { Document } from "./layout";

/** What client/account-page.ts reads from `#page-data`. */
interface AccountPageData {
  page: "forgot" | "reset" | "activate" | "confirm-email" | "not-me";
  sid?: string;
  uid?: string;
  token?: string;
  /** confirm-email: the new address as the link carries it (base64url). */
  email?: string;
}

function Field(props: { form: string; name: string; label: string; type?: string; autocomplete: string; hint?: string }) {
  const id = `${props.form}-${props.name}`;
  const describedBy = [props.hint ? `${id}-hint` : "", `${id}-error`].filter(Boolean).join(" ");
  return (
    <>
      <label for={id}>{props.label}</label>
      {props.hint && (
        <p class="muted field-hint" id={`${id}-hint`}>
          {props.hint}
        </p>
      )}
      <input
        id={id}
        name={props.name}
        type={props.type ?? "text"}
        autocomplete={props.autocomplete}
        autocapitalize="none"
        spellcheck={false}
        required
        aria-describedby={describedBy}
      />
      <p class="field-error" id={`${id}-error`} data-error-for={props.name} hidden />
    </>
  );
}

function Brand(props: { product: string }) {
  return <p class="brand">{props.product}</p>;
}

const NEEDS_JS = (
  <noscript>
    <p class="notice">This page needs JavaScript.</p>
  </noscript>
);

export function ForgotPage(props: { nonce: string; product: string }) {
  const data: AccountPageData = { page: "forgot" };
  return (
    <Document title="Forgot your password?" nonce={props.nonce} state="form" narrow data={data} script={ACCOUNT_PAGE_JS}>
      <main>
        <Brand product={props.product} />
        <section data-view="form" aria-labelledby="fp-title">
          <h1 id="fp-title">Forgot your password?</h1>
          <p class="muted">Enter the email address of your account. If it has one, we mail it a link to choose a new password.</p>
          <form id="forgot-form" method="post" novalidate>
            <Field form="fp" name="email" label="Email" type="email" autocomplete="email" />
            <p class="form-error" id="fp-error" role="alert" hidden />
            <div class="actions">
              <button type="submit" class="primary">
                Mail me a link
              </button>
            </div>
          </form>
          {NEEDS_JS}
        </section>
        <section data-view="done" hidden aria-labelledby="fp-done">
          <h1 id="fp-done" tabindex={-1}>
            Check your mail
          </h1>
          <p role="status">If an account has that address, a link is on its way. It works once, for a limited time.</p>
        </section>
      </main>
    </Document>
  );
}

export function ResetPage(props: { nonce: string; product: string; uid: string; token: string }) {
  const data: AccountPageData = { page: "reset", uid: props.uid, token: props.token };
  return (
    <Document title="Choose a new password" nonce={props.nonce} state="form" narrow data={data} script={ACCOUNT_PAGE_JS}>
      <main>
        <Brand product={props.product} />
        <section data-view="form" aria-labelledby="rp-title">
          <h1 id="rp-title">Choose a new password</h1>
          <p class="muted">Every device signed in to your account will be signed out.</p>
          <form id="reset-form" method="post" novalidate>
            <Field
              form="rp"
              name="new_password"
              label="New password"
              type="password"
              autocomplete="new-password"
              hint="At least 8 characters; not a common password."
            />
            <Field form="rp" name="re_new_password" label="New password again" type="password" autocomplete="new-password" />
            <p class="form-error" id="rp-error" role="alert" hidden />
            <div class="actions">
              <button type="submit" class="primary">
                Save the new password
              </button>
            </div>
          </form>
          {NEEDS_JS}
        </section>
        <section data-view="done" hidden aria-labelledby="rp-done">
          <h1 id="rp-done" tabindex={-1}>
            Password saved
          </h1>
          <p role="status">Sign in with your new password. Every other device was signed out.</p>
          <p>
            <a href="/login">Sign in</a>
          </p>
        </section>
        <section data-view="dead" hidden aria-labelledby="rp-dead">
          <h1 id="rp-dead" tabindex={-1}>
            This link no longer works
          </h1>
          <p role="status">It was used already, has expired, or your password changed since. Ask for a new one.</p>
          <p>
            <a href="/reset">Ask for a new link</a>
          </p>
        </section>
      </main>
    </Document>
  );
}

export function ActivatePage(props: { nonce: string; product: string; uid: string; token: string }) {
  const data: AccountPageData = { page: "activate", uid: props.uid, token: props.token };
  return (
    <Document title="Activate your account" nonce={props.nonce} state="form" narrow data={data} script={ACCOUNT_PAGE_JS}>
      <main>
        <Brand product={props.product} />
        <section data-view="form" aria-labelledby="ac-title">
          <h1 id="ac-title">Activate your account</h1>
          <form id="activate-form" method="post" novalidate>
            <p class="form-error" id="ac-error" role="alert" hidden />
            <div class="actions">
              <button type="submit" class="primary">
                Activate
              </button>
            </div>
          </form>
          {NEEDS_JS}
        </section>
        <section data-view="done" hidden aria-labelledby="ac-done">
          <h1 id="ac-done" tabindex={-1}>
            Your account is active
          </h1>
          <p role="status">You can sign in now.</p>
          <p>
            <a href="/login">Sign in</a>
          </p>
        </section>
        <section data-view="dead" hidden aria-labelledby="ac-dead">
          <h1 id="ac-dead" tabindex={-1}>
            This link no longer works
          </h1>
          <p role="status" id="ac-dead-text">
            It has expired or is not right. Ask for a new activation mail.
          </p>
        </section>
      </main>
    </Document>
  );
}

export function ConfirmEmailPage(props: { nonce: string; product: string; uid: string; email: string; address: string; token: string }) {
  const data: AccountPageData = { page: "confirm-email", uid: props.uid, email: props.email, token: props.token };
  return (
    <Document title="Confirm your new email address" nonce={props.nonce} state="form" narrow data={data} script={ACCOUNT_PAGE_JS}>
      <main>
        <Brand product={props.product} />
        <section data-view="form" aria-labelledby="ce-title">
          <h1 id="ce-title">Use this email address?</h1>
          <p>
            <strong>{props.address}</strong>
          </p>
          <form id="confirm-email-form" method="post" novalidate>
            <p class="form-error" id="ce-error" role="alert" hidden />
            <div class="actions">
              <button type="submit" class="primary">
                Use this address
              </button>
            </div>
          </form>
          {NEEDS_JS}
        </section>
        <section data-view="done" hidden aria-labelledby="ce-done">
          <h1 id="ce-done" tabindex={-1}>
            Your email address is changed
          </h1>
          <p role="status">Mail for your account now goes here.</p>
        </section>
        <section data-view="dead" hidden aria-labelledby="ce-dead">
          <h1 id="ce-dead" tabindex={-1}>
            This link no longer works
          </h1>
          <p role="status">It was used already, has expired, or your password or address changed since.</p>
        </section>
      </main>
    </Document>
  );
}

export function NotMePage(props: { nonce: string; product: string; uid: string; sid: string; token: string }) {
  const data: AccountPageData = { page: "not-me", uid: props.uid, sid: props.sid, token: props.token };
  return (
    <Document title="This wasn't me" nonce={props.nonce} state="form" narrow data={data} script={ACCOUNT_PAGE_JS}>
      <main>
        <Brand product={props.product} />
        <section data-view="form" aria-labelledby="nm-title">
          <h1 id="nm-title">Sign that device out?</h1>
          <p class="muted">The device named in the mail loses access at once. Then change your password.</p>
          <form id="not-me-form" method="post" novalidate>
            <p class="form-error" id="nm-error" role="alert" hidden />
            <div class="actions">
              <button type="submit" class="primary">
                Sign it out
              </button>
            </div>
          </form>
          {NEEDS_JS}
        </section>
        <section data-view="done" hidden aria-labelledby="nm-done">
          <h1 id="nm-done" tabindex={-1}>
            That device is signed out
          </h1>
          <p role="status">
            Now <a href="/reset">choose a new password</a>: whoever signed in may know it.
          </p>
        </section>
        <section data-view="dead" hidden aria-labelledby="nm-dead">
          <h1 id="nm-dead" tabindex={-1}>
            This link no longer works
          </h1>
          <p role="status">That device was signed out already, or the link has expired.</p>
        </section>
      </main>
    </Document>
  );
}
