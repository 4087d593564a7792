import { matchTopic } from '@sluice/core';

/**
 * The FROM filters of a rule that a republish topic falls under: publishing there feeds the rule its own
 * output again, so each output triggers another (a loop that ends only when the broker drops something).
 * Only a topic without placeholders can be checked before any message; a templated one is the operator's
 * to keep apart (see docs/mqtt.md, "Loops").
 */
export function republishLoops(topic: string | undefined, fromFilters: readonly string[]): string[] {
  if (topic === undefined) return [];
  return fromFilters.filter((filter) => matchTopic(topic, stripShare(filter)));
}

/** `$share/group/a/b` reads `a/b`. */
function stripShare(filter: string): string {
  return filter.startsWith('$share/') ? filter.split('/').slice(2).join('/') : filter;
}
