const IS_INTEGRATION_ERROR = Symbol.for('@sluice/core/IntegrationError');

/**
 * Stable error codes. They never change meaning between releases; `docs/errors.md` lists each one with
 * what causes it and how to fix it.
 */
export type ErrorCode =
  | 'ERR_CONFIG_INVALID'
  | 'ERR_RULE_SYNTAX'
  | 'ERR_RULE_EVALUATION'
  | 'ERR_NOT_CONNECTED'
  | 'ERR_CONNECTION_TEST'
  | 'ERR_ACTION_WRITE'
  | 'ERR_DUPLICATE_ID'
  | 'ERR_UNKNOWN_CONNECTOR'
  | 'ERR_STOPPED'
  | 'ERR_INTERNAL';

export interface IntegrationErrorOptions extends ErrorOptions {
  /** True when trying again later may succeed (a broker away, a timeout); drives retries and back-off. */
  readonly retriable?: boolean;
}

/**
 * Base of every error Sluice throws on purpose. Match with `IntegrationError.is(e)` rather than
 * `instanceof`, which fails when an application ends up with two copies of core.
 * Constructors never log; the library's own error, if any, is kept as `cause`.
 */
export class IntegrationError extends Error {
  readonly [IS_INTEGRATION_ERROR] = true;
  readonly retriable: boolean;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: IntegrationErrorOptions = {},
  ) {
    super(message, options);
    this.name = new.target.name;
    this.retriable = options.retriable ?? false;
  }

  static is(value: unknown): value is IntegrationError {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[IS_INTEGRATION_ERROR] === true
    );
  }
}

/** One problem found in a configuration: where (`rules[2].actions[0].topic`) and what is allowed. */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}

/** A configuration was refused before anything connected. `issues` lists every problem, not only the first. */
export class ConfigError extends IntegrationError {
  constructor(
    readonly plugin: string,
    readonly issues: readonly ConfigIssue[],
    options: IntegrationErrorOptions = {},
  ) {
    super('ERR_CONFIG_INVALID', formatConfigIssues(plugin, issues), options);
  }
}

function formatConfigIssues(plugin: string, issues: readonly ConfigIssue[]): string {
  const lines = issues.map((issue) => `  - ${issue.path === '' ? '(root)' : issue.path}: ${issue.message}`);
  return `invalid ${plugin} configuration:\n${lines.join('\n')}`;
}

/** A rule's SQL could not be parsed. `line` and `column` are 1-based and point at the offending token. */
export class RuleSyntaxError extends IntegrationError {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
    options: IntegrationErrorOptions = {},
  ) {
    super('ERR_RULE_SYNTAX', message, options);
  }
}

/**
 * Evaluating a rule on one message failed (a function given a bad argument, arithmetic on undefined,
 * a payload that is not JSON under `payload.x`...). Counted as the rule's `failed.exception`; the rule
 * stays installed and the next message is evaluated as usual.
 */
export class RuleEvaluationError extends IntegrationError {
  constructor(message: string, options: IntegrationErrorOptions = {}) {
    super('ERR_RULE_EVALUATION', message, options);
  }
}

/** A connector is not connected right now; retriable by definition. */
export class NotConnectedError extends IntegrationError {
  constructor(
    readonly connectorId: string,
    message: string,
    options: ErrorOptions = {},
  ) {
    super('ERR_NOT_CONNECTED', message, { ...options, retriable: true });
  }
}

/** Which action of which connector an ActionWriteError is about. */
export interface ActionRef {
  readonly connectorId: string;
  readonly actionId?: string;
}

/**
 * An action could not store a record through its connector. `retriable: false` means trying again cannot
 * help (message too large, unknown topic, not authorized).
 */
export class ActionWriteError extends IntegrationError {
  /** The connector the action writes through. */
  readonly connectorId: string;
  /** The action whose record it was, when the connector knows it (undefined for a connector-wide failure). */
  readonly actionId: string | undefined;

  constructor(where: string | ActionRef, message: string, options: IntegrationErrorOptions = {}) {
    super('ERR_ACTION_WRITE', message, options);
    const ref: ActionRef = typeof where === 'string' ? { connectorId: where } : where;
    this.connectorId = ref.connectorId;
    this.actionId = ref.actionId;
  }
}

/** Two sources, connectors, rules or actions share an id. */
export class DuplicateIdError extends IntegrationError {
  constructor(kind: string, id: string) {
    super('ERR_DUPLICATE_ID', `two ${kind}s have the id "${id}": give each ${kind} a unique id`);
  }
}
