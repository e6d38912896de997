// The weekly digest: one email per opted-in family at Sunday 18:00 local, with a server-side
// chart, an MJML body, a plain-text part and a one-click unsubscribe; idempotent; correct in
// every time zone and on DST weekends. The email of a two-child family is rendered in
// headless Chromium (Debian's chromium) to test-artifacts/weekly-digest.png and checked.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../functions/parents/index.ts';
import { type CaughtMail, renderableHtml } from '../../shared/dev/mail-catcher.ts';
import { addDays } from '../../shared/jobs/time.ts';
import { digestKey, runWeeklyDigest, sundayOnOrBefore } from '../../shared/jobs/weekly-digest.ts';
import { zonedInstant } from '../../shared/learning/clock.ts';
import { createLogger } from '../../shared/log.ts';
import { CHART_CID } from '../../shared/notify/digest-email.ts';
import { realClockEnv } from '../helpers/browser.ts';
import type { TestDatabase } from '../helpers/db.ts';
import { createParent, teardownAccountsTest } from '../helpers/factories.ts';
import { type NotifyHarness, startNotifyHarness } from '../helpers/notify.ts';
import { insertChild, insertStreak } from '../jobs/fixtures.ts';
import { ensurePartitions, setupLearningTest, topicIdOf } from '../learning/helpers.ts';
import { DST_YEAR, hourly, sundayBefore, sundayOf } from './dates.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts');
const log = createLogger({ test: 'weekly-digest' });

let db: TestDatabase;
let h: NotifyHarness;

beforeAll(async () => {
  db = await setupLearningTest();
  h = await startNotifyHarness();
});
afterAll(async () => {
  await h.close();
  await teardownAccountsTest(db);
});

const run = (at: Date) => runWeeklyDigest({ at, log }, { log });
const mailsTo = (email: string) => h.smtp.mails.filter((m) => m.envelopeTo.includes(email));

async function familyIn(timezone: string, names: string[] = ['Ada']) {
  const parent = await createParent({ timezone, displayName: 'Sam' });
  const children: string[] = [];
  for (const name of names) children.push(await insertChild(db.pool, parent.id, { name }));
  return { parent, children };
}

/** The week the tests report on: the one ending on the last Sunday before today. */
const WEEK_END = sundayBefore(new Date().toISOString().slice(0, 10));

