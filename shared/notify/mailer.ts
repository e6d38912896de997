// Email over SMTP with nodemailer (loaded on first send only: it is not needed to start).
// SMTP_URL comes from Secret Manager; `npm start` without it points the mailer at its own
// mail catcher (useSmtpUrl). Error mapping: a 5xx reply about the message or recipient is
// permanent; 4xx replies, connection failures and timeouts are transient.
import type { Transporter } from 'nodemailer';
import { config } from '../config.ts';
import { PermanentSendError, TransientSendError } from './retry.ts';

export interface MailAttachment {
  filename: string;
  content: Buffer;
  contentType: string;
  /** Referenced from the HTML as cid:<cid>. */
  cid?: string;
}

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
  headers?: Record<string, string>;
  attachments?: MailAttachment[];
}

export interface Mailer {
  send(message: MailMessage): Promise<void>;
}

let urlOverride: string | undefined;
let transport: { url: string; transporter: Promise<Transporter> } | undefined;

/** The local server's mail catcher. */
export function useSmtpUrl(url: string | undefined): void {
  urlOverride = url;
}

function smtpUrl(): string | undefined {
  return urlOverride ?? config().SMTP_URL;
}

async function transporterFor(url: string): Promise<Transporter> {
  if (transport?.url !== url) {
    transport?.transporter.then((t) => t.close()).catch(() => undefined);
    transport = {
      url,
      transporter: import('nodemailer').then(({ default: nodemailer }) =>
        nodemailer.createTransport(url, {}),
      ),
    };
  }
  return transport.transporter;
}

function classify(err: unknown): Error {
  const e = err as { responseCode?: number; code?: string; name?: string };
  const code = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  const what = `SMTP ${code ?? e.code ?? e.name ?? 'error'}`;
  if (code !== undefined && code >= 500 && e.code !== 'EAUTH') return new PermanentSendError(what);
  return new TransientSendError(what);
}

export function createSmtpMailer(url: string, from: string): Mailer {
  return {
    async send(message) {
      const transporter = await transporterFor(url);
      try {
        await transporter.sendMail({
          from,
          to: message.to,
          subject: message.subject,
          text: message.text,
          html: message.html,
          ...(message.headers ? { headers: message.headers } : {}),
          ...(message.attachments ? { attachments: message.attachments } : {}),
        });
      } catch (err) {
        throw classify(err);
      }
    },
  };
}

let override: Mailer | null | undefined;

export function setMailerForTests(mailer: Mailer | null | undefined): void {
  override = mailer;
}

/** The configured mailer, or null when there is no SMTP server to send through. */
export function mailer(): Mailer | null {
  if (override !== undefined) return override;
  const url = smtpUrl();
  return url ? createSmtpMailer(url, config().MAIL_FROM) : null;
}

export async function closeMailer(): Promise<void> {
  const current = transport;
  transport = undefined;
  if (current) (await current.transporter.catch(() => undefined))?.close();
}
