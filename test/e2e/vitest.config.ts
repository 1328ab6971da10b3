import { defineConfig } from 'vitest/config';

/**
 * `npm run test:e2e`: the reconciler scenarios against a real cluster (KUBECONFIG), kept out
 * of `npm test` (the default include is test/**\/*.test.ts; these files end in .e2e.ts).
 */
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 10 * 60_000,
    hookTimeout: 10 * 60_000,
  },
});
