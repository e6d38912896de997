// `prisma generate` offline. Prisma 7's CLI insists on locating its native schema engine
// even though `generate` never runs it; pointing the variable at any existing file
// satisfies the check without a download (see ../shared/design/FACTS.md).
import { spawnSync } from 'node:child_process';

const result = spawnSync('npx', ['prisma', 'generate'], {
  stdio: 'inherit',
  env: {
    ...process.env,
    PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
    CHECKPOINT_DISABLE: '1',
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
  },
});
process.exitCode = result.status ?? 1;
