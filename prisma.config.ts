// Prisma CLI configuration. Only `prisma generate` is used (offline, see scripts/generate.ts);
// migrations are applied by scripts/db.ts, never by `prisma migrate`.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: {
    url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/brainspark',
  },
});
