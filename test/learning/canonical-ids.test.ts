// Ids are canonicalised before anything keys on them: the same child spelled in another letter
// case must share the PIN-guess budget and the per-child lock, and a non-UUID is a 400.
import { readdirSync, readFileSync } from 'node:fs';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../functions/children/index.ts';
import '../../functions/rewards/index.ts';
import '../../functions/streaks/index.ts';
import { openChildSession } from '../../shared/accounts/children.ts';
import { withChildLock } from '../../shared/learning/db.ts';
import { grantStars } from '../../shared/learning/rewards.ts';
import { idSchema } from '../../shared/runtime/ids.ts';
import type { TestDatabase } from '../helpers/db.ts';
import { createFamily, teardownAccountsTest } from '../helpers/factories.ts';
import { createLearner, setupLearningTest } from './helpers.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await setupLearningTest();
});
afterAll(async () => teardownAccountsTest(db));

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** The i-th of many spellings of one UUID: letters flipped to capitals by the bits of i. */
function spelling(id: string, i: number): string {
  let bit = 0;
  return id.replace(/[a-f]/g, (c) => ((i >> bit++) & 1 ? c.toUpperCase() : c));
}

describe('idSchema', () => {
  it('lower-cases any spelling of a UUID and refuses what is not one', () => {
    const id = '0f8fad5b-d9cb-469f-a165-70867728950e';
    expect(idSchema.parse(id.toUpperCase())).toBe(id);
    expect(idSchema.parse(spelling(id, 5))).toBe(id);
    for (const bad of ['', 'not-a-uuid', `${id}x`, `{${id}}`, id.replace(/-/g, '')]) {
      expect(idSchema.safeParse(bad).success, bad).toBe(false);
    }
  });

  it('is the only way a function takes an id (no bare z.uuid() in functions/)', () => {
    const offenders = readdirSync('functions', { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .filter((f) => readFileSync(`functions/${f}`, 'utf8').includes('z.uuid('));
    expect(offenders).toEqual([]);
  });
});

describe('the PIN lockout', () => {
  it('counts wrong PINs per child, however the id is spelled', async () => {
    const { parent, child } = await createFamily({ pin: '8642' });
    expect(child.id).toMatch(/[a-f]/); // a UUID without letters would prove nothing (1 in ~10^18)
    for (let i = 0; i < 5; i++) {
      const res = await request(getTestServer('children'))
        .post(`/${spelling(child.id, i + 1)}/session`)
        .set(bearer(parent.accessToken))
        .send({ pin: `000${i}` });
      expect(res.status).toBe(403);
    }
    // A sixth spelling, and the right PIN: still locked.
    const locked = await request(getTestServer('children'))
      .post(`/${child.id.toUpperCase()}/session`)
      .set(bearer(parent.accessToken))
      .send({ pin: '8642' });
    expect(locked.status).toBe(429);
    expect(locked.body.code).toBe('rate_limited');
  });

  it('parallel guesses under 8 spellings share one budget: 5 are checked, the rest 429', async () => {
    const { parent, child } = await createFamily({ pin: '8642' });
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        request(getTestServer('children'))
          .post(`/${spelling(child.id, i * 37 + 3)}/session`)
          .set(bearer(parent.accessToken))
          .send({ pin: `100${i}` }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([403, 403, 403, 403, 403, 429, 429, 429]);
    // Every spelling, and the canonical one, is now locked, the right PIN included.
    for (const id of [child.id, child.id.toUpperCase(), spelling(child.id, 2)]) {
      const res = await request(getTestServer('children'))
        .post(`/${id}/session`)
        .set(bearer(parent.accessToken))
        .send({ pin: '8642' });
      expect(res.status).toBe(429);
    }
  });

  it('the service takes canonical ids only: another spelling reaches no child and no PIN budget', async () => {
    const { parent, child } = await createFamily({ pin: '8642' });
    for (let i = 0; i < 6; i++) {
      await expect(
        openChildSession(parent.id, spelling(child.id, i + 1), '0000'),
      ).rejects.toMatchObject({ code: 'not_found' });
    }
    // None of those counted: the child's own budget is untouched.
    const session = await openChildSession(parent.id, child.id, '8642');
    expect(session.child.id).toBe(child.id);
  });

  it('refuses an id that is not a UUID with 400 before any lookup', async () => {
    const { parent } = await createFamily();
    const res = await request(getTestServer('children'))
      .post('/not-a-child/session')
      .set(bearer(parent.accessToken))
      .send({});
    expect(res.status).toBe(400);
  });
});

describe('a parallel purchase race', () => {
  it('takes one per-child lock whatever the spelling: never overspends, never buys twice', async () => {
    const family = await createLearner(db.pool);
    await withChildLock(family.childId, 'test', (tx) =>
      grantStars(tx, family.childId, 'test', 16, { type: 'test' }, new Date()),
    );
    // glasses_star costs 15: with 16 stars exactly one purchase can succeed.
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        request(getTestServer('rewards'))
          .post(`/children/${spelling(family.childId, i * 37 + 1)}/cosmetics`)
          .set(bearer(family.childToken))
          .send({ itemId: 'glasses_star' }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    for (const r of results.filter((x) => x.status !== 201)) {
      expect(['already_owned', 'insufficient_stars']).toContain(r.body.code);
    }
    const { rows } = await db.pool.query<{ bought: number; balance: number }>(
      `SELECT COUNT(*) FILTER (WHERE reward_type = 'cosmetic')::int AS bought,
              COALESCE(SUM(star_value), 0)::int AS balance
         FROM rewards WHERE child_id = $1`,
      [family.childId],
    );
    expect(rows[0]).toEqual({ bought: 1, balance: 1 });
  });

  it('a child session reads its own streak with its id in capitals', async () => {
    const family = await createLearner(db.pool);
    const res = await request(getTestServer('streaks'))
      .get(`/children/${family.childId.toUpperCase()}`)
      .set(bearer(family.childToken));
    expect(res.status).toBe(200);
  });
});
