import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    // Every HTTP response any test receives is checked against docs/openapi.json.
    setupFiles: ['test/contract/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    env: { METADATA_SERVER_DETECTION: 'none', LOG_LEVEL: 'silent' },
  },
});
