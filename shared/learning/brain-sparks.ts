// Today's brain spark: one per age group per date, served by the family's local date. When the
// rollout job has not created it yet, the same deterministic bank pick is inserted here.
import { insertBankSparks, loadSparkBank, type SparkBankEntry } from '../db/seed.ts';
import { AppError } from '../errors.ts';
import { localDate } from './clock.ts';
import type { Queryable } from './db.ts';
import type { Learner } from './learner.ts';
import type { AgeGroup, Category } from './types.ts';

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

interface SparkRow {
  id: string;
  spark_date: string;
  age_group: AgeGroup;
  spark_type: string;
  question: string;
  hints: string[];
  follow_ups: string[];
  topic_id: string | null;
  topic_category: Category | null;
  difficulty: number;
}

const toSpark = (r: SparkRow): BrainSpark => ({
  id: r.id,
  sparkDate: r.spark_date,
  ageGroup: r.age_group,
  sparkType: r.spark_type,
  question: r.question,
  hints: r.hints,
  followUps: r.follow_ups,
  topicId: r.topic_id,
  topicCategory: r.topic_category,
  difficulty: r.difficulty,
});

const SPARK_SELECT = `SELECT s.id, to_char(s.spark_date, 'YYYY-MM-DD') AS spark_date, s.age_group, s.spark_type,
    s.question, s.hints, s.follow_ups, s.topic_id, t.category AS topic_category, s.difficulty
  FROM brain_sparks s LEFT JOIN topics t ON t.id = s.topic_id`;

let bank: SparkBankEntry[] | undefined;

export async function sparkFor(db: Queryable, group: AgeGroup, date: string): Promise<BrainSpark> {
  const find = async () =>
    (
      await db.query<SparkRow>(
        `${SPARK_SELECT} WHERE s.spark_date = $1::date AND s.age_group = $2`,
        [date, group],
      )
    ).rows[0];
  let row = await find();
  if (!row) {
    bank ??= loadSparkBank();
    await insertBankSparks(db, bank, { from: date, days: 1 });
    row = await find();
  }
  if (!row) throw new AppError('not_found', 'No brain spark today');
  return toSpark(row);
}

export async function sparkById(db: Queryable, id: string): Promise<BrainSpark | undefined> {
  const row = (await db.query<SparkRow>(`${SPARK_SELECT} WHERE s.id = $1`, [id])).rows[0];
  return row ? toSpark(row) : undefined;
}

export function todaysSpark(db: Queryable, learner: Learner, now: Date): Promise<BrainSpark> {
  return sparkFor(db, learner.ageGroup, localDate(learner.timezone, now));
}

/** The tutor category of a spark: its topic's, else by its kind of question. */
export function sparkCategory(spark: BrainSpark): Category {
  if (spark.topicCategory) return spark.topicCategory;
  if (spark.sparkType === 'philosophy' || spark.sparkType === 'debate') return 'philosophy';
  if (spark.sparkType === 'what_if') return 'science';
  return 'logic';
}
