import { getTestServer } from '@google-cloud/functions-framework/testing';
import pg from 'pg';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../functions/health/index.ts';
import { useDatabasePool } from '../../shared/db/client.ts';
import { readMigrations } from '../../shared/db/migrator.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  useDatabasePool(db.pool);
});
afterAll(async () => db.drop());

describe('health', () => {
  it('reports the database ready with the latest migration', async () => {
    const res = await request(getTestServer('health')).get('/');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('ok');
    expect(res.body.database.ready).toBe(true);
    expect(res.body.database.migration).toBe((await readMigrations()).at(-1)?.name);
  });

  it('answers liveness without touching the database', async () => {
    const res = await request(getTestServer('health')).get('/live');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('reports 503 when the database is unreachable', async () => {
    const dead = new pg.Pool({
      connectionString: 'postgresql://postgres@127.0.0.1:1/none',
      max: 1,
    });
    useDatabasePool(dead);
    try {
      const res = await request(getTestServer('health')).get('/');
      expect(res.status).toBe(503);
      expect(res.body.database.ready).toBe(false);
    } finally {
      useDatabasePool(db.pool);
      await dead.end();
    }
  });

  it('refuses other methods', async () => {
    const res = await request(getTestServer('health')).post('/');
    expect(res.status).toBe(405);
  });
});
