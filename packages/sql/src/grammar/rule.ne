# EMQX rule SQL (RULE-SQL.md §3). `npm run grammar -w @sluice/sql` regenerates rule.generated.ts.
#
# One nonterminal per precedence level, lowest first:
#   cond (OR) < cand (AND) < cnot (NOT) < comparisons / IN (non-associative) < expr (+ -)
#   < term (* / div mod) < unary (- +) < primary.
# Lists (fields, IN items, arguments, paths, WHEN branches, FROM filters) are built as Seq (seq.ts): one
# cell per item, so that parsing stays linear; parser.ts turns them into arrays after the parse.
# The grammar is kept unambiguous (a test parses a corpus and fails on more than one result):
#   - a parenthesised *condition* (`strictcond`) must hold AND/OR/NOT/a comparison/IN, so `(a)` is
#     only ever a parenthesised expression;
#   - CASE is not an expression: it can be a field, a function argument or (in parentheses) a field,
#     as in rulesql.

@preprocessor typescript

@{%
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
%}

@lexer lexer

main -> statement {% id %}

statement ->
    %SELECT fields from where:?
      {% (d): A.SelectStatement => ({ type: 'select', fields: d[1], from: d[2], where: d[3] ?? undefined }) %}
  | %FOREACH fields do:? incase:? from where:?
      {% (d): A.ForeachStatement => ({ type: 'foreach', items: d[1], do: d[2] ?? undefined,
                                       incase: d[3] ?? undefined, from: d[4], where: d[5] ?? undefined }) %}

do -> %DO fields {% (d) => d[1] %}
incase -> %INCASE cond {% (d) => d[1] %}
where -> %WHERE cond {% (d) => d[1] %}

from -> %FROM topics {% (d) => d[1] %}
topics -> topic {% (d) => list(Seq.of(d[0])) %}
        | topics "," topic {% (d) => list(d[0].add(d[2])) %}
# A topic filter: "double quoted", 'single quoted' or a bare name.
topic -> %qname {% (d) => topicOf(d[0]) %}
       | %string {% (d) => topicOf(d[0]) %}
       | %name {% (d) => topicOf(d[0]) %}

fields -> field {% (d) => list(Seq.of(d[0])) %}
        | fields "," field {% (d) => list(d[0].add(d[2])) %}

field -> "*" {% (): A.AllField => ({ type: 'all' }) %}
       | expr {% (d) => field(d[0], undefined) %}
       | expr alias {% (d) => field(d[0], d[1]) %}
       # A single comparison may be a field; its alias needs AS.
       | comparison {% (d) => field(d[0], undefined) %}
       | comparison %AS target {% (d) => field(d[0], d[2]) %}
       | case_expr {% (d) => field(d[0], undefined) %}
       | case_expr alias {% (d) => field(d[0], d[1]) %}

alias -> %AS target {% (d) => d[1] %}
       | target {% id %}

# An output target: a name or a path, with [n], [0], [-0], [-n] or [ref] steps (never a range).
target -> name segments {% (d): A.PathSegment[] => list(new Prefixed(key(d[0]), d[1])) %}

name -> %name {% id %} | %qname {% id %}

segments -> null {% () => Seq.empty() %}
          | segments segment {% (d) => d[0].add(d[1]) %}

segment -> "." %name {% (d) => key(d[1]) %}
         | "." %qname {% (d) => key(d[1]) %}
         | "." %int {% (d) => key(d[1]) %}
         | "." %string {% (d) => key(d[1]) %}
         | "[" index "]" {% (d) => d[1] %}

index -> %int {% (d) => index('+', d[0]) %}
       | "-" %int {% (d) => index('-', d[1]) %}
       | "+" %int {% (d) => index('+', d[1]) %}
       | ref {% (d): A.IndexSegment => ({ type: 'index', index: d[0] }) %}

ref -> name segments {% (d) => ref(d[0], d[1]) %}

# ---- conditions (WHERE, INCASE, CASE ... WHEN) ----

# Level 1: OR
cond -> cond %OR cand {% (d): A.LogicalCondition => ({ type: 'or', left: d[0], right: d[2] }) %}
      | cand {% id %}

# Level 2: AND
cand -> cand %AND cnot {% (d): A.LogicalCondition => ({ type: 'and', left: d[0], right: d[2] }) %}
      | cnot {% id %}

# Level 3: NOT (prefix, may repeat: NOT NOT c parses, and raises when evaluated as EMQX does)
cnot -> %NOT cnot {% (d): A.NotCondition => ({ type: 'not', operand: d[1] }) %}
      | catom {% id %}

catom -> expr {% id %}
       | ccomp {% id %}

