// Input shapes shared by the account functions (zod), so limits are the same everywhere.
import { z } from 'zod';

export const emailSchema = z.string().trim().max(255).pipe(z.email());
export const passwordSchema = z.string().min(10, 'At least 10 characters').max(200);
export const displayNameSchema = z.string().trim().min(1).max(100);
export const timezoneSchema = z.string().min(1).max(50);
export const localeSchema = z
  .string()
  .regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'A BCP 47 tag, e.g. en-US')
  .max(10);
export const refreshTokenSchema = z.string().min(20).max(200);
export const uuidParam = z.uuid();

/** Free-form settings object: bounded by the 100 KB body limit and a key count. */
export const settingsSchema = z
  .record(z.string().max(64), z.json())
  .refine((s) => Object.keys(s).length <= 50, 'At most 50 keys');
