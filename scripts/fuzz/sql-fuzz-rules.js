'use strict';
// Hostile rules for the rule-SQL fuzz (see sql-fuzz.js): grammar-aware random rules (deep nesting, long
// lists, range literals, every built-in with hostile arguments, prototype-named aliases, invalid FROM
// filters, lone surrogates, huge numbers) and mutations of a corpus of valid rules. Every rule is a pure
// function of the random stream `g`, so a case is replayed from its seed and index alone.
const { HUGE_NUMBERS, REGEX_PATTERNS, REPLACEMENTS, redosString } = require('./sql-fuzz-payloads');

/** Built-ins with their argument counts, read from the built package (so new functions are fuzzed too). */
function builtins(functionsModule) {
  return functionsModule.functionNames().map((name) => {
    const { minArgs, maxArgs } = functionsModule.lookupFunctionEntry(name);
    return { name, minArgs, maxArgs };
  });
}

const PROTO_NAMES = ['"__proto__"', 'constructor', '"constructor"', '"toString"', 'hasOwnProperty', '"valueOf"', 'prototype', '"__defineGetter__"'];

const REFS = [
  'payload', 'payload.s', 'payload.p', 'payload.n', 'payload.x', 'payload.z', 'payload.r', 'payload.d', 'payload.a[1]', 'payload.x[1].a',
  'payload."__proto__"', 'payload.constructor.prototype', 'payload.toString', 'payload."__proto__".polluted', 'payload.a[-1]', 'payload.a[0]',
  'topic', 'clientid', 'qos', 'flags', 'pub_props', "pub_props.'User-Property'", "pub_props.'User-Property'.toString", 'id', 'timestamp',
  'x', 'y', 'item', 'a', 'a.b', '"__proto__"', 'constructor', 'toString', 'null', 'metadata', 'node', 'event',
];

const STRINGS = [
  "''", "'a'", "'s'", "','", "'t/#'", "'#'", "'+/+'", "'__proto__'", "'constructor'", "'toString'", "'__proto__.polluted'",
  "'constructor.prototype.polluted'", "'\u0000'", "'\ud800'", "'\udc00x\ud800'", "'é'", "'\u202e'", "'\ufeff'", "'~s'", "'~p~p~p'",
  "'~999999999s'", "'~*s'", "'~.999999999f'", "'~999999999c'", "'%Y-%m-%d %H:%M:%S'", "'%N%6N%3N%z%:z%::z'", "'second'", "'nanosecond'",
  "'trailing'", "'leading'", "'both'", "'all'", "'notrim'", "'bits'", "'float'", "'signed'", "'little'", "'sha3_256'", "'urlsafe'", "'no_padding'",
  "'\\x" + 'f'.repeat(40) + "'", "'\\q'", "'\\'", "'+99:99'", "'local'", "'Z'", "'1e400'", "'9999-99-99T99:99:99Z'", "'0x'",
];

function stringLiteral(g, scale) {
  if (g.chance(0.15)) return `'${redosString(g.size(30, 300, scale.string))}'`;
  if (g.chance(0.1)) return `'${g.pick(REGEX_PATTERNS)}'`;
  if (g.chance(0.05)) return `'${'x'.repeat(g.size(1, 1000, scale.string))}'`;
  return g.pick(STRINGS);
}

function numberLiteral(g) {
  const n = g.pick(HUGE_NUMBERS);
  // Negative numbers are unary minus on a literal; '--' would start a comment.
  return n.startsWith('-') ? `- ${n.slice(1)}` : n;
}

function atom(g, scale) {
  switch (g.int(6)) {
    case 0:
    case 1:
      return g.pick(REFS);
    case 2:
      return stringLiteral(g, scale);
    case 3:
      return numberLiteral(g);
    case 4:
      return g.pick(['true', 'false', '[]', '[1..3]', `[1..${g.pick(['200000000', '2147483648', '99999999999999999999'])}]`, '[-5..-1]', '[3..1]', '[0..0]']);
    default:
      return g.pick(['payload.x[1..2]', 'payload.x[-2..-1]', 'payload.s[1..2]', `payload.x[1..${g.pick(['0', '100000000', '-100000000'])}]`]);
  }
}

