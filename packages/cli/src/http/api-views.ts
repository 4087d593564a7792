import type { ConnectorStatus, Integration, SourceMetrics } from '@sluice/core';
import type { ConfigDocument } from '../config-store/config-store';
import { isPlainObject, isSecretField } from '../config-store/secret-entries';
import { scrub } from '../logger';
import { REDACTED } from '../secret-fields';
import { hasSecretReference } from '../secrets';
import { redactRule, type SecretFieldsOf } from './rule-answers';

/** What the views need besides the integration: the stored config (when there is a store) and what to hide. */
export interface ViewSources {
  readonly integration: Integration;
  readonly secretFields?: SecretFieldsOf | undefined;
  /** Resolved secret values, scrubbed from status reasons (library messages may quote a setting). */
  readonly secrets?: ReadonlySet<string> | undefined;
}

export type Section = 'sources' | 'connectors';

export interface StatusView {
  readonly state: string;
  readonly reason?: string;
}

export interface ConnectorView {
  readonly id: string;
  readonly type: string;
  readonly status: StatusView;
  readonly actions: ReadonlyArray<{ readonly id: string; readonly ruleId: string }>;
  readonly settings: Record<string, unknown>;
}

export interface SourceView {
  readonly id: string;
  readonly type: string;
  readonly status: StatusView;
  readonly metrics: SourceMetrics | undefined;
  readonly settings: Record<string, unknown>;
}

/** What a source or connector of the running integration is called when the stored config has no entry for it. */
const UNKNOWN_TYPE = 'unknown';

/**
 * A stored source or connector entry with every secret field (SecretEntries' isSecretField: `password`,
 * `token`, `ssl.key`, everything under `sasl` ...) replaced by `[redacted]`, whatever it holds (a
 * plain value, a `${file:…}` reference). Other values are shown as written, references included. Writing
 * `[redacted]` back keeps the stored value (see ConfigStore's upserts).
 */
export function redactEntry(value: unknown, path: ReadonlyArray<string | number> = []): unknown {
  if (Array.isArray(value)) return value.map((item, i) => redactEntry(item, [...path, i]));
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    const childPath = [...path, key];
    out[key] = isSecretField(childPath) && child !== null && child !== undefined ? REDACTED : redactEntry(child, childPath);
  }
  return out;
}

/**
 * A stored rule with every string holding a secret reference (`${env:…}`, `${file:…}`) replaced by
 * `[redacted]`: the store takes `[redacted]` back at exactly those positions (storableRule).
 */
export function redactStoredRule(value: unknown): unknown {
  if (typeof value === 'string') return hasSecretReference(value) ? REDACTED : value;
  if (Array.isArray(value)) return value.map(redactStoredRule);
  if (!isPlainObject(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, redactStoredRule(child)]));
}

/** The entries of a section of the stored config (plain objects with a string id only). */
export function storedEntries(document: ConfigDocument | undefined, section: Section | 'rules'): Array<Record<string, unknown> & { id: string }> {
  const list = document?.[section];
  return Array.isArray(list) ? list.filter((entry): entry is Record<string, unknown> & { id: string } => isPlainObject(entry) && typeof entry['id'] === 'string') : [];
}

/** `{ revision, sources, connectors, rules }` of GET /api/config: the stored form, secrets redacted. */
export function configView(revision: string, document: ConfigDocument): Record<string, unknown> {
  return {
    revision,
    sources: storedEntries(document, 'sources').map((entry) => redactEntry(entry)),
    connectors: storedEntries(document, 'connectors').map((entry) => redactEntry(entry)),
    rules: storedEntries(document, 'rules').map(redactStoredRule),
  };
}

/**
 * The ids of a section: the stored entries in file order, then any the running integration has that the
 * file does not (an integration composed in code, without a store, has only those).
 */
function idsOf(view: ViewSources, document: ConfigDocument | undefined, section: Section): string[] {
  const running = section === 'connectors' ? view.integration.connectorIds() : view.integration.sourceIds();
  const stored = storedEntries(document, section).map((entry) => entry.id);
  return [...new Set([...stored, ...running])];
}

function statusOf(view: ViewSources, id: string, running: boolean): StatusView {
  const status: ConnectorStatus | undefined = view.integration.status()[id];
  // a component that reports no state (an in-memory one, a plugin without status()) works when it runs
  if (status === undefined) return { state: running ? 'connected' : 'stopped' };
  const reason = status.reason === undefined || view.secrets === undefined ? status.reason : scrub(status.reason, view.secrets);
  return reason === undefined ? { state: status.state } : { state: status.state, reason };
}

/** Type and redacted settings (`id` and `type` left out: they are the view's own keys) of a stored entry. */
function storedParts(document: ConfigDocument | undefined, section: Section, id: string): { type: string; settings: Record<string, unknown> } {
  const entry = storedEntries(document, section).find((e) => e.id === id);
  if (entry === undefined) return { type: UNKNOWN_TYPE, settings: {} };
  const { type, id: _id, ...settings } = entry;
  return { type: typeof type === 'string' ? type : UNKNOWN_TYPE, settings: redactEntry(settings) as Record<string, unknown> };
}

export function connectorView(view: ViewSources, document: ConfigDocument | undefined, id: string): ConnectorView {
  const actions = view.integration.rules().flatMap((rule) => rule.actions.filter((a) => a.connector === id).map((a) => ({ id: a.id, ruleId: rule.id })));
  const running = view.integration.connectorIds().includes(id);
  const { type, settings } = storedParts(document, 'connectors', id);
  return { id, type, status: statusOf(view, id, running), actions, settings };
}

export function sourceView(view: ViewSources, document: ConfigDocument | undefined, id: string): SourceView {
  const running = view.integration.sourceIds().includes(id);
  const { type, settings } = storedParts(document, 'sources', id);
  return { id, type, status: statusOf(view, id, running), metrics: view.integration.metrics.source(id), settings };
}

export function connectorViews(view: ViewSources, document: ConfigDocument | undefined): ConnectorView[] {
  return idsOf(view, document, 'connectors').map((id) => connectorView(view, document, id));
}

export function sourceViews(view: ViewSources, document: ConfigDocument | undefined): SourceView[] {
  return idsOf(view, document, 'sources').map((id) => sourceView(view, document, id));
}

/** The rules as GET /api/overview shows them: what runs, with metrics; secret-bearing fields redacted. */
export function ruleViews(view: ViewSources): unknown[] {
  return view.integration.rules().map((rule) => redactRule(view.integration, view.secretFields, rule.id, {
    id: rule.id,
    sql: rule.sql,
    topics: rule.topics,
    enabled: rule.enabled,
    actions: rule.actions.map((a) => ({ id: a.id, connector: a.connector })),
    metrics: view.integration.metrics.rule(rule.id),
  }));
}
