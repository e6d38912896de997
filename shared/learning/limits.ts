// Server-side limits for child sessions, in the family's time zone: the bedtime window and the
// daily time limit from children.settings (403 with when it opens again), and the daily cap on
// tutor messages (429). Parents are never limited.
import { AppError } from '../errors.ts';
import {
  addDays,
  localDate,
  localMinuteOfDay,
  nextLocalMidnight,
  parseClockTime,
  zonedInstant,
} from './clock.ts';
import type { Learner } from './learner.ts';

export interface ScheduleLimits {
  bedtime: { start: number; end: number } | undefined;
  dailyMinutes: number | undefined;
}

export function limitsFrom(settings: Record<string, unknown>): ScheduleLimits {
  const start = parseClockTime(settings.bedtime_start);
  const end = parseClockTime(settings.bedtime_end);
  const minutes = settings.daily_time_limit_minutes;
  return {
    bedtime: start !== undefined && end !== undefined && start !== end ? { start, end } : undefined,
    dailyMinutes:
      typeof minutes === 'number' && Number.isFinite(minutes) && minutes >= 0 ? minutes : undefined,
  };
}

function inWindow(window: { start: number; end: number }, minute: number): boolean {
  return window.start < window.end
    ? minute >= window.start && minute < window.end
    : minute >= window.start || minute < window.end;
}

/** The instant bedtime ends, for a `now` inside the window. */
function bedtimeEnds(timeZone: string, window: { start: number; end: number }, now: Date): Date {
  const today = localDate(timeZone, now);
  const minute = localMinuteOfDay(timeZone, now);
  const endsTomorrow = window.start > window.end && minute >= window.start;
  return zonedInstant(timeZone, endsTomorrow ? addDays(today, 1) : today, window.end);
}

/** Throws 403 bedtime / time_limit_reached; `usedSeconds` is today's counted time. */
export function assertWithinSchedule(
  learner: Pick<Learner, 'timezone' | 'settings'>,
  usedSeconds: number,
  now: Date,
): void {
  const limits = limitsFrom(learner.settings);
  const minute = localMinuteOfDay(learner.timezone, now);
  if (limits.bedtime && inWindow(limits.bedtime, minute)) {
    const opensAt = bedtimeEnds(learner.timezone, limits.bedtime, now);
    throw new AppError('bedtime', "It's bedtime. BrainSpark opens again in the morning.", {
      details: { opensAt: opensAt.toISOString() },
    });
  }
  if (limits.dailyMinutes !== undefined && usedSeconds >= limits.dailyMinutes * 60) {
    let opensAt = nextLocalMidnight(learner.timezone, now);
    // If the new day starts inside bedtime, the app opens when bedtime ends.
    if (limits.bedtime && inWindow(limits.bedtime, 0))
      opensAt = bedtimeEnds(learner.timezone, limits.bedtime, opensAt);
    throw new AppError('time_limit_reached', "That's all the BrainSpark time for today.", {
      details: { opensAt: opensAt.toISOString(), dailyLimitMinutes: limits.dailyMinutes },
    });
  }
}

export function assertMessageCap(
  learner: Learner,
  messagesToday: number,
  cap: number,
  now: Date,
): void {
  if (messagesToday < cap) return;
  const opensAt = nextLocalMidnight(learner.timezone, now);
  throw new AppError(
    'message_limit_reached',
    "You've sent lots of messages today. Let's take a break until tomorrow!",
    {
      details: {
        opensAt: opensAt.toISOString(),
        retryAfterSeconds: Math.max(1, Math.ceil((opensAt.getTime() - now.getTime()) / 1000)),
        dailyMessageCap: cap,
      },
    },
  );
}
