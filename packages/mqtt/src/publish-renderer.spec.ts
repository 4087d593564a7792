import { describe, expect, it } from '@jest/globals';
import { IntegrationError } from '@sluice/core';
import { compileTemplate } from '@sluice/sql';
import { parseMqttPublishActionSettings } from './mqtt-publish-config';
import { PublishRenderer } from './publish-renderer';

const templates = { compileTemplate };
const renderer = (settings: Record<string, unknown>): PublishRenderer =>
  new PublishRenderer({ connectorId: 'dlq', actionId: 'r:mqtt' }, parseMqttPublishActionSettings(settings, 'r:mqtt'), templates);

const output = { clientid: 'dev-1', topic: 'devices/dev-1/telemetry', seq: 7, qos: 1, flags: { retain: true, dup: false },
  pub_props: { 'User-Property': { site: 'north', tag: ['a', 'b'] } } };

const refusal = (run: () => unknown): IntegrationError => {
  try {
    run();
  } catch (error) {
    if (IntegrationError.is(error)) return error;
    throw error;
  }
  throw new Error('expected a refusal');
};

describe(PublishRenderer.name, () => {
  it('renders the topic template and, by default, the whole output as a JSON payload at QoS 0 without retain', () => {
    const publish = renderer({ topic: 'dead/${clientid}/${topic}' }).render(output);
    expect(publish.topic).toBe('dead/dev-1/devices/dev-1/telemetry');
    expect(publish.payload.equals(Buffer.from(JSON.stringify(output), 'utf8'))).toBe(true);
    expect(publish).toMatchObject({ qos: 0, retain: false });
    expect(publish.userProperties).toBeUndefined();
  });

  it('renders payload, qos, retain and user properties from the output', () => {
    const publish = renderer({
      topic: 'dead', payload: '{"seq": ${seq}, "from": "${clientid}"}', qos: '${qos}', retain: '${flags.retain}', userProperties: '${pub_props.User-Property}',
    }).render(output);
    expect(publish.payload.toString('utf8')).toBe('{"seq": 7, "from": "dev-1"}');
    expect(publish).toMatchObject({ qos: 1, retain: true, userProperties: { site: 'north', tag: ['a', 'b'] } });
  });

  it('encodes the payload as UTF-8', () => {
    expect(renderer({ topic: 't', payload: 'Temp ${v} °C' }).render({ v: 'ü' }).payload).toEqual(Buffer.from('Temp ü °C', 'utf8'));
  });

  it('gives QoS 0 and no retain when their placeholders have no value, as EMQX does', () => {
    expect(renderer({ topic: 't', qos: '${nope}', retain: '${nope}' }).render({})).toMatchObject({ qos: 0, retain: false });
  });

  it('writes an integer beyond 2^53 (a bigint in the output) with every digit, in the payload and in user properties', () => {
    const publish = renderer({ topic: 't', payload: '{"ts": ${ts}}', userProperties: '${p}' })
      .render({ ts: 1733400000123456789n, p: { ts: 1733400000123456789n, m: { n: -18446744073709551615n } } });
    expect(String(publish.payload)).toBe('{"ts": 1733400000123456789}');
    expect(publish.userProperties).toEqual({ ts: '1733400000123456789', m: '{"n":-18446744073709551615}' });
  });

  it('has no user properties when the placeholder has no value or an empty map', () => {
    expect(renderer({ topic: 't', userProperties: '${p}' }).render({}).userProperties).toBeUndefined();
    expect(renderer({ topic: 't', userProperties: '${p}' }).render({ p: {} }).userProperties).toBeUndefined();
    expect(renderer({ topic: 't', userProperties: '${p}' }).render({ p: '{"k":"v"}' }).userProperties).toEqual({ k: 'v' });
    expect(renderer({ topic: 't', userProperties: '${p}' }).render({ p: { n: 1 } }).userProperties).toEqual({ n: '1' });
    // EMQX's User-Property-Pairs: a name given twice stays twice.
    expect(renderer({ topic: 't', userProperties: '${p}' }).render({ p: [{ key: 'k', value: '1' }, { key: 'k', value: '2' }, { key: 'j', value: 'x' }] }).userProperties)
      .toEqual({ k: ['1', '2'], j: 'x' });
  });

  it('refuses for good an output whose topic placeholder has no value, instead of publishing to dead//x', () => {
    const error = refusal(() => renderer({ topic: 'dead/${clientid}/x' }).render({}));
    expect(error.retriable).toBe(false);
    expect(error.message).toContain('${clientid} has no value');
  });

  it('refuses for good a rendered topic with a wildcard, a bad qos or retain, and user properties that are not a map', () => {
    for (const [settings, out, text] of [
      [{ topic: 'dead/${t}' }, { t: 'a/#' }, 'wildcard'],
      [{ topic: 't', qos: '${q}' }, { q: 5 }, 'expected 0, 1 or 2'],
      [{ topic: 't', retain: '${r}' }, { r: 'yes' }, 'expected true or false'],
      [{ topic: 't', userProperties: '${p}' }, { p: ['a'] }, 'not a map'],
      [{ topic: 't', userProperties: '${p}' }, { p: 5 }, 'not a map'],
    ] as const) {
      const error = refusal(() => renderer(settings).render(out));
      expect(error.retriable).toBe(false);
      expect(error.message).toContain(text);
    }
  });

  it('keeps escaped dollars literal in a templated topic', () => {
    expect(renderer({ topic: 'a/$${x}/${c}' }).render({ c: 'z' }).topic).toBe('a/${x}/z');
    expect(renderer({ topic: 'fixed/topic' }).constantTopic).toBe('fixed/topic');
  });

  describe('hostile user property names and values (issue 10 item 1)', () => {
    const names = ['toString', 'constructor', 'hasOwnProperty', '__proto__', 'valueOf'];

    it('republishes every name verbatim as an own property, from a map or a {key, value} list', () => {
      const map = `{${names.map((n) => `"${n}": "v-${n}"`).join(', ')}}`;
      const list = JSON.stringify(names.map((n) => ({ key: n, value: `v-${n}` })));
      for (const text of [map, list]) {
        const properties = renderer({ topic: 'out', userProperties: '${props}' }).render({ props: text }).userProperties;
        expect(properties).toBeDefined();
        expect(Object.getPrototypeOf(properties)).toBeNull();
        expect(Object.entries(properties ?? {})).toEqual(names.map((n) => [n, `v-${n}`]));
      }
    });

    it('keeps the repeated values of a name the prototype also has', () => {
      const properties = renderer({ topic: 'out', userProperties: '${props}' })
        .render({ props: [{ key: 'toString', value: 'a' }, { key: 'toString', value: 'b' }] }).userProperties;
      expect(properties?.['toString']).toEqual(['a', 'b']);
    });

    it.each<[string, Record<string, unknown>]>([
      ['a control character in a value', { props: { a: 'x\u0001y' } }],
      ['NUL in a name', { props: { 'a\u0000': 'x' } }],
      ['a value longer than an MQTT string', { props: { a: 'é'.repeat(40_000) } }],
    ])('refuses %s alone (the broker would close the shared connection)', (_label, out) => {
      expect(refusal(() => renderer({ topic: 'out', userProperties: '${props}' }).render(out))).toMatchObject({ retriable: false });
    });

    it('refuses a topic with a control character', () => {
      expect(refusal(() => renderer({ topic: 'out/${t}' }).render({ t: 'a\u0007' })).message).toMatch(/control character/);
    });
  });

  describe('binary payloads (issue 10 item 4)', () => {
    const bytes = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0xc3, 0x28, 0x01]);

    it('republishes the bytes of a binary payload unchanged', () => {
      expect(renderer({ topic: 'out', payload: '${payload}' }).render({ payload: bytes }).payload).toBe(bytes);
    });

    it('joins text around binary bytes as UTF-8', () => {
      const payload = renderer({ topic: 'out', payload: 'é:${payload}' }).render({ payload: bytes }).payload;
      expect(payload.equals(Buffer.concat([Buffer.from('é:'), bytes]))).toBe(true);
    });
  });

  it('quotes at most 64 characters of a device\'s value in a refusal, however long the value (qos, retain, wildcard topic)', () => {
    const long = { ...output, q: '7'.repeat(100_000), t: `a/#/${'x'.repeat(100_000)}` };
    const refusals = [
      refusal(() => renderer({ topic: 'dead', qos: '${q}' }).render(long)),
      refusal(() => renderer({ topic: 'dead', retain: '${q}' }).render(long)),
      refusal(() => renderer({ topic: '${t}' }).render(long)),
    ];
    for (const error of refusals) {
      expect(error.message).toMatch(/rendered ".{1,64}…" \(\d+ characters\)/);
      expect(error.message.length).toBeLessThan(400);
    }
  });
});
