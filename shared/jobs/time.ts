// Date arithmetic on calendar days (YYYY-MM-DD strings, always UTC-based so no host time zone
// leaks in). Local days per family are computed in SQL with AT TIME ZONE, never here.
import { z } from 'zod';

export const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'expected YYYY-MM-DD')
  .refine(
    (s) =>
      !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && toIsoDate(new Date(`${s}T00:00:00Z`)) === s,
    {
      message: 'not a calendar date',
    },
  );

export function toIsoDate(instant: Date): string {
  return instant.toISOString().slice(0, 10);
}

export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return toIsoDate(d);
}

/** The run date: `date`, else the UTC day of `at`, else today (UTC). */
export function resolveDate(args: { date?: string; at?: Date }, now = new Date()): string {
  if (args.date) return args.date;
  return toIsoDate(args.at ?? now);
}