/** Calls shaped to hurt: catastrophic regexes, bombs, huge sizes, prototype-named keys. */
function hostileCall(g, scale, expr) {
  const e = () => expr();
  const s = () => g.pick(['payload.s', 'payload', stringLiteral(g, scale), e()]);
  const n = () => g.pick(['payload.n', numberLiteral(g), e()]);
  const pattern = () => g.pick(['payload.p', `'${g.pick(REGEX_PATTERNS)}'`]);
  const unpack = () => `${g.pick(['gunzip', 'unzip', 'zip_uncompress'])}(${g.pick(['payload', 'base64_decode(payload.z)', 'payload.z'])})`;
  const protoKey = () => g.pick(["'__proto__'", "'constructor'", "'toString'", "'__proto__.polluted'", "'constructor.prototype.polluted'", "'hasOwnProperty'", "'a.__proto__.b'"]);
  switch (g.int(20)) {
    case 0:
      return `regex_match(${s()}, ${pattern()})`;
    case 1:
      return `regex_extract(${s()}, ${pattern()})`;
    case 2:
      return `regex_replace(${s()}, ${pattern()}, ${g.chance(0.5) ? 'payload.r' : `'${g.pick(REPLACEMENTS)}'`})`;
    case 3:
      return unpack();
    case 4:
      return `${g.pick(['split', 'tokens'])}(${unpack()}, ${g.pick(["','", "''", "'a'"])}${g.chance(0.3) ? `, '${g.pick(['notrim', 'leading', 'trailing', 'nocrlf'])}'` : ''})`;
    case 5:
      return `${g.pick(['strlen', 'str', 'upper', 'reverse', 'bin2hexstr', 'base64_encode', 'json_decode', 'trim', 'md5', 'str_utf16_le', 'length', 'map_keys'])}(${unpack()})`;
    case 6:
      return `pad(${s()}, ${n()}${g.chance(0.5) ? `, '${g.pick(['leading', 'trailing', 'both'])}'${g.chance(0.5) ? `, ${s()}` : ''}` : ''})`;
    case 7:
      return `subbits(payload, ${g.pick(['1', 'payload.n', '0', '- 1', numberLiteral(g)])}, ${g.pick(['bitsize(payload)', 'payload.n', numberLiteral(g)])}${g.chance(0.5) ? `, '${g.pick(['bits', 'float', 'integer'])}', '${g.pick(['signed', 'unsigned'])}', '${g.pick(['little', 'big'])}'` : ''})`;
    case 8: {
      const args = Array.from({ length: g.int(4) }, () => g.pick(['payload.n', 'payload.x', 'payload', 'payload.d', e()]));
      return `sprintf(${g.pick(["'~999999999s'", "'~*s'", "'~p'", "'~.999999999f'", "'~999999999c'", "'~n'", "'~ts~w~p~s'", `'${'~p'.repeat(g.size(1, 50, scale.list))}'`, 'payload.s', 's'])}${args.map((a) => `, ${a}`).join('')})`;
    }
    case 9:
      return `${g.pick(['bitsl', 'bitsr', 'power', 'bitand', 'bitxor', 'div', 'mod', 'fmod'])}(${n()}, ${n()})`;
    case 10:
      return `${g.pick(['sublist', 'nth'])}(${n()}, ${g.pick(['payload.x', `[1..${g.pick(['3', '100000000'])}]`, e()])})`;
    case 11:
      return `${g.pick(['substr', 'float', 'float2str'])}(${g.pick([s(), n()])}, ${n()}${g.chance(0.3) ? `, ${n()}` : ''})`;
    case 12:
      return `${g.pick(['map_put', 'mput'])}(${protoKey()}, ${e()}, ${g.pick(['map_new()', 'payload', 'payload.b', e()])})`;
    case 13:
      return `${g.pick(['map_get', 'mget'])}(${protoKey()}, ${g.pick(['map_new()', 'payload', 'payload.b', e()])}${g.chance(0.3) ? `, ${e()}` : ''})`;
    case 14:
      return g.pick([
        `kv_store_put(${protoKey()}, ${e()})`, `kv_store_get(${protoKey()})`, `proc_dict_put(${protoKey()}, ${e()})`, `proc_dict_get(${protoKey()})`,
        `getenv(${protoKey()})`, `hash(${protoKey()}, 'x')`, `flag(${protoKey()})`, `payload(${protoKey()})`, `kv_store_del(${protoKey()})`,
      ]);
    case 15:
      return `${g.pick(['format_date', 'date_to_unix_ts'])}(${g.pick(["'second'", "'nanosecond'", "'x'", e()])}, ${g.pick(["'+99:99'", "'Z'", "'local'", 'payload.n', e()])}, ${g.pick(["'%Y-%m-%d'", `'${'%N'.repeat(g.size(1, 1000, scale.list))}'`, 'payload.s', e()])}${g.chance(0.7) ? `, ${g.pick(['payload.n', 'payload.s', n()])}` : ''})`;
    case 16:
      return `${g.pick(['unix_ts_to_rfc3339', 'rfc3339_to_unix_ts', 'timezone_to_offset_seconds', 'unescape', 'hexstr2bin', 'base64_decode', 'term_decode', 'int', 'bool', 'map', 'json_decode'])}(${g.pick([s(), n(), 'payload.d'])})`;
    case 17:
      return `${g.pick(['json_encode', 'str', 'join_to_sql_values_string', 'map_to_entries', 'map_to_redis_hset_args', 'term_encode', 'concat', 'join_to_string', 'length', 'is_empty'])}(${g.pick(['payload.d', 'payload.x', 'payload', `[1..${g.pick(['1000', '100000000'])}]`, e()])})`;
    case 18:
      return `contains${g.pick(['', '_topic', '_topic_match'])}(${e()}, ${e()})`;
    default:
      return `${g.pick(['replace', 'find', 'split', 'rm_prefix', 'rtrim'])}(${s()}, ${s()}${g.chance(0.4) ? `, ${s()}` : ''})`;
  }
}

