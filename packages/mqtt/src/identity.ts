/**
 * Publisher identity for a subscriber. A PUBLISH packet does not carry the publisher's client id or
 * username, so a source in client mode learns them only from something the publisher put in the
 * message: an MQTT 5 user property, or a level of the topic (`devices/{clientid}/telemetry`).
 */

export type UserProperties = Readonly<Record<string, string | readonly string[]>>;

/** Where one identity field comes from. */
export type IdentitySource = { readonly userProperty: string } | { readonly topicSegment: string };

/** Reads one identity field from a message; undefined when the message does not carry it. */
export type IdentityReader = (topic: string, userProperties: UserProperties | undefined) => string | undefined;

const PLACEHOLDER = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

/** A topic pattern compiled once: one entry per level. */
interface PatternLevel {
  readonly kind: 'literal' | 'capture' | 'one' | 'rest';
  readonly text: string;
}

/**
 * Compiles a pattern such as `devices/{clientid}/telemetry` or `site/+/{clientid}/#` into a reader of
 * the captured level. Levels: a literal (must be equal), `{name}` (captured), `+` (any one level),
 * `#` (the rest, last level only). When the pattern has several placeholders, `field` picks the one
 * of that name; with exactly one, its name does not matter.
 * Throws a TypeError describing the problem (used by the config schema to report it).
 */
export function compileTopicPattern(pattern: string, field: string): (topic: string) => string | undefined {
  const levels: PatternLevel[] = pattern.split('/').map((text, i, all): PatternLevel => {
    if (text === '#') {
      if (i !== all.length - 1) throw new TypeError(`'#' must be the last level of "${pattern}"`);
      return { kind: 'rest', text };
    }
    if (text === '+') return { kind: 'one', text };
    const placeholder = PLACEHOLDER.exec(text);
    if (placeholder !== null) return { kind: 'capture', text: placeholder[1] as string };
    if (text.includes('{') || text.includes('}')) {
      throw new TypeError(`level "${text}" of "${pattern}": a placeholder must be a whole level such as {${field}}`);
    }
    if (text.includes('#') || text.includes('+')) {
      throw new TypeError(`level "${text}" of "${pattern}": '+' and '#' must be whole levels`);
    }
    return { kind: 'literal', text };
  });
  const captures = levels.filter((level) => level.kind === 'capture');
  if (captures.length === 0) throw new TypeError(`"${pattern}" has no placeholder: mark the level to read, e.g. {${field}}`);
  const target = captures.length === 1 ? captures[0] : captures.find((level) => level.text === field);
  if (target === undefined) throw new TypeError(`"${pattern}" has several placeholders and none is named {${field}}`);
  const targetIndex = levels.indexOf(target);
  return (topic) => matchLevels(levels, targetIndex, topic);
}

/** Walks the topic level by level without splitting it (no array per message). */
function matchLevels(levels: readonly PatternLevel[], targetIndex: number, topic: string): string | undefined {
  let start = 0;
  let captured: string | undefined;
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i] as PatternLevel;
    if (level.kind === 'rest') return captured;
    if (start > topic.length) return undefined; // the topic has fewer levels than the pattern
    let end = topic.indexOf('/', start);
    if (end === -1) end = topic.length;
    if (level.kind === 'literal') {
      if (end - start !== level.text.length || !topic.startsWith(level.text, start)) return undefined;
    } else if (i === targetIndex) {
      // An empty level names nobody.
      if (end > start) captured = topic.slice(start, end);
    }
    start = end + 1;
  }
  // Every level consumed: the topic must not have more.
  return start > topic.length ? captured : undefined;
}

/** Reads the first value of a user property (a repeated key arrives as an array). */
function readUserProperty(name: string): IdentityReader {
  return (_topic, userProperties) => {
    const value = userProperties?.[name];
    if (value === undefined) return undefined;
    return typeof value === 'string' ? value : value[0];
  };
}

const none: IdentityReader = () => undefined;

/** Builds the reader of one identity field from its configuration; `none` when not configured. */
export function identityReader(source: IdentitySource | undefined, field: string): IdentityReader {
  if (source === undefined) return none;
  if ('userProperty' in source) return readUserProperty(source.userProperty);
  const read = compileTopicPattern(source.topicSegment, field);
  return (topic) => read(topic);
}
