// Issue 5, scenario 7 (payloads): a corpus of bad payloads goes through a real Mosquitto, the rules and
// a real Kafka. None stops the pipeline; each gives its documented result: a payload path on a payload
// that is not JSON fails that rule for that message (`failed.exception`), JSON that is not an object
// gives undefined fields (rendered as ''), and a rule that does not decode the payload always passes.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createIntegration, silentLogger, type Integration } from '@sluice/core';
import { kafkaModule } from '@sluice/kafka';
import { mqttModule } from '@sluice/mqtt';
import { sqlModule } from '@sluice/sql';
import { consumeRecords, createTopic, deleteTopic, kafkaBroker, mqttUrl, publish, randomName } from '@sluice/testkit';

type Outcome =
  /** payload.a fails the rule: not JSON. */
  | { readonly kind: 'exception' }
  /** JSON: a record whose `a` renders as this text ('' when undefined). */
  | { readonly kind: 'record'; readonly a: string };

interface Case {
  readonly name: string;
  readonly payload: Buffer;
  readonly outcome: Outcome;
}

const exception: Outcome = { kind: 'exception' };
const record = (a: string): Outcome => ({ kind: 'record', a });
const text = (name: string, payload: string, outcome: Outcome): Case => ({ name, payload: Buffer.from(payload, 'utf8'), outcome });
const bytes = (name: string, payload: Buffer, outcome: Outcome): Case => ({ name, payload, outcome });

function nested(depth: number, inner: string): string {
  return '{"a":'.repeat(depth) + inner + '}'.repeat(depth);
}

const CORPUS: Case[] = [
  // malformed JSON
  text('unclosed object', '{"a": 1', exception),
  text('unclosed string', '{"a": "x', exception),
  text('trailing comma', '{"a": 1,}', exception),
  text('single quotes', "{'a': 1}", exception),
  text('unquoted key', '{a: 1}', exception),
  text('missing value', '{"a": }', exception),
  text('missing colon', '{"a" 1}', exception),
  text('two objects', '{"a": 1}{"a": 2}', exception),
  text('comment', '{"a": 1 /* c */}', exception),
  text('NaN literal', '{"a": NaN}', exception),
  text('Infinity literal', '{"a": Infinity}', exception),
  text('hex number', '{"a": 0x10}', exception),
  text('leading zero', '{"a": 01}', exception),
  text('bare word', 'hello', exception),
  text('closing brace only', '}', exception),
  text('open bracket only', '[', exception),
  text('control character in string', '{"a": "x\u0001y"}', exception),
  text('bad escape', '{"a": "\\x41"}', exception),
  text('lone minus', '-', exception),
  text('text then JSON', 'x{"a": 1}', exception),
  text('python None', '{"a": None}', exception),
  text('CSV line', '1,2,3,hello', exception),
  text('XML', '<a>1</a>', exception),
  // empty and whitespace
  bytes('empty payload', Buffer.alloc(0), exception),
  text('single space', ' ', exception),
  text('newlines only', '\n\n', exception),
  // binary
  bytes('zero bytes', Buffer.alloc(16), exception),
  bytes('random binary', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0x00, 0x10]), exception),
  bytes('protobuf-like varints', Buffer.from([0x08, 0x96, 0x01, 0x12, 0x04, 0x74, 0x65, 0x73, 0x74]), exception),
  bytes('gzip header', Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00]), exception),
  bytes('all byte values', Buffer.from(Array.from({ length: 256 }, (_, i) => i)), exception),
  // invalid UTF-8
  bytes('lone continuation byte', Buffer.from([0x80]), exception),
  bytes('truncated 2-byte sequence', Buffer.from([0xc3]), exception),
  bytes('overlong encoding', Buffer.from([0xc0, 0xaf]), exception),
  bytes('UTF-16 surrogate in UTF-8', Buffer.from([0xed, 0xa0, 0x80]), exception),
  bytes('byte 0xFF', Buffer.from([0xff, 0xfe, 0xfd]), exception),
  // Invalid UTF-8 inside a JSON string: decoded as U+FFFD, the JSON around it is fine.
  bytes('invalid UTF-8 inside a JSON string', Buffer.concat([Buffer.from('{"a": "x'), Buffer.from([0xff]), Buffer.from('y"}')]), record('x\ufffdy')),
  bytes('UTF-8 BOM before JSON', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a": 1}')]), exception),
  // JSON that is not an object: fields are undefined
  text('JSON number', '42', record('')),
  text('JSON negative float', '-1.5e3', record('')),
  text('JSON true', 'true', record('')),
  text('JSON null', 'null', record('')),
  text('JSON array', '[1, 2, 3]', record('')),
  text('empty JSON array', '[]', record('')),
  text('empty JSON object', '{}', record('')),
  text('JSON string of text', '"just text"', record('')),
  // odd but valid JSON objects
  text('null field', '{"a": null}', record('null')),
  text('nested field', '{"a": {"b": 1}}', record('{"b":1}')),
  text('array field', '{"a": [1, "x"]}', record('[1,"x"]')),
  text('unicode field', '{"a": "h\u00e9llo \u2603"}', record('h\u00e9llo \u2603')),
  text('escaped unicode', '{"a": "\\u00e9"}', record('\u00e9')),
  // JSON numbers are IEEE doubles here: an integer beyond 2^53 loses digits (EMQX keeps a bignum).
  text('huge integer', '{"a": 123456789012345678901234567890}', record('123456789012345678901234567890')), // exact beyond 2^53 (docs/sql.md)
  text('duplicate keys (last wins)', '{"a": 1, "a": 2}', record('2')),
  text('whitespace around JSON', ' \n\t{"a": 7}\n ', record('7')),
  // JSON is decoded to at most 512 levels (docs/sql.md): deeper is treated as not JSON, since a subtree
  // of it could not be encoded again (issue #10).
  text('deeply nested (500 levels)', `{"a": 0, "b": ${nested(500, '1')}}`, record('0')),
  text('deeply nested (1,000 levels)', `{"a": 0, "b": ${nested(1000, '1')}}`, exception),
  text('deeply nested beyond the field (50,000 levels)', `{"a": 5, "b": ${'['.repeat(50000)}${']'.repeat(50000)}}`, exception),
  text('huge payload (2 MB JSON)', JSON.stringify({ a: 'big', pad: 'x'.repeat(2 * 1024 * 1024) }), record('big')),
  bytes('huge payload (1 MB binary)', Buffer.alloc(1024 * 1024, 0xab), exception),
  text('many keys', JSON.stringify(Object.fromEntries([['a', 'k'], ...Array.from({ length: 20000 }, (_, i) => [`k${i}`, i])])), record('k')),
];

