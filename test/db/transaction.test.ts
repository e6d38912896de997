// The one transaction helper on the shared Prisma client (shared/db/transaction.ts) and the
// error shape services read (shared/db/errors.ts), against real PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getDb, useDatabasePool } from '../../shared/db/client.ts';
import { dbErrorOf } from '../../shared/db/errors.ts';
import { DB_LIMITS, isUnavailable, sqlStateOf } from '../../shared/db/resilience.ts';
import { inTransaction } from '../../shared/db/transaction.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  useDatabasePool(db.pool);
  await db.pool.query('CREATE TABLE tx_probe (id int PRIMARY KEY, note text)');
});

afterAll(async () => {
  await db.drop();
});

/** Holds `lockKey` in a transaction until `release()`, noting entry and exit in `order`. */
function holdLock(lockKey: string, order: string[]) {
  let release!: () => void;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const first = inTransaction(
    'system:test',
    async () => {
      order.push('first in');
      await held;
      order.push('first out');
    },
    { lockKey },
  );
  return { first, release };
}

describe('inTransaction', () => {
  it('names the actor for the audit trail and bounds statements, inside one transaction', async () => {
    const seen = await inTransaction('parent:probe', async (tx) => {
      const [row] = await tx.$queryRaw<{ actor: string; timeout: string; xid: string }[]>`
        SELECT current_setting('brainspark.actor') AS actor,
               (SELECT setting FROM pg_settings WHERE name = 'statement_timeout') AS timeout,
               txid_current()::text AS xid`;
      const [again] = await tx.$queryRaw<{ xid: string }[]>`SELECT txid_current()::text AS xid`;
      return { ...row, sameXid: row?.xid === again?.xid };
    });
    expect(seen).toMatchObject({
      actor: 'parent:probe',
      timeout: String(DB_LIMITS.statementTimeoutMs), // pg_settings reports it in ms
      sameXid: true,
    });
  });

  it('rolls back everything when the work throws', async () => {
    await expect(
      inTransaction('system:test', async (tx) => {
        await tx.$executeRaw`INSERT INTO tx_probe VALUES (1, 'kept?')`;
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM tx_probe WHERE id = 1');
    expect(rows[0].n).toBe(0);
  });

  it('serialises transactions that share a lock key and lets others through', async () => {
    const order: string[] = [];
    const { first, release } = holdLock('child:lock-probe', order);
    // Until the first holds the lock (polled: a busy machine may take longer than any sleep).
    for (let i = 0; i < 500 && !order.includes('first in'); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const second = inTransaction(
      'system:test',
      async () => {
        order.push('second in');
      },
      { lockKey: 'child:lock-probe' },
    );
    const other = inTransaction(
      'system:test',
      async () => {
        order.push('other key');
      },
      { lockKey: 'child:another' },
    );
    await other;
    await new Promise((r) => setTimeout(r, 100));
    expect(order).toEqual(['first in', 'other key']);
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['first in', 'other key', 'first out', 'second in']);
  });

  it('a transaction that outlives its bound is unavailable (a 503 at the edge), not a bug', async () => {
    const err = await inTransaction(
      'system:test',
      async (tx) => {
        await new Promise((resolve) => setTimeout(resolve, 300));
        await tx.$queryRaw`SELECT 1`;
      },
      { timeoutMs: 50 },
    ).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('P2028');
    expect(isUnavailable(err)).toBe(true);
  });

  it('gives a read-only snapshot that refuses writes', async () => {
    const err = await inTransaction(
      'system:test',
      (tx) => tx.$executeRaw`INSERT INTO tx_probe VALUES (2, 'no')`,
      { readOnlySnapshot: true },
    ).catch((e: unknown) => e);
    expect(dbErrorOf(err).code).toBe('25006'); // read_only_sql_transaction
  });
});

describe('dbErrorOf', () => {
  it('reads the SQLSTATE and constraint through the Prisma wrapper', async () => {
    const prisma = await getDb();
    await prisma.$executeRaw`INSERT INTO tx_probe VALUES (3, 'once')`;
    const err = await prisma.$executeRaw`INSERT INTO tx_probe VALUES (3, 'twice')`.catch(
      (e: unknown) => e,
    );
    expect(dbErrorOf(err)).toMatchObject({ code: '23505', constraint: 'tx_probe_pkey' });
    expect(sqlStateOf(err)).toBe('23505');
  });

  it('reads plain pg errors the same way', async () => {
    const err = await db.pool.query('SELECT 1/0').catch((e: unknown) => e);
    expect(dbErrorOf(err).code).toBe('22012');
    expect(dbErrorOf('not an error')).toEqual({});
  });
});
