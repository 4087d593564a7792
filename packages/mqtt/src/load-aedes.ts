import { createRequire } from 'node:module';
import type * as AedesNamespace from 'aedes' with { 'resolution-mode': 'import' };

export type AedesModule = typeof AedesNamespace;

/**
 * Loads Aedes 1.x, which is published as an ES module only, from this CommonJS package.
 * Node >= 20.19 (this package's engine floor) can require() an ES module without a flag. Node's own
 * require, from createRequire, is used rather than the module's `require` so that runners with a
 * module registry of their own that cannot load ES modules (jest's CommonJS runtime) still get it.
 */
export function loadAedes(): AedesModule {
  return createRequire(__filename)('aedes') as AedesModule;
}
