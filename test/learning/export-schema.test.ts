// The family export holds every row of the family in every table. The tables come from the
// catalog: every table with a foreign-key path to parents or children must be exported (or
// excluded with a reason in NOT_EXPORTED), so a new table fails here until it is handled.
// A real family is built through the services (conversation, a retried message, a danger
// alert, consents granted and revoked, a sign-in) and each table's family rows, found by
// following the foreign keys, are compared with the export.
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../functions/parents/index.ts';
import '../../functions/conversations/index.ts';
import { grantConsent, revokeConsent } from '../../shared/accounts/consents.ts';
import { EXPORTED_TABLES, NOT_EXPORTED } from '../../shared/accounts/parents.ts';
import { setAlertPublisherForTests } from '../../shared/learning/alerts.ts';
import { startConversation } from '../../shared/learning/conversations.ts';
import type { TestDatabase } from '../helpers/db.ts';
import { teardownAccountsTest } from '../helpers/factories.ts';
import { createLearner, setupLearningTest, topicIdOf } from './helpers.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await setupLearningTest();
  setAlertPublisherForTests({ publish: async () => {} });
});
afterAll(async () => {
  setAlertPublisherForTests(undefined);
  await teardownAccountsTest(db);
});

interface ForeignKey {
  table: string;
  columns: string[];
  refTable: string;
  refColumns: string[];
}

const FAMILY_ROOTS = ['parents', 'children'];

