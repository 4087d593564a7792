// Answers of the Sluice HTTP API, as the console contract (issue #12) fixes them. Metrics shapes mirror
// packages/core/src/metrics.ts; they are copied, not imported, because the console is bundled for the
// browser and must not pull core's runtime into it.

/** A rate in messages per second. */
export interface RateSnapshot {
  readonly current: number;
  readonly max: number;
  readonly last5m: number;
}

export interface RuleMetrics {
  readonly matched: number;
  readonly passed: number;
  readonly failed: number;
  readonly 'failed.exception': number;
  readonly 'failed.no_result': number;
  readonly 'actions.total': number;
  readonly 'actions.success': number;
  readonly 'actions.failed': number;
  readonly 'matched.rate': RateSnapshot;
}

export interface ActionMetrics {
  readonly matched: number;
  readonly success: number;
  readonly failed: number;
  readonly 'failed.retriable': number;
  readonly dropped: number;
  readonly 'dropped.queue_full': number;
  readonly 'dropped.expired': number;
  readonly 'dropped.other': number;
  readonly 'fallback.success': number;
  readonly 'fallback.failed': number;
  readonly inflight: number;
  readonly queuing: number;
  readonly rate: RateSnapshot;
  readonly connector: Readonly<Record<string, number>>;
}

export interface SourceMetrics {
  readonly received: number;
  readonly duplicates: number;
  readonly unrouted: number;
  readonly pending: number;
  readonly acknowledged: number;
  readonly leftToBroker: number;
}

export type ComponentState = 'connecting' | 'connected' | 'buffering' | 'disconnected' | 'stopped';

export interface ComponentStatus {
  readonly state: ComponentState;
  readonly reason?: string;
}

/** Settings as stored in the config file: secret fields are "[redacted]", `${env:…}`/`${file:…}` kept as written. */
export type Redacted = Record<string, unknown>;

/** What stands for a stored secret in every answer (and keeps it when written back). */
export const REDACTED = '[redacted]';

export interface SourceView {
  readonly id: string;
  readonly type: string;
  readonly status: ComponentStatus;
  readonly metrics: SourceMetrics;
  readonly settings: Redacted;
}

export interface ConnectorView {
  readonly id: string;
  readonly type: string;
  readonly status: ComponentStatus;
  readonly actions: readonly { readonly id: string; readonly ruleId: string }[];
  readonly settings: Redacted;
}

export interface RuleActionRef {
  readonly id: string;
  readonly connector: string;
}

export interface RuleView {
  readonly id: string;
  readonly sql: string;
  readonly topics: readonly string[];
  readonly enabled: boolean;
  readonly actions: readonly RuleActionRef[];
  readonly metrics: RuleMetrics;
}

/** `GET /api/overview`. */
export interface Overview {
  readonly sources: readonly SourceView[];
  readonly connectors: readonly ConnectorView[];
  readonly rules: readonly RuleView[];
}

/** `event: snapshot` of `GET /api/stream`, once on connect and then every second. */
export interface StreamSnapshot {
  readonly at: number;
  readonly status: Readonly<Record<string, ComponentStatus>>;
  readonly rules: Readonly<Record<string, RuleMetrics>>;
  readonly actions: Readonly<Record<string, ActionMetrics>>;
  readonly sources: Readonly<Record<string, SourceMetrics>>;
}

/** `GET /api/session`. */
export interface SessionInfo {
  readonly tokenRequired: boolean;
  readonly version: string;
}

/** An action of a rule definition: the connector it writes through and that connector's action settings. */
export interface ActionDefinition {
  readonly connector: string;
  readonly id?: string;
  readonly fallbackActions?: readonly ({ readonly connector: string } & Record<string, unknown>)[];
  readonly [setting: string]: unknown;
}

export interface RuleDefinition {
  readonly id: string;
  readonly sql: string;
  readonly description?: string;
  readonly enabled?: boolean;
  readonly sources?: readonly string[];
  readonly actions?: readonly ActionDefinition[];
}

/** `GET /api/rules/:id`. */
export interface RuleDetail extends Omit<RuleView, 'actions'> {
  readonly definition: RuleDefinition;
  readonly actions: readonly (RuleActionRef & { readonly metrics: ActionMetrics })[];
  readonly restartNeeded?: readonly string[];
}

/** `GET /api/actions` items. */
export interface ActionView {
  readonly id: string;
  readonly rule: string;
  readonly connector: string;
  readonly ruleEnabled: boolean;
  readonly metrics: ActionMetrics;
}

/** A source or connector entry of the config file (stored form, secrets "[redacted]"). */
export interface ConfigEntry {
  readonly id: string;
  readonly type: string;
  readonly [setting: string]: unknown;
}

