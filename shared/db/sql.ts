// SQL fragments for the Prisma client's tagged templates: `db.$queryRaw\`... ${fragment} ...\``
// nests a fragment built here instead of binding it as a parameter. They must come from the
// runtime the client itself uses: the same-looking classes in @prisma/client-runtime-utils are
// a different copy, and the client would bind such a fragment as a value.
export { empty, join, raw, Sql, sqltag as sql } from '@prisma/client/runtime/client';
