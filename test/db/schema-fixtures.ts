// Row builders for the schema tests: each returns a valid row with unique values, so a test
// can make its own data in a shared per-file database.
import { randomUUID } from 'node:crypto';
import pg from 'pg';

export type Row = Record<string, unknown>;
export type Queryable = Pick<pg.Pool, 'query'>;

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

function identifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`not a plain identifier: ${name}`);
  return pg.escapeIdentifier(name);
}

/** INSERT ... RETURNING *; identifiers come from the tests' own literals, values are parameters. */
export async function insert(db: Queryable, table: string, row: Row): Promise<Row> {
  const columns = Object.keys(row);
  const sql = `INSERT INTO ${identifier(table)} (${columns.map(identifier).join(', ')})
               VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING *`;
  const { rows } = await db.query<Row>(
    sql,
    columns.map((c) => row[c]),
  );
  const inserted = rows[0];
  if (!inserted) throw new Error(`insert into ${table} returned no row`);
  return inserted;
}

export const json = (value: unknown): string => JSON.stringify(value);

const unique = (): string => randomUUID().slice(0, 8);

export const parentRow = (overrides: Row = {}): Row => ({
  email: `parent-${unique()}@example.com`,
  password_hash: '$argon2id$v=19$m=19456,t=2,p=1$fake$fake',
  ...overrides,
});

export const childRow = (parentId: string, overrides: Row = {}): Row => ({
  parent_id: parentId,
  name: 'Ada',
  birth_date: '2018-03-14',
  age_group: 'curious_explorers',
  ...overrides,
});

export const topicRow = (overrides: Row = {}): Row => ({
  name: 'Space',
  slug: `space-${unique()}`,
  category: 'science',
  ...overrides,
});

export const sparkDates = (() => {
  let day = 0;
  // Distinct dates per call so (spark_date, age_group) never collides across tests.
  return (): string =>
    new Date(Date.UTC(2030, 0, 1) + day++ * 86_400_000).toISOString().slice(0, 10);
})();

export async function createParent(db: Queryable, overrides: Row = {}): Promise<string> {
  return (await insert(db, 'parents', parentRow(overrides))).id as string;
}

export async function createChild(
  db: Queryable,
  parentId?: string,
  overrides: Row = {},
): Promise<string> {
  const parent = parentId ?? (await createParent(db));
  return (await insert(db, 'children', childRow(parent, overrides))).id as string;
}

export async function createTopic(db: Queryable, overrides: Row = {}): Promise<string> {
  return (await insert(db, 'topics', topicRow(overrides))).id as string;
}

export async function createConversation(
  db: Queryable,
  childId?: string,
  overrides: Row = {},
): Promise<string> {
  const child = childId ?? (await createChild(db));
  return (await insert(db, 'conversations', { child_id: child, ...overrides })).id as string;
}

export async function createMessage(
  db: Queryable,
  conversationId: string,
  overrides: Row = {},
): Promise<{ id: string; created_at: Date }> {
  const row = await insert(db, 'messages', {
    conversation_id: conversationId,
    role: 'user',
    content: 'Why is the sky blue?',
    ...overrides,
  });
  return { id: row.id as string, created_at: row.created_at as Date };
}
