// config-file imports secretReferencePaths from here; parsePath is only called, never read at load time
import { parsePath, type LoadedConfig } from './config-file';
import { hasSecretReference } from './secrets';

/** What a redacted field reads as in an API answer. */
export const REDACTED = '[redacted]';

/**
 * Config paths (`rules[0].actions[1].value`) of the strings of a parsed, not yet resolved config file
 * that hold a secret reference. The paths are written as resolveSecrets writes them.
 */
export function secretReferencePaths(raw: unknown): string[] {
  const out: string[] = [];
  const walk = (value: unknown, path: string): void => {
    if (typeof value === 'string') {
      if (hasSecretReference(value)) out.push(path);
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => walk(item, `${path}[${i}]`));
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, child] of Object.entries(value)) walk(child, path === '' ? key : `${path}.${key}`);
    }
  };
  walk(raw, '');
  return out;
}

/**
 * The fields of each rule that came from a secret reference in the config file, by rule id: `sql`,
 * `actions[0].headers` ... The API answers them as `[redacted]` by their position, whatever they hold,
 * never by comparing text with the secrets: comparing would tell a caller whether the text it wrote (a
 * rule description listing candidate passwords) equals a secret. The set only grows (each reload adds
 * its rules): a field redacted once stays redacted, even after the API replaced that rule with text of
 * its own, so what is redacted never depends on the text either.
 */
export class SecretFields {
  private readonly byRule = new Map<string, Set<string>>();

  /** Adds the secret-bearing fields of a loaded config's rules. */
  add(loaded: Pick<LoadedConfig, 'config' | 'secretPaths'>): void {
    for (const configPath of loaded.secretPaths) {
      const match = /^rules\[(\d+)\]\.(.+)$/.exec(configPath);
      if (match === null) continue;
      const rule = loaded.config.rules[Number(match[1])];
      if (rule === undefined) continue;
      let fields = this.byRule.get(rule.id);
      if (fields === undefined) this.byRule.set(rule.id, (fields = new Set()));
      fields.add(match[2] as string);
    }
  }

  /** The rule-relative paths to redact in answers about rule `id` (none for most rules). */
  of(id: string): readonly string[] {
    const fields = this.byRule.get(id);
    return fields === undefined ? [] : [...fields];
  }
}

/**
 * The `paths` (relative to `value`) whose string is exactly REDACTED: a rule read back from the API and
 * written again as it was. Taking it would replace the secret with the text `[redacted]`.
 */
export function pathsHoldingRedacted(value: unknown, paths: readonly string[]): string[] {
  return paths.filter((path) => {
    let node: unknown = value;
    for (const segment of parsePath(path)) {
      if (typeof node !== 'object' || node === null || !Object.hasOwn(node, segment)) return false;
      node = (node as Record<string | number, unknown>)[segment];
    }
    return node === REDACTED;
  });
}

/**
 * A copy of `value` with the strings at `paths` (`actions[0].value`, relative to `value`) replaced by
 * REDACTED; paths that lead nowhere are skipped. `value` itself is not changed.
 */
export function redactFields<T>(value: T, paths: readonly string[]): T {
  if (paths.length === 0) return value;
  // answers are JSON anyway: a JSON copy keeps exactly what the answer will show
  const copy = JSON.parse(JSON.stringify(value)) as unknown;
  for (const path of paths) {
    const segments = parsePath(path);
    let node: unknown = copy;
    for (let i = 0; i < segments.length - 1 && node !== undefined; i++) {
      node = typeof node === 'object' && node !== null ? (node as Record<string | number, unknown>)[segments[i] as string | number] : undefined;
    }
    const last = segments[segments.length - 1];
    if (typeof node === 'object' && node !== null && last !== undefined && Object.hasOwn(node, last) && typeof (node as Record<string | number, unknown>)[last] === 'string') {
      (node as Record<string | number, unknown>)[last] = REDACTED;
    }
  }
  return copy as T;
}
