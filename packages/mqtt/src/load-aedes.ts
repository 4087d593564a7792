import Module = require('node:module');
import type * as AedesNamespace from 'aedes' with { 'resolution-mode': 'import' };

export type AedesModule = typeof AedesNamespace;

/**
 * Loads Aedes 1.x, which is published as an ES module only, from this CommonJS package.
 * Node >= 20.19 (this package's engine floor) can require() an ES module without a flag, and without
 * making start() wait on a dynamic import().
 *
 * The require used is Node's own. Test runners with a module registry of their own replace
 * `node:module` by a subclass of the real class whose createRequire goes through that registry, and
 * jest's cannot load an ES module on Node < 24.9; the real createRequire is then one prototype up.
 * In a plain Node process the prototype is Function.prototype and Module.createRequire is used.
 */
export function loadAedes(): AedesModule {
  const parent = Object.getPrototypeOf(Module) as Partial<typeof Module> | null;
  const createRequire = typeof parent?.createRequire === 'function' ? parent.createRequire : Module.createRequire;
  return createRequire(__filename)('aedes') as AedesModule;
}
