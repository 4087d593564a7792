import { z } from 'zod';
import { parseConfig } from './config';
import { ConfigError } from './errors';

const id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:\-/]*$/, 'use letters, digits and _ . : - / (starting with a letter or digit)');

/**
 * One action of a rule: `connector` names the connector it writes through; every other key is a setting of
 * that connector's actions (for Kafka: topic, key, value, headers ...), validated by the connector itself.
 */
export const ActionDefinition = z.looseObject({
  connector: id.describe('Id of the connector the action writes through.'),
  id: id.optional().describe('Action id, used in metrics and the REST API. Default `<rule id>:<connector>` (`#2`, `#3` ... appended when a rule uses a connector twice).'),
  fallbackActions: z
    .array(z.looseObject({ connector: id.describe('Id of the connector the fallback action writes through.') })
      .refine((f) => !('fallbackActions' in f) && !('id' in f), 'a fallback action takes a connector and its settings; no id, no fallbackActions of its own'))
    .optional()
    .describe('Where an output goes when this action refuses it for good (EMQX\'s fallback actions): each entry is a `connector` and that connector\'s action settings (as for the action itself; no `id`, no nested fallbacks). Their ids are `<action id>/fallback-<n>`; the message is acknowledged afterwards.'),
});

export const RuleDefinition = z.strictObject({
  id: id.describe('Unique rule id; used in metrics (`sluice_rule_matched_total{rule="..."}`), logs and the REST API.'),
  sql: z.string().min(1, 'a rule needs its SQL, e.g. SELECT * FROM "t/#"')
    .describe('The rule, e.g. `SELECT clientid, payload.temp as temp FROM "sensors/+/data" WHERE payload.temp > 30`. See docs/sql.md.')
    .meta({ examples: ['SELECT clientid, payload.temp as temp FROM "sensors/+/data" WHERE payload.temp > 30', 'SELECT * FROM "t/#"'] }),
  description: z.string().optional().describe('Free text for operators.'),
  enabled: z.boolean().default(true).describe('A disabled rule matches nothing (it can be enabled at run time through the REST API).'),
  sources: z.array(id).min(1).optional().describe('Ids of the sources the rule reads from; every source when absent.'),
  actions: z.array(ActionDefinition).default([]).describe('Where the rule output goes: one entry per action, each naming a connector.'),
});

export const IntegrationConfig = z.strictObject({
  rules: z.array(RuleDefinition),
  /** The `node` column rules see. */
  node: z.string().min(1).default('sluice@127.0.0.1'),
  /** How long stop() waits for in-flight messages before leaving them to the broker. */
  stopTimeoutMs: z.number().int().nonnegative().default(30_000),
  /** Sampling interval of the rates (matched.rate ...). */
  rateIntervalMs: z.number().int().positive().default(5_000),
});

export type ActionDefinition = z.input<typeof ActionDefinition>;
export type RuleDefinition = z.input<typeof RuleDefinition>;
/** A rule definition after validation, defaults applied. */
export type RuleDefinitionOutput = z.output<typeof RuleDefinition>;
export type IntegrationConfigInput = z.input<typeof IntegrationConfig>;
export type IntegrationConfig = z.output<typeof IntegrationConfig>;

/** Validates rules and runtime settings; also refuses duplicate rule and action ids. */
export function parseIntegrationConfig(input: IntegrationConfigInput): IntegrationConfig {
  const config = parseConfig('integration', IntegrationConfig, input);
  const issues: { path: string; message: string }[] = [];
  const ruleIds = new Set<string>();
  const actionIds = new Set<string>();
  config.rules.forEach((rule, r) => {
    if (ruleIds.has(rule.id)) issues.push({ path: `rules[${r}].id`, message: `another rule already has the id "${rule.id}"` });
    ruleIds.add(rule.id);
    actionIdsOf(rule).forEach((actionId, a) => {
      if (actionIds.has(actionId)) issues.push({ path: `rules[${r}].actions[${a}].id`, message: `another action already has the id "${actionId}"` });
      actionIds.add(actionId);
    });
  });
  if (issues.length > 0) throw new ConfigError('integration', issues);
  return config;
}

/** The ids of a rule's actions, explicit or derived. */
export function actionIdsOf(rule: z.output<typeof RuleDefinition>): string[] {
  const seen = new Map<string, number>();
  return rule.actions.map((action) => {
    if (action.id !== undefined) return action.id;
    const base = `${rule.id}:${action.connector}`;
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    return n === 0 ? base : `${base}#${n + 1}`;
  });
}
