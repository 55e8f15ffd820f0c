import { defineConfig } from 'vitest/config';

// `npm run test:fuzz`: the seeded fuzz suites (tests/fuzz/*.fuzz.ts), apart from `npm test`.
export default defineConfig({
  test: {
    include: ['tests/fuzz/**/*.fuzz.ts'],
    testTimeout: 600_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
