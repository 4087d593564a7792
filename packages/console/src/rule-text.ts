/**
 * Pure text helpers of the rule pages: the "k: v" header lines and "k=v" user properties the forms take,
 * the one-line SQL summary of the rule list, and the position text of a syntax error. No DOM here, so
 * they run under jest.
 */

/** One Kafka record header template, as the Kafka action's `extHeaders` setting holds it. */
export interface HeaderTemplate {
  readonly key: string;
  readonly value: string;
}

/** A line of a text area that could not be read, 1-based. */
export interface LineProblem {
  readonly line: number;
  readonly message: string;
}

export interface Parsed<T> {
  readonly value: T;
  readonly problems: readonly LineProblem[];
}

/** `[{key, value}]` → one `key: value` per line (the "Headers" text area). */
export function headersToText(headers: readonly HeaderTemplate[] | undefined): string {
  return (headers ?? []).map((h) => `${h.key}: ${h.value}`).join('\n');
}

/**
 * One `key: value` per line → `extHeaders`. The first colon splits (values are templates and may hold
 * colons, `${payload.a}` included); blank lines are skipped; a line without a colon or with an empty key
 * is a problem of that line. Keys may repeat: Kafka headers are a list.
 */
export function parseHeadersText(text: string): Parsed<HeaderTemplate[]> {
  const value: HeaderTemplate[] = [];
  const problems: LineProblem[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '') return;
    const colon = line.indexOf(':');
    const key = colon === -1 ? '' : line.slice(0, colon).trim();
    if (key === '') {
      problems.push({ line: index + 1, message: 'write a header as "name: value"' });
      return;
    }
    value.push({ key, value: line.slice(colon + 1).trim() });
  });
  return { value, problems };
}

/**
 * One `key=value` per line → MQTT 5 user properties for the Enable Test message. The first `=` splits;
 * a key given twice keeps the last value (the API takes one string per key).
 */
export function parseUserProperties(text: string): Parsed<Record<string, string>> {
  // keys are the user's: a map without prototype keeps `__proto__` or `toString` as plain keys
  const value = Object.create(null) as Record<string, string>;
  const problems: LineProblem[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '') return;
    const eq = line.indexOf('=');
    if (eq <= 0) {
      problems.push({ line: index + 1, message: 'write a user property as "name=value"' });
      return;
    }
    value[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  });
  return { value, problems };
}

/** Problems of a text area as one sentence, or undefined when there are none. */
export function describeProblems(problems: readonly LineProblem[]): string | undefined {
  if (problems.length === 0) return undefined;
  return problems.map((p) => `line ${p.line}: ${p.message}`).join('; ');
}

/**
 * The rule list's one-line view of a rule: `--` comments dropped (outside quotes), whitespace collapsed,
 * cut at `max` characters with an ellipsis.
 */
export function sqlSummary(sql: string, max = 96): string {
  let out = '';
  let quote: string | undefined;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i] as string;
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      out += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      out += c;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      if (end === -1) break;
      i = end - 1;
    } else out += c;
  }
  const flat = out.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1).trimEnd()}…`;
}

/** A RuleSyntaxError as the API answers it. */
export interface SyntaxPosition {
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

/**
 * The alert text of a syntax error, `line L, column C: message`. The engine's message ends with the same
 * position in parentheses; that copy is left out so the position is said once.
 */
export function syntaxErrorText(error: SyntaxPosition): string {
  const message = error.message.replace(/\s*\(line \d+, column \d+\)\s*$/, '');
  return `line ${error.line}, column ${error.column}: ${message}`;
}

/**
 * An issue path of a rule refusal made relative to the rule (`rules[0].actions[1].topic` →
 * `actions[1].topic`), so that a form can find the field it belongs to.
 */
export function rulePath(path: string): string {
  return path.replace(/^rules\[\d+\]\./, '');
}

/** zod's wording of an empty required text, said as a person would. */
function friendlyMessage(message: string): string {
  return /^Too small: expected string to have >=1 characters?$/.test(message) ? 'required: fill this in' : message;
}

/** Issues of a refusal grouped by their rule-relative path. */
export function issuesByPath(issues: ReadonlyArray<{ readonly path: string; readonly message: string }> | undefined): Map<string, string[]> {
  const byPath = new Map<string, string[]>();
  for (const issue of issues ?? []) {
    const path = rulePath(issue.path);
    const message = friendlyMessage(issue.message);
    const list = byPath.get(path);
    if (list === undefined) byPath.set(path, [message]);
    else list.push(message);
  }
  return byPath;
}

/** The messages of `byPath` at `path` and below it (`actions[0]` takes `actions[0].buffer.dir` too). */
export function issuesUnder(byPath: ReadonlyMap<string, readonly string[]>, path: string): string[] {
  const found: string[] = [];
  for (const [p, messages] of byPath) {
    if (p === path || p.startsWith(`${path}.`) || p.startsWith(`${path}[`)) {
      const below = p.slice(path.length).replace(/^\./, '');
      for (const m of messages) found.push(below === '' ? m : `${below}: ${m}`);
    }
  }
  return found;
}

/**
 * A topic the rule's first FROM filter matches, to prefill Enable Test's Topic: `+` and `#` levels become
 * `test` (`sensors/+/data` → `sensors/test/data`). Undefined when the rule has no FROM yet.
 */
export function sampleTopic(sql: string): string | undefined {
  const from = /\bfrom\s+(?:"([^"]*)"|'([^']*)'|([^\s,]+))/i.exec(sql);
  const filter = from?.[1] ?? from?.[2] ?? from?.[3];
  if (filter === undefined || filter === '') return undefined;
  const unshared = filter.replace(/^\$share\/[^/]+\//, '').replace(/^\$queue\//, '');
  return unshared.split('/').map((level) => (level === '+' || level === '#' ? 'test' : level)).join('/');
}