describe('bad payloads never stop the pipeline (issue 5, scenario 7)', () => {
  let app: Integration | undefined;
  let kafkaTopic: string;
  let rawTopic: string;
  let prefix: string;

  beforeEach(async () => {
    kafkaTopic = randomName('bad-payloads');
    rawTopic = randomName('bad-payloads-raw');
    prefix = randomName('bad');
    await createTopic(kafkaTopic, 1);
    await createTopic(rawTopic, 1);
  });

  afterEach(async () => {
    await app?.stop();
    app = undefined;
    await deleteTopic(kafkaTopic);
    await deleteTopic(rawTopic);
  });

  it(`${CORPUS.length} bad payloads: each gives its documented outcome, and every message is acknowledged`, async () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(50);
    app = await createIntegration({
      logger: silentLogger,
      modules: [
        mqttModule({ id: 'plant', url: mqttUrl(), clientId: randomName('sluice'), session: { persistent: false } }),
        sqlModule(),
        kafkaModule({ id: 'kafka', bootstrapHosts: [kafkaBroker().bootstrap] }),
      ],
      rules: [
        // Decodes the payload: fails on what is not JSON.
        { id: 'decoded', sql: `SELECT topic, payload.a as a FROM "${prefix}/#"`, actions: [{ connector: 'kafka', topic: kafkaTopic, key: '${topic}', value: '${a}' }] },
        // Never decodes it: every message, however bad, gives a record.
        { id: 'raw', sql: `SELECT topic FROM "${prefix}/#"`, actions: [{ connector: 'kafka', topic: rawTopic, key: '${topic}', value: '${topic}' }] },
      ],
    });
    await app.start();

    // One topic level per case, so each record names its case. publish() awaits every PUBACK: with
    // at-least-once, a PUBACK means Sluice settled the message.
    await publish(mqttUrl(), `${prefix}/warmup`, '{"a": "first"}', { qos: 1 });
    for (let i = 0; i < CORPUS.length; i++) await publish(mqttUrl(), `${prefix}/${i}`, (CORPUS[i] as Case).payload, { qos: 1 });
    await publish(mqttUrl(), `${prefix}/last`, '{"a": "last"}', { qos: 1 });

    const records = CORPUS.filter((c) => c.outcome.kind === 'record').length + 2;
    const decoded = await consumeAll(kafkaTopic, records);
    const raw = await consumeAll(rawTopic, CORPUS.length + 2);

    const got = CORPUS.map((c, i) => ({ name: c.name, outcome: decoded.has(`${prefix}/${i}`) ? record(decoded.get(`${prefix}/${i}`) as string) : exception }));
    expect(got).toEqual(CORPUS.map((c) => ({ name: c.name, outcome: c.outcome })));
    expect(decoded.get(`${prefix}/last`)).toBe('last');
    expect(raw.size).toBe(CORPUS.length + 2);

    const exceptions = CORPUS.filter((c) => c.outcome.kind === 'exception').length;
    expect(app.metrics.rule('decoded')).toMatchObject({ matched: CORPUS.length + 2, passed: records, 'failed.exception': exceptions, 'actions.failed': 0 });
    expect(app.metrics.rule('raw')).toMatchObject({ matched: CORPUS.length + 2, passed: CORPUS.length + 2, failed: 0 });
    expect(app.metrics.source('plant')).toMatchObject({ received: CORPUS.length + 2, pending: 0 });
  }, 120000);
});

/** key → value of every record of the topic (keys are unique here). */
async function consumeAll(topic: string, count: number): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const r of await consumeRecords(topic, count, 30000)) out.set(r.key ?? '', r.value ?? '');
  return out;
}
