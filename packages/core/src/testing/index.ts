/** Test helpers for Sluice users and plugins: `import { InMemorySource } from '@sluice/core/testing'`. */
export * from './in-memory-source';
export * from './in-memory-connector';
export * from './contracts';
