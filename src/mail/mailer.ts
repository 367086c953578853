/**
 * @module Mailer — one small interface for sending a mail, and its implementation over Cloudflare's send_email
 * binding (`MAILER`, sender MAIL_FROM). Another provider (an HTTP API) implements the same `send`.
 *
 * Routes check `mailerFor()` before they change anything, so a missing binding or sender is a 500 naming it
 * (ConfigError, logged by the app) and never a half-done request. A mail that fails after the change was made is
 * logged (`mail_failed`, naming MAILER) and the user can ask again: every mailed link can be asked for again.
 */
import { ConfigError, type Config } from "../config";
import type { Env } from "../env";

export interface MailMessage {
  to: string;
  /** Never a token or a password: subjects show in notifications and mail logs. */
  subject: string;
  text: string;
  html: string;
}

export interface Mailer {
  send(message: MailMessage): Promise<void>;
}

/** The send_email binding as a Mailer, from MAIL_FROM. */
function sendEmailMailer(binding: SendEmail, from: string): Mailer {
  return {
    async send(message) {
      await binding.send({ from, to: message.to, subject: message.subject, text: message.text, html: message.html });
    },
  };
}

/** The deployment's mailer; throws ConfigError naming MAILER or MAIL_FROM when either is missing. */
export function mailerFor(env: Env, config: Config): Mailer {
  const binding = (env as { MAILER?: SendEmail }).MAILER;
  if (!binding || typeof binding.send !== "function")
    throw new ConfigError("MAILER", 'is missing: declare [[send_email]] name = "MAILER" in wrangler.toml to send account mail');
  if (!config.mailFrom)
    throw new ConfigError(
      "MAIL_FROM",
      "is required to send account mail (wrangler.toml [vars] or `wrangler dev --var MAIL_FROM:auth@example.com`)",
    );
  return sendEmailMailer(binding, config.mailFrom);
}

/** Runs work after the response when the platform gives a context (ctx.waitUntil); else the caller awaits it. */
export type Defer = (work: Promise<unknown>) => void;

/**
 * Sends after the answer (the answer never waits on, nor reveals, the mail): one retry, then a `mail_failed` log line
 * naming MAILER and the mail's kind, never its address or link.
 */
export function deliverLater(mailer: Mailer, message: MailMessage, kind: string, defer: Defer | null): Promise<void> {
  const attempt = async () => {
    try {
      await mailer.send(message);
    } catch (first) {
      try {
        await mailer.send(message);
      } catch (error) {
        console.error(
          JSON.stringify({
            level: "error",
            event: "mail_failed",
            binding: "MAILER",
            kind,
            time: new Date().toISOString(),
            error: describe(error),
            first_error: describe(first),
          }),
        );
      }
    }
  };
  const work = attempt();
  if (defer) {
    defer(work);
    return Promise.resolve();
  }
  return work;
}

/** Sends now: a failure is logged naming MAILER and thrown as MailUnavailable (the route answers 503). */
export async function deliverNow(mailer: Mailer, message: MailMessage, kind: string): Promise<void> {
  try {
    await mailer.send(message);
  } catch (error) {
    console.error(
      JSON.stringify({
        level: "error",
        event: "mail_failed",
        binding: "MAILER",
        kind,
        time: new Date().toISOString(),
        error: describe(error),
      }),
    );
    throw new MailUnavailable(kind);
  }
}

export class MailUnavailable extends Error {
  constructor(readonly kind: string) {
    super(`MAILER could not send the ${kind} mail`);
    this.name = "MailUnavailable";
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 300) : String(error).slice(0, 300);
}
