// /dev/mail on the local server: the mails the catcher caught, newest first (list), each
// rendered as a mail client shows it (inline images resolved), and as JSON for scripts.
import type http from 'node:http';
import { escapeHtml } from '../notify/format.ts';
import { type MailCatcher, renderableHtml } from './mail-catcher.ts';

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

/** Handles /dev/mail[...]; returns false for any other path. */
export function serveMailPages(
  catcher: MailCatcher,
  pathname: string,
  res: http.ServerResponse,
): boolean {
  if (pathname === '/dev/mail.json') {
    send(
      res,
      200,
      'application/json',
      JSON.stringify({
        mails: catcher.mails.map((m) => ({
          id: m.id,
          receivedAt: m.receivedAt,
          to: m.to,
          subject: m.subject,
          text: m.text,
          headers: m.headers,
          attachments: m.attachments.map((a) => ({
            filename: a.filename,
            contentType: a.contentType,
            cid: a.cid,
          })),
        })),
      }),
    );
    return true;
  }
  if (pathname === '/dev/mail' || pathname === '/dev/mail/') {
    const rows = catcher.mails
      .map(
        (m) =>
          `<tr><td>${escapeHtml(m.receivedAt.replace('T', ' ').slice(0, 19))}</td><td>${escapeHtml(m.to)}</td><td><a href="/dev/mail/${m.id}">${escapeHtml(m.subject || '(no subject)')}</a></td><td><a href="/dev/mail/${m.id}/text">text</a></td></tr>`,
      )
      .join('');
    send(
      res,
      200,
      'text/html; charset=utf-8',
      `<!doctype html><html><head><meta charset="utf-8"><title>Caught mail</title></head><body style="font-family:Arial,sans-serif;margin:24px">
<h1>Caught mail (${catcher.mails.length})</h1><p>SMTP on ${escapeHtml(catcher.url)}; nothing here left this machine.</p>
<table cellpadding="6" style="border-collapse:collapse"><tr><th align="left">Received (UTC)</th><th align="left">To</th><th align="left">Subject</th><th></th></tr>${rows || '<tr><td colspan="4">No mail yet.</td></tr>'}</table></body></html>`,
    );
    return true;
  }
  const match = /^\/dev\/mail\/([0-9a-f-]{36})(\/text)?$/.exec(pathname);
  if (!match) return false;
  const mail = catcher.mails.find((m) => m.id === match[1]);
  if (!mail)
    send(res, 404, 'text/plain; charset=utf-8', 'No such mail (the catcher keeps the last 200)');
  else if (match[2]) send(res, 200, 'text/plain; charset=utf-8', mail.text);
  else send(res, 200, 'text/html; charset=utf-8', renderableHtml(mail));
  return true;
}
