// brain-spark-rollout (daily): every age group has a brain spark for the run date and the
// next 6 days. Sparks come from the curated bank (prisma/seed/sparks, via loadSparkBank);
// `source` = 'curated_bank' and `curator_notes` = the bank key, so the job can see which
// entries it already served. Rows that exist (curated or not) are never touched: ON CONFLICT
// (spark_date, age_group) DO NOTHING, so a second run, or a run racing the seed, adds nothing.
//
// Choice of entry for a missing (date, group): the entry whose nearest use by that group (in
// the 60 days before or after the date) is farthest away, distances capped at 60 days so that
// every entry not used within 60 days counts as equally fresh; ties go to the seed's rotation
// order starting at the date (sparkRotation, pickSparkForDate), so an empty history gives
// exactly what the seed gives. A bank of 60 or more entries per group therefore never repeats
// within 60 days; a smaller bank repeats as rarely as its size allows (every N days for N
// entries).
//
// This is the one job that is not per child: it writes at most 7 x 3 rows, chosen in code
// from one query of recent usage, and inserted in one statement.
import {
  AGE_GROUPS,
  type AgeGroup,
  CURATED_SPARK_SOURCE,
  dayNumber,
  loadSparkBank,
  type SparkBankEntry,
  sparkRotation,
} from '../db/seed.ts';
import { bankSparksInsertSql } from '../learning/spark-bank.ts';
import { withJobLock } from './lock.ts';
import { addDays, resolveDate } from './time.ts';
import type { JobArgs, JobResult } from './types.ts';

export const SPARK_DAYS_AHEAD = 7;
export const SPARK_NO_REPEAT_DAYS = 60;

export class SparkBankError extends Error {
  override name = 'SparkBankError';
}

interface Usage {
  age_group: AgeGroup;
  spark_date: string;
  bank_key: string | null;
}

/** Picks entries for the missing dates of one group; `used` maps key -> day numbers used. */
export function chooseSparks(
  rotation: readonly SparkBankEntry[],
  missingDates: readonly string[],
  used: Map<string, number[]>,
): Array<{ date: string; entry: SparkBankEntry }> {
  const picks: Array<{ date: string; entry: SparkBankEntry }> = [];
  if (rotation.length === 0) return picks;
  for (const date of [...missingDates].sort()) {
    const day = dayNumber(date);
    let best: SparkBankEntry | undefined;
    let bestDistance = -1;
    for (let i = 0; i < rotation.length; i++) {
      const entry = rotation[(day + i) % rotation.length] as SparkBankEntry;
      const uses = used.get(entry.key) ?? [];
      const distance = Math.min(SPARK_NO_REPEAT_DAYS, ...uses.map((u) => Math.abs(u - day)));
      if (distance > bestDistance) {
        best = entry;
        bestDistance = distance;
      }
    }
    if (!best) continue;
    picks.push({ date, entry: best });
    used.set(best.key, [...(used.get(best.key) ?? []), day]);
  }
  return picks;
}

export async function runBrainSparkRollout(
  args: JobArgs,
  bank: readonly SparkBankEntry[] = loadSparkBank(),
): Promise<JobResult> {
  const runDate = resolveDate(args);
  const lastDate = addDays(runDate, SPARK_DAYS_AHEAD - 1);
  const dates = Array.from({ length: SPARK_DAYS_AHEAD }, (_, i) => addDays(runDate, i));

  return withJobLock('brain-spark-rollout', (job) =>
    job.transaction(async (tx) => {
      const usage = await tx.$queryRaw<Usage[]>`
        SELECT age_group, to_char(spark_date, 'YYYY-MM-DD') AS spark_date,
               CASE WHEN source = ${CURATED_SPARK_SOURCE} THEN curator_notes END AS bank_key
          FROM brain_sparks
         WHERE spark_date BETWEEN ${runDate}::date - ${SPARK_NO_REPEAT_DAYS}::int
                              AND ${lastDate}::date + ${SPARK_NO_REPEAT_DAYS}::int`;
      const rows: Array<SparkBankEntry & { spark_date: string }> = [];
      const counts: Record<string, number> = {};
      for (const group of AGE_GROUPS) {
        const mine = usage.filter((u) => u.age_group === group);
        const taken = new Set(mine.map((u) => u.spark_date));
        const missing = dates.filter((d) => !taken.has(d));
        const used = new Map<string, number[]>();
        for (const u of mine) {
          if (u.bank_key)
            used.set(u.bank_key, [...(used.get(u.bank_key) ?? []), dayNumber(u.spark_date)]);
        }
        const rotation = sparkRotation(bank, group);
        if (missing.length > 0 && rotation.length === 0) {
          throw new SparkBankError(
            `the spark bank has no entries for ${group}; ${missing.length} days have no spark`,
          );
        }
        for (const pick of chooseSparks(rotation, missing, used))
          rows.push({ ...pick.entry, spark_date: pick.date });
        counts[group] = 0;
      }
      // The one INSERT of bank sparks (shared/learning/spark-bank.ts; the seed and requests too).
      const inserted = await tx.$queryRaw<{ age_group: string }[]>(bankSparksInsertSql(rows));
      for (const r of inserted) counts[r.age_group] = (counts[r.age_group] ?? 0) + 1;
      args.onProgress?.({ step: 'sparks', done: inserted.length });
      return {
        rowsTouched: inserted.length,
        counts,
        details: { from: runDate, to: lastDate, bankSize: bank.length },
      };
    }),
  );
}
