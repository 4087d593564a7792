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

/**
 * One rendering of a secret, ready for a linear search: `fail` is its KMP failure table (for each length
 * k, the longest proper prefix of the first k characters that is also their suffix), `least` the
 * number of leading characters that must match before a match is scrubbed.
 */
interface Rendering {
  readonly text: string;
  readonly fail: Int32Array;
  readonly least: number;
}

/** A secret's renderings grouped by their first MIN_SCRUBBED_PREFIX characters: a head absent from a line rules out its group. */
type RenderingsByHead = ReadonlyMap<string, readonly Rendering[]>;

const renderingCache = new Map<string, RenderingsByHead>();
const RENDERING_CACHE_LIMIT = 1_000;

/**
 * Every form a secret can take inside a line: raw; quoted for SQL (`'` or `"` doubled, as a secret placed
 * in a rule's string literal or quoted name); each of those JSON-escaped once, twice and three times (a
 * message quoting a value with JSON.stringify, inside a JSON log line or API answer); URL-encoded (as a
 * URI component, in a URL's user info, in a form body); and base64 at each of the three byte alignments
 * (an `Authorization: Basic` header is base64 of `user:password`).
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
  for (const encode of URL_ENCODINGS) {
    try {
      forms.add(encode(secret));
    } catch {
      // a lone surrogate cannot be URL-encoded, so it cannot appear URL-encoded either
    }
  }
  for (const form of base64Cores(secret)) forms.add(form);
  return [...forms].filter((form) => form.length >= MIN_SCRUBBED_LENGTH);
}

const URL_ENCODINGS: ReadonlyArray<(secret: string) => string> = [
  encodeURIComponent,
  (secret) => {
    // the WHATWG URL user-info encoding leaves `$`, `&`, `+`, `,` ... as they are (new URL(...).href)
    const url = new URL('http://h');
    url.password = secret;
    return url.password;
  },
  (secret) => new URLSearchParams([['', secret]]).toString().slice(1),
];

/**
 * The base64 text that any base64 encoding of a text containing the secret holds, whatever the byte
 * offset of the secret in it: for each alignment, the encoding of the secret's bytes from that alignment
 * on, whole 3-byte groups only. Shorter than 8 characters (a 4-8 byte secret) it would match unrelated
 * base64 data, and is left out.
 */
function base64Cores(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const cores: string[] = [];
  for (let skip = 0; skip < 3; skip++) {
    const whole = Math.floor((bytes.length - skip) / 3) * 3;
    if (whole < 6) continue;
    cores.push(bytes.subarray(skip, skip + whole).toString('base64'));
  }
  return cores;
}

function renderingsByHead(secret: string): RenderingsByHead {
  const cached = renderingCache.get(secret);
  if (cached !== undefined) return cached;
  const byHead = new Map<string, Rendering[]>();
  for (const text of secretRenderings(secret)) {
    const rendering: Rendering = { text, fail: failureTable(text), least: Math.min(text.length, MIN_SCRUBBED_PREFIX) };
    const head = text.slice(0, MIN_SCRUBBED_PREFIX);
    const forms = byHead.get(head);
    if (forms === undefined) byHead.set(head, [rendering]);
    else forms.push(rendering);
  }
  if (renderingCache.size >= RENDERING_CACHE_LIMIT) renderingCache.clear();
  renderingCache.set(secret, byHead);
  return byHead;
}

function failureTable(text: string): Int32Array {
  const fail = new Int32Array(text.length + 1);
  for (let i = 1, k = 0; i < text.length; i++) {
    while (k > 0 && text.charCodeAt(i) !== text.charCodeAt(k)) k = fail[k] as number;
    if (text.charCodeAt(i) === text.charCodeAt(k)) k++;
    fail[i + 1] = k;
  }
  return fail;
}

/**
 * Replaces every known secret in a line of text (a serialized log line, an API answer) by `[redacted]`:
 * in each of its renderings (see secretRenderings), whole or cut short to at least MIN_SCRUBBED_PREFIX
 * leading characters. Where renderings overlap, the longest stretch they cover together is replaced, so
 * no tail of an escaped form is left behind.
 *
 * Linear in the line's length for each rendering: this runs on every log line, and a line can be long and
 * partly device-controlled. (Comparing a rendering at each place its head occurs was O(line × secret) on
 * repetitive text: a 1 MB run of `a` took 13 s with a 4,096-character secret of `a`s.)
 */
export function scrub(line: string, secrets: ReadonlySet<string>): string {
  const spans: Array<[number, number]> = [];
  for (const secret of secrets) {
    if (secret.length < MIN_SCRUBBED_LENGTH) continue;
    for (const [head, forms] of renderingsByHead(secret)) {
      const first = line.indexOf(head);
      if (first === -1) continue;
      for (const form of forms) cover(line, form, first, spans);
    }
  }
  return spans.length === 0 ? line : censor(line, spans);
}

/**
 * Adds to `spans` the stretches of `line` covered by a run of at least `form.least` leading characters of
 * `form`, searching from `from`. A KMP scan knows at each position the longest beginning of the form that
 * ends there; where it falls below `least`, the search jumps to the next place the head occurs.
 */
function cover(line: string, form: Rendering, from: number, spans: Array<[number, number]>): void {
  const { text, fail, least } = form;
  const head = text.slice(0, least);
  let start = -1;
  let end = -1;
  for (let at = line.indexOf(head, from); at !== -1; ) {
    let matched = 0;
    let i = at;
    for (; i < line.length; i++) {
      const c = line.charCodeAt(i);
      while (matched > 0 && (matched === text.length || text.charCodeAt(matched) !== c)) matched = fail[matched] as number;
      if (text.charCodeAt(matched) === c) matched++;
      if (matched >= least) {
        const s = i + 1 - matched;
        if (start !== -1 && s <= end) end = i + 1;
        else {
          if (start !== -1) spans.push([start, end]);
          start = s;
          end = i + 1;
        }
      } else if (i + 1 - matched > at) {
        // fewer than `least` characters of the form end here: a later match starts at a later head
        break;
      }
    }
    if (i >= line.length) break;
    at = line.indexOf(head, i + 1 - matched);
  }
  if (start !== -1) spans.push([start, end]);
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
