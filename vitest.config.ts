import { configDefaults, defineConfig } from 'vitest/config';

/**
 * `*.slow.test.ts` files are left out of `npm test` (the suite stays a few minutes) and run by
 * `npm run test:package` (vitest.slow.config.ts), which .ci/run runs after `npm test`.
 */
export const SLOW_TESTS = 'test/**/*.slow.test.ts';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, SLOW_TESTS],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Separate processes: e2e tests spawn servers and the sandbox tests watch processes.
    pool: 'forks',
    reporters: ['default'],
  },
});
