// Two projects: `unit` (no network, fakes allowed) and `integration` (real Mosquitto and Kafka,
// brought up by the global setup, which fails loudly when a broker cannot start).
const shared = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }] },
  moduleNameMapper: {
    '^@sluice/core/testing$': '<rootDir>/packages/core/src/testing/index.ts',
    '^@sluice/(core|sql|mqtt|kafka|cli)$': '<rootDir>/packages/$1/src/index.ts',
    '^@sluice/testkit$': '<rootDir>/scripts/testkit/index.ts',
  },
};

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/packages/*/src/**/*.spec.ts', '<rootDir>/examples/*/src/**/*.spec.ts', '<rootDir>/bench/lib/*.spec.js'] },
    {
      ...shared,
      displayName: 'integration',
      testMatch: [
        '<rootDir>/packages/*/test/integration/**/*.int.spec.ts',
        '<rootDir>/examples/*/test/**/*.int.spec.ts',
        '<rootDir>/test/**/*.int.spec.ts',
      ],
      globalSetup: '<rootDir>/scripts/testkit/global-setup.js',
      globalTeardown: '<rootDir>/scripts/testkit/global-teardown.js',
    },
  ],
  // A global option (jest ignores it inside a project): integration tests talk to real brokers.
  testTimeout: 60000,
  // One test file at a time: the delivery scenarios (test/delivery) kill and pause the shared Kafka and
  // Mosquitto brokers, which would break suites running beside them. (On the 2-core CI machine jest would
  // pick one worker anyway; this makes it hold on bigger machines too.)
  maxWorkers: 1,
};
