'use strict';
// The cases of the rule-SQL fuzz (see sql-fuzz.js). A case is { id, theme, rule, topic, payloads,
// expect? }. Random cases are numbered 0, 1, 2, ...; case i is generated from its own PRNG, seeded from
// (seed, i), so any single case is rebuilt from the seed and its index without generating the others.
// Fixed cases ("F:<name>") are the repros listed in issue #10.
const { BOMB_FUNCTIONS, MIB, bomb, hostilePayload, redosString, text } = require('./sql-fuzz-payloads');
const { builtins, grammarRule, mutatedRule, structuralRule } = require('./sql-fuzz-rules');

/** mulberry32: small, fast, and good enough to drive a fuzzer. */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed of case `index` of a run seeded `seed` (a murmur-style mix, so neighbouring cases differ). */
function caseSeed(seed, index) {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Random choices drawn from one PRNG. */
function chooser(random) {
  const g = {
    int: (n) => Math.floor(random() * n),
    chance: (p) => random() < p,
    pick: (items) => items[Math.floor(random() * items.length)],
    /** Mostly in [min, typical]; one time in ten up to `huge` (the scale's bound for the big end). */
    size: (min, typical, huge) => {
      const max = g.chance(0.1) ? Math.max(typical, huge) : typical;
      return min + Math.floor(random() ** 2 * (max - min + 1));
    },
    bytes: (n) => {
      const out = Buffer.alloc(n);
      for (let i = 0; i < n; i++) out[i] = Math.floor(random() * 256);
      return out;
    },
  };
  return g;
}

/**
 * Size bounds. `ci` keeps the run under the test's time budget; `long` (the local `npm run fuzz`
 * default) goes further out: 64 KB rules, 100,000-deep JSON, 600 MiB bombs.
 */
const SCALES = {
  ci: { string: 5000, list: 20000, depth: 20000, nesting: 5000, bytes: 65536, bombMib: 256 },
  long: { string: 100000, list: 60000, depth: 100000, nesting: 20000, bytes: 1 << 20, bombMib: 600 },
};

const TOPICS = ['t/1', 't/1', 't/1', 'a/x/b', '$SYS/broker', 'boom/1', 'a//b', '#', 'é/\u0000'];

function randomCase(seed, index, scaleName, functionsModule) {
  const g = chooser(mulberry32(caseSeed(seed, index)));
  const scale = SCALES[scaleName];
  const fns = builtins(functionsModule);
  const theme = g.pick(['grammar', 'grammar', 'grammar', 'mutated', 'mutated', 'structural', 'bomb']);
  let rule;
  const payloads = [];
  if (theme === 'bomb') {
    // A decompression function fed with a bomb of its own container, so it really inflates.
    const kind = g.pick(Object.keys(BOMB_FUNCTIONS));
    const size = g.pick([16, 64, scale.bombMib]) * MIB;
    const fill = g.pick([0, 'a,', 'a', '[']);
    const inflate = `${BOMB_FUNCTIONS[kind]}(payload)`;
    rule = `SELECT ${g.pick([inflate, `split(${inflate}, ',')`, `tokens(${inflate}, ',')`, `json_decode(${inflate})`, `strlen(${inflate})`, `regex_extract(${inflate}, '(a,)+')`, `bin2hexstr(${inflate})`, `upper(${inflate})`, `str_utf16_le(${inflate})`, `base64_encode(${inflate})`, `reverse(${inflate})`, `bytesize(${inflate})`])} AS x FROM "#"`;
    payloads.push({ bytes: bomb(kind, size, fill), desc: `${kind} bomb of ${size / MIB} MiB of ${JSON.stringify(fill)}` });
  } else {
    rule = theme === 'grammar' ? grammarRule(g, scale, fns) : theme === 'mutated' ? mutatedRule(g, scale, fns) : structuralRule(g, scale);
    for (let count = 1 + (g.chance(0.3) ? g.int(3) : 0); count > 0; count--) payloads.push(hostilePayload(g, scale));
  }
  return { id: String(index), theme, rule, topic: g.pick(TOPICS), payloads };
}

const json = (value, desc) => text(JSON.stringify(value), desc);

/** The repros of issue #10 (items 2, 3, 5, 6, 7, 8), each with the size the issue reports or more. */
function fixedCases() {
  const list = (n, item) => Array(n).fill(item).join(',');
  const cases = [
    ['redos-literal-28', "SELECT regex_match(payload.s, '^(a+)+$') AS r FROM \"#\"", [json({ s: redosString(28) }, "{s: 'a'*28+'!'}")]],
    ['redos-literal-1k', "SELECT regex_match(payload.s, '^(a+)+$') AS r FROM \"#\"", [json({ s: redosString(1024) }, "{s: 'a'*1024+'!'}")]],
    ['redos-payload-pattern', 'SELECT regex_match(payload.s, payload.p) AS r FROM "#"', [json({ s: redosString(40), p: '(a|a)+$' }, "{s: 'a'*40+'!', p: '(a|a)+$'}")]],
    ['redos-extract', 'SELECT regex_extract(payload.s, payload.p) AS r FROM "#"', [json({ s: redosString(1024), p: '(a|aa)+$' }, "{s: 'a'*1024+'!', p: '(a|aa)+$'}")]],
    ['redos-replace', "SELECT regex_replace(payload.s, payload.p, 'x') AS r FROM \"#\"", [json({ s: redosString(1024), p: '(a*)*b' }, "{s: 'a'*1024+'!', p: '(a*)*b'}")]],
    ['gunzip-bomb-500m', 'SELECT gunzip(payload) AS x FROM "#"', [{ bytes: bomb('gzip', 500 * MIB, 0), desc: 'gzip bomb, 500 MiB of zeros' }]],
    ['split-gunzip-bomb-200m', "SELECT split(gunzip(payload), ',') AS x FROM \"#\"", [{ bytes: bomb('gzip', 200 * MIB, 'a,'), desc: "gzip bomb, 200 MiB of 'a,'" }]],
    ['unzip-bomb-500m', 'SELECT unzip(payload) AS x FROM "#"', [{ bytes: bomb('deflate-raw', 500 * MIB, 'a'), desc: "raw deflate bomb, 500 MiB of 'a'" }]],
    ['zip-uncompress-bomb-500m', 'SELECT zip_uncompress(payload) AS x FROM "#"', [{ bytes: bomb('zlib', 500 * MIB, 0), desc: 'zlib bomb, 500 MiB of zeros' }]],
    ['pad-537m', 'SELECT pad(payload.s, payload.n) AS x FROM "#"', [json({ s: 'x', n: 536870888 }, '{s: "x", n: 536870888}')]],
    ['subbits-128k', 'SELECT subbits(payload, 1, bitsize(payload)) AS x FROM "#"', [{ bytes: Buffer.alloc(128 * 1024, 0x5a), desc: '128 KiB of 0x5a' }]],
    ['subbits-1m', 'SELECT subbits(payload, 1, bitsize(payload)) AS x FROM "#"', [{ bytes: Buffer.alloc(1024 * 1024, 0x5a), desc: '1 MiB of 0x5a' }]],
    ['select-30000-fields', `SELECT ${list(30000, 'a')} FROM "#"`, [json({}, '{}')]],
    ['in-list-30000', `SELECT 1 AS x FROM "#" WHERE qos IN (${list(30000, '1')})`, [json({}, '{}')]],
    ['args-30000', `SELECT sprintf('~p'${', 1'.repeat(30000)}) AS x FROM "#"`, [json({}, '{}')]],
    ['path-30000', `SELECT payload${'.a'.repeat(30000)} AS x FROM "#"`, [json({ a: { a: 1 } }, '{a: {a: 1}}')]],
    ['when-30000', `SELECT CASE${' WHEN qos = 2 THEN 1'.repeat(30000)} END AS x FROM "#"`, [json({}, '{}')]],
    ['from-30000', `SELECT 1 AS x FROM ${list(30000, '"t/1"')}`, [json({}, '{}')]],
    ['rule-64k', `SELECT ${list(21000, 'a')} FROM "#"`, [json({}, '{}')]],
    ['nested-index-1500', `SELECT payload[${'a['.repeat(1499)}1${']'.repeat(1500)} AS x FROM "#"`, [json({ a: [1] }, '{a: [1]}')]],
    ['nested-index-20000', `SELECT payload[${'a['.repeat(19999)}1${']'.repeat(20000)} AS x FROM "#"`, [json({ a: [1] }, '{a: [1]}')]],
    ['nested-parens-100000', `SELECT ${'('.repeat(100000)}1${')'.repeat(100000)} AS x FROM "#"`, [json({}, '{}')]],
    ['range-200m', 'SELECT [1..200000000] AS x FROM "boom/#"', [json({}, '{}')], 'boom/1'],
    ['foreach-proto-alias', 'FOREACH payload.x AS "__proto__" FROM "#"', [json({ x: [1, 2] }, '{x: [1, 2]}')]],
    ['foreach-proto-alias-2', 'FOREACH payload.x AS "__proto__", "__proto__" AS constructor FROM "#"', [json({ x: [{ a: 1 }] }, '{x: [{a: 1}]}')]],
    ['foreach-proto-do', 'FOREACH payload.x AS "__proto__" DO "__proto__" AS "__proto__", 1 AS constructor.prototype.polluted FROM "#"', [json({ x: [1] }, '{x: [1]}')]],
    ['select-proto-target', 'SELECT payload.x AS "__proto__", 1 AS "__proto__".polluted, 2 AS constructor.prototype.polluted FROM "#"', [json({ x: { polluted: 1 } }, '{x: {polluted: 1}}')]],
    ['regex-replace-missing-group', "SELECT regex_replace('abc', 'b', '[\\2]') AS r FROM \"#\"", [json({}, '{}')], undefined, { r: 'a[]c' }],
    ['from-invalid-filter-hash-middle', 'SELECT 1 AS x FROM "a/#/b"', [json({}, '{}')], 'a/x/b'],
    ['from-invalid-filter-hash-suffix', 'SELECT 1 AS x FROM "#a"', [json({}, '{}')], '#a'],
    ['from-invalid-filter-empty', 'SELECT 1 AS x FROM ""', [json({}, '{}')], ''],
  ];
  return cases.map(([name, rule, payloads, topic = 't/1', expect]) => ({ id: `F:${name}`, theme: 'fixed', rule, topic, payloads, expect }));
}

let fixedCache;
function fixedCase(id) {
  fixedCache ??= new Map(fixedCases().map((c) => [c.id, c]));
  return fixedCache.get(id);
}

/** The case with that id: "F:<name>" for the issue's repros, a decimal index for random cases. */
function makeCase(seed, id, scaleName, functionsModule) {
  if (id.startsWith('F:')) {
    const c = fixedCase(id);
    if (c === undefined) throw new Error(`no fixed case ${id}`);
    return c;
  }
  return randomCase(seed, Number(id), scaleName, functionsModule);
}

const fixedCaseIds = () => fixedCases().map((c) => c.id);

module.exports = { SCALES, caseSeed, fixedCaseIds, makeCase, mulberry32 };
