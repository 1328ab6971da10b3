import { defineConfig } from 'vitest/config';

/**
 * `npm run test:failover`: the failover scenarios with real processes in network
 * namespaces (about four minutes; needs root for `ip netns`), kept out of `npm test` (the
 * default include is test/**\/*.test.ts; these files end in .failover.ts).
 */
export default defineConfig({
  test: {
    include: ['test/failover/**/*.failover.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
