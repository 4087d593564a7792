/**
 * The syntax tree of a rule, as the grammar's postprocessors build it. Shapes follow rulesql's parse
 * tree (RULE-SQL.md §3) closely enough that porting a rulesql test is mechanical. Every node carries
 * a `type` tag; the compiler switches on it once per rule, never per message.
 */

export type Statement = SelectStatement | ForeachStatement;

export interface SelectStatement {
  readonly type: 'select';
  readonly fields: readonly Field[];
  readonly from: readonly string[];
  readonly where: Condition | undefined;
}

export interface ForeachStatement {
  readonly type: 'foreach';
  /** The FOREACH items; the last one is the collection. */
  readonly items: readonly Field[];
  readonly do: readonly Field[] | undefined;
  readonly incase: Condition | undefined;
  readonly from: readonly string[];
  readonly where: Condition | undefined;
}

/** One entry of a select list: `*`, or an expression with an optional target. */
export type Field = AllField | ExprField;

export interface AllField {
  readonly type: 'all';
}

export interface ExprField {
  readonly type: 'field';
  readonly expr: Expr;
  /** The AS target (a name or path), or undefined when the key is derived from the expression. */
  readonly alias: PathSegment[] | undefined;
}

/** A path step: a map key, or a 1-based list index (`head` is `[0]`, `tail` is `[-0]`). */
export type PathSegment = KeySegment | IndexSegment;

export interface KeySegment {
  readonly type: 'key';
  readonly key: string;
}

export interface IndexSegment {
  readonly type: 'index';
  readonly index: number | 'head' | 'tail' | Ref;
}

export type Ref = VarExpr | PathExpr;

export type Expr =
  | ConstExpr
  | VarExpr
  | PathExpr
  | UnaryExpr
  | BinaryExpr
  | CompareExpr
  | CallExpr
  | ListExpr
  | RangeExpr
  | SliceExpr
  | CaseExpr;

export interface ConstExpr {
  readonly type: 'const';
  /** An integer (a bigint beyond 2^53), a float (`kind` says which: 2.0 is a float), a string, or a boolean. */
  readonly value: number | bigint | string | boolean;
  readonly kind: 'int' | 'float' | 'string' | 'bool';
}

export interface VarExpr {
  readonly type: 'var';
  readonly name: string;
}

/** A path of at least two segments; the first is always a key. */
export interface PathExpr {
  readonly type: 'path';
  readonly segments: readonly PathSegment[];
}

export interface UnaryExpr {
  readonly type: 'unary';
  readonly op: '-' | '+';
  readonly operand: Expr;
}

export type ArithmeticOp = '+' | '-' | '*' | '/' | 'div' | 'mod';

export interface BinaryExpr {
  readonly type: 'binary';
  readonly op: ArithmeticOp;
  readonly left: Expr;
  readonly right: Expr;
}

export type CompareOp = '=' | '!=' | '<>' | '<' | '<=' | '>' | '>=' | '=~' | '~=';

/** A comparison; in a select field or argument it yields a boolean, in a condition it decides. */
export interface CompareExpr {
  readonly type: 'compare';
  readonly op: CompareOp;
  readonly left: Expr;
  readonly right: Expr;
}

export interface CallExpr {
  readonly type: 'call';
  /** `Module` of `Module.func(...)`, undefined for a plain call. */
  readonly module: string | undefined;
  readonly name: string;
  readonly args: readonly Expr[];
}

export interface ListExpr {
  readonly type: 'list';
  readonly items: readonly Expr[];
}

/** `[a..b]`: the list of integers a..b. */
export interface RangeExpr {
  readonly type: 'range';
  readonly from: number;
  readonly to: number;
}

/** `ref[a..b]`: an inclusive 1-based slice. */
export interface SliceExpr {
  readonly type: 'slice';
  readonly ref: Ref;
  readonly from: number;
  readonly to: number;
}

export interface CaseExpr {
  readonly type: 'case';
  /** The subject of the simple form `CASE x WHEN v ...`; undefined for the searched form. */
  readonly subject: Expr | undefined;
  readonly whens: readonly { readonly when: Condition; readonly then: Expr }[];
  readonly else: Expr | undefined;
}

/** What WHERE, INCASE and CASE ... WHEN hold. A bare expression is a condition syntactically. */
export type Condition = Expr | LogicalCondition | NotCondition | InCondition;

export interface LogicalCondition {
  readonly type: 'and' | 'or';
  readonly left: Condition;
  readonly right: Condition;
}

export interface NotCondition {
  readonly type: 'not';
  readonly operand: Condition;
}

export interface InCondition {
  readonly type: 'in';
  /** `x NOT IN (...)`: parsed, but EMQX raises when it is evaluated (RULE-SQL.md §4.5). */
  readonly negated: boolean;
  readonly left: Expr;
  readonly items: readonly Expr[];
}
