// Bedtime and the daily time limit in the family's time zone, with when the app opens again.
import { describe, expect, it } from 'vitest';
import { AppError } from '../../shared/errors.ts';
import { assertWithinSchedule } from '../../shared/learning/limits.ts';

const settings = { bedtime_start: '20:00', bedtime_end: '07:00', daily_time_limit_minutes: 60 };

function refusal(
  timezone: string,
  usedSeconds: number,
  now: string,
  s: Record<string, unknown> = settings,
): AppError | undefined {
  try {
    assertWithinSchedule({ timezone, settings: s }, usedSeconds, new Date(now));
    return undefined;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
}

describe('bedtime', () => {
  it('refuses after bedtime starts, opening at bedtime end the next local morning', () => {
    // 21:30 in New York (EST, UTC-5) on 2026-11-25.
    const err = refusal('America/New_York', 0, '2026-11-26T02:30:00Z');
    expect(err?.code).toBe('bedtime');
    expect(err?.details?.opensAt).toBe('2026-11-26T12:00:00.000Z');
  });

  it('refuses before bedtime ends, opening the same morning', () => {
    const err = refusal('America/New_York', 0, '2026-11-26T10:00:00Z'); // 05:00 local
    expect(err?.code).toBe('bedtime');
    expect(err?.details?.opensAt).toBe('2026-11-26T12:00:00.000Z');
  });

  it('allows the day time, one minute either side of the window', () => {
    expect(refusal('America/New_York', 0, '2026-11-26T12:00:00Z')).toBeUndefined(); // 07:00
    expect(refusal('America/New_York', 0, '2026-11-26T00:59:00Z')).toBeUndefined(); // 19:59
    expect(refusal('America/New_York', 0, '2026-11-26T01:00:00Z')?.code).toBe('bedtime'); // 20:00
  });

  it('uses the family time zone at both ends of the world', () => {
    const instant = '2026-11-25T07:30:00Z'; // 21:30 in Kiritimati (UTC+14), 20:30 the day before in Pago Pago (UTC-11)
    const kiritimati = refusal('Pacific/Kiritimati', 0, instant);
    expect(kiritimati?.code).toBe('bedtime');
    expect(kiritimati?.details?.opensAt).toBe('2026-11-25T17:00:00.000Z'); // 07:00 on the 26th local
    const pagoPago = refusal('Pacific/Pago_Pago', 0, instant);
    expect(pagoPago?.code).toBe('bedtime');
    expect(pagoPago?.details?.opensAt).toBe('2026-11-25T18:00:00.000Z'); // 07:00 on the 25th local
    expect(refusal('Pacific/Pago_Pago', 0, '2026-11-25T05:00:00Z')).toBeUndefined(); // 18:00 local
  });

  it('opens at 07:00 local on the morning after a DST change', () => {
    // New York leaves DST at 2026-11-01 02:00 EDT; 07:00 EST that morning is 12:00Z (not 11:00Z).
    const err = refusal('America/New_York', 0, '2026-11-01T03:00:00Z'); // 23:00 EDT on Oct 31
    expect(err?.details?.opensAt).toBe('2026-11-01T12:00:00.000Z');
  });

  it('supports a window that does not cross midnight', () => {
    const s = { bedtime_start: '13:00', bedtime_end: '15:00' };
    expect(refusal('UTC', 0, '2026-11-25T14:00:00Z', s)?.details?.opensAt).toBe(
      '2026-11-25T15:00:00.000Z',
    );
    expect(refusal('UTC', 0, '2026-11-25T16:00:00Z', s)).toBeUndefined();
  });
});

describe('daily time limit', () => {
  it('refuses once the limit is used, opening at the next local day after bedtime', () => {
    const err = refusal('Europe/Paris', 3600, '2026-11-25T12:00:00Z');
    expect(err?.code).toBe('time_limit_reached');
    // Midnight in Paris falls inside bedtime, so it opens at 07:00 local (06:00Z).
    expect(err?.details?.opensAt).toBe('2026-11-26T06:00:00.000Z');
  });

  it('allows a child with time left', () => {
    expect(refusal('Europe/Paris', 3599, '2026-11-25T12:00:00Z')).toBeUndefined();
  });

  it('opens at local midnight when there is no bedtime', () => {
    const err = refusal('Pacific/Kiritimati', 600, '2026-11-25T05:00:00Z', {
      daily_time_limit_minutes: 10,
    });
    expect(err?.code).toBe('time_limit_reached');
    expect(err?.details?.opensAt).toBe('2026-11-25T10:00:00.000Z'); // 00:00 on the 26th, UTC+14
  });
});
