// TEMP stub of the lead's foundation (issue 10 brief); main's version wins at merge.
// NOTE: '@prisma/client-runtime-utils' (as the brief says) gives a second copy of the Sql class
// under ESM: Prisma's $queryRaw then takes a nested fragment for a parameter ("syntax error at
// or near $N"). The fragments must come from the runtime the generated client uses.
export { empty, join, raw, Sql, sqltag as sql } from '@prisma/client/runtime/client';
