// SQL fragments for $queryRaw / $executeRaw tagged templates (the same Sql as Prisma.sql).
export { empty, join, raw, Sql, sql } from '@prisma/client-runtime-utils';
