// Streak reminders: at 18:00 local a push to each of the parent's devices for each child
// whose streak (>= 1) is not yet kept today and who is not in bedtime; once per child per
// day; every time zone and DST change handled; dead tokens removed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStreakReminders } from '../../shared/jobs/streak-reminders.ts';
import { addDays } from '../../shared/jobs/time.ts';
import { localDate, zonedInstant } from '../../shared/learning/clock.ts';
import { createLogger } from '../../shared/log.ts';
import type { TestDatabase } from '../helpers/db.ts';
import { createParent, teardownAccountsTest } from '../helpers/factories.ts';
import { addDevice, type NotifyHarness, startNotifyHarness } from '../helpers/notify.ts';
import { insertChild, insertStreak } from '../jobs/fixtures.ts';
import { setupLearningTest } from '../learning/helpers.ts';
import { DST_YEAR, hourly, sundayOf } from './dates.ts';

const log = createLogger({ test: 'streak-reminders' });
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

const run = (at: Date) => runStreakReminders({ at, log }, { log });
const pushesTo = (token: string) => h.fcm.delivered().filter((r) => r.token === token);
const RUN_DAY = new Date().toISOString().slice(0, 10);

async function childWithStreak(
  timezone: string,
  day: string,
  options: {
    streak?: number;
    activeToday?: boolean;
    settings?: Record<string, unknown>;
    childSettings?: Record<string, unknown>;
  } = {},
) {
  const parent = await createParent({ timezone });
  const childId = await insertChild(db.pool, parent.id, { name: 'Nia Okafor' });
  await db.pool.query(`UPDATE children SET settings = settings || $2::jsonb WHERE id = $1`, [
    childId,
    JSON.stringify(options.childSettings ?? {}),
  ]);
  if (options.settings) {
    await db.pool.query('UPDATE parents SET settings = $2 WHERE id = $1', [
      parent.id,
      JSON.stringify({ notifications: options.settings }),
    ]);
  }
  const streak = options.streak ?? 4;
  await insertStreak(db.pool, childId, {
    current_streak: streak,
    last_activity_date: options.activeToday ? day : addDays(day, -1),
  });
  const device = await addDevice(db.pool, parent.id);
  return { parent, childId, device };
}

describe('at 18:00 local', () => {
  const zone = 'Asia/Tokyo';
  const at = zonedInstant(zone, RUN_DAY, 18 * 60);

  it('reminds once about a streak not yet kept today, naming only the first name', async () => {
    const c = await childWithStreak(zone, RUN_DAY);
    const second = await addDevice(db.pool, c.parent.id);
    await run(at);
    await run(at);
    await run(new Date(at.getTime() + 30 * 60_000));
    expect(pushesTo(c.device.token)).toHaveLength(1);
    expect(pushesTo(second.token)).toHaveLength(1);
    const push = pushesTo(c.device.token)[0];
    expect(push?.message.notification?.title).toBe("Keep Nia's streak going");
    expect(push?.message.notification?.body).toContain('4-day streak');
    expect(JSON.stringify(push)).not.toContain('Okafor');
    expect(push?.message.data).toMatchObject({ type: 'streak_reminder', childId: c.childId });
  });

  it('sends nothing before 18:00, after 19:00, for a kept or empty streak, in bedtime, or when switched off', async () => {
    const early = await childWithStreak(zone, RUN_DAY);
    await run(zonedInstant(zone, RUN_DAY, 17 * 60 + 59));
    expect(pushesTo(early.device.token)).toHaveLength(0);

    const cases = [
      await childWithStreak(zone, RUN_DAY, { activeToday: true }),
      await childWithStreak(zone, RUN_DAY, { streak: 0 }),
      await childWithStreak(zone, RUN_DAY, {
        childSettings: { bedtime_start: '17:30', bedtime_end: '07:00' },
      }),
      await childWithStreak(zone, RUN_DAY, { settings: { streak_reminders: false } }),
      await childWithStreak(zone, RUN_DAY, { settings: { push_enabled: false } }),
    ];
    await run(at);
    for (const c of cases) expect(pushesTo(c.device.token)).toHaveLength(0);

    const late = await childWithStreak(zone, RUN_DAY);
    await run(zonedInstant(zone, RUN_DAY, 19 * 60));
    expect(pushesTo(late.device.token)).toHaveLength(0);
  });

  it('removes a device whose token FCM reports unregistered', async () => {
    const c = await childWithStreak(zone, RUN_DAY);
    h.fcm.unregistered.add(c.device.token);
    const report = await run(at);
    expect(report.counts.devicesRemoved).toBeGreaterThanOrEqual(1);
    const { rowCount } = await db.pool.query('SELECT 1 FROM parent_devices WHERE id = $1', [
      c.device.id,
    ]);
    expect(rowCount).toBe(0);
  });

  it('retries a transient FCM 503 and still sends once', async () => {
    const c = await childWithStreak(zone, RUN_DAY);
    h.fcm.queue(c.device.token, { status: 503 });
    await run(at);
    expect(h.fcm.requests.filter((r) => r.token === c.device.token).map((r) => r.status)).toEqual([
      503, 200,
    ]);
  });
});

describe('time zones', () => {
  it('reaches both ends of the world at their own 18:00, once per local day', async () => {
    const start = new Date(`${addDays(RUN_DAY, -1)}T00:00:00Z`);
    const zones = ['Pacific/Kiritimati', 'Pacific/Pago_Pago', 'Asia/Kathmandu'];
    const kids = await Promise.all(
      zones.map((z) => childWithStreak(z, localDate(z, start), { streak: 9 })),
    );
    const sends = new Map<string, Date[]>();
    for (const at of hourly(start, 30)) {
      // Each day the child has not played yet, so yesterday stays their last activity.
      const before = new Map(kids.map((k) => [k.device.token, pushesTo(k.device.token).length]));
      await run(at);
      for (const k of kids) {
        if (pushesTo(k.device.token).length > (before.get(k.device.token) ?? 0)) {
          sends.set(k.device.token, [...(sends.get(k.device.token) ?? []), at]);
        }
      }
    }
    for (const [i, zone] of zones.entries()) {
      const times = sends.get((kids[i] as (typeof kids)[number]).device.token) ?? [];
      expect(times.length, zone).toBeGreaterThanOrEqual(1);
      for (const t of times) {
        const minute = Number(
          new Intl.DateTimeFormat('en-GB', {
            timeZone: zone,
            hour: '2-digit',
            hourCycle: 'h23',
          }).format(t),
        );
        expect(minute, `${zone} at ${t.toISOString()}`).toBe(18);
      }
      // Never twice on one local day.
      const days = times.map((t) => localDate(zone, t));
      expect(new Set(days).size).toBe(days.length);
    }
  });

  it.each([
    ['America/New_York', 3, 2, 22], // spring forward: 18:00 EDT is 22:00 UTC
    ['Europe/London', 10, -1, 18], // fall back: 18:00 GMT is 18:00 UTC
  ])(
    'on a DST change day in %s reminds once, at 18:00 local',
    async (zone, month, nth, utcHour) => {
      const day = sundayOf(DST_YEAR, month, nth);
      const c = await childWithStreak(zone, day);
      const sends: string[] = [];
      for (const at of hourly(new Date(`${day}T00:00:00Z`), 30)) {
        const before = pushesTo(c.device.token).length;
        await run(at);
        if (pushesTo(c.device.token).length > before) sends.push(at.toISOString());
      }
      expect(sends).toEqual([`${day}T${String(utcHour).padStart(2, '0')}:00:00.000Z`]);
    },
  );
});
