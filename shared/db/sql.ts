// TEMP stub of the lead's foundation (issue 10 brief); main's version wins at merge.
export { empty, join, raw, Sql, sql } from '@prisma/client-runtime-utils';
