// The brain spark bank as the requests see it: today's spark per age group by the family's
// local date. When the rollout job has not created it yet, the same deterministic bank pick the
// seed and the rollout make is inserted here (one INSERT for all three: bankSparksInsertSql).

import type { Queryable } from '../db/client.ts';
import {
  CURATED_SPARK_SOURCE,
  loadSparkBank,
  pickSparkForDate,
  type SparkBankEntry,
} from '../db/seed.ts';
import { type Sql, sql } from '../db/sql.ts';
import { AppError } from '../errors.ts';
import { localDate } from './clock.ts';
import type { Learner } from './learner.ts';
import { AGE_GROUPS, type AgeGroup, type Category } from './types.ts';

export interface BrainSpark {
  id: string;
  sparkDate: string;
  ageGroup: AgeGroup;
  sparkType: string;
  question: string;
  hints: string[];
  followUps: string[];
  topicId: string | null;
  topicCategory: Category | null;
  difficulty: number;
}

/** A spark as JSON (a BrainSpark), for brain_sparks `s` LEFT JOIN topics `st`. */
export const SPARK_JSON = sql`json_build_object('id', s.id, 'sparkDate', to_char(s.spark_date, 'YYYY-MM-DD'),
  'ageGroup', s.age_group, 'sparkType', s.spark_type, 'question', s.question, 'hints', s.hints,
  'followUps', s.follow_ups, 'topicId', s.topic_id, 'topicCategory', st.category, 'difficulty', s.difficulty)`;

/** The spark of `group` on `date` as a scalar subquery (null when none yet). */
export const sparkOnSql = (group: AgeGroup, date: string): Sql =>
  sql`(SELECT ${SPARK_JSON} FROM brain_sparks s LEFT JOIN topics st ON st.id = s.topic_id
        WHERE s.spark_date = ${date}::date AND s.age_group = ${group}::text)`;

/**
 * The one INSERT of bank entries into brain_sparks (seed, rollout and requests): a spark that
 * already exists for the date and age group is kept. RETURNING age_group.
 */
export function bankSparksInsertSql(
  rows: ReadonlyArray<SparkBankEntry & { spark_date: string }>,
): Sql {
  return sql`INSERT INTO brain_sparks
       (spark_date, age_group, spark_type, question, hints, follow_ups, topic_id, difficulty,
        source, curator_notes)
     SELECT s.spark_date, s.age_group, s.spark_type, s.question, s.hints, s.follow_ups, t.id,
            s.difficulty, ${CURATED_SPARK_SOURCE}::text, s.key
       FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS s(
              spark_date date, age_group text, spark_type text, question text, hints jsonb,
              follow_ups jsonb, topic text, difficulty int, key text)
       LEFT JOIN topics t ON t.slug = s.topic
     ON CONFLICT (spark_date, age_group) DO NOTHING
     RETURNING age_group`;
}

let bank: SparkBankEntry[] | undefined;

/** Inserts the bank's pick of `date` for every age group (the rollout had not run). */
export async function insertBankSparksFor(db: Queryable, date: string): Promise<void> {
  bank ??= loadSparkBank();
  const picks = bank;
  const rows = AGE_GROUPS.map((group) => ({
    ...pickSparkForDate(picks, group, date),
    spark_date: date,
  }));
  await db.$queryRaw(bankSparksInsertSql(rows));
}

/** `read` returns the spark (or null); on null the bank's pick is inserted and read again. */
export async function withTodaysSpark<T extends { spark: BrainSpark | null }>(
  db: Queryable,
  learner: Learner,
  now: Date,
  read: () => Promise<T>,
): Promise<T & { spark: BrainSpark }> {
  let result = await read();
  if (!result.spark) {
    await insertBankSparksFor(db, localDate(learner.timezone, now));
    result = await read();
  }
  if (!result.spark) throw new AppError('not_found', 'No brain spark today');
  return result as T & { spark: BrainSpark };
}
