import { defineConfig } from 'vitest/config';

// `npm run test:faults`: fault injection with real child processes (tests/faults/*.fault.ts), apart from `npm test`.
export default defineConfig({
  test: {
    include: ['tests/faults/**/*.fault.ts'],
    testTimeout: 300_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
