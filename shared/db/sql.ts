// SQL fragments for $queryRaw / $executeRaw tagged templates (the same Sql as Prisma.sql).
// The Prisma runtime loads @prisma/client-runtime-utils through require (its "node" export is
// CommonJS); an ESM import would load the .mjs copy, whose Sql is another class, and a nested
// fragment would then be sent as a JSON parameter. So: the CommonJS copy, via createRequire.
import { createRequire } from 'node:module';
import type * as utils from '@prisma/client-runtime-utils';

const runtimeUtils = createRequire(import.meta.url)('@prisma/client-runtime-utils') as typeof utils;

export const { sql, join, raw, empty, Sql } = runtimeUtils;
export type Sql = utils.Sql;
