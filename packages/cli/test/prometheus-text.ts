// A strict parser of the Prometheus text exposition format (version 0.0.4), for tests that read GET
// /metrics back as Prometheus itself would ingest it, not as substrings of the text.

export interface Family {
  help?: string;
  type?: string;
  /** Samples keyed by their canonical label set, e.g. `{rule="a"}`. */
  readonly samples: Map<string, number>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** Parses `name="value",...` (the text between the braces), honouring the \\, \" and \n escapes. */
function parseLabels(text: string, line: string): Array<[string, string]> {
  const labels: Array<[string, string]> = [];
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new Error(`label without "=": ${line}`);
    const name = text.slice(i, eq);
    if (!LABEL_NAME.test(name)) throw new Error(`bad label name "${name}": ${line}`);
    if (text[eq + 1] !== '"') throw new Error(`label value not quoted: ${line}`);
    let value = '';
    let j = eq + 2;
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === '\\') {
        const next = text[++j];
        if (next === 'n') value += '\n';
        else if (next === '\\' || next === '"') value += next;
        else throw new Error(`bad escape in label value: ${line}`);
      } else value += text[j];
    }
    if (j >= text.length) throw new Error(`unterminated label value: ${line}`);
    labels.push([name, value]);
    i = j + 1;
    if (i < text.length) {
      if (text[i] !== ',') throw new Error(`expected "," between labels: ${line}`);
      i++;
    }
  }
  return labels;
}

function parseValue(text: string, line: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`bad sample value "${text}": ${line}`);
  return Number(text);
}

/**
 * A strict parser: every line is a HELP, a TYPE, a sample or empty; HELP and TYPE come at most once per
 * family and before its samples; a sample's family must be declared (prom-client always declares them) and
 * its label set must not repeat. Anything else throws with the offending line.
 */
export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const family = (name: string): Family => {
    let f = families.get(name);
    if (f === undefined) families.set(name, (f = { samples: new Map() }));
    return f;
  };
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta !== null) {
      const [, kind, name, rest] = meta as unknown as [string, 'HELP' | 'TYPE', string, string];
      if (!NAME.test(name)) throw new Error(`bad metric name: ${line}`);
      const f = family(name);
      if (f.samples.size > 0) throw new Error(`${kind} after the samples of ${name}: ${line}`);
      if (kind === 'HELP') {
        if (f.help !== undefined) throw new Error(`second HELP for ${name}`);
        f.help = rest;
      } else {
        if (f.type !== undefined) throw new Error(`second TYPE for ${name}`);
        if (!TYPES.has(rest)) throw new Error(`unknown type "${rest}": ${line}`);
        f.type = rest;
      }
      continue;
    }
    if (line.startsWith('#')) throw new Error(`unexpected comment: ${line}`);
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/.exec(line);
    if (sample === null) throw new Error(`not a sample line: ${line}`);
    const [, name, labelText, valueText] = sample as unknown as [string, string, string | undefined, string];
    const f = families.get(name);
    if (f?.type === undefined) throw new Error(`sample of an undeclared family: ${line}`);
    const labels = labelText === undefined || labelText === '' ? [] : parseLabels(labelText, line);
    const key = `{${labels.sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`;
    if (f.samples.has(key)) throw new Error(`duplicate series ${name}${key}`);
    f.samples.set(key, parseValue(valueText, line));
  }
  return families;
}

/** The value of one series; throws when it is missing, so a renamed metric fails loudly. */
export function value(families: Map<string, Family>, name: string, labels: string): number {
  const sample = families.get(name)?.samples.get(labels);
  if (sample === undefined) throw new Error(`no series ${name}${labels}`);
  return sample;
}
