// Calendar helpers for the notification job tests. Every date is computed from a run date
// (today's, or a year ahead for DST weekends), never written down.
import { addDays } from '../../shared/jobs/time.ts';

/** The Sunday strictly before `date` (YYYY-MM-DD). */
export function sundayBefore(date: string): string {
  const dow = new Date(`${date}T00:00:00Z`).getUTCDay();
  return addDays(date, -(dow === 0 ? 7 : dow));
}

/** The n-th Sunday (1-based) of a month, or the last one for n = -1. */
export function sundayOf(year: number, month: number, n: number): string {
  if (n === -1) {
    const last = new Date(Date.UTC(year, month, 0)); // day 0 of the next month
    return addDays(last.toISOString().slice(0, 10), -last.getUTCDay());
  }
  const first = new Date(Date.UTC(year, month - 1, 1));
  return addDays(first.toISOString().slice(0, 10), ((7 - first.getUTCDay()) % 7) + 7 * (n - 1));
}

/** Instants on the hour from `from` (inclusive) for `hours` hours. */
export function hourly(from: Date, hours: number): Date[] {
  const start = Math.floor(from.getTime() / 3_600_000) * 3_600_000;
  return Array.from({ length: hours }, (_, i) => new Date(start + i * 3_600_000));
}

export const DST_YEAR = new Date().getUTCFullYear() + 1;