function call(g, scale, fns, depth, expr) {
  if (g.chance(0.45)) return hostileCall(g, scale, () => expr(depth - 1));
  const fn = g.pick(fns);
  let count = fn.minArgs + g.int(Math.min(fn.maxArgs, fn.minArgs + 4) - fn.minArgs + 1);
  if (g.chance(0.05)) count = g.int(8); // wrong arity now and then
  const args = Array.from({ length: count }, () => expr(depth - 1));
  const prefix = g.chance(0.05) ? g.pick(['emqx_rule_funcs.', 'EmqxRuleFuncs.', 'other.', 'constructor.']) : '';
  return `${prefix}${fn.name}(${args.join(', ')})`;
}

function makeExpr(g, scale, fns) {
  const expr = (depth) => {
    if (depth <= 0 || g.chance(0.25)) return atom(g, scale);
    switch (g.int(10)) {
      case 0:
      case 1:
      case 2:
        return call(g, scale, fns, depth, expr);
      case 3:
        return `${expr(depth - 1)} ${g.pick(['+', '-', '*', '/', 'div', 'mod'])} ${expr(depth - 1)}`;
      case 4:
        return `- ${expr(depth - 1)}`;
      case 5:
        return `[${Array.from({ length: g.int(4) }, () => expr(depth - 1)).join(', ')}]`;
      case 6:
        return `(${expr(depth - 1)})`;
      case 7:
        return `CASE WHEN ${condition(depth - 1)} THEN ${expr(depth - 1)}${g.chance(0.5) ? ` ELSE ${expr(depth - 1)}` : ''} END`;
      case 8:
        return `${g.pick(['payload', 'payload.x', 'a'])}[${g.chance(0.5) ? expr(depth - 1).replace(/^- /, '-') : g.pick(['a', 'payload.n', 'b[1]', '99999999999999999999', '- 1'])}]`;
      default:
        return `${expr(depth - 1)} ${g.pick(['=', '!=', '<>', '<', '<=', '>', '>=', '=~'])} ${expr(depth - 1)}`;
    }
  };
  const condition = (depth) => {
    switch (g.int(6)) {
      case 0:
        return `${condition(depth - 1)} ${g.pick(['AND', 'OR'])} ${condition(depth - 1)}`;
      case 1:
        return `NOT ${condition(depth - 1)}`;
      case 2:
        return `${expr(depth - 1)} ${g.pick(['', 'NOT '])}IN (${Array.from({ length: 1 + g.int(3) }, () => expr(depth - 1)).join(', ')})`;
      case 3:
        return `(${condition(depth - 1)})`;
      case 4:
        return `${expr(depth - 1)} ${g.pick(['=', '!=', '<', '>=', '=~'])} ${expr(depth - 1)}`;
      default:
        return g.chance(0.5) ? g.pick(['true', 'false']) : call(g, scale, fns, depth, expr);
    }
  };
  return { expr, condition };
}

const FROM_FILTERS = [
  '"#"', '"t/#"', '"t/+"', "'t/1'", 't', '"a/#/b"', '"#a"', '""', "''", '"+a"', '"a/+b/c"', '"#/#"', '"$share/g/#"', '"$queue/t"',
  '"\u0000"', '"\ud800"', '"$events/message_delivered"', '"$events/nonexistent"', '"a//b"', '"/"', '"+"', '"$SYS/#"',
];

