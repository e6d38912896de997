// The audit trail: every insert, update and delete of parents, children and consents leaves
// a row with old and new values (minus secrets), the changed columns and the actor.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { createChild, createParent, insert } from './schema-fixtures.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

interface AuditRow {
  table_name: string;
  action: string;
  old_values: Record<string, unknown> | null;
  new_values: Record<string, unknown> | null;
  changed_columns: string[];
  changed_by: string | null;
}

const auditFor = async (rowId: string): Promise<AuditRow[]> => {
  const { rows } = await db.pool.query<AuditRow>(
    `SELECT table_name, action, old_values, new_values, changed_columns, changed_by
       FROM audit_log WHERE row_id = $1 ORDER BY changed_at, action DESC`,
    [rowId],
  );
  return rows;
};

async function asActor<T>(
  actor: string,
  work: (q: (sql: string, params: unknown[]) => Promise<unknown>) => Promise<T>,
) {
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SELECT set_config('brainspark.actor', $1, true)`, [actor]);
    const result = await work((sql, params) => client.query(sql, params));
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  } finally {
    client.release();
  }
}

describe('audit_log', () => {
  test('parents: insert, update and delete are recorded with the actor, without password_hash', async () => {
    const parent = await asActor('system:signup', async (q) => {
      const result = (await q(
        `INSERT INTO parents (email, password_hash) VALUES ($1, 'argon-secret') RETURNING id`,
        [`audit-${Date.now()}@example.com`],
      )) as { rows: { id: string }[] };
      return result.rows[0]?.id as string;
    });
    await asActor(`parent:${parent}`, (q) =>
      q(`UPDATE parents SET display_name = 'Sam', password_hash = 'argon-new' WHERE id = $1`, [
        parent,
      ]),
    );
    await db.pool.query('DELETE FROM parents WHERE id = $1', [parent]);

    const rows = await auditFor(parent);
    expect(rows.map((r) => [r.action, r.changed_by])).toEqual([
      ['INSERT', 'system:signup'],
      ['UPDATE', `parent:${parent}`],
      ['DELETE', null],
    ]);
    const [inserted, updated, deleted] = rows;
    expect(inserted?.old_values).toBeNull();
    expect(inserted?.new_values).toMatchObject({ id: parent, display_name: null });
    expect(updated?.old_values).toMatchObject({ display_name: null });
    expect(updated?.new_values).toMatchObject({ display_name: 'Sam' });
    expect(updated?.changed_columns).toEqual(['display_name', 'password_hash']);
    expect(deleted?.new_values).toBeNull();
    expect(deleted?.old_values).toMatchObject({ display_name: 'Sam' });
    for (const row of rows) {
      expect(JSON.stringify(row)).not.toContain('argon-');
      expect(row.old_values ?? {}).not.toHaveProperty('password_hash');
      expect(row.new_values ?? {}).not.toHaveProperty('password_hash');
    }
  });

  test('children: pin_hash never reaches the trail, but a PIN change is visible', async () => {
    const child = await createChild(db.pool, undefined, { pin_hash: 'pin-secret-1' });
    await db.pool.query(`UPDATE children SET pin_hash = 'pin-secret-2' WHERE id = $1`, [child]);
    const rows = await auditFor(child);
    expect(rows.map((r) => r.action)).toEqual(['INSERT', 'UPDATE']);
    expect(rows[1]?.changed_columns).toEqual(['pin_hash']);
    expect(JSON.stringify(rows)).not.toContain('pin-secret');
  });

  test('an update that changes nothing (only updated_at) is not recorded', async () => {
    const parent = await createParent(db.pool);
    await db.pool.query('UPDATE parents SET locale = locale WHERE id = $1', [parent]);
    expect((await auditFor(parent)).map((r) => r.action)).toEqual(['INSERT']);
  });

  test('consents are audited, including cascaded deletes', async () => {
    const parent = await createParent(db.pool);
    const consent = await insert(db.pool, 'consents', {
      parent_id: parent,
      consent_type: 'coppa',
      version: '1',
      granted_at: new Date(Date.now() - 1000),
    });
    const revocation = await insert(db.pool, 'consent_revocations', {
      consent_id: consent.id,
      parent_id: parent,
      ip_address: '203.0.113.5',
    });
    await db.pool.query('DELETE FROM parents WHERE id = $1', [parent]);
    const rows = await auditFor(consent.id as string);
    expect(rows.map((r) => r.action)).toEqual(['INSERT', 'DELETE']);
    expect(rows.every((r) => r.table_name === 'consents')).toBe(true);
    // The revocation event is audited too, so the proof of it outlives the account.
    const revoked = await auditFor(revocation.id as string);
    expect(revoked.map((r) => [r.table_name, r.action])).toEqual([
      ['consent_revocations', 'INSERT'],
      ['consent_revocations', 'DELETE'],
    ]);
  });

  test('other tables are not audited, and the trail is append-only', async () => {
    const child = await createChild(db.pool);
    const reward = await insert(db.pool, 'rewards', {
      child_id: child,
      reward_type: 'star',
      reward_id: 'x',
    });
    expect(await auditFor(reward.id as string)).toEqual([]);
    await expect(
      db.pool.query(`UPDATE audit_log SET changed_by = 'someone-else' WHERE row_id = $1`, [child]),
    ).rejects.toMatchObject({ code: '23514', constraint: 'audit_log_append_only' });
    // Retention may still delete old entries.
    await db.pool.query('DELETE FROM audit_log WHERE row_id = $1', [child]);
    expect(await auditFor(child)).toEqual([]);
  });
});
