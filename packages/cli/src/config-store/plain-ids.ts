import type { ConfigIssue } from '@sluice/core';

/**
 * Ids are plain names. `${env:…}`/`${file:…}` references are resolved in every string of a config, so an
 * id written `x-${env:AWS_SECRET}` would become the secret's value, and ids are shown everywhere (the API's
 * answers, /readyz, metrics labels, logs): whoever can write an id could read any variable or file. So no
 * id, and no field naming one, may hold `${` at all (a template placeholder is no more an id than a reference).
 */
export const ID_REFERENCE_MESSAGE = 'ids cannot hold references: an id is a plain name (no "${"); put ${env:…}/${file:…} in the settings that need a secret';

/** True when an id (or a field naming one) holds `${`. */
export function holdsReference(id: unknown): boolean {
  return typeof id === 'string' && id.includes('${');
}

/**
 * The issues of a config as written (before its references are resolved): the `id` of each source,
 * connector, rule and action, and the ids they name (an action's `connector`, a fallback's, a rule's
 * `sources`), each one that holds `${`.
 */
export function referencesInIds(config: unknown): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const check = (value: unknown, path: string): void => {
    if (holdsReference(value)) issues.push({ path, message: ID_REFERENCE_MESSAGE });
  };
  const items = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
  const field = (value: unknown, key: string): unknown => (isRecord(value) && Object.hasOwn(value, key) ? value[key] : undefined);
  if (!isRecord(config)) return issues;
  for (const section of ['sources', 'connectors'] as const) {
    items(config[section]).forEach((entry, i) => check(field(entry, 'id'), `${section}[${i}].id`));
  }
  items(config['rules']).forEach((rule, r) => {
    check(field(rule, 'id'), `rules[${r}].id`);
    items(field(rule, 'sources')).forEach((source, s) => check(source, `rules[${r}].sources[${s}]`));
    items(field(rule, 'actions')).forEach((action, a) => {
      const at = `rules[${r}].actions[${a}]`;
      check(field(action, 'id'), `${at}.id`);
      check(field(action, 'connector'), `${at}.connector`);
      items(field(action, 'fallbackActions')).forEach((fallback, f) => check(field(fallback, 'connector'), `${at}.fallbackActions[${f}].connector`));
    });
  });
  return issues;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