function fromClause(g, scale) {
  if (g.chance(0.7)) return 'FROM "#"';
  const items = Array.from({ length: 1 + g.int(3) }, () => g.pick(FROM_FILTERS));
  if (g.chance(0.05)) items.push(`"${'a/'.repeat(g.size(10, 1000, scale.list))}#"`);
  return `FROM ${items.join(', ')}`;
}

function target(g) {
  return g.pick([
    'x', 'y', 'a.b', ...PROTO_NAMES, '"__proto__".polluted', 'constructor.prototype.polluted', 'a."__proto__".b', 'a[0]', 'a[-0]',
    'a[100000000]', 'a[-100000000]', 'payload.x', 'payload."__proto__"', 'x[1].y', 'a[b]', '"a b"', '"\ud800"',
  ]);
}

/** A grammar-aware random rule, SELECT or FOREACH, with a few hostile fields. */
function grammarRule(g, scale, fns) {
  const { expr, condition } = makeExpr(g, scale, fns);
  const depth = 1 + g.int(4);
  const field = () => (g.chance(0.1) ? '*' : `${expr(depth)}${g.chance(0.7) ? ` AS ${target(g)}` : ''}`);
  const fields = (count) => Array.from({ length: count }, field).join(', ');
  const where = g.chance(0.3) ? ` WHERE ${condition(depth)}` : '';
  if (g.chance(0.7)) return `SELECT ${fields(1 + g.int(4))} ${fromClause(g, scale)}${where}`;
  const alias = g.chance(0.6) ? ` AS ${g.pick([...PROTO_NAMES, 'x', 'item', 's'])}` : '';
  const items = g.chance(0.3) ? `${g.pick(['payload.x', 'payload.a'])} AS ${g.pick(PROTO_NAMES)}, ` : '';
  const collection = g.pick(['payload.x', 'payload', 'payload.d', `[1..${g.pick(['3', '100000', '200000000'])}]`, expr(depth)]);
  const doPart = g.chance(0.6) ? ` DO ${fields(1 + g.int(3))}` : '';
  const incase = g.chance(0.3) ? ` INCASE ${condition(depth)}` : '';
  return `FOREACH ${items}${collection}${alias}${doPart}${incase} ${fromClause(g, scale)}${where}`;
}

/** A rule whose trouble is size: nesting depth or list length far beyond what a person writes. */
function structuralRule(g, scale) {
  const n = g.size(50, 3000, scale.nesting);
  const len = g.size(50, 3000, scale.list);
  switch (g.int(17)) {
    case 0:
      return `SELECT ${'('.repeat(n)}1${')'.repeat(n)} AS x FROM "#"`;
    case 1:
      return `SELECT ${'abs('.repeat(n)}1${')'.repeat(n)} AS x FROM "#"`;
    case 2:
      return `SELECT ${'['.repeat(n)}1${']'.repeat(n)} AS x FROM "#"`;
    case 3:
      return `SELECT payload[${'a['.repeat(n)}1${']'.repeat(n + 1)} AS x FROM "#"`;
    case 4:
      return `SELECT ${'- '.repeat(n)}1 AS x FROM "#"`;
    case 5:
      return `SELECT 1${' + 1'.repeat(len)} AS x FROM "#"`;
    case 6:
      return `SELECT 1 AS x FROM "#" WHERE ${'NOT '.repeat(n)}true`;
    case 7:
      return `SELECT 1 AS x FROM "#" WHERE ${'('.repeat(n)}qos = 1${')'.repeat(n)}${' AND qos = 1'.repeat(g.int(3) * len)}`;
    case 8:
      return `SELECT ${Array(len).fill(g.pick(['a', 'payload.a', '*', "'k'"])).join(',')} FROM "#"`;
    case 9:
      return `SELECT 1 AS x FROM "#" WHERE qos IN (${Array(len).fill('1').join(',')})`;
    case 10:
      return `SELECT ${g.pick(['concat', 'sprintf', 'term_encode', 'coalesce'])}(${g.pick(["'~p'", '1'])}${', 1'.repeat(len)}) AS x FROM "#"`;
    case 11:
      return `SELECT payload${'.a'.repeat(len)} AS x FROM "#"`;
    case 12:
      return `SELECT CASE${' WHEN qos = 2 THEN 1'.repeat(len)} ELSE 0 END AS x FROM "#"`;
    case 13:
      return `SELECT 1 AS x FROM ${Array(len).fill('"t/1"').join(',')}`;
    case 14:
      return `SELECT [${Array(len).fill('1').join(',')}] AS x FROM "#"`;
    case 15:
      return `SELECT 1 AS ${'a.'.repeat(len)}b FROM "#"`;
    default:
      return `SELECT ${'CASE WHEN true THEN '.repeat(n)}1${' END'.repeat(n)} AS x FROM "#"`;
  }
}