async function twoChildFamily() {
  const f = await familyIn('Europe/London', ['Maya Jones', 'Leo Jones']);
  const [maya, leo] = f.children as [string, string];
  await ensurePartitions(
    db.pool,
    new Date(`${WEEK_END}T12:00:00Z`),
    new Date(`${addDays(WEEK_END, -6)}T12:00:00Z`),
  );
  const space = await topicIdOf(db.pool, 'space');
  const animals = await topicIdOf(db.pool, 'animals');
  const planets = await topicIdOf(db.pool, 'planets');
  const minutes: Record<string, number[]> = {
    [maya]: [12, 25, 0, 40, 18, 6, 30],
    [leo]: [5, 0, 22, 14, 33, 48, 9],
  };
  for (const [child, perDay] of Object.entries(minutes)) {
    for (const [i, m] of perDay.entries()) {
      if (m === 0) continue;
      await db.pool.query(
        `INSERT INTO daily_activity (child_id, activity_date, total_time_seconds, stars_earned, badges_earned, topics_explored)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [
          child,
          addDays(WEEK_END, i - 6),
          m * 60,
          3,
          i === 3 && child === maya ? ['first_conversation'] : [],
          child === maya ? [space, planets] : [animals],
        ],
      );
    }
  }
  await db.pool.query(
    `INSERT INTO progress (child_id, topic_id, depth_level) VALUES ($1, $2, 4), ($1, $3, 2), ($4, $5, 3)`,
    [maya, space, planets, leo, animals],
  );
  await insertStreak(db.pool, maya, {
    current_streak: 6,
    longest_streak: 9,
    last_activity_date: WEEK_END,
  });
  await insertStreak(db.pool, leo, { current_streak: 2, last_activity_date: WEEK_END });
  await db.pool.query(
    `INSERT INTO cognitive_metrics (child_id, assessment_date, critical_thinking, curiosity_index)
     VALUES ($1, $2, 50, 61), ($1, $3, 58, 70), ($4, $3, 44, 52)`,
    [maya, addDays(WEEK_END, -20), addDays(WEEK_END, -1), leo],
  );
  return { ...f, maya, leo };
}

/** PNG width and height from its IHDR chunk. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe('the digest of a family with two children', () => {
  let family: Awaited<ReturnType<typeof twoChildFamily>>;
  let mail: CaughtMail;

  beforeAll(async () => {
    family = await twoChildFamily();
    const at = zonedInstant('Europe/London', WEEK_END, 18 * 60 + 10);
    const report = await run(at);
    expect(report.counts.digestsSent).toBeGreaterThanOrEqual(1);
    const mails = mailsTo(family.parent.email);
    expect(mails).toHaveLength(1);
    mail = mails[0] as CaughtMail;
  });

  it('has both children, their week and a plain-text part saying the same', () => {
    expect(mail.subject).toBe('Your week on BrainSpark: Maya and Leo');
    const text = mail.text;
    expect(text).toContain(
      'Time this week: 2 h 11 min (12 / 25 / 0 / 40 / 18 / 6 / 30 min, Mon-Sun)',
    );
    expect(text).toContain(
      'Time this week: 2 h 11 min (5 / 0 / 22 / 14 / 33 / 48 / 9 min, Mon-Sun)',
    );
    expect(text).toContain('Streak: 6 day(s), best 9');
    expect(text).toContain('Stars earned: 18'); // 6 active days x 3
    expect(text).toContain('Badges: First Spark');
    expect(text).toContain('Space (depth 4)');
    expect(text).toContain('Planets (depth 2)');
    expect(text).toContain('Animals (depth 3)');
    expect(text).toContain('Critical thinking 58 (up 8)');
    expect(text).toContain('Curiosity 70 (up 9)');
    expect(text).not.toContain('Jones');
  });

  it('embeds the chart as an inline PNG referenced by cid', () => {
    const chart = mail.attachments.find((a) => a.cid === CHART_CID);
    expect(chart?.contentType).toBe('image/png');
    expect(pngSize(chart?.content as Buffer)).toEqual({ width: 1200, height: 600 });
    expect(mail.html).toContain(`cid:${CHART_CID}`);
  });

  it('carries RFC 8058 one-click unsubscribe headers', () => {
    expect(mail.headers['list-unsubscribe']).toMatch(
      /^<https:\/\/api\.brainspark\.test\/parents\/unsubscribe\?token=[\w.-]+>$/,
    );
    expect(mail.headers['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
    expect(mail.html).toContain('Unsubscribe from the weekly digest');
  });

  it('renders in headless Chromium with the chart and every section visible', {
    timeout: 120_000,
  }, async () => {
    // Not skippable: CI installs Debian's chromium (apt-get install -y chromium).
    expect(existsSync(CHROMIUM), `${CHROMIUM} missing: apt-get install -y chromium`).toBe(true);
    const { chromium } = await import('playwright-core');
    const env = realClockEnv();
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      env,
      timeout: 60_000,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 700, height: 900 } });
      await page.setContent(renderableHtml(mail), { waitUntil: 'load' });
      // biome-ignore lint/performance/useDomNodeTextContent: the rendered, visible text is what a parent reads
      const text = await page.innerText('body');
      for (const expected of [
        'BrainSpark weekly digest',
        'Maya',
        'Leo',
        'Space (depth 4)',
        'Animals (depth 3)',
        'First Spark',
        'Unsubscribe from the weekly digest',
      ]) {
        expect(text).toContain(expected);
      }
      // The chart loaded and shows both children's bars in their colours.
      const chart = await page.evaluate(() => {
        const img = Array.from(document.images).find((i) => i.alt.startsWith('Minutes per day'));
        if (!img) return null;
        const canvas = document.createElement('canvas');
        canvas.width = img.naturalWidth;
        canvas.height = img.naturalHeight;
        const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
        ctx.drawImage(img, 0, 0);
        const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
        const near = (i: number, r: number, g: number, b: number) =>
          Math.abs((data[i] as number) - r) < 8 &&
          Math.abs((data[i + 1] as number) - g) < 8 &&
          Math.abs((data[i + 2] as number) - b) < 8;
        let indigo = 0;
        let amber = 0;
        for (let i = 0; i < data.length; i += 4) {
          if (near(i, 0x63, 0x66, 0xf1)) indigo++;
          if (near(i, 0xf5, 0x9e, 0x0b)) amber++;
        }
        const box = img.getBoundingClientRect();
        return { width: img.naturalWidth, shownWidth: box.width, indigo, amber };
      });
      expect(chart).not.toBeNull();
      expect(chart?.width).toBe(1200);
      expect(chart?.shownWidth).toBeGreaterThan(500);
      // Bars cover thousands of pixels each; the legend alone would be ~500.
      expect(chart?.indigo).toBeGreaterThan(5000);
      expect(chart?.amber).toBeGreaterThan(5000);
      await mkdir(ARTIFACTS, { recursive: true });
      const file = path.join(ARTIFACTS, 'weekly-digest.png');
      await writeFile(file, await page.screenshot({ fullPage: true }));
      const shot = pngSize(await readFile(file));
      expect(shot.width).toBe(700);
      expect(shot.height).toBeGreaterThan(900);
    } finally {
      await browser.close();
    }
  });

  it('is sent once: a second run, a later hourly run and a rerun for the date send nothing', async () => {
    const again = [
      zonedInstant('Europe/London', WEEK_END, 18 * 60 + 10),
      zonedInstant('Europe/London', WEEK_END, 21 * 60 + 10),
    ];
    for (const at of again) await run(at);
    await runWeeklyDigest({ date: WEEK_END, log }, { log });
    expect(mailsTo(family.parent.email)).toHaveLength(1);
    const { rows } = await db.pool.query(
      'SELECT status FROM notification_deliveries WHERE dedupe_key = $1',
      [digestKey(family.parent.id, WEEK_END)],
    );
    expect(rows).toEqual([{ status: 'sent' }]);
  });

  it('unsubscribes with one click: the link switches the setting off and next week sends nothing', async () => {
    const url = new URL(/^<(.+)>$/.exec(mail.headers['list-unsubscribe'] ?? '')?.[1] ?? '');
    const api = request(getTestServer('parents'));
    // The page behind the link only asks (mail scanners fetch links).
    const page = await api.get(`/unsubscribe${url.search}`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.text).toContain('<form method="post"');
    const settings = async () =>
      (await db.pool.query('SELECT settings FROM parents WHERE id = $1', [family.parent.id]))
        .rows[0].settings;
    expect((await settings()).notifications.email_digest).toBe(true);
    // What a mail client does (RFC 8058): POST with the one-click body, no cookies, no token.
    const res = await api
      .post(`/unsubscribe${url.search}`)
      .type('form')
      .send('List-Unsubscribe=One-Click');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ setting: 'email_digest', enabled: false });
    expect((await settings()).notifications).toMatchObject({
      email_digest: false,
      push_enabled: true,
    });
    const nextWeek = addDays(WEEK_END, 7);
    await run(zonedInstant('Europe/London', nextWeek, 18 * 60 + 10));
    expect(mailsTo(family.parent.email)).toHaveLength(1);
  });

  it('refuses a tampered or foreign unsubscribe token and changes nothing', async () => {
    const url = new URL(/^<(.+)>$/.exec(mail.headers['list-unsubscribe'] ?? '')?.[1] ?? '');
    const token = url.searchParams.get('token') as string;
    const tampered = `${token.slice(0, -3)}${token.endsWith('AAA') ? 'BBB' : 'AAA'}`;
    const api = request(getTestServer('parents'));
    for (const bad of [tampered, 'x'.repeat(40)]) {
      const res = await api.post(`/unsubscribe?token=${encodeURIComponent(bad)}`).send();
      expect(res.status).toBe(400);
    }
  });
});

describe('who gets a digest and when', () => {
  it('never sends to a parent who turned the digest off, a deleted account, or a family without children', async () => {
    const off = await familyIn('UTC');
    await db.pool.query(
      `UPDATE parents SET settings = jsonb_set(settings, '{notifications,email_digest}', 'false') WHERE id = $1`,
      [off.parent.id],
    );
    const deleted = await familyIn('UTC');
    await db.pool.query('UPDATE parents SET deleted_at = NOW() WHERE id = $1', [deleted.parent.id]);
    const childless = await familyIn('UTC', []);
    const on = await familyIn('UTC');
    const sunday = addDays(WEEK_END, -7);
    await run(zonedInstant('UTC', sunday, 18 * 60 + 10));
    expect(mailsTo(on.parent.email)).toHaveLength(1);
    for (const f of [off, deleted, childless]) expect(mailsTo(f.parent.email)).toHaveLength(0);
  });

  it('does not resend a digest whose sender died mid-send (at most one per week)', async () => {
    const f = await familyIn('UTC');
    const sunday = addDays(WEEK_END, -21);
    await db.pool.query(
      `INSERT INTO notification_deliveries (parent_id, dedupe_key, kind, channel, status, attempts, claimed_until)
       VALUES ($1, $2, 'digest', 'email', 'sending', 1, NOW() - INTERVAL '1 hour')`,
      [f.parent.id, digestKey(f.parent.id, sunday)],
    );
    await run(zonedInstant('UTC', sunday, 18 * 60 + 10));
    await run(zonedInstant('UTC', sunday, 19 * 60 + 10));
    expect(mailsTo(f.parent.email)).toHaveLength(0);
  });

  it('reaches families at both ends of the world at their own Sunday 18:00', async () => {
    const east = await familyIn('Pacific/Kiritimati'); // UTC+14
    const west = await familyIn('Pacific/Pago_Pago'); // UTC-11
    const india = await familyIn('Asia/Kolkata'); // UTC+5:30
    const sunday = addDays(WEEK_END, -14);
    const sentAt = new Map<string, Date>();
    // Every hourly run from Saturday 00:00 UTC to Tuesday 00:00 UTC, at :10 as scheduled.
    for (const hour of hourly(new Date(`${addDays(sunday, -1)}T00:00:00Z`), 72)) {
      const at = new Date(hour.getTime() + 10 * 60_000);
      await run(at);
      for (const f of [east, west, india]) {
        if (!sentAt.has(f.parent.email) && mailsTo(f.parent.email).length > 0)
          sentAt.set(f.parent.email, at);
      }
    }
    // Kiritimati's Sunday 18:00 is Sunday 04:00 UTC; Pago Pago's is Monday 05:00 UTC;
    // Kolkata's is Sunday 12:30 UTC, reached by the 12:10 run's successor at 13:10 (18:40 local).
    expect(sentAt.get(east.parent.email)?.toISOString()).toBe(`${sunday}T04:10:00.000Z`);
    expect(sentAt.get(west.parent.email)?.toISOString()).toBe(
      `${addDays(sunday, 1)}T05:10:00.000Z`,
    );
    expect(sentAt.get(india.parent.email)?.toISOString()).toBe(`${sunday}T13:10:00.000Z`);
    for (const f of [east, west, india]) {
      expect(mailsTo(f.parent.email)).toHaveLength(1);
      expect(mailsTo(f.parent.email)[0]?.text).toContain(sundayOnOrBefore(sunday).slice(0, 4));
    }
  });

  it.each([
    ['Europe/London', 3, -1, 17], // clocks go forward that Sunday: 18:00 BST is 17:00 UTC
    ['Europe/London', 10, -1, 18], // back to GMT that Sunday: 18:00 GMT is 18:00 UTC
    ['America/New_York', 3, 2, 22], // EDT starts: 18:00 EDT is 22:00 UTC
    ['America/New_York', 11, 1, 23], // EST again: 18:00 EST is 23:00 UTC
    ['Australia/Sydney', 4, 1, 8], // AEDT ends: 18:00 AEST is 08:00 UTC
  ])(
    'on a DST change Sunday in %s (month %i) sends once, at 18:00 local',
    async (zone, month, nth, utcHour) => {
      const f = await familyIn(zone);
      const sunday = sundayOf(DST_YEAR, month, nth);
      const sends: Date[] = [];
      for (const hour of hourly(new Date(`${addDays(sunday, -1)}T12:00:00Z`), 48)) {
        const before = mailsTo(f.parent.email).length;
        await run(hour);
        if (mailsTo(f.parent.email).length > before) sends.push(hour);
      }
      expect(sends.map((d) => d.toISOString())).toEqual([
        `${sunday}T${String(utcHour).padStart(2, '0')}:00:00.000Z`,
      ]);
    },
  );
});
