// Input shapes shared by the account functions (zod), so limits are the same everywhere.
import { z } from 'zod';
import { notificationSettingsSchema } from '../notify/settings.ts';

export const emailSchema = z.string().trim().max(255).pipe(z.email());
export const passwordSchema = z.string().min(10, 'At least 10 characters').max(200);
export const displayNameSchema = z.string().trim().min(1).max(100);
export const timezoneSchema = z.string().min(1).max(50);
export const localeSchema = z
  .string()
  .regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'A BCP 47 tag, e.g. en-US')
  .max(10);
export const refreshTokenSchema = z.string().min(20).max(200);

const MAX_SETTINGS_DEPTH = 8;

/** Whether objects and arrays nest at most `max` levels (iterative: no stack to overflow). */
export function nestsAtMost(value: unknown, max: number): boolean {
  const pending: [unknown, number][] = [[value, 1]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [current, depth] = next;
    if (typeof current !== 'object' || current === null) continue;
    if (depth > max) return false;
    for (const child of Object.values(current)) pending.push([child, depth + 1]);
  }
  return true;
}

/**
 * Free-form settings object: bounded by the 100 KB body limit, a key count and a nesting depth
 * (checked first: the recursive JSON validator overflows the stack on a few thousand levels).
 */
export const settingsSchema = z
  .unknown()
  .refine(
    (v) => nestsAtMost(v, MAX_SETTINGS_DEPTH),
    `Nest at most ${MAX_SETTINGS_DEPTH} levels deep`,
  )
  .pipe(
    z
      .record(z.string().max(64), z.json())
      .refine((s) => Object.keys(s).length <= 50, 'At most 50 keys')
      // The notification switches are read by the delivery code: only known keys, booleans.
      .superRefine((s, ctx) => {
        if (!('notifications' in s)) return;
        const parsed = notificationSettingsSchema.safeParse(s.notifications);
        if (parsed.success) return;
        for (const issue of parsed.error.issues) {
          ctx.addIssue({
            code: 'custom',
            path: ['notifications', ...issue.path.map(String)],
            message: issue.message,
          });
        }
      }),
  );