/** `GET /api/config`. */
export interface ConfigView {
  readonly revision: string;
  readonly sources: readonly ConfigEntry[];
  readonly connectors: readonly ConfigEntry[];
  readonly rules: readonly RuleDefinition[];
}

/** A JSON Schema (draft 2020-12, from zod) as `GET /api/schema` sends it; only the keywords the console reads. */
export interface JSONSchema {
  readonly type?: string | readonly string[];
  readonly title?: string;
  readonly description?: string;
  readonly default?: unknown;
  readonly examples?: readonly unknown[];
  readonly const?: unknown;
  readonly enum?: readonly unknown[];
  readonly properties?: Readonly<Record<string, JSONSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | JSONSchema;
  readonly items?: JSONSchema;
  readonly anyOf?: readonly JSONSchema[];
  readonly oneOf?: readonly JSONSchema[];
  readonly writeOnly?: boolean;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minLength?: number;
  readonly pattern?: string;
  readonly format?: string;
}

/** `GET /api/schema`. */
export interface SchemaCatalog {
  readonly sources: Readonly<Record<string, JSONSchema>>;
  readonly connectors: Readonly<Record<string, JSONSchema>>;
  readonly actions: Readonly<Record<string, JSONSchema>>;
}

/** `GET /api/sql/functions`. */
export interface SqlFunctions {
  readonly functions: readonly string[];
}

export interface ConnectionTestStage {
  readonly stage: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** `POST /api/connectors/test` and `POST /api/connectors/:id/test`. */
export interface ConnectionTestReport {
  readonly connectorId: string;
  readonly ok: boolean;
  readonly stages: readonly ConnectionTestStage[];
}

/** `PUT /api/connectors/:id`. */
export interface ConnectorWriteAnswer {
  readonly connector: ConnectorView;
  readonly revision: string;
}

/** `PUT /api/sources/:id`. */
export interface SourceWriteAnswer {
  readonly source: SourceView;
  readonly revision: string;
}

/** `DELETE /api/connectors/:id`, `/api/sources/:id`, `/api/rules/:id`. */
export interface RemovedAnswer {
  readonly removed: string;
  readonly revision?: string;
}

/** The message of `POST /api/rules/test`. */
export interface TestMessage {
  readonly topic: string;
  readonly payload?: string;
  readonly clientid?: string;
  readonly username?: string;
  readonly qos?: 0 | 1 | 2;
  readonly userProperties?: Readonly<Record<string, string>>;
}

/** Body of `POST /api/rules/test`. */
export interface RuleTestRequest {
  readonly sql: string;
  readonly actions?: readonly ActionDefinition[];
  readonly message: TestMessage;
}

export interface RenderedRecord {
  readonly topic?: string;
  readonly key?: string;
  readonly value?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Answer of `POST /api/rules/test`. */
export interface RuleTestResult {
  readonly matched: boolean;
  readonly outputs: readonly Record<string, unknown>[];
  /** The same outputs as the JSON texts the rule engine wrote: exact where the browser's JSON.parse rounds (integers beyond 2^53). */
  readonly outputTexts?: readonly string[];
  readonly rendered?: readonly { readonly actionIndex: number; readonly connector: string; readonly id?: string; readonly records: readonly RenderedRecord[] }[];
  readonly error?: string;
}

/** A key, value or header of a browsed record: text, or hex when the bytes are not UTF-8. */
export interface Shown {
  readonly text: string;
  readonly encoding: 'utf8' | 'hex';
  readonly truncated?: true;
}

export interface BrowsedRecord {
  readonly partition: number;
  readonly offset: string;
  readonly timestamp: string;
  readonly key: Shown | null;
  readonly value: Shown | null;
  readonly headers: Readonly<Record<string, Shown>>;
}

/** `GET /api/connectors/:id/topics`. */
export interface TopicList {
  readonly topics: readonly string[];
}

/** `GET /api/connectors/:id/messages`. */
export interface BrowsedRecords {
  readonly records: readonly BrowsedRecord[];
}

/** GET /api/cluster (cluster mode): the members as the status topic tells, and their counters summed. */
export interface ClusterMemberView {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  readonly state: 'running' | 'stopped' | 'gone';
  readonly since: string;
  readonly lastSeen: string;
  readonly configRevision: string | undefined;
  readonly self: boolean;
}

export interface ClusterView {
  readonly cluster: string;
  readonly member: string;
  readonly configRevision: string | undefined;
  readonly members: readonly ClusterMemberView[];
  readonly totals: {
    readonly rules: Readonly<Record<string, Readonly<Record<string, number>>>>;
    readonly actions: Readonly<Record<string, Readonly<Record<string, number>>>>;
  };
}
