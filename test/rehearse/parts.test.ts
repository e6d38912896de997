// The pure parts of `npm run rehearse` (the rehearsal itself is a script CI runs, not a test).
import { describe, expect, it } from 'vitest';
import {
  formatTable,
  midMonth,
  partitionSuffix,
  probeMigration,
  probeMigrationName,
  pubsubCloudEvent,
  runName,
} from '../../scripts/rehearse/parts.ts';
import { decodePayload } from '../../shared/runtime/job.ts';

describe('the rehearsal CloudEvent', () => {
  it('is the structured Pub/Sub event the job runtime decodes', () => {
    const now = new Date('2030-01-02T03:04:05Z');
    const event = pubsubCloudEvent('p', 'job-x', { date: '2030-01-02' }, now);
    expect(event).toMatchObject({
      specversion: '1.0',
      type: 'google.cloud.pubsub.topic.v1.messagePublished',
      source: '//pubsub.googleapis.com/projects/p/topics/job-x',
      time: '2030-01-02T03:04:05.000Z',
    });
    const decoded = decodePayload(event.data as Parameters<typeof decodePayload>[0]);
    expect(decoded).toEqual({ ok: true, payload: { date: '2030-01-02' } });
  });
});

describe('rehearsal dates and names', () => {
  it('step months across year ends, and name partitions as create_monthly_partition does', () => {
    const from = new Date('2026-11-30T23:00:00Z');
    expect(midMonth(from, 2)).toBe('2027-01-15');
    expect(midMonth(from, 6)).toBe('2027-05-15');
    expect(midMonth(from, -11)).toBe('2025-12-15');
    expect(partitionSuffix('2027-05-15')).toBe('2027_05');
  });

  it('put the probe migration after every real one', () => {
    const existing = ['20261125000000_init', '20261201000100_x', 'migration_lock.toml'];
    const name = probeMigrationName(existing);
    expect(name).toBe('20261201000101_rehearsal_alter_partitioned');
    expect(
      [...existing, name]
        .filter((n) => /^\d/.test(n))
        .sort()
        .at(-1),
    ).toBe(name);
    expect(probeMigration.up).toMatch(/ALTER TABLE messages ADD COLUMN/);
    expect(probeMigration.up).toMatch(/ALTER TABLE daily_activity ADD COLUMN/);
  });

  it('make role names unique per run and refuse unusable ones', () => {
    expect(runName('rh', 'ab12', 'api')).toBe('rh_ab12_api');
    expect(() => runName('rh', 'x"; drop', 'api')).toThrow(/unusable/);
    expect(() => runName('rh', 'a'.repeat(70))).toThrow(/unusable/);
  });
});

describe('the rehearsal table', () => {
  it('shows install seconds, cold start and the result, failures marked', () => {
    const table = formatTable([
      { name: 'health', installSeconds: 12.34, coldStartMs: 812.6, ok: true, result: '200' },
      { name: 'auth', ok: false, result: 'answered 500' },
    ]);
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^\| function \/ step +\| install s \| cold start ms \| result +\|$/);
    expect(lines[2]).toMatch(/^\| health +\| +12\.3 \| +813 \| ok: 200 +\|$/);
    expect(lines[3]).toContain('FAILED: answered 500');
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
  });
});
