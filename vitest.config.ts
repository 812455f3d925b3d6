import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Separate processes: e2e tests spawn servers and the sandbox tests watch processes.
    pool: 'forks',
    reporters: ['default'],
  },
});
