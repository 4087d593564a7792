// Generated automatically by nearley, version 2.20.1
// http://github.com/Hardmath123/nearley
// Bypasses TS6133. Allow declared but unused functions.
// @ts-ignore
function id(d: any[]): any { return d[0]; }
declare var SELECT: any;
declare var FOREACH: any;
declare var DO: any;
declare var INCASE: any;
declare var WHERE: any;
declare var FROM: any;
declare var qname: any;
declare var string: any;
declare var name: any;
declare var AS: any;
declare var int: any;
declare var OR: any;
declare var AND: any;
declare var NOT: any;
declare var IN: any;
declare var CASE: any;
declare var END: any;
declare var WHEN: any;
declare var THEN: any;
declare var ELSE: any;
declare var div: any;
declare var mod: any;
declare var float: any;
declare var range: any;

import { LexicalError, lexer } from './lexer';
import { Prefixed, Seq } from './seq';
import { topicFilterProblem } from './topic-filter';
import type * as A from '../ast';
import { MAX_INTEGER_DIGITS, intOf } from '../values';

type Tok = { type: string; text: string; offset: number };

/** EMQX strips every leading and trailing quote character of a quoted token. */
const unquote = (text: string): string =>
  text.charAt(0) === "'" ? text.replace(/^'+|'+$/g, '') : text.replace(/^"+|"+$/g, '');

const keyOf = (t: Tok): string => (t.type === 'qname' || t.type === 'string' ? unquote(t.text) : t.text);

const key = (t: Tok): A.KeySegment => ({ type: 'key', key: keyOf(t) });

/** A FROM item: refused at its token when it is not a valid topic filter (a rule that could never match). */
function topicOf(t: Tok): string {
  const filter = keyOf(t);
  const problem = topicFilterProblem(filter);
  if (problem !== undefined) throw new LexicalError(t.offset, `invalid topic filter ${JSON.stringify(filter)} in FROM: ${problem}`);
  return filter;
}

// Lists are Seq (seq.ts) while parsing, so that building one is linear; parser.ts turns them into
// arrays once the parse is done, which is why list-valued fields are cast to the AST's array types.
const list = <T>(seq: Seq<T> | Prefixed<T>): T[] => seq as unknown as T[];

function ref(first: Tok, segs: Seq<A.PathSegment>): A.Ref {
  if (segs.length === 0) return { type: 'var', name: keyOf(first) };
  return { type: 'path', segments: list(new Prefixed(key(first), segs)) };
}

/** A bare lower-case `true`/`false` is a boolean constant; `TRUE` and `"true"` are names. */
function primaryRef(first: Tok, segs: Seq<A.PathSegment>): A.Expr {
  if (segs.length === 0 && first.type === 'name' && (first.text === 'true' || first.text === 'false')) {
    return { type: 'const', value: first.text === 'true', kind: 'bool' };
  }
  return ref(first, segs);
}

function rangeBounds(t: Tok): [number, number] {
  const [a = '', b = ''] = t.text.slice(1, -1).split('..');
  return [Number.parseInt(a, 10), Number.parseInt(b, 10)];
}

const binary = (op: A.ArithmeticOp) => (d: any[]): A.BinaryExpr => ({ type: 'binary', op, left: d[0], right: d[2] });

const field = (expr: A.Expr, alias: A.PathSegment[] | undefined): A.ExprField => ({ type: 'field', expr, alias });

/**
 * An integer literal, exact at any size (a bigint beyond 2^53, values.ts), as Erlang reads it; up to
 * MAX_INTEGER_DIGITS digits, since BigInt's decimal parsing is superlinear.
 */
function intLiteral(t: Tok): number | bigint {
  if (t.text.length < 16) return Number.parseInt(t.text, 10);
  if (t.text.length > MAX_INTEGER_DIGITS) throw new LexicalError(t.offset, `integer literal of ${t.text.length} digits, over the limit of ${MAX_INTEGER_DIGITS}`);
  return intOf(BigInt(t.text));
}

function index(sign: string, t: Tok): A.IndexSegment {
  const n = Number.parseInt(t.text, 10);
  if (n === 0) return { type: 'index', index: sign === '-' ? 'tail' : 'head' };
  return { type: 'index', index: sign === '-' ? -n : n };
}

interface NearleyToken {
  value: any;
  [key: string]: any;
};

interface NearleyLexer {
  reset: (chunk: string, info: any) => void;
  next: () => NearleyToken | undefined;
  save: () => any;
  formatError: (token: never) => string;
  has: (tokenType: string) => boolean;
};