async function catalog(): Promise<{ tables: string[]; keys: ForeignKey[] }> {
  const tables = await db.pool.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
        AND c.relname NOT LIKE '\\_%'`,
  );
  const keys = await db.pool.query<ForeignKey>(
    `SELECT t.relname AS table, r.relname AS "refTable",
            (SELECT array_agg(a.attname::text ORDER BY k.i) FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
               JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n) AS columns,
            (SELECT array_agg(a.attname::text ORDER BY k.i) FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
               JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n) AS "refColumns"
       FROM pg_constraint con
       JOIN pg_class t ON t.oid = con.conrelid
       JOIN pg_class r ON r.oid = con.confrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE con.contype = 'f' AND n.nspname = 'public' AND NOT t.relispartition`,
  );
  return { tables: tables.rows.map((r) => r.name), keys: keys.rows };
}

/** For each table reaching parents/children by foreign keys, the shortest chain of keys. */
function pathsToFamily(keys: ForeignKey[]): Map<string, ForeignKey[]> {
  const paths = new Map<string, ForeignKey[]>(FAMILY_ROOTS.map((t) => [t, []]));
  let grew = true;
  while (grew) {
    grew = false;
    for (const key of keys) {
      const next = paths.get(key.refTable);
      if (next === undefined || paths.has(key.table)) continue;
      paths.set(key.table, [key, ...next]);
      grew = true;
    }
  }
  return paths;
}

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** The family's row count in `table`, following its key path (identifiers from the catalog). */
async function familyRows(table: string, path: ForeignKey[], parentId: string): Promise<number> {
  let sql = `SELECT count(*)::int AS n FROM ${ident(table)} t0`;
  path.forEach((key, i) => {
    const on = key.columns
      .map((c, j) => `t${i}.${ident(c)} = t${i + 1}.${ident(key.refColumns[j] as string)}`)
      .join(' AND ');
    sql += ` JOIN ${ident(key.refTable)} t${i + 1} ON ${on}`;
  });
  const last = path.length;
  const root = path.length ? (path[path.length - 1] as ForeignKey).refTable : table;
  sql += root === 'parents' ? ` WHERE t${last}.id = $1` : ` WHERE t${last}.parent_id = $1`;
  return (await db.pool.query<{ n: number }>(sql, [parentId])).rows[0]?.n ?? 0;
}

describe('family export against the schema', () => {
  it('exports (or excludes with a reason) every table that holds family rows', async () => {
    const { tables, keys } = await catalog();
    const family = [...pathsToFamily(keys).keys()];
    expect(family).toEqual(expect.arrayContaining(['refresh_tokens', 'idempotency_keys']));
    const unhandled = family.filter((t) => !(t in EXPORTED_TABLES) && !(t in NOT_EXPORTED));
    expect(unhandled).toEqual([]);
    for (const reason of Object.values(NOT_EXPORTED)) expect(reason.length).toBeGreaterThan(20);
    // Every exported table exists (no stale entry hides a renamed one).
    expect(Object.keys(EXPORTED_TABLES).filter((t) => !tables.includes(t))).toEqual([]);
  });

  it("holds every row of the family in every table, and the family's audit trail", async () => {
    const f = await createLearner(db.pool);
    const other = await createLearner(db.pool); // rows of another family must not appear
    for (const learner of [f, other]) {
      const topicId = await topicIdOf(db.pool, 'space');
      const { conversation } = await startConversation(
        learner.learner,
        { type: 'exploration', topicId },
        new Date(),
      );
      for (const [key, text] of [
        ['a-1', 'I think stars are hot because they burn'],
        ['a-2', 'my uncle hits me'],
      ]) {
        const res = await request(getTestServer('conversations'))
          .post(`/children/${learner.childId}/${conversation.id}/messages`)
          .set('authorization', `Bearer ${learner.childToken}`)
          .set('idempotency-key', key as string)
          .send({ text });
        expect(res.status).toBe(201);
      }
      await db.pool.query(
        `INSERT INTO cognitive_metrics (child_id, assessment_date, critical_thinking) VALUES ($1, CURRENT_DATE, 50)`,
        [learner.childId],
      );
      await grantConsent(learner.parent.id, { type: 'data_sharing' }, { ip: '198.51.100.4' });
      await revokeConsent(learner.parent.id, 'data_sharing', {
        ip: '198.51.100.5',
        userAgent: 'ExportTest/1',
      });
    }
    const res = await request(getTestServer('parents'))
      .get('/me/export')
      .set('authorization', `Bearer ${f.parent.accessToken}`);
    expect(res.status).toBe(200);

    const { keys } = await catalog();
    const paths = pathsToFamily(keys);
    const counts: Record<string, number> = {};
    for (const [table, path] of paths) {
      const key = EXPORTED_TABLES[table];
      if (!key) continue;
      const expected = await familyRows(table, path, f.parent.id);
      const exported = table === 'parents' ? [res.body.parent] : res.body[key];
      expect(Array.isArray(exported), `${table} -> ${key}`).toBe(true);
      expect(exported.length, `${table} -> ${key}`).toBe(expected);
      counts[table] = expected;
    }
    // The fixture really filled the tables the issue named, and more.
    for (const table of [
      'refresh_tokens',
      'idempotency_keys',
      'consent_revocations',
      'messages',
      'parent_alerts',
      'cognitive_metrics',
    ]) {
      expect(counts[table], table).toBeGreaterThan(0);
    }
    // Sign-ins with their IP and user agent, without the token hash.
    expect(res.body.refreshTokens[0]).toMatchObject({ parent_id: f.parent.id });
    expect(res.body.refreshTokens[0]).not.toHaveProperty('token_hash');
    // Stored responses of retried requests.
    expect(res.body.idempotencyKeys.map((k: { key: string }) => k.key).sort()).toEqual([
      'a-1',
      'a-2',
    ]);
    expect(res.body.idempotencyKeys[0].response).toBeTruthy();
    // The revocation with its IP and user agent.
    expect(res.body.consentRevocations).toEqual([
      expect.objectContaining({ user_agent: 'ExportTest/1', ip_address: '198.51.100.5' }),
    ]);
    // The family's audit rows: the account, the child, every consent and revocation.
    const audited = new Set(
      res.body.auditLog.map(
        (a: { table_name: string; row_id: string }) => `${a.table_name}:${a.row_id}`,
      ),
    );
    expect(audited.has(`parents:${f.parent.id}`)).toBe(true);
    expect(audited.has(`children:${f.childId}`)).toBe(true);
    for (const c of res.body.consents) expect(audited.has(`consents:${c.id}`)).toBe(true);
    for (const r of res.body.consentRevocations) {
      expect(audited.has(`consent_revocations:${r.id}`)).toBe(true);
    }
    const text = JSON.stringify(res.body);
    expect(text).not.toContain(other.parent.id);
    expect(text).not.toContain(other.childId);
    expect(text).not.toMatch(/argon2|"password_hash":|"pin_hash":|"token_hash":/);
  });
});
