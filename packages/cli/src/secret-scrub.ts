import { CENSOR } from './log-fields';

/** Secrets shorter than this are not scrubbed from text (a 1-3 character value would mangle every line). */
export const MIN_SCRUBBED_LENGTH = 4;
/**
 * A secret's value can reach a line cut short (error messages shorten long strings to 36-40 characters
 * and add "..."): any run of at least this many leading characters of a secret (or of one of its
 * renderings) is scrubbed too. A secret that begins with a common word therefore also hides that word.
 */
export const MIN_SCRUBBED_PREFIX = 8;
/** JSON escaping levels scrubbed: a value JSON-quoted in a message, then written in a JSON log line, is escaped twice. */
const JSON_ESCAPE_LEVELS = 3;

/** A secret's renderings grouped by their first MIN_SCRUBBED_PREFIX characters: one search per distinct head. */
type RenderingsByHead = ReadonlyMap<string, readonly string[]>;

const renderingCache = new Map<string, RenderingsByHead>();
const RENDERING_CACHE_LIMIT = 1_000;

/**
 * Every form a secret can take inside a line: raw; quoted for SQL (`'` or `"` doubled, as a secret placed
 * in a rule's string literal or quoted name); each of those JSON-escaped once, twice and three times (a
 * message quoting a value with JSON.stringify, inside a JSON log line or API answer); URL-encoded.
 */
export function secretRenderings(secret: string): readonly string[] {
  const forms = new Set<string>();
  for (const base of [secret, secret.replace(/'/g, "''"), secret.replace(/"/g, '""')]) {
    let form = base;
    forms.add(form);
    for (let level = 0; level < JSON_ESCAPE_LEVELS; level++) {
      form = JSON.stringify(form).slice(1, -1);
      forms.add(form);
    }
  }
  try {
    forms.add(encodeURIComponent(secret));
  } catch {
    // a lone surrogate cannot be URL-encoded, so it cannot appear URL-encoded either
  }
  return [...forms].filter((form) => form.length >= MIN_SCRUBBED_LENGTH);
}

function renderingsByHead(secret: string): RenderingsByHead {
  const cached = renderingCache.get(secret);
  if (cached !== undefined) return cached;
  const byHead = new Map<string, string[]>();
  for (const form of secretRenderings(secret)) {
    const head = form.slice(0, MIN_SCRUBBED_PREFIX);
    const forms = byHead.get(head);
    if (forms === undefined) byHead.set(head, [form]);
    else forms.push(form);
  }
  if (renderingCache.size >= RENDERING_CACHE_LIMIT) renderingCache.clear();
  renderingCache.set(secret, byHead);
  return byHead;
}

/**
 * Replaces every known secret in a line of text (a serialized log line, an API answer) by `[redacted]`:
 * in each of its renderings (see secretRenderings), whole or cut short to at least MIN_SCRUBBED_PREFIX
 * leading characters. Where renderings overlap, the longest stretch they cover together is replaced, so
 * no tail of an escaped form is left behind.
 */
export function scrub(line: string, secrets: ReadonlySet<string>): string {
  let spans: Array<[number, number]> | undefined;
  for (const secret of secrets) {
    if (secret.length < MIN_SCRUBBED_LENGTH) continue;
    for (const [head, forms] of renderingsByHead(secret)) {
      for (let at = line.indexOf(head); at !== -1; at = line.indexOf(head, at + 1)) {
        let end = at + head.length;
        for (const form of forms) end = Math.max(end, matchEnd(line, at, form, head.length));
        (spans ??= []).push([at, end]);
      }
    }
  }
  return spans === undefined ? line : censor(line, spans);
}

/** How far `form` matches `line` from `at`, given its first `known` characters already match. */
function matchEnd(line: string, at: number, form: string, known: number): number {
  let end = at + known;
  while (end < line.length && end - at < form.length && line.charCodeAt(end) === form.charCodeAt(end - at)) end++;
  return end;
}

function censor(line: string, spans: Array<[number, number]>): string {
  spans.sort((a, b) => a[0] - b[0]);
  let out = '';
  let copied = 0;
  let i = 0;
  while (i < spans.length) {
    const [start] = spans[i] as [number, number];
    let end = (spans[i] as [number, number])[1];
    // merge every span that overlaps or touches this one
    for (i++; i < spans.length && (spans[i] as [number, number])[0] <= end; i++) end = Math.max(end, (spans[i] as [number, number])[1]);
    out += line.slice(copied, start) + CENSOR;
    copied = end;
  }
  return out + line.slice(copied);
}
