// Drift between prisma/schema.prisma (what Prisma Client believes) and the database the SQL
// migrations build. Prisma 7's generated client does not expose a DMMF with native types and
// nullability, so the schema text is parsed here; the generated client is then exercised
// against the migrated database so a stale client fails too.
import { readFileSync } from 'node:fs';
import { PrismaPg } from '@prisma/adapter-pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PrismaClient } from '../../shared/db/generated/prisma/client.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { createConversation, createParent } from './schema-fixtures.ts';

interface PrismaField {
  name: string;
  column: string;
  type: string;
  isList: boolean;
  isOptional: boolean;
  nativeType: string | undefined;
  nativeArgs: string | undefined;
  hasDefault: boolean;
}

interface PrismaModel {
  kind: 'model' | 'view';
  name: string;
  table: string;
  fields: PrismaField[];
}

const SCALARS = new Set([
  'String',
  'Int',
  'BigInt',
  'Float',
  'Decimal',
  'Boolean',
  'DateTime',
  'Json',
  'Bytes',
]);

function parsePrismaSchema(text: string): PrismaModel[] {
  const blocks = [...text.matchAll(/^(model|view)\s+(\w+)\s*\{([\s\S]*?)^\}/gm)];
  return blocks.map(([, kind, name, body]) => {
    const lines = (body ?? '').split('\n').map((l) => l.replace(/\/\/.*$/, '').trim());
    const table =
      lines.map((l) => l.match(/^@@map\("([^"]+)"\)/)?.[1]).find(Boolean) ?? (name as string);
    const fields: PrismaField[] = [];
    for (const line of lines) {
      const match = line.match(/^(\w+)\s+(\w+)(\[\])?(\?)?\s*(.*)$/);
      if (!match) continue;
      const [, fieldName, type, list, optional, attributes = ''] = match;
      if (!fieldName || !type || !SCALARS.has(type)) continue; // relation fields
      const native = attributes.match(/@db\.(\w+)(?:\(([^)]*)\))?/);
      fields.push({
        name: fieldName,
        column: attributes.match(/@map\("([^"]+)"\)/)?.[1] ?? fieldName,
        type,
        isList: Boolean(list),
        isOptional: Boolean(optional),
        nativeType: native?.[1],
        nativeArgs: native?.[2],
        hasDefault: /@default\(/.test(attributes) || /@updatedAt/.test(attributes),
      });
    }
    return { kind: kind as 'model' | 'view', name: name as string, table, fields };
  });
}

/** The PostgreSQL type (as format_type prints it) a Prisma field maps to. */
function expectedPgType(f: PrismaField): string {
  const base = (() => {
    switch (f.type) {
      case 'String':
        if (f.nativeType === 'Uuid') return 'uuid';
        if (f.nativeType === 'VarChar') return `character varying(${f.nativeArgs})`;
        if (f.nativeType === 'Inet') return 'inet';
        return 'text';
      case 'Int':
        return f.nativeType === 'SmallInt' ? 'smallint' : 'integer';
      case 'BigInt':
        return 'bigint';
      case 'Float':
        return 'double precision';
      case 'Boolean':
        return 'boolean';
      case 'Json':
        return f.nativeType === 'Json' ? 'json' : 'jsonb';
      case 'DateTime': {
        if (f.nativeType === 'Date') return 'date';
        const precision = f.nativeArgs ?? '3';
        const zone = f.nativeType === 'Timestamptz' ? 'with' : 'without';
        // PostgreSQL's default precision is 6 and prints without a modifier.
        return precision === '6'
          ? `timestamp ${zone} time zone`
          : `timestamp(${precision}) ${zone} time zone`;
      }
      default:
        return `unmapped Prisma type ${f.type}`;
    }
  })();
  return f.isList ? `${base}[]` : base;
}

interface DbColumn {
  table: string;
  relkind: string;
  column: string;
  type: string;
  notNull: boolean;
  hasDefault: boolean;
}

const models = parsePrismaSchema(
  readFileSync(new URL('../../prisma/schema.prisma', import.meta.url), 'utf8'),
);

let db: TestDatabase;
let columns: DbColumn[];
beforeAll(async () => {
  db = await createTestDatabase();
  const { rows } = await db.pool.query<DbColumn>(
    `SELECT c.relname AS table, c.relkind::text AS relkind, a.attname AS column,
            format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS "notNull", a.atthasdef AS "hasDefault"
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
      WHERE c.relnamespace = 'public'::regnamespace
        AND c.relkind IN ('r', 'p', 'v') AND NOT c.relispartition
        AND c.relname <> '_prisma_migrations'
        AND a.attnum > 0 AND NOT a.attisdropped`,
  );
  columns = rows;
});
afterAll(async () => {
  await db?.drop();
});

describe('schema.prisma matches the migrated database', () => {
  test('the parser found every model and the view', () => {
    expect(models.length).toBeGreaterThanOrEqual(18);
    expect(models.filter((m) => m.kind === 'view').map((m) => m.table)).toEqual([
      'child_star_balance',
    ]);
  });

  test('every table and view is modelled, and every column has a field', () => {
    const modelled = new Map(models.map((m) => [m.table, new Set(m.fields.map((f) => f.column))]));
    const missing = columns
      .filter((c) => !modelled.get(c.table)?.has(c.column))
      .map((c) => `${c.table}.${c.column}`);
    expect(missing).toEqual([]);
  });

  test.each(models.map((m) => [m.name, m] as const))(
    '%s: every field exists with the same type, nullability and default',
    (_name, model) => {
      const problems: string[] = [];
      for (const field of model.fields) {
        const column = columns.find((c) => c.table === model.table && c.column === field.column);
        const where = `${model.name}.${field.name} (${model.table}.${field.column})`;
        if (!column) {
          problems.push(`${where}: no such column`);
          continue;
        }
        if (column.type !== expectedPgType(field)) {
          problems.push(`${where}: database ${column.type}, Prisma ${expectedPgType(field)}`);
        }
        // PostgreSQL does not track nullability or defaults of view columns.
        if (model.kind === 'view') continue;
        if (column.notNull === field.isOptional) {
          problems.push(
            `${where}: database ${column.notNull ? 'NOT NULL' : 'nullable'}, Prisma ${field.isOptional ? 'optional' : 'required'}`,
          );
        }
        if (column.hasDefault !== field.hasDefault) {
          problems.push(
            `${where}: database ${column.hasDefault ? 'has' : 'has no'} default, Prisma ${field.hasDefault ? 'has' : 'has no'} @default`,
          );
        }
      }
      expect(problems).toEqual([]);
    },
  );
});

describe('the generated Prisma client works against the migrated database', () => {
  let prisma: PrismaClient;
  beforeAll(() => {
    prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: db.url, max: 2 }) });
  });
  afterAll(async () => {
    await prisma?.$disconnect();
  });

  test('every model and the view can be read (all mapped columns exist)', async () => {
    await prisma.parent.findFirst();
    await prisma.child.findFirst();
    await prisma.consent.findFirst();
    await prisma.topic.findFirst();
    await prisma.topicConnection.findFirst();
    await prisma.brainSpark.findFirst();
    await prisma.conversation.findFirst();
    await prisma.message.findFirst();
    await prisma.progress.findFirst();
    await prisma.streak.findFirst();
    await prisma.reward.findFirst();
    await prisma.childStarBalance.findFirst();
    await prisma.dailyActivity.findFirst();
    await prisma.cognitiveMetric.findFirst();
    await prisma.auditLog.findFirst();
    await prisma.refreshToken.findFirst();
    await prisma.parentAlert.findFirst();
    const idempotencyKeys = await prisma.idempotencyKey.findMany();
    expect(idempotencyKeys).toEqual([]);
  });

  test('database defaults fill what Prisma leaves out; a message key read back finds its row', async () => {
    const parent = await prisma.parent.create({
      data: { email: `drift-${Date.now()}@example.com` },
    });
    expect(parent.settings).toMatchObject({ notifications: { email_digest: true } });
    expect(parent.timezone).toBe('UTC');
    const child = await prisma.child.create({
      data: {
        parentId: parent.id,
        name: 'Noor',
        birthDate: new Date('2017-09-01'),
        ageGroup: 'curious_explorers',
      },
    });
    expect(child.settings).toMatchObject({ daily_time_limit_minutes: 60 });
    expect(child.leaderboardOptIn).toBe(false);

    const conversationId = await createConversation(db.pool, child.id);
    const message = await prisma.message.create({
      data: { conversationId, role: 'user', content: 'Hi' },
    });
    // created_at is part of the key: millisecond precision makes the JS Date exact.
    const found = await prisma.message.findUnique({
      where: { id_createdAt: { id: message.id, createdAt: message.createdAt } },
    });
    expect(found?.id).toBe(message.id);
    const alert = await prisma.parentAlert.create({
      data: {
        parentId: parent.id,
        childId: child.id,
        conversationId,
        messageId: message.id,
        messageCreatedAt: message.createdAt,
        severity: 'high',
        reason: 'danger_signal',
      },
      include: { message: true },
    });
    expect(alert.message?.id).toBe(message.id);
    const balance = await prisma.childStarBalance.findUnique({ where: { childId: child.id } });
    expect(balance).toEqual({ childId: child.id, totalStars: 0 });
    expect(await createParent(db.pool)).toEqual(expect.any(String));
  });
});
