/** @module Account Page — /reset, /reset/{uid}/{token} and /activate/{uid}/{token}: forms that post to djoser's endpoints. */
import { byId, setState, showView } from "./dom";

interface AccountPageData {
  page: "forgot" | "reset" | "activate" | "confirm-email" | "not-me";
  sid?: string;
  uid?: string;
  token?: string;
  email?: string;
}

const data = JSON.parse(byId("page-data").textContent ?? "{}") as AccountPageData;

async function post(path: string, body: unknown): Promise<Response> {
  return fetch(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
}

/** Shows the answer's field errors beside their fields, the rest in the form's alert; focuses the first. */
function showErrors(form: HTMLFormElement, alert: HTMLElement, errors: Record<string, unknown>): void {
  for (const el of form.querySelectorAll<HTMLElement>("[data-error-for]")) el.hidden = true;
  const rest: string[] = [];
  let first: HTMLElement | null = null;
  for (const [field, messages] of Object.entries(errors)) {
    const text = Array.isArray(messages) ? messages.join(" ") : String(messages);
    const slot = form.querySelector<HTMLElement>(`[data-error-for="${field}"]`);
    if (slot) {
      slot.textContent = text;
      slot.hidden = false;
      const input = form.querySelector<HTMLInputElement>(`[name="${field}"]`);
      input?.setAttribute("aria-invalid", "true");
      first ??= input;
    } else if (field !== "code") rest.push(text);
  }
  alert.textContent = rest.join(" ");
  alert.hidden = rest.length === 0;
  (first ?? alert).focus?.();
}

function done(view: string): void {
  showView(view);
  setState(view);
  document.querySelector<HTMLElement>(`[data-view="${view}"] h1`)?.focus();
}

function wire(formId: string, alertId: string, submit: (form: HTMLFormElement) => Promise<Record<string, unknown> | null>): void {
  const form = byId<HTMLFormElement>(formId);
  const alert = byId(alertId);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector<HTMLButtonElement>("button[type=submit]")!;
    button.disabled = true;
    try {
      const errors = await submit(form);
      if (errors) showErrors(form, alert, errors);
    } catch {
      showErrors(form, alert, { detail: "The network failed; try again." });
    } finally {
      button.disabled = false;
    }
  });
}

const value = (form: HTMLFormElement, name: string) => (form.elements.namedItem(name) as HTMLInputElement).value;

if (data.page === "forgot") {
  wire("forgot-form", "fp-error", async (form) => {
    const res = await post("/api/auth/users/reset_password/", { email: value(form, "email").trim() });
    if (res.status === 204) return (done("done"), null);
    return (await res.json()) as Record<string, unknown>;
  });
} else if (data.page === "reset") {
  wire("reset-form", "rp-error", async (form) => {
    const password = value(form, "new_password");
    if (password !== value(form, "re_new_password")) return { re_new_password: ["The two password fields didn't match."] };
    const res = await post("/api/auth/users/reset_password_confirm/", { uid: data.uid, token: data.token, new_password: password });
    if (res.status === 204) return (done("done"), null);
    const errors = (await res.json()) as Record<string, unknown>;
    if (errors.uid || errors.token) return (done("dead"), null);
    return errors;
  });
} else if (data.page === "not-me") {
  wire("not-me-form", "nm-error", async () => {
    const res = await post("/api/auth/users/not_me/", { uid: data.uid, sid: data.sid, token: data.token });
    if (res.status === 204) return (done("done"), null);
    if (res.status === 400) return (done("dead"), null);
    return (await res.json()) as Record<string, unknown>;
  });
} else if (data.page === "confirm-email") {
  wire("confirm-email-form", "ce-error", async () => {
    const res = await post("/api/auth/users/email_confirm/", { uid: data.uid, email: data.email, token: data.token });
    if (res.status === 204) return (done("done"), null);
    const errors = (await res.json()) as Record<string, unknown>;
    if (errors.uid || errors.token) return (done("dead"), null);
    return errors;
  });
} else {
  wire("activate-form", "ac-error", async () => {
    const res = await post("/api/auth/users/activation/", { uid: data.uid, token: data.token });
    if (res.status === 204) return (done("done"), null);
    if (res.status === 403) {
      byId("ac-dead-text").textContent = "This account is already active: sign in.";
      return (done("dead"), null);
    }
    if (res.status === 400) return (done("dead"), null);
    return (await res.json()) as Record<string, unknown>;
  });
}
