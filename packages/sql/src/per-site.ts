/**
 * Per-site copies of the hottest compiled closures.
 *
 * V8 keeps type feedback per function literal (all closures made by one arrow share it). A closure such
 * as `(env) => fn([a(env)], env)` in compileCall therefore sees every built-in of every rule: its calls
 * go megamorphic and TurboFan can neither inline the built-in nor drop the argument array. Compiling the
 * same small factory anew for each site (new Function) gives each site its own feedback, so a rule's
 * call chain inlines as a hand-written function would. Measured with `npm run bench:sql`: see
 * docs/performance.md.
 *
 * The factories are source text rather than `fn.toString()` of an arrow, so that coverage
 * instrumentation or a bundler cannot change what gets compiled; new Function code sees only globals, so
 * everything a factory uses comes in as a parameter. Compiling one costs a few microseconds, once per
 * site, never per message.
 */
export function perSite<F>(params: readonly string[], body: string): F {
  // The site number makes each source unique: V8 caches compiled eval code by source text, feedback
  // included, so two identical sources would share feedback again.
  site++;
  return new Function(...params, `'use strict'; // site ${site}\n${body}`) as F;
}

let site = 0;
