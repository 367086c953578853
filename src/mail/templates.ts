/**
 * @module Mail Templates — every account mail, in text and HTML: short, named for the product, the link on a line of
 * its own. Never a token in a subject, never a password anywhere (test/account-mail.test.ts checks both).
 */
import type { MailMessage } from "./mailer";

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ESCAPES[ch]!);
}

interface Parts {
  to: string;
  product: string;
  subject: string;
  /** Paragraphs before the link. */
  lines: string[];
  link?: { url: string; label: string };
  /** Paragraphs after the link. */
  after?: string[];
}

function compose(parts: Parts): MailMessage {
  const text =
    [...parts.lines, ...(parts.link ? [`${parts.link.label}:\n${parts.link.url}`] : []), ...(parts.after ?? []), `— ${parts.product}`].join(
      "\n\n",
    ) + "\n";
  const paragraphs = parts.lines.map((line) => `<p>${escapeHtml(line)}</p>`);
  const link = parts.link
    ? [
        `<p><a href="${escapeHtml(parts.link.url)}">${escapeHtml(parts.link.label)}</a></p>`,
        `<p style="font-size:12px;color:#666">${escapeHtml(parts.link.url)}</p>`,
      ]
    : [];
  const after = (parts.after ?? []).map((line) => `<p>${escapeHtml(line)}</p>`);
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(parts.subject)}</title></head><body style="font-family:system-ui,sans-serif;line-height:1.5;max-width:32em">${[...paragraphs, ...link, ...after, `<p>— ${escapeHtml(parts.product)}</p>`].join("")}</body></html>`;
  return { to: parts.to, subject: `${parts.product}: ${parts.subject}`, text, html };
}

export function passwordResetMail(input: {
  to: string;
  product: string;
  username: string;
  url: string;
  validMinutes: number;
}): MailMessage {
  return compose({
    to: input.to,
    product: input.product,
    subject: "reset your password",
    lines: [`Someone (we hope you) asked to reset the password of ${input.username}.`],
    link: { url: input.url, label: "Choose a new password" },
    after: [`The link works once, for ${input.validMinutes} minutes. If you did not ask, ignore this mail: your password stays as it is.`],
  });
}

export function activationMail(input: { to: string; product: string; username: string; url: string; validMinutes: number }): MailMessage {
  return compose({
    to: input.to,
    product: input.product,
    subject: "activate your account",
    lines: [`Welcome, ${input.username}. Open this link to activate your account.`],
    link: { url: input.url, label: "Activate your account" },
    after: [`The link works for ${input.validMinutes} minutes; you can ask for a new one. If you did not sign up, ignore this mail.`],
  });
}

export function passwordChangedNotice(input: {
  to: string;
  product: string;
  username: string;
  how: "changed" | "reset";
  notMeUrl?: string;
}): MailMessage {
  return compose({
    to: input.to,
    product: input.product,
    subject: "your password was changed",
    lines: [
      `The password of ${input.username} was just ${input.how === "reset" ? "reset through a mailed link" : "changed"}. Every other device was signed out.`,
    ],
    link: input.notMeUrl ? { url: input.notMeUrl, label: "This wasn't me: sign that device out" } : undefined,
    after: ["If this was not you, reset your password now and check the devices signed in to your account."],
  });
}

export function newSignInNotice(input: {
  to: string;
  product: string;
  username: string;
  how: string;
  where: string;
  url: string;
}): MailMessage {
  return compose({
    to: input.to,
    product: input.product,
    subject: "new sign-in to your account",
    lines: [`${input.username} was just signed in ${input.how}: ${input.where}.`],
    link: { url: input.url, label: "This wasn't me: sign that device out" },
    after: ["If it was you, there is nothing to do. If not, also change your password."],
  });
}

export function emailChangeMail(input: { to: string; product: string; username: string; url: string; validMinutes: number }): MailMessage {
  return compose({
    to: input.to,
    product: input.product,
    subject: "confirm your new email address",
    lines: [`${input.username} asked to use this address for their account. It changes only when you open this link.`],
    link: { url: input.url, label: "Use this address" },
    after: [`The link works once, for ${input.validMinutes} minutes. If you did not ask, ignore this mail.`],
  });
}

export function emailChangeNotice(input: { to: string; product: string; username: string; newAddress: string }): MailMessage {
  return compose({
    to: input.to,
    product: input.product,
    subject: "a change of your email address was asked",
    lines: [
      `Someone signed in as ${input.username}, with your password, asked to move the account to ${input.newAddress}. Nothing changes unless that address confirms it.`,
      "If this was not you, change your password now: it is known to someone else.",
    ],
  });
}
