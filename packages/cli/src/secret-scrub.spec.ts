import { Writable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { createLogger, scrub, secretRenderings } from './logger';

// Secrets with the characters that change under escaping, and lengths past the 36/40-character cuts that
// rule-engine error messages make (packages/sql: describeValue cuts `'text'` at 37, describe at 40).
const SECRETS = [
  'q"uote-secret-Zx81',
  'back\\slash-secret-Zx82',
  'ünï©ødé-秘密-Zx83-パスワード',
  'new\nline\ttab-secret-Zx84',
  "it's-a-secret-Zx85",
  'Zx86-lone-\ud800-surrogate',
  'Zx87-41-chars-"-and-\\-0123456789abcdefghi'.slice(0, 41),
  'Zx88-sixty-characters-long-secret-with-"quotes"-and-\\-012345'.slice(0, 60),
  ('Zx89-eighty-"characters"-\\-' + 'abcdefghijklmnopqrstuvwxyz'.repeat(3)).slice(0, 80),
];

/** How an error message of the rule engine quotes a string value (compile-expr.ts describe). */
const describedString = (s: string): string => `the string ${JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}...` : s)}`;
/** How values.ts describeValue renders a string for an operator error. */
const describedValue = (s: string): string => {
  const text = `'${s}'`;
  return `${text.length > 40 ? `${text.slice(0, 37)}...` : text} (string)`;
};

/** encodeURIComponent, or the raw text where it cannot be encoded (a lone surrogate). */
const urlEncoded = (s: string): string => {
  try {
    return encodeURIComponent(s);
  } catch {
    return s;
  }
};

/** Every message/field shape through which a secret used in rule SQL or settings can reach a line. */
function messagesAbout(secret: string): Array<[string, Record<string, unknown>]> {
  return [
    [`WHERE returned ${describedString(secret)}, but a condition needs a boolean`, {}],
    [`'>' needs numbers, got ${describedValue(secret)} and 1 (integer)`, {}],
    ['rule failed', { error: `regex_match: bad pattern ${JSON.stringify(secret)}` }],
    ['rule refused', { sql: `SELECT * FROM "t/#" WHERE payload.k = '${secret.replace(/'/g, "''")}'`, nested: { deeper: { value: secret } } }],
    [`connecting to mqtt://u:${urlEncoded(secret)}@broker:1883`, {}],
    [`plain ${secret} in the text`, { detail: secret }],
  ];
}

/** Windows of `secret` (raw and JSON-escaped once) long enough to matter, that appear in `text`. */
function leakedPieces(text: string, secret: string, window = 6): string[] {
  const leaks = new Set<string>();
  for (const form of [secret, JSON.stringify(secret).slice(1, -1)]) {
    for (let i = 0; i + window <= form.length; i++) {
      const piece = form.slice(i, i + window);
      if (text.includes(piece)) leaks.add(piece);
    }
  }
  return [...leaks];
}

