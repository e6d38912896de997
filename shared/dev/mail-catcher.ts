// A local mail catcher (like Supabase's Inbucket): an SMTP server on 127.0.0.1 that keeps
// what it receives in memory, parsed, for `npm start` (served at /dev/mail) and the tests.
// smtp-server and mailparser are loaded only when a catcher starts.
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';

export interface CaughtMail {
  id: string;
  receivedAt: string;
  envelopeFrom: string | null;
  envelopeTo: string[];
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string | null;
  headers: Record<string, string>;
  attachments: {
    filename: string | null;
    contentType: string;
    cid: string | null;
    content: Buffer;
  }[];
  raw: Buffer;
}

export interface MailCatcher {
  url: string;
  port: number;
  mails: CaughtMail[];
  /** Resolves with the first caught mail matching `predicate` (or rejects after timeoutMs). */
  waitFor(predicate: (mail: CaughtMail) => boolean, timeoutMs?: number): Promise<CaughtMail>;
  /** Replies to the next n messages with this SMTP error (e.g. 451 for a transient one). */
  failNext(n: number, code: number, message?: string): void;
  clear(): void;
  close(): Promise<void>;
}

export async function startMailCatcher(
  options: { port?: number; keep?: number } = {},
): Promise<MailCatcher> {
  const [{ SMTPServer }, { simpleParser }] = await Promise.all([
    import('smtp-server'),
    import('mailparser'),
  ]);
  const keep = options.keep ?? 200;
  const mails: CaughtMail[] = [];
  const waiters = new Set<{
    predicate: (m: CaughtMail) => boolean;
    resolve: (m: CaughtMail) => void;
  }>();
  let failures: { left: number; code: number; message: string } | undefined;

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    size: 10 * 1024 * 1024,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', callback);
      stream.on('end', () => {
        if (failures && failures.left > 0) {
          failures.left -= 1;
          const err = Object.assign(new Error(failures.message), { responseCode: failures.code });
          callback(err);
          return;
        }
        const raw = Buffer.concat(chunks);
        simpleParser(raw, { keepCidLinks: true })
          .then((parsed) => {
            const headers: Record<string, string> = {};
            for (const line of parsed.headerLines) {
              headers[line.key] = line.line.slice(line.line.indexOf(':') + 1).trim();
            }
            const mail: CaughtMail = {
              id: randomUUID(),
              receivedAt: new Date().toISOString(),
              envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : null,
              envelopeTo: session.envelope.rcptTo.map((r) => r.address),
              from: parsed.from?.text ?? '',
              to: Array.isArray(parsed.to)
                ? parsed.to.map((t) => t.text).join(', ')
                : (parsed.to?.text ?? ''),
              subject: parsed.subject ?? '',
              text: parsed.text ?? '',
              html: typeof parsed.html === 'string' ? parsed.html : null,
              headers,
              attachments: parsed.attachments.map((a) => ({
                filename: a.filename ?? null,
                contentType: a.contentType,
                cid: a.cid ?? null,
                content: a.content,
              })),
              raw,
            };
            mails.unshift(mail);
            mails.length = Math.min(mails.length, keep);
            for (const waiter of waiters) {
              if (waiter.predicate(mail)) {
                waiters.delete(waiter);
                waiter.resolve(mail);
              }
            }
            callback();
          })
          .catch((err: Error) => callback(err));
      });
    },
  });
  // A client that drops the connection must not crash the process.
  server.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.server as { address(): AddressInfo }).address().port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    mails,
    waitFor(predicate, timeoutMs = 10_000) {
      const found = mails.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter = {
          predicate,
          resolve: (m: CaughtMail) => {
            clearTimeout(timer);
            resolve(m);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error('no matching mail arrived in time'));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    failNext(n, code, message = 'Try again later') {
      failures = { left: n, code, message };
    },
    clear() {
      mails.length = 0;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The HTML with cid: images inlined as data: URLs, as a mail client shows it. */
export function renderableHtml(mail: CaughtMail): string {
  let html =
    mail.html ?? `<pre>${mail.text.replaceAll('&', '&amp;').replaceAll('<', '&lt;')}</pre>`;
  for (const a of mail.attachments) {
    if (!a.cid) continue;
    html = html.replaceAll(
      `cid:${a.cid}`,
      `data:${a.contentType};base64,${a.content.toString('base64')}`,
    );
  }
  return html;
}