/** Valid rules (from the spec files) that mutations start from. */
const CORPUS = [
  'SELECT timestamp, clientid, payload.temp as temp, payload.hum as hum FROM "temp_hum/emqx"',
  'SELECT * FROM "t/#" WHERE qos = 1 AND payload.x > 2',
  'FOREACH payload.sensors AS s DO s.name AS n, clientid INCASE s.v > 1 FROM "t/+" WHERE topic =~ \'t/#\'',
  "SELECT CASE WHEN payload.t > 30 THEN 'hot' ELSE 'cold' END AS c, CASE qos WHEN 1 THEN 'one' END AS q FROM t",
  'SELECT a[1..2], [1, 2 + 3, abs(-1)] AS l, div(7, 2) d, 7 mod 2 AS m, x AS o.p[1] FROM "a", \'b\' WHERE a IN (1, 2) OR NOT b = 1',
  "SELECT lower(upper(clientid)) AS c, payload.'k'.\"q r\" AS k FROM t WHERE (a = 1 OR b < 2) AND c != 'x'",
  "SELECT regex_replace(payload.s, '(a)(b)?', '[\\1]') AS r, split(payload.s, ',') AS parts FROM \"#\"",
  'SELECT payload, \'X\' AS payload.data[1].name, payload.x AS p.x[0] FROM "#"',
  "FOREACH payload.x AS e DO e.a AS a, str(e) AS s, sprintf('~p', e) AS p INCASE is_map(e) FROM \"#\"",
  "SELECT gunzip(payload) AS g, bin2hexstr(subbits(payload, 1, 8, 'bits')) AS h, pad(clientid, 10, 'both', '*') AS padded FROM \"#\"",
  "SELECT map_put('a.b', 1, map_new()) AS m, mget('k', payload) AS k, kv_store_put('k', payload.n) AS put FROM \"#\"",
  "SELECT format_date('second', '+08:00', '%Y-%m-%d %H:%M:%S', payload.n) AS d, json_decode(payload) AS j FROM \"#\"",
];

function tokenize(rule) {
  return rule.match(/'[^']*'|"[^"]*"|\[[-+]?\d+\.\.[-+]?\d+\]|[A-Za-z_][\w.$@~]*|\d+(?:\.\d+)?|[<>!=~]=?|<>|\S/g) ?? [];
}

/** A corpus rule with a few token edits, hostile splices, repeated runs or a dropped character. */
function mutatedRule(g, scale, fns) {
  const tokens = tokenize(g.pick(CORPUS));
  const { expr } = makeExpr(g, scale, fns);
  for (let m = 1 + g.int(3); m > 0; m--) {
    const at = g.int(tokens.length);
    switch (g.int(7)) {
      case 0:
        tokens.splice(at, 1);
        break;
      case 1:
        tokens.splice(at, 0, g.pick(tokens));
        break;
      case 2:
        tokens[at] = expr(2);
        break;
      case 3: {
        const run = tokens.slice(at, at + 1 + g.int(4));
        tokens.splice(at, 0, ...Array(g.size(2, 200, scale.list)).fill(run.join(' ')));
        break;
      }
      case 4:
        if (/^'.*'$/.test(tokens[at])) tokens[at] = stringLiteral(g, scale);
        else if (/^\d/.test(tokens[at])) tokens[at] = numberLiteral(g);
        else tokens[at] = g.pick(PROTO_NAMES);
        break;
      case 5: {
        const other = g.int(tokens.length);
        [tokens[at], tokens[other]] = [tokens[other], tokens[at]];
        break;
      }
      default:
        tokens.splice(at, 0, g.pick(['(', ')', '[', ']', ',', 'AS', 'END', "'", '"', '..', '--', '\n', '\ud800', '\u0000']));
    }
  }
  const textOut = tokens.join(g.chance(0.9) ? ' ' : '');
  if (g.chance(0.2)) {
    const cut = g.int(textOut.length);
    return textOut.slice(0, cut) + textOut.slice(cut + 1);
  }
  return textOut;
}

module.exports = { CORPUS, builtins, grammarRule, mutatedRule, structuralRule };
