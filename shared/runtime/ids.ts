// Ids from clients are canonicalised before anything keys on them. PostgreSQL compares UUIDs
// case-insensitively, but rate limits, advisory locks and caches key on the string: a child id
// spelled in capitals reached the same row with a fresh PIN-guess budget and a different
// per-child lock (a 4-digit PIN fell in ~19 min instead of ~250 h; a parallel purchase race
// overspent). Every route schema takes ids through this one schema, so none can forget.
import { z } from 'zod';

/** A UUID in any letter case, handed on in lower case; anything else is a 400. */
export const idSchema = z.uuid().transform((id) => id.toLowerCase());