interface NearleyRule {
  name: string;
  symbols: NearleySymbol[];
  postprocess?: (d: any[], loc?: number, reject?: {}) => any;
};

type NearleySymbol = string | { literal: any } | { test: (token: any) => boolean };

interface Grammar {
  Lexer: NearleyLexer | undefined;
  ParserRules: NearleyRule[];
  ParserStart: string;
};

const grammar: Grammar = {
  Lexer: lexer,
  ParserRules: [
    {"name": "main", "symbols": ["statement"], "postprocess": id},
    {"name": "statement$ebnf$1", "symbols": ["where"], "postprocess": id},
    {"name": "statement$ebnf$1", "symbols": [], "postprocess": () => null},
    {"name": "statement", "symbols": [(lexer.has("SELECT") ? {type: "SELECT"} : SELECT), "fields", "from", "statement$ebnf$1"], "postprocess": (d): A.SelectStatement => ({ type: 'select', fields: d[1], from: d[2], where: d[3] ?? undefined })},
    {"name": "statement$ebnf$2", "symbols": ["do"], "postprocess": id},
    {"name": "statement$ebnf$2", "symbols": [], "postprocess": () => null},
    {"name": "statement$ebnf$3", "symbols": ["incase"], "postprocess": id},
    {"name": "statement$ebnf$3", "symbols": [], "postprocess": () => null},
    {"name": "statement$ebnf$4", "symbols": ["where"], "postprocess": id},
    {"name": "statement$ebnf$4", "symbols": [], "postprocess": () => null},
    {"name": "statement", "symbols": [(lexer.has("FOREACH") ? {type: "FOREACH"} : FOREACH), "fields", "statement$ebnf$2", "statement$ebnf$3", "from", "statement$ebnf$4"], "postprocess":  (d): A.ForeachStatement => ({ type: 'foreach', items: d[1], do: d[2] ?? undefined,
        incase: d[3] ?? undefined, from: d[4], where: d[5] ?? undefined }) },
    {"name": "do", "symbols": [(lexer.has("DO") ? {type: "DO"} : DO), "fields"], "postprocess": (d) => d[1]},
    {"name": "incase", "symbols": [(lexer.has("INCASE") ? {type: "INCASE"} : INCASE), "cond"], "postprocess": (d) => d[1]},
    {"name": "where", "symbols": [(lexer.has("WHERE") ? {type: "WHERE"} : WHERE), "cond"], "postprocess": (d) => d[1]},
    {"name": "from", "symbols": [(lexer.has("FROM") ? {type: "FROM"} : FROM), "topics"], "postprocess": (d) => d[1]},
    {"name": "topics", "symbols": ["topic"], "postprocess": (d) => list(Seq.of(d[0]))},
    {"name": "topics", "symbols": ["topics", {"literal":","}, "topic"], "postprocess": (d) => list(d[0].add(d[2]))},
    {"name": "topic", "symbols": [(lexer.has("qname") ? {type: "qname"} : qname)], "postprocess": (d) => topicOf(d[0])},
    {"name": "topic", "symbols": [(lexer.has("string") ? {type: "string"} : string)], "postprocess": (d) => topicOf(d[0])},
    {"name": "topic", "symbols": [(lexer.has("name") ? {type: "name"} : name)], "postprocess": (d) => topicOf(d[0])},
    {"name": "fields", "symbols": ["field"], "postprocess": (d) => list(Seq.of(d[0]))},
    {"name": "fields", "symbols": ["fields", {"literal":","}, "field"], "postprocess": (d) => list(d[0].add(d[2]))},
    {"name": "field", "symbols": [{"literal":"*"}], "postprocess": (): A.AllField => ({ type: 'all' })},
    {"name": "field", "symbols": ["expr"], "postprocess": (d) => field(d[0], undefined)},
    {"name": "field", "symbols": ["expr", "alias"], "postprocess": (d) => field(d[0], d[1])},
    {"name": "field", "symbols": ["comparison"], "postprocess": (d) => field(d[0], undefined)},
    {"name": "field", "symbols": ["comparison", (lexer.has("AS") ? {type: "AS"} : AS), "target"], "postprocess": (d) => field(d[0], d[2])},
    {"name": "field", "symbols": ["case_expr"], "postprocess": (d) => field(d[0], undefined)},
    {"name": "field", "symbols": ["case_expr", "alias"], "postprocess": (d) => field(d[0], d[1])},
    {"name": "alias", "symbols": [(lexer.has("AS") ? {type: "AS"} : AS), "target"], "postprocess": (d) => d[1]},
    {"name": "alias", "symbols": ["target"], "postprocess": id},
    {"name": "target", "symbols": ["name", "segments"], "postprocess": (d): A.PathSegment[] => list(new Prefixed(key(d[0]), d[1]))},
    {"name": "name", "symbols": [(lexer.has("name") ? {type: "name"} : name)], "postprocess": id},
    {"name": "name", "symbols": [(lexer.has("qname") ? {type: "qname"} : qname)], "postprocess": id},
    {"name": "segments", "symbols": [], "postprocess": () => Seq.empty()},
    {"name": "segments", "symbols": ["segments", "segment"], "postprocess": (d) => d[0].add(d[1])},
    {"name": "segment", "symbols": [{"literal":"."}, (lexer.has("name") ? {type: "name"} : name)], "postprocess": (d) => key(d[1])},
    {"name": "segment", "symbols": [{"literal":"."}, (lexer.has("qname") ? {type: "qname"} : qname)], "postprocess": (d) => key(d[1])},
    {"name": "segment", "symbols": [{"literal":"."}, (lexer.has("int") ? {type: "int"} : int)], "postprocess": (d) => key(d[1])},
    {"name": "segment", "symbols": [{"literal":"."}, (lexer.has("string") ? {type: "string"} : string)], "postprocess": (d) => key(d[1])},
    {"name": "segment", "symbols": [{"literal":"["}, "index", {"literal":"]"}], "postprocess": (d) => d[1]},
    {"name": "index", "symbols": [(lexer.has("int") ? {type: "int"} : int)], "postprocess": (d) => index('+', d[0])},
    {"name": "index", "symbols": [{"literal":"-"}, (lexer.has("int") ? {type: "int"} : int)], "postprocess": (d) => index('-', d[1])},
    {"name": "index", "symbols": [{"literal":"+"}, (lexer.has("int") ? {type: "int"} : int)], "postprocess": (d) => index('+', d[1])},
    {"name": "index", "symbols": ["ref"], "postprocess": (d): A.IndexSegment => ({ type: 'index', index: d[0] })},
    {"name": "ref", "symbols": ["name", "segments"], "postprocess": (d) => ref(d[0], d[1])},
    {"name": "cond", "symbols": ["cond", (lexer.has("OR") ? {type: "OR"} : OR), "cand"], "postprocess": (d): A.LogicalCondition => ({ type: 'or', left: d[0], right: d[2] })},
    {"name": "cond", "symbols": ["cand"], "postprocess": id},
    {"name": "cand", "symbols": ["cand", (lexer.has("AND") ? {type: "AND"} : AND), "cnot"], "postprocess": (d): A.LogicalCondition => ({ type: 'and', left: d[0], right: d[2] })},
    {"name": "cand", "symbols": ["cnot"], "postprocess": id},
    {"name": "cnot", "symbols": [(lexer.has("NOT") ? {type: "NOT"} : NOT), "cnot"], "postprocess": (d): A.NotCondition => ({ type: 'not', operand: d[1] })},
    {"name": "cnot", "symbols": ["catom"], "postprocess": id},
    {"name": "catom", "symbols": ["expr"], "postprocess": id},
    {"name": "catom", "symbols": ["ccomp"], "postprocess": id},
    {"name": "ccomp", "symbols": ["comparison"], "postprocess": id},
    {"name": "ccomp", "symbols": ["expr", (lexer.has("IN") ? {type: "IN"} : IN), {"literal":"("}, "exprs", {"literal":")"}], "postprocess": (d): A.InCondition => ({ type: 'in', negated: false, left: d[0], items: d[3] })},
    {"name": "ccomp", "symbols": ["expr", (lexer.has("NOT") ? {type: "NOT"} : NOT), (lexer.has("IN") ? {type: "IN"} : IN), {"literal":"("}, "exprs", {"literal":")"}], "postprocess": (d): A.InCondition => ({ type: 'in', negated: true, left: d[0], items: d[4] })},
    {"name": "ccomp", "symbols": [{"literal":"("}, "strictcond", {"literal":")"}], "postprocess": (d) => d[1]},
    {"name": "strictcond", "symbols": ["cond", (lexer.has("OR") ? {type: "OR"} : OR), "cand"], "postprocess": (d): A.LogicalCondition => ({ type: 'or', left: d[0], right: d[2] })},
    {"name": "strictcond", "symbols": ["cand", (lexer.has("AND") ? {type: "AND"} : AND), "cnot"], "postprocess": (d): A.LogicalCondition => ({ type: 'and', left: d[0], right: d[2] })},
    {"name": "strictcond", "symbols": [(lexer.has("NOT") ? {type: "NOT"} : NOT), "cnot"], "postprocess": (d): A.NotCondition => ({ type: 'not', operand: d[1] })},
    {"name": "strictcond", "symbols": ["ccomp"], "postprocess": id},
    {"name": "comparison", "symbols": ["expr", "cmpop", "expr"], "postprocess": (d): A.CompareExpr => ({ type: 'compare', op: d[1], left: d[0], right: d[2] })},
    {"name": "cmpop$subexpression$1", "symbols": [{"literal":"="}]},
    {"name": "cmpop$subexpression$1", "symbols": [{"literal":"!="}]},
    {"name": "cmpop$subexpression$1", "symbols": [{"literal":"<>"}]},
    {"name": "cmpop$subexpression$1", "symbols": [{"literal":"<"}]},
    {"name": "cmpop$subexpression$1", "symbols": [{"literal":"<="}]},
    {"name": "cmpop$subexpression$1", "symbols": [{"literal":">"}]},
    {"name": "cmpop$subexpression$1", "symbols": [{"literal":">="}]},
    {"name": "cmpop$subexpression$1", "symbols": [{"literal":"=~"}]},
    {"name": "cmpop$subexpression$1", "symbols": [{"literal":"~="}]},
    {"name": "cmpop", "symbols": ["cmpop$subexpression$1"], "postprocess": (d) => d[0][0].text},
    {"name": "case_expr$ebnf$1", "symbols": ["else"], "postprocess": id},
    {"name": "case_expr$ebnf$1", "symbols": [], "postprocess": () => null},
    {"name": "case_expr", "symbols": [(lexer.has("CASE") ? {type: "CASE"} : CASE), "whens", "case_expr$ebnf$1", (lexer.has("END") ? {type: "END"} : END)], "postprocess": (d): A.CaseExpr => ({ type: 'case', subject: undefined, whens: d[1], else: d[2] ?? undefined })},
    {"name": "case_expr$ebnf$2", "symbols": ["else"], "postprocess": id},
    {"name": "case_expr$ebnf$2", "symbols": [], "postprocess": () => null},
    {"name": "case_expr", "symbols": [(lexer.has("CASE") ? {type: "CASE"} : CASE), "expr", "whens", "case_expr$ebnf$2", (lexer.has("END") ? {type: "END"} : END)], "postprocess": (d): A.CaseExpr => ({ type: 'case', subject: d[1], whens: d[2], else: d[3] ?? undefined })},
    {"name": "case_expr", "symbols": [{"literal":"("}, "case_expr", {"literal":")"}], "postprocess": (d) => d[1]},
    {"name": "whens", "symbols": ["when"], "postprocess": (d) => list(Seq.of(d[0]))},
    {"name": "whens", "symbols": ["whens", "when"], "postprocess": (d) => list(d[0].add(d[1]))},
    {"name": "when", "symbols": [(lexer.has("WHEN") ? {type: "WHEN"} : WHEN), "cond", (lexer.has("THEN") ? {type: "THEN"} : THEN), "expr"], "postprocess": (d) => ({ when: d[1], then: d[3] })},
    {"name": "else", "symbols": [(lexer.has("ELSE") ? {type: "ELSE"} : ELSE), "expr"], "postprocess": (d) => d[1]},
    {"name": "exprs", "symbols": ["expr"], "postprocess": (d) => list(Seq.of(d[0]))},
    {"name": "exprs", "symbols": ["exprs", {"literal":","}, "expr"], "postprocess": (d) => list(d[0].add(d[2]))},
    {"name": "expr", "symbols": ["expr", {"literal":"+"}, "term"], "postprocess": binary('+')},
    {"name": "expr", "symbols": ["expr", {"literal":"-"}, "term"], "postprocess": binary('-')},
    {"name": "expr", "symbols": ["term"], "postprocess": id},
    {"name": "term", "symbols": ["term", {"literal":"*"}, "unary"], "postprocess": binary('*')},
    {"name": "term", "symbols": ["term", {"literal":"/"}, "unary"], "postprocess": binary('/')},
    {"name": "term", "symbols": ["term", (lexer.has("div") ? {type: "div"} : div), "unary"], "postprocess": binary('div')},
    {"name": "term", "symbols": ["term", (lexer.has("mod") ? {type: "mod"} : mod), "unary"], "postprocess": binary('mod')},
    {"name": "term", "symbols": ["unary"], "postprocess": id},
    {"name": "unary", "symbols": [{"literal":"-"}, "unary"], "postprocess": (d): A.UnaryExpr => ({ type: 'unary', op: '-', operand: d[1] })},
    {"name": "unary", "symbols": [{"literal":"+"}, "unary"], "postprocess": (d): A.UnaryExpr => ({ type: 'unary', op: '+', operand: d[1] })},
    {"name": "unary", "symbols": ["primary"], "postprocess": id},
    {"name": "primary", "symbols": [(lexer.has("int") ? {type: "int"} : int)], "postprocess": (d): A.ConstExpr => ({ type: 'const', value: intLiteral(d[0]), kind: 'int' })},
    {"name": "primary", "symbols": [(lexer.has("float") ? {type: "float"} : float)], "postprocess": (d): A.ConstExpr => ({ type: 'const', value: Number.parseFloat(d[0].text), kind: 'float' })},
    {"name": "primary", "symbols": [(lexer.has("string") ? {type: "string"} : string)], "postprocess": (d): A.ConstExpr => ({ type: 'const', value: unquote(d[0].text), kind: 'string' })},
    {"name": "primary", "symbols": ["name", "segments"], "postprocess": (d) => primaryRef(d[0], d[1])},
    {"name": "primary", "symbols": ["ref", (lexer.has("range") ? {type: "range"} : range)], "postprocess": (d): A.SliceExpr => ({ type: 'slice', ref: d[0], from: rangeBounds(d[1])[0], to: rangeBounds(d[1])[1] })},
    {"name": "primary", "symbols": [(lexer.has("range") ? {type: "range"} : range)], "postprocess": (d): A.RangeExpr => ({ type: 'range', from: rangeBounds(d[0])[0], to: rangeBounds(d[0])[1] })},
    {"name": "primary", "symbols": [{"literal":"["}, {"literal":"]"}], "postprocess": (): A.ListExpr => ({ type: 'list', items: [] })},
    {"name": "primary", "symbols": [{"literal":"["}, "exprs", {"literal":"]"}], "postprocess": (d): A.ListExpr => ({ type: 'list', items: d[1] })},
    {"name": "primary", "symbols": [{"literal":"("}, "expr", {"literal":")"}], "postprocess": (d) => d[1]},
    {"name": "primary", "symbols": ["call"], "postprocess": id},
    {"name": "call$ebnf$1", "symbols": ["args"], "postprocess": id},
    {"name": "call$ebnf$1", "symbols": [], "postprocess": () => null},
    {"name": "call", "symbols": [(lexer.has("name") ? {type: "name"} : name), {"literal":"("}, "call$ebnf$1", {"literal":")"}], "postprocess": (d): A.CallExpr => ({ type: 'call', module: undefined, name: d[0].text, args: d[2] ?? [] })},
    {"name": "call$ebnf$2", "symbols": ["args"], "postprocess": id},
    {"name": "call$ebnf$2", "symbols": [], "postprocess": () => null},
    {"name": "call", "symbols": [(lexer.has("name") ? {type: "name"} : name), {"literal":"."}, (lexer.has("name") ? {type: "name"} : name), {"literal":"("}, "call$ebnf$2", {"literal":")"}], "postprocess": (d): A.CallExpr => ({ type: 'call', module: d[0].text, name: d[2].text, args: d[4] ?? [] })},
    {"name": "call$subexpression$1", "symbols": [(lexer.has("div") ? {type: "div"} : div)]},
    {"name": "call$subexpression$1", "symbols": [(lexer.has("mod") ? {type: "mod"} : mod)]},
    {"name": "call$ebnf$3", "symbols": ["args"], "postprocess": id},
    {"name": "call$ebnf$3", "symbols": [], "postprocess": () => null},
    {"name": "call", "symbols": ["call$subexpression$1", {"literal":"("}, "call$ebnf$3", {"literal":")"}], "postprocess": (d): A.CallExpr => ({ type: 'call', module: undefined, name: d[0][0].text, args: d[2] ?? [] })},
    {"name": "args", "symbols": ["arg"], "postprocess": (d) => list(Seq.of(d[0]))},
    {"name": "args", "symbols": ["args", {"literal":","}, "arg"], "postprocess": (d) => list(d[0].add(d[2]))},
    {"name": "arg", "symbols": ["expr"], "postprocess": id},
    {"name": "arg", "symbols": ["comparison"], "postprocess": id},
    {"name": "arg", "symbols": ["case_expr"], "postprocess": id}
  ],
  ParserStart: "main",
};

export default grammar;