# Level 4: comparison and IN (non-associative), or a parenthesised condition that is not a bare expression.
ccomp -> comparison {% id %}
       | expr %IN "(" exprs ")" {% (d): A.InCondition => ({ type: 'in', negated: false, left: d[0], items: d[3] }) %}
       | expr %NOT %IN "(" exprs ")" {% (d): A.InCondition => ({ type: 'in', negated: true, left: d[0], items: d[4] }) %}
       | "(" strictcond ")" {% (d) => d[1] %}

strictcond -> cond %OR cand {% (d): A.LogicalCondition => ({ type: 'or', left: d[0], right: d[2] }) %}
            | cand %AND cnot {% (d): A.LogicalCondition => ({ type: 'and', left: d[0], right: d[2] }) %}
            | %NOT cnot {% (d): A.NotCondition => ({ type: 'not', operand: d[1] }) %}
            | ccomp {% id %}

comparison -> expr cmpop expr {% (d): A.CompareExpr => ({ type: 'compare', op: d[1], left: d[0], right: d[2] }) %}

cmpop -> ("=" | "!=" | "<>" | "<" | "<=" | ">" | ">=" | "=~" | "~=") {% (d) => d[0][0].text %}

# ---- CASE ----

case_expr -> %CASE whens else:? %END
               {% (d): A.CaseExpr => ({ type: 'case', subject: undefined, whens: d[1], else: d[2] ?? undefined }) %}
           | %CASE expr whens else:? %END
               {% (d): A.CaseExpr => ({ type: 'case', subject: d[1], whens: d[2], else: d[3] ?? undefined }) %}
           | "(" case_expr ")" {% (d) => d[1] %}

whens -> when {% (d) => list(Seq.of(d[0])) %}
       | whens when {% (d) => list(d[0].add(d[1])) %}
when -> %WHEN cond %THEN expr {% (d) => ({ when: d[1], then: d[3] }) %}
else -> %ELSE expr {% (d) => d[1] %}

# ---- expressions ----

exprs -> expr {% (d) => list(Seq.of(d[0])) %}
       | exprs "," expr {% (d) => list(d[0].add(d[2])) %}

# Level 5: + -
expr -> expr "+" term {% binary('+') %}
      | expr "-" term {% binary('-') %}
      | term {% id %}

# Level 6: * / div mod
term -> term "*" unary {% binary('*') %}
      | term "/" unary {% binary('/') %}
      | term %div unary {% binary('div') %}
      | term %mod unary {% binary('mod') %}
      | unary {% id %}

# Level 7: unary + -
unary -> "-" unary {% (d): A.UnaryExpr => ({ type: 'unary', op: '-', operand: d[1] }) %}
       | "+" unary {% (d): A.UnaryExpr => ({ type: 'unary', op: '+', operand: d[1] }) %}
       | primary {% id %}

primary -> %int {% (d): A.ConstExpr => ({ type: 'const', value: intLiteral(d[0]), kind: 'int' }) %}
         | %float {% (d): A.ConstExpr => ({ type: 'const', value: Number.parseFloat(d[0].text), kind: 'float' }) %}
         | %string {% (d): A.ConstExpr => ({ type: 'const', value: unquote(d[0].text), kind: 'string' }) %}
         | name segments {% (d) => primaryRef(d[0], d[1]) %}
         | ref %range {% (d): A.SliceExpr => ({ type: 'slice', ref: d[0], from: rangeBounds(d[1])[0], to: rangeBounds(d[1])[1] }) %}
         | %range {% (d): A.RangeExpr => ({ type: 'range', from: rangeBounds(d[0])[0], to: rangeBounds(d[0])[1] }) %}
         | "[" "]" {% (): A.ListExpr => ({ type: 'list', items: [] }) %}
         | "[" exprs "]" {% (d): A.ListExpr => ({ type: 'list', items: d[1] }) %}
         | "(" expr ")" {% (d) => d[1] %}
         | call {% id %}

call -> %name "(" args:? ")"
          {% (d): A.CallExpr => ({ type: 'call', module: undefined, name: d[0].text, args: d[2] ?? [] }) %}
      | %name "." %name "(" args:? ")"
          {% (d): A.CallExpr => ({ type: 'call', module: d[0].text, name: d[2].text, args: d[4] ?? [] }) %}
      | (%div | %mod) "(" args:? ")"
          {% (d): A.CallExpr => ({ type: 'call', module: undefined, name: d[0][0].text, args: d[2] ?? [] }) %}

args -> arg {% (d) => list(Seq.of(d[0])) %}
      | args "," arg {% (d) => list(d[0].add(d[2])) %}

# A comparison or a CASE may be an argument.
arg -> expr {% id %}
     | comparison {% id %}
     | case_expr {% id %}
