// The family's wall clock, checked against Intl directly (the authority the code caches):
// the same minute asked twice (a cache hit) and instants around DST changes, before 1970
// and in a zone whose offset once had seconds must all read as Intl reads them.
import { describe, expect, it } from 'vitest';
import { localDate, localMinuteOfDay, nextLocalMidnight } from '../../shared/learning/clock.ts';

function intl(timeZone: string, at: Date) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  );
  return {
    date: `${parts.year}-${parts.month}-${parts.day}`,
    minute: Number(parts.hour) * 60 + Number(parts.minute),
  };
}

const ZONES = [
  'UTC',
  'Europe/London',
  'America/New_York',
  'Australia/Lord_Howe', // a 30-minute DST shift
  'Asia/Kathmandu', // +05:45
  'Pacific/Chatham', // +12:45 / +13:45
  'Africa/Monrovia', // -00:44:30 until 1972: an offset with seconds
];

const INSTANTS = [
  '2026-03-08T06:59:59.999Z', // around New York's spring-forward (07:00 UTC)
  '2026-03-08T07:00:00.000Z',
  '2026-10-25T00:59:30.000Z', // around London's fall-back (01:00 UTC)
  '2026-10-25T01:00:30.000Z',
  '2026-04-04T14:59:59.000Z', // Lord Howe ends DST at 15:00 UTC
  '2026-04-04T15:00:01.000Z',
  '1969-12-31T23:59:59.500Z', // before the epoch: negative milliseconds
  '1968-05-01T12:00:20.000Z', // Monrovia at -00:44:30
  '2027-12-31T23:59:00.000Z',
];

describe('the family wall clock', () => {
  it('reads every zone and instant as Intl does, asked once and asked again', () => {
    for (const zone of ZONES) {
      for (const iso of INSTANTS) {
        const at = new Date(iso);
        const expected = intl(zone, at);
        for (let round = 0; round < 2; round++) {
          expect([zone, iso, localDate(zone, at)]).toEqual([zone, iso, expected.date]);
          expect([zone, iso, localMinuteOfDay(zone, at)]).toEqual([zone, iso, expected.minute]);
        }
      }
    }
  });

  it('every second of a minute that crosses a day boundary reads the same date', () => {
    const zone = 'Asia/Kathmandu';
    // 18:15 UTC is local midnight in Kathmandu (+05:45).
    for (const s of [0, 1, 30, 59]) {
      const at = new Date(Date.UTC(2026, 11, 1, 18, 15, s));
      expect(localDate(zone, at)).toBe('2026-12-02');
      expect(localMinuteOfDay(zone, at)).toBe(0);
      const before = new Date(Date.UTC(2026, 11, 1, 18, 14, s));
      expect(localDate(zone, before)).toBe('2026-12-01');
      expect(localMinuteOfDay(zone, before)).toBe(23 * 60 + 59);
    }
    expect(nextLocalMidnight(zone, new Date(Date.UTC(2026, 11, 1, 12))).toISOString()).toBe(
      '2026-12-01T18:15:00.000Z',
    );
  });
});
