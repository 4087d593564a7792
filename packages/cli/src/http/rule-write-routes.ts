import type { FastifyInstance, FastifyRequest } from 'fastify';
import { IntegrationError, RuleSyntaxError, type RuleDefinition } from '@sluice/core';
import { compileRule } from '@sluice/sql';
import { pathsHoldingRedacted, REDACTED } from '../secret-fields';
import { ApiError } from './api-error';
import { checkBodyId, idParams, type ApiContext, type IdParams } from './api-context';
import { checkBufferDirs, redactRule, refusedRule } from './rule-answers';
import type { ConfigWriter } from './config-writes';

/** Only the shape is checked here; what a rule may hold is the config schema's job (ERR_CONFIG_INVALID with issues). */
const ruleBody = { type: 'object' } as const;

/**
 * PUT and DELETE /api/rules/:id and POST /api/rules/:id/enable|disable. With a config store they are
 * written to the config file and applied through a reload (they survive a restart and a SIGHUP); without
 * one (an integration composed in code) they change the running integration only.
 */
export function ruleWriteRoutes(app: FastifyInstance, api: ApiContext): void {
  const { integration, logger } = api;
  const redact = <T>(id: string, answer: T): T => redactRule(integration, api.secretFields, id, answer);

  /** Creates (201) or replaces (200) a rule; a bad one is refused (400) and nothing changes. */
  app.put<{ Params: IdParams; Body: Record<string, unknown> }>('/api/rules/:id', { onRequest: api.write, schema: { params: idParams, body: ruleBody } }, async (request, reply) => {
    const id = request.params.id;
    const definition = request.body;
    checkBodyId(definition, id);
    // with a store, `[redacted]` where the stored rule holds a secret reference keeps it (the store checks)
    const placeholders = api.config === undefined ? pathsHoldingRedacted(definition, api.secretFields?.of(id) ?? []) : [];
    if (placeholders.length > 0) {
      const issues = placeholders.map((path) => ({ path, message: `holds "${REDACTED}", which stands for a secret of the config file and cannot be written back; change this field in the config file, or give its full text` }));
      throw new ApiError(400, { error: issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '), code: 'ERR_CONFIG_INVALID', issues });
    }
    const dirIssue = checkBufferDirs(integration, api.dataDir, definition);
    if (dirIssue !== undefined) throw new ApiError(400, { error: `${dirIssue.path}: ${dirIssue.message}`, code: 'ERR_CONFIG_INVALID', issues: [dirIssue] });
    const existed = integration.rules().some((r) => r.id === id);
    const rule = { id, ...definition } as unknown as RuleDefinition; // `id` first in a new entry of the file
    const { created, ...answer } = api.config === undefined ? await upsertRunning(api, rule, !existed) : await upsertStored(api.config, request, rule);
    logger.info(created ? 'rule created through the API' : 'rule replaced through the API', { rule: id });
    const running = integration.rules().find((r) => r.id === id);
    return reply.code(created ? 201 : 200).send(redact(id, { ...running, ...answer }));
  });

  app.delete<{ Params: IdParams }>('/api/rules/:id', { onRequest: api.write, schema: { params: idParams } }, async (request) => {
    const id = request.params.id;
    let revision: string | undefined;
    if (api.config === undefined) {
      if (!(await integration.removeRule(id))) throw new ApiError(404, { error: `no rule has the id "${id}"` });
    } else {
      ({ snapshot: { revision } } = await api.config.write(request, { section: 'rules', id }, [{ op: 'remove-rule', id }]));
    }
    logger.info('rule removed through the API', { rule: id });
    return { removed: id, ...(revision === undefined ? {} : { revision }) };
  });

  for (const enabled of [true, false]) {
    app.post<{ Params: IdParams }>(`/api/rules/:id/${enabled ? 'enable' : 'disable'}`, { onRequest: api.write, schema: { params: idParams } }, async (request) => setEnabled(api, request, enabled));
  }
}

async function setEnabled(api: ApiContext, request: FastifyRequest<{ Params: IdParams }>, enabled: boolean): Promise<Record<string, unknown>> {
  const id = request.params.id;
  if (!api.integration.rules().some((r) => r.id === id)) throw new ApiError(404, { error: `no rule has the id "${id}"` });
  let revision: string | undefined;
  if (api.config === undefined) api.integration.setRuleEnabled(id, enabled);
  else ({ snapshot: { revision } } = await api.config.write(request, { section: 'rules', id }, [{ op: 'set-rule-enabled', id, enabled }]));
  api.logger.info(enabled ? 'rule enabled through the API' : 'rule disabled through the API', { rule: id });
  return { ok: true, ...(revision === undefined ? {} : { revision }) };
}

/** A rule changed in the running integration only (no store). */
async function upsertRunning(api: ApiContext, rule: RuleDefinition, created: boolean): Promise<{ created: boolean } & Record<string, unknown>> {
  try {
    const report = await api.integration.upsertRule(rule);
    return { created, ...(report.restartNeeded.length > 0 ? { restartNeeded: report.restartNeeded } : {}) };
  } catch (error) {
    throw refusal(api, rule.id, error);
  }
}

/**
 * A rule written to the config file and applied by a reload. Its SQL is compiled first, so that a syntax
 * error is answered with its line and column before anything is stored.
 */
async function upsertStored(config: ConfigWriter, request: FastifyRequest, rule: RuleDefinition): Promise<{ created: boolean } & Record<string, unknown>> {
  if (typeof rule.sql === 'string' && rule.sql !== REDACTED) {
    try {
      compileRule(rule.sql);
    } catch (error) {
      if (error instanceof RuleSyntaxError) {
        throw new ApiError(400, { error: error.message, code: error.code, line: error.line, column: error.column, issues: [{ path: 'sql', message: error.message }] });
      }
      // anything else (a limit of the configured engine ...) is the reload's to report
    }
  }
  const { snapshot, outcome } = await config.write(request, { section: 'rules', id: rule.id }, [{ op: 'upsert-rule', rule }]);
  return { created: outcome.rules.added.includes(rule.id), revision: snapshot.revision, ...(outcome.needsRestart.length > 0 ? { restartNeeded: outcome.needsRestart } : {}) };
}

function refusal(api: ApiContext, id: string, error: unknown): unknown {
  const refused = refusedRule(error);
  if (refused !== undefined) {
    api.logger.debug('rule refused through the API', { rule: id, error: refused['error'] });
    return new ApiError(400, refused);
  }
  if (IntegrationError.is(error) && error.code === 'ERR_STOPPED') return new ApiError(503, { error: error.message });
  return error;
}

