import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the shared package's source; built services use its dist.
    alias: [
      {
        find: /^@ovation\/shared\/client-address$/,
        replacement: src('./packages/shared/src/server/client-address.ts'),
      },
      { find: /^@ovation\/shared\/node-answers$/, replacement: src('./packages/shared/src/server/node-answers.ts') },
      { find: /^@ovation\/shared\/connect-token$/, replacement: src('./packages/shared/src/connect-token/index.ts') },
      {
        find: /^@ovation\/shared\/local-redis-cluster$/,
        replacement: src('./packages/shared/src/redis/local-cluster.ts'),
      },
      { find: /^@ovation\/shared\/api-docs$/, replacement: src('./packages/shared/src/api-docs/index.ts') },
      { find: /^@ovation\/shared\/redis$/, replacement: src('./packages/shared/src/redis/index.ts') },
      { find: /^@ovation\/shared\/server$/, replacement: src('./packages/shared/src/server/index.ts') },
      { find: /^@ovation\/shared$/, replacement: src('./packages/shared/src/index.ts') },
      // The SDK packages too: their tests and the web's run against source, not a stale dist.
      { find: /^@ovation\/client$/, replacement: src('./packages/client/src/index.ts') },
      { find: /^@ovation\/react$/, replacement: src('./packages/react/src/index.ts') },
      { find: /^@ovation\/publisher$/, replacement: src('./packages/publisher/src/index.ts') },
    ],
  },
  test: {
    include: [
      'packages/*/test/**/*.test.ts',
      'packages/*/test/**/*.test.tsx',
      'apps/*/test/**/*.test.ts',
      'tests/**/*.test.ts',
      'bench/test/**/*.test.ts',
      'faults/test/**/*.test.ts',
    ],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Integration files start their own Redis and processes; two at a time fits 2 cores.
    maxWorkers: 2,
  },
});
