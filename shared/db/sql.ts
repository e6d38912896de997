// TEMPORARY SHIM (jobs branch): main's foundation replaces it. Note: the Sql of
// @prisma/client-runtime-utils is NOT the class the generated client checks, so fragments
// nested in $queryRaw templates must come from the generated client's Prisma namespace.
import { Prisma } from './generated/prisma/client.ts';

export const { sql, raw, join, empty } = Prisma;
export type Sql = Prisma.Sql;