function capture(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

describe('secret values in every rendering', () => {
  for (const format of ['json', 'pretty'] as const) {
    it(`a ${format} log line holds no piece of a secret, escaped once or twice, cut short, SQL-quoted or URL-encoded`, () => {
      const { stream, text } = capture();
      const logger = createLogger({ level: 'debug', format, secrets: new Set(SECRETS), destination: stream });
      for (const secret of SECRETS) for (const [message, fields] of messagesAbout(secret)) logger.error(message, fields);
      const output = text();
      expect(output).toContain('[redacted]');
      for (const secret of SECRETS) expect({ secret, leaks: leakedPieces(output, secret) }).toEqual({ secret, leaks: [] });
    });
  }

  it('an API answer (the JSON of a body that quotes a message) holds no piece of a secret', () => {
    for (const secret of SECRETS) {
      const body = JSON.stringify({ errors: messagesAbout(secret).map(([message, fields]) => ({ message, fields })) });
      expect({ secret, leaks: leakedPieces(scrub(body, new Set([secret])), secret) }).toEqual({ secret, leaks: [] });
    }
  });

  it('leaves no tail behind when a shorter rendering matches the start of a longer one', () => {
    const secret = 'abcdefgh"ijk';
    // JSON-escaped twice: abcdefgh\\\"ijk. The raw form matches its first 8 characters only.
    const line = JSON.stringify({ msg: JSON.stringify(`x ${secret} y`) });
    expect(scrub(line, new Set([secret]))).toBe(JSON.stringify({ msg: JSON.stringify('x [redacted] y') }));
  });

  it('scrubs a cut-short secret from its 8th character on, and leaves shorter shared beginnings alone', () => {
    const secrets = new Set(['Zx90-long-enough-secret']);
    expect(scrub('got Zx90-lon...', secrets)).toBe('got [redacted]...');
    expect(scrub('got Zx90-lo...', secrets)).toBe('got Zx90-lo...');
    // a secret shorter than the prefix length is scrubbed whole only
    expect(scrub('abc12 abc123', new Set(['abc123']))).toBe('abc12 [redacted]');
  });
});

describe('renderings a secret takes outside JSON and SQL', () => {
  const secret = 'hunter2-kafka&pa$$ word';

  it('base64 of a text holding the secret (an Authorization: Basic header), at each byte alignment', () => {
    for (const user of ['u', 'us', 'usr']) {
      const header = `Authorization: Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;
      const scrubbed = scrub(header, new Set([secret]));
      expect(scrubbed).toContain('[redacted]');
      // what is left of the base64 decodes to no 8-character piece of the secret
      const left = scrubbed.replace('Authorization: Basic ', '').split('[redacted]').join('');
      expect(leakedPieces(Buffer.from(left, 'base64').toString('latin1'), secret, 8)).toEqual([]);
    }
  });

  it('URL-encoded as user info (new URL(...).href keeps $ and &) and as a form body (space as +)', () => {
    const url = new URL('mqtt://broker:1883');
    url.username = 'u';
    url.password = secret;
    const form = new URLSearchParams({ password: secret }).toString();
    expect(scrub(`connecting to ${url.href}`, new Set([secret]))).toBe('connecting to mqtt://u:[redacted]@broker:1883');
    expect(scrub(`body ${form}`, new Set([secret]))).toBe('body password=[redacted]');
  });
});

describe('scrub on repetitive text', () => {
  /** What scrub must do, written the slow obvious way: every run of >= 8 leading characters (or the whole of a shorter form). */
  function reference(line: string, forms: readonly string[]): string {
    const covered = new Array<boolean>(line.length).fill(false);
    for (const form of forms) {
      const least = Math.min(form.length, 8);
      for (let at = 0; at < line.length; at++) {
        let n = 0;
        while (n < form.length && at + n < line.length && line[at + n] === form[n]) n++;
        if (n >= least) covered.fill(true, at, at + n);
      }
    }
    let out = '';
    for (let i = 0; i < line.length; i++) {
      if (!covered[i]) out += line[i];
      else if (i === 0 || !covered[i - 1]) out += '[redacted]';
    }
    return out;
  }

  it('covers exactly what a character-by-character comparison covers (periodic secrets and lines, seeded)', () => {
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const text = (length: number): string => Array.from({ length }, () => 'ab'[random(2)]).join('');
    for (let round = 0; round < 500; round++) {
      const secret = text(4 + random(14));
      const line = text(random(60));
      const forms = secretRenderings(secret);
      expect({ secret, line, out: scrub(line, new Set([secret])) }).toEqual({ secret, line, out: reference(line, forms) });
    }
  });

  it('scrubs a long run of a repetitive secret whole, and the text around it stays', () => {
    const secret = 'ab'.repeat(64);
    expect(scrub(`x${'ab'.repeat(50_000)}a y`, new Set([secret]))).toBe('x[redacted] y');
    expect(scrub(`x${'a'.repeat(100_000)}y`, new Set(['a'.repeat(4_096)]))).toBe('x[redacted]y');
  });
});
