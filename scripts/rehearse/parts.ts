// The pure parts of the production rehearsal (scripts/rehearse.ts): the Pub/Sub CloudEvent
// Eventarc delivers, the throwaway migration that ALTERs the partitioned tables, month
// arithmetic, and the result table. No I/O here, so test/rehearse/parts.test.ts covers them
// without starting anything.
import { randomUUID } from 'node:crypto';

/** One line of the rehearsal's table. */
export interface RehearsalRow {
  /** A function, or a step such as `migrate (as migrator)`. */
  name: string;
  /** Seconds `npm install --omit=dev` took in the bundle copy. */
  installSeconds?: number;
  /** Milliseconds from spawning the Functions Framework to the first 2xx answer. */
  coldStartMs?: number;
  ok: boolean;
  /** What was checked, or what went wrong. */
  result: string;
}

export function formatTable(rows: readonly RehearsalRow[]): string {
  const header = ['function / step', 'install s', 'cold start ms', 'result'];
  const cells = rows.map((r) => [
    r.name,
    r.installSeconds === undefined ? '' : r.installSeconds.toFixed(1),
    r.coldStartMs === undefined ? '' : String(Math.round(r.coldStartMs)),
    `${r.ok ? 'ok' : 'FAILED'}: ${r.result}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]?.length ?? 0)));
  const line = (c: readonly string[]) =>
    `| ${c.map((v, i) => (i === 1 || i === 2 ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 1 || i === 2 ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(header), rule, ...cells.map(line)].join('\n');
}

/**
 * The structured-mode CloudEvent Eventarc posts to a Pub/Sub-triggered function
 * (google.cloud.pubsub.topic.v1.messagePublished), with `payload` as the message body.
 */
export function pubsubCloudEvent(
  project: string,
  topic: string,
  payload: unknown,
  now: Date,
): Record<string, unknown> {
  const messageId = String(Math.floor(now.getTime() * 1000 + Math.random() * 1000));
  return {
    specversion: '1.0',
    id: messageId,
    source: `//pubsub.googleapis.com/projects/${project}/topics/${topic}`,
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    datacontenttype: 'application/json',
    time: now.toISOString(),
    data: {
      message: {
        data: Buffer.from(JSON.stringify(payload), 'utf8').toString('base64'),
        messageId,
        publishTime: now.toISOString(),
        attributes: {},
      },
      subscription: `projects/${project}/subscriptions/eventarc-${topic}-${randomUUID().slice(0, 8)}`,
    },
  };
}

/** `YYYY-MM-DD` of the 15th of the month `months` after `from`'s (UTC). */
export function midMonth(from: Date, months: number): string {
  return new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth() + months, 15))
    .toISOString()
    .slice(0, 10);
}

/** The suffix create_monthly_partition gives the partition holding `date`: `YYYY_MM`. */
export function partitionSuffix(date: string): string {
  return date.slice(0, 7).replace('-', '_');
}

/** Migration folder names are `<14 digits>_<name>`; this one sorts after every real one. */
export function probeMigrationName(existing: readonly string[]): string {
  const latest =
    [...existing]
      .filter((n) => /^\d{14}_/.test(n))
      .sort()
      .at(-1) ?? '0';
  const stamp = Number(latest.slice(0, 14) || '0') + 1;
  return `${String(stamp).padStart(14, '0')}_rehearsal_alter_partitioned`;
}

/**
 * The schema change that used to be impossible once partition-maintenance had run: ADD
 * COLUMN on a partitioned table recurses into every partition, so the migrator must own
 * them all. Written only into the rehearsal's copy of the migration bundle.
 */
export const probeMigration = {
  up: [
    '-- Rehearsal only (scripts/rehearse.ts): never committed to prisma/migrations.',
    'ALTER TABLE messages ADD COLUMN rehearsal_probe TEXT;',
    'ALTER TABLE daily_activity ADD COLUMN rehearsal_probe INTEGER;',
    '',
  ].join('\n'),
  down: [
    'ALTER TABLE daily_activity DROP COLUMN rehearsal_probe;',
    'ALTER TABLE messages DROP COLUMN rehearsal_probe;',
    '',
  ].join('\n'),
};

/** A role or database name for this run: lower-case, unique per run, within 63 bytes. */
export function runName(prefix: string, suffix: string, what = ''): string {
  const name = `${prefix}_${suffix}${what ? `_${what}` : ''}`.toLowerCase();
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`unusable name ${name}`);
  return name;
}
