// Local calendar arithmetic in a family's IANA time zone, with the instant passed in (a clock
// parameter) so every rule that depends on "today" is deterministic in tests.

const dateFormatters = new Map<string, Intl.DateTimeFormat>();
function partsFormatter(timeZone: string): Intl.DateTimeFormat {
  let f = dateFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    dateFormatters.set(timeZone, f);
  }
  return f;
}

interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/**
 * The wall clock of a zone within one UTC minute, by zone and minute: formatToParts is the
 * costliest step of a short request (every learner route asks for "today"), and a family's
 * requests in one minute ask for the same answer. Only minutes whose wall clock is a whole
 * number of minutes off UTC are kept (all zones today; historical offsets with seconds are
 * computed every time), so the cache is exact, not an approximation.
 */
const minuteClocks = new Map<string, Omit<WallClock, 'second'>>();
const MAX_MINUTE_CLOCKS = 1024;

function wallClock(timeZone: string, at: Date): WallClock {
  const ms = at.getTime();
  const key = `${timeZone}|${Math.floor(ms / 60_000)}`;
  const second = Math.floor((((ms % 60_000) + 60_000) % 60_000) / 1000);
  const known = minuteClocks.get(key);
  if (known) return { ...known, second };
  const parts = Object.fromEntries(
    partsFormatter(timeZone)
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  );
  const w: WallClock = {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
  };
  if (w.second === second) {
    if (minuteClocks.size >= MAX_MINUTE_CLOCKS) minuteClocks.clear();
    const { second: _s, ...minute } = w;
    minuteClocks.set(key, minute);
  }
  return w;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** The family's calendar date (YYYY-MM-DD) at `at`. */
export function localDate(timeZone: string, at: Date): string {
  const w = wallClock(timeZone, at);
  return `${w.year}-${pad(w.month)}-${pad(w.day)}`;
}

/** Minutes since local midnight at `at`. */
export function localMinuteOfDay(timeZone: string, at: Date): number {
  const w = wallClock(timeZone, at);
  return w.hour * 60 + w.minute;
}

export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

/** Offset (ms) of the zone from UTC at instant `at`. */
function offsetAt(timeZone: string, at: Date): number {
  const w = wallClock(timeZone, at);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - Math.floor(at.getTime() / 1000) * 1000;
}

/**
 * The instant when the local wall clock first shows `date` `minuteOfDay`. A time skipped by a
 * DST jump resolves to the first instant after the gap.
 */
export function zonedInstant(timeZone: string, date: string, minuteOfDay: number): Date {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const wallAsUtc = Date.UTC(y, m - 1, d, Math.floor(minuteOfDay / 60), minuteOfDay % 60);
  // Two passes settle the offset around a DST change.
  let guess = wallAsUtc - offsetAt(timeZone, new Date(wallAsUtc));
  guess = wallAsUtc - offsetAt(timeZone, new Date(guess));
  const candidates = [guess - 3_600_000, guess].filter(
    (t) =>
      localDate(timeZone, new Date(t)) === date &&
      localMinuteOfDay(timeZone, new Date(t)) === minuteOfDay,
  );
  if (candidates[0] !== undefined) return new Date(candidates[0]);
  // Inside a spring-forward gap the wall time never shows: take the first minute after it.
  const target = `${date} ${pad(Math.floor(minuteOfDay / 60))}:${pad(minuteOfDay % 60)}`;
  for (let t = guess - 7_200_000; t <= guess + 7_200_000; t += 60_000) {
    const at = new Date(t);
    const minute = localMinuteOfDay(timeZone, at);
    if (`${localDate(timeZone, at)} ${pad(Math.floor(minute / 60))}:${pad(minute % 60)}` >= target)
      return at;
  }
  return new Date(guess);
}

/** The instant the next local day begins. */
export function nextLocalMidnight(timeZone: string, at: Date): Date {
  return zonedInstant(timeZone, addDays(localDate(timeZone, at), 1), 0);
}

/** "HH:MM" to minutes; undefined for anything else. */
export function parseClockTime(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(value);
  if (!match) return undefined;
  return Number(match[1]) * 60 + Number(match[2]);
}
