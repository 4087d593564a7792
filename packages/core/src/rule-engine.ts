/**
 * The columns a rule reads for one message: EMQX's `message.publish` fields (`topic`, `payload`,
 * `qos`, `clientid`, `username`, `peerhost`, `timestamp`, `publish_received_at`, `id`, `flags`,
 * `pub_props`, `node`, ...). `payload` is a string or the raw Buffer. Rule engines never mutate it.
 */
export type RuleInput = Readonly<Record<string, unknown>>;

/**
 * One output of a rule: the map its SELECT (or FOREACH ... DO) built. Handed to every action of the rule.
 * Values may be of any JSON-like kind, and also a `bigint` (`@sluice/sql`: an integer beyond 2^53, such as
 * a nanosecond timestamp) or a Buffer: render an output with the engine's templates (`${.}` for all of
 * it), which write both exactly, rather than with JSON.stringify, which throws on a bigint.
 */
export type RuleOutput = Readonly<Record<string, unknown>>;

/** A rule compiled once; evaluate() runs per message without parsing or walking a syntax tree. */
export interface CompiledRule {
  /** The topic filters of FROM, e.g. ['temp_hum/emqx']. */
  readonly topics: readonly string[];
  /**
   * Outputs for one message: [] when FROM or WHERE filter it out, one map for SELECT, one per element
   * for FOREACH. Throws RuleEvaluationError when evaluation fails (a function error and the like).
   */
  evaluate(input: RuleInput): RuleOutput[];
}

/** An action setting with `${path}` placeholders, compiled once and rendered per message. */
export interface Template {
  /** The text the template was compiled from. */
  readonly source: string;
  /** True when the template has no placeholder (it renders to the same string every time). */
  readonly isConstant: boolean;
  /** The rendered text; binary values (bytes that are not UTF-8) appear as their UTF-8 decoding (lossy). */
  render(output: RuleOutput): string;
  /**
   * The rendered bytes where bytes matter (a Kafka key, value or header value, an MQTT payload): like
   * render(), except that a binary value keeps its bytes. A template that is one placeholder of a binary
   * value gives that Buffer unchanged; text around a binary value is joined to it as its UTF-8 bytes
   * (EMQX renders to bytes the same way). Without binary values it returns what render() does. Optional
   * for rule engines that have no binary values: callers then use render().
   */
  renderValue?(output: RuleOutput): string | Buffer;
}

/** A template's renderValue, or its render when the rule engine has no binary values; picked once per template. */
export function valueRenderer(template: Template): (output: RuleOutput) => string | Buffer {
  return (template.renderValue ?? template.render).bind(template);
}

export interface TemplateOptions {
  /**
   * How a missing (undefined) value renders: '' (what EMQX's Kafka producer does) or 'undefined' (what
   * its generic renderer does). Default ''.
   */
  readonly missing?: 'empty' | 'undefined';
}

/** What a rule engine may know about the rule it compiles. */
export interface RuleCompileOptions {
  /**
   * The rule's id: the engine shows it to the rule as `metadata.rule_id` (EMQX's `metadata` column), one
   * constant per rule, nothing per message. Without it the rule reads a `metadata` column from its input.
   */
  readonly ruleId?: string;
}

/** Compiles rules and action templates. `@sluice/sql` provides the implementation (sqlModule()). */
export interface RuleEngine {
  /** Throws RuleSyntaxError with line and column when the SQL does not parse. */
  compileRule(sql: string, options?: RuleCompileOptions): CompiledRule;
  compileTemplate(text: string, options?: TemplateOptions): Template;
}
export const RuleEngine = Symbol.for('@sluice/core/RuleEngine');
