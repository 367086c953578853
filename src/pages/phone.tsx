/**
 * @module Phone Page — GET /qr/{id}: sign in if needed; opening the page changes nothing until the user taps
 * Continue (the scan); then the number to type on the computer, who is asking (device, approximate place, how far),
 * a warning when it looks like someone else's computer, and Approve and Deny side by side, equally easy, above the
 * fold of a 360×740 phone.
 */
import { PHONE_PAGE_JS } from "./client.generated";
import { Document } from "./layout";
import { PROBLEMS, type PhonePageData, type ProblemCode } from "./problems";

const BRAND = <p class="brand">Edge Auth</p>;

/** A code that cannot be approved (unknown, expired, finished): server-rendered, no script needed. */
export function ProblemPage({ nonce, code }: { nonce: string; code: ProblemCode }) {
  const problem = PROBLEMS[code];
  return (
    <Document title={problem.title} nonce={nonce} state="problem" narrow>
      <main aria-labelledby="problem-title">
        {BRAND}
        <h1 id="problem-title">{problem.title}</h1>
        <p>{problem.text}</p>
      </main>
    </Document>
  );
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
        autocapitalize={props.type === "email" || props.name === "username" ? "none" : undefined}
        spellcheck={props.type === "password" ? undefined : false}
        required
        aria-describedby={describedBy}
      />
      <p class="field-error" id={`${id}-error`} data-error-for={props.name} hidden />
    </>
  );
}

export function PhonePage({ nonce, id, refreshCookie }: { nonce: string; id: string; refreshCookie: boolean }) {
  const data: PhonePageData = { id, problems: PROBLEMS };
  return (
    <Document title="Approve sign-in" nonce={nonce} state="loading" narrow data={data} script={PHONE_PAGE_JS} refreshCookie={refreshCookie}>
      <main>
        {BRAND}
        <section data-view="loading" aria-live="polite">
          <h1>Loading the sign-in request…</h1>
          <noscript>
            <p class="notice">This page needs JavaScript to approve a sign-in.</p>
          </noscript>
        </section>

        <section data-view="sign-in" hidden aria-labelledby="si-title">
          <h1 id="si-title">Sign in to continue</h1>
          <p class="muted">A computer is asking to sign in with your account. First sign in on this phone.</p>
          <form id="signin-form" method="post" novalidate>
            <Field form="si" name="username" label="Username" autocomplete="username" />
            <Field form="si" name="password" label="Password" type="password" autocomplete="current-password" />
            <p class="form-error" id="si-error" role="alert" hidden />
            <div class="actions">
              <button type="submit" class="primary">
                Sign in
              </button>
            </div>
          </form>
          <p class="switch">
            No account yet?{" "}
            <a href="#create-account" id="to-register">
              Create an account
            </a>
          </p>
        </section>

        <section data-view="register" hidden aria-labelledby="re-title">
          <h1 id="re-title">Create an account</h1>
          <form id="register-form" method="post" novalidate>
            <Field form="re" name="username" label="Username" autocomplete="username" hint="Letters, digits and @ . + - _ only." />
            <Field form="re" name="email" label="Email" type="email" autocomplete="email" />
            <Field
              form="re"
              name="password"
              label="Password"
              type="password"
              autocomplete="new-password"
              hint="At least 8 characters; not a common password."
            />
            <p class="form-error" id="re-error" role="alert" hidden />
            <div class="actions">
              <button type="submit" class="primary">
                Create account and sign in
              </button>
            </div>
          </form>
          <p class="switch">
            Already have an account?{" "}
            <a href="#sign-in" id="to-sign-in">
              Sign in
            </a>
          </p>
        </section>

        <section data-view="continue" hidden aria-labelledby="continue-title">
          <h1 id="continue-title" tabindex={-1}>
            Sign in on a computer?
          </h1>
          <p class="who">
            <span>
              Signed in here as <strong class="phone-user" />
            </span>
          </p>
          <p>
            Continue only if <strong>you</strong> started this sign-in and the code is on a screen in front of you. Continuing shows that
            screen who you are, and this phone a number to type there.
          </p>
          <p class="muted" id="continue-expires" />
          <div class="actions split">
            <button type="button" class="primary" id="continue">
              Continue
            </button>
            <button type="button" id="not-now">
              Not now
            </button>
          </div>
        </section>

        <section data-view="left" class="result" hidden aria-labelledby="left-title">
          <h1 id="left-title" tabindex={-1}>
            Nothing was done
          </h1>
          <p>Nobody was signed in and the computer was told nothing. You can close this page.</p>
        </section>

        <section data-view="request" hidden aria-labelledby="request-title">
          <h1 id="request-title" tabindex={-1}>
            Sign in on a computer?
          </h1>
          <div class="code-box" aria-labelledby="code-title">
            <p id="code-title" class="code-title">
              Type this number on the computer
            </p>
            <p id="code" class="code-show" aria-live="off" />
          </div>
          <p class="requester">
            <span id="d-device" />
            <span id="d-place" />
          </p>
          <div class="notice alert" id="notice-mismatch" role="alert" hidden>
            <strong id="mismatch-title">Be careful: this may not be your computer.</strong>
            <span id="mismatch-text" /> If you are not in front of that screen right now, tap Deny.
          </div>
          <p class="form-error" id="request-error" role="alert" hidden />
          <div class="actions pair">
            <button type="button" class="primary" id="approve">
              Approve
            </button>
            <button type="button" class="danger" id="deny">
              Deny
            </button>
          </div>
          <div class="notice" id="notice-plain">
            <strong>Approve only a code shown on a screen of your own.</strong>
            Approving signs that browser in as you once the number is typed there. If someone sent you this code or link, or asked you to
            scan it, tap Deny.
          </div>
          <dl class="details">
            <dt>Signed in here as</dt>
            <dd>
              <span id="phone-user" class="phone-user" />{" "}
              <button type="button" class="link" id="phone-sign-out">
                Not you? Sign out
              </button>
            </dd>
            <dt>Asked</dt>
            <dd id="d-ago" />
            <dt>Code expires</dt>
            <dd id="d-expires" />
          </dl>
        </section>

        <section data-view="waiting" class="result" hidden aria-labelledby="waiting-title">
          <h1 id="waiting-title" tabindex={-1}>
            Approved here: now type the number on the computer
          </h1>
          <p id="code-again" class="code-show" />
          <p class="muted">This page updates by itself once the computer is signed in.</p>
          <div class="actions center">
            <button type="button" class="danger" id="deny-late">
              Deny instead
            </button>
          </div>
        </section>

        <section data-view="approved" class="result" hidden aria-labelledby="approved-title">
          <div class="check" aria-hidden="true">
            ✓
          </div>
          <h1 id="approved-title" tabindex={-1}>
            Approved
          </h1>
          <p id="approved-text" />
        </section>

        <section data-view="denied" class="result" hidden aria-labelledby="denied-title">
          <div class="check cross" aria-hidden="true">
            ✕
          </div>
          <h1 id="denied-title" tabindex={-1}>
            Denied
          </h1>
          <p id="denied-text">Nobody was signed in. If you didn't start this sign-in yourself, consider changing your password.</p>
        </section>

        <section data-view="problem" hidden aria-labelledby="problem-title">
          <h1 id="problem-title" tabindex={-1} />
          <p id="problem-text" />
          <div class="actions">
            <button type="button" id="problem-retry" hidden>
              Try again
            </button>
          </div>
        </section>
      </main>
    </Document>
  );
}
