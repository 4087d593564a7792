import { ConfigError, IntegrationError, RuleSyntaxError, type Integration } from '@sluice/core';
import { resolveApiBufferDir } from '../http-guards';
import { redactFields } from '../secret-fields';

/** Rule fields that came from secret references, by rule id (see SecretFields). */
export interface SecretFieldsOf {
  of(ruleId: string): readonly string[];
}

/**
 * A rule answer with its secret-bearing fields (by position, see SecretFields) redacted, in the definition
 * too. The `topics` of a rule are quoted from its SQL's FROM, so a secret-bearing `sql` redacts them as well.
 */
export function redactRule<T>(app: Integration, secretFields: SecretFieldsOf | undefined, id: string, answer: T): T {
  const fields = secretFields?.of(id) ?? [];
  if (fields.length === 0) return answer;
  const topics = fields.includes('sql') ? (app.rules().find((r) => r.id === id)?.topics.length ?? 0) : 0;
  return redactFields(answer, [...fields, ...fields.map((field) => `definition.${field}`), ...Array.from({ length: topics }, (_, i) => `topics[${i}]`)]);
}

/** The 400 answer for an error that means "this rule is wrong" (ConfigError, RuleSyntaxError), or undefined. */
export function refusedRule(error: unknown): Record<string, unknown> | undefined {
  if (error instanceof ConfigError) {
    const syntax = error.cause instanceof RuleSyntaxError ? error.cause : undefined;
    return {
      error: error.message,
      code: syntax?.code ?? error.code,
      issues: error.issues,
      ...(syntax === undefined ? {} : { line: syntax.line, column: syntax.column }),
    };
  }
  if (error instanceof RuleSyntaxError) return { error: error.message, code: error.code, line: error.line, column: error.column };
  if (IntegrationError.is(error) && (error.code === 'ERR_RULE_SYNTAX' || error.code === 'ERR_CONFIG_INVALID')) return { error: error.message, code: error.code };
  return undefined;
}

/**
 * A rule written through the API must not pick where files go: each `buffer.dir` of its actions and
 * fallbacks must be one a running rule already uses (those came from the config file, or passed this
 * check) or lie inside `http.dataDir` (a relative one is taken relative to it and written back absolute,
 * into `definition`).
 */
export function checkBufferDirs(app: Integration, dataDir: string | undefined, definition: Record<string, unknown>): { path: string; message: string } | undefined {
  const inUse = new Set<string>();
  for (const rule of app.rules()) {
    for (const action of app.ruleDefinition(rule.id)?.actions ?? []) for (const settings of [action, ...(action.fallbackActions ?? [])]) {
      const dir = bufferDirOf(settings);
      if (dir !== undefined) inUse.add(dir);
    }
  }
  const actionList = Array.isArray(definition['actions']) ? (definition['actions'] as unknown[]) : [];
  const targets: Array<{ settings: unknown; path: string }> = [];
  actionList.forEach((action, a) => {
    targets.push({ settings: action, path: `actions[${a}]` });
    const fallbacks = (action as { fallbackActions?: unknown } | null)?.fallbackActions;
    if (Array.isArray(fallbacks)) fallbacks.forEach((fallback, f) => targets.push({ settings: fallback, path: `actions[${a}].fallbackActions[${f}]` }));
  });
  for (const { settings, path } of targets) {
    const dir = bufferDirOf(settings);
    if (dir === undefined || inUse.has(dir)) continue;
    const resolved = resolveApiBufferDir(dir, dataDir);
    if ('error' in resolved) return { path: `${path}.buffer.dir`, message: `${resolved.error}; or use a buffer.dir a rule of the config file uses` };
    ((settings as { buffer: Record<string, unknown> }).buffer)['dir'] = resolved.dir;
  }
  return undefined;
}

function bufferDirOf(settings: unknown): string | undefined {
  const buffer = (settings as { buffer?: unknown } | null | undefined)?.buffer;
  const dir = typeof buffer === 'object' && buffer !== null ? (buffer as { dir?: unknown }).dir : undefined;
  return typeof dir === 'string' ? dir : undefined;
}

/** Every action of every rule, with its rule, connector and metrics. */
export function listActions(app: Integration): Array<Record<string, unknown>> {
  return app.rules().flatMap((rule) =>
    rule.actions.map((action) => ({ id: action.id, rule: rule.id, connector: action.connector, ruleEnabled: rule.enabled, metrics: app.metrics.action(action.id) })),
  );
}
