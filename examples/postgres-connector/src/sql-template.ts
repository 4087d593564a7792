/**
 * An action's SQL with `${path}` placeholders, compiled once into a statement with `$1`, `$2` ... bind
 * parameters. A payload value never becomes SQL text: it travels beside the statement as a parameter, so
 * `'); DROP TABLE x; --` in a payload is stored as that text and nothing else.
 *
 * The scan knows enough PostgreSQL lexing to see where placeholders stand: a placeholder inside a quoted
 * string, a quoted identifier, a dollar-quoted body or a comment is refused (PostgreSQL would read `$1`
 * there as text, and the value would silently not be used), and so is a hand-written `$1` (the numbering is
 * the connector's).
 */

/** One piece of the compiled statement: literal SQL, or the index (0-based) of a bind parameter. */
export type SqlPiece = string | number;

export interface SqlTemplate {
  /** The template as written. */
  readonly source: string;
  /** The statement for one output, with `$1` ... in place of the placeholders. */
  readonly text: string;
  /**
   * The placeholder path of each parameter: `paths[0]` fills `$1`. A path written twice is one parameter.
   * `'.'` is the whole output (as JSON).
   */
  readonly paths: readonly string[];
  /**
   * Set when the statement is `INSERT ... VALUES (...)` with one row tuple holding every placeholder: then
   * many outputs go into one multi-row INSERT (`head` + a tuple per output + `tail`).
   */
  readonly rows: MultiRowInsert | undefined;
}

export interface MultiRowInsert {
  readonly head: string;
  /** The row tuple, `(` to `)`, its parameters numbered for the first row. */
  readonly tuple: readonly SqlPiece[];
  readonly tail: string;
}

/** PostgreSQL's wire protocol carries at most this many bind parameters per statement. */
export const MAX_BIND_PARAMETERS = 65_535;

/** A template that cannot be compiled; `message` says where and how to fix it. */
export class SqlTemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SqlTemplateError';
  }
}

/** Compiles `sql`; throws SqlTemplateError for placeholders in quotes or comments, `$1`, unterminated text. */
export function compileSqlTemplate(sql: string): SqlTemplate {
  const pieces: SqlPiece[] = [];
  const paths: string[] = [];
  const indexOfPath = new Map<string, number>();
  let literal = '';
  let i = 0;
  /** Where the first top-level `VALUES (` tuple sits in `pieces`, and what follows it. */
  let tupleStart = -1;
  let tupleEnd = -1;
  let depth = 0;
  let afterValues = false;
  let firstWord: string | undefined;
  let tuples = 0;
  let placeholdersOutsideTuple = 0;

  const flush = (): void => {
    if (literal !== '') pieces.push(literal);
    literal = '';
  };
  const where = (at: number): string => `at character ${at + 1} of the sql`;

  while (i < sql.length) {
    const c = sql[i] as string;
    const next = sql[i + 1];
    // --- placeholders and parameters -------------------------------------------------------------------
    if (c === '$' && next === '{') {
      const end = sql.indexOf('}', i + 2);
      if (end === -1) throw new SqlTemplateError(`unterminated placeholder "\${" ${where(i)}: close it with "}"`);
      const inner = sql.slice(i + 2, end).trim();
      if (inner.includes('{') || inner.includes('$')) throw new SqlTemplateError(`"\${${inner}}" ${where(i)} is not a placeholder path: write \${payload.temp}`);
      const path = inner === '' || inner === '.' ? '.' : inner.startsWith('.') ? inner.slice(1) : inner;
      let index = indexOfPath.get(path);
      if (index === undefined) {
        index = paths.length;
        paths.push(path);
        indexOfPath.set(path, index);
      }
      flush();
      pieces.push(index);
      if (!(tupleStart !== -1 && tupleEnd === -1)) placeholdersOutsideTuple++;
      i = end + 1;
      continue;
    }
    if (c === '$' && next !== undefined && next >= '0' && next <= '9' && !isIdentifierPart(sql[i - 1])) {
      throw new SqlTemplateError(`"$${next}" ${where(i)}: write \${path} placeholders; the connector numbers the bind parameters itself`);
    }
    // --- text that placeholders may not enter ----------------------------------------------------------
    if (c === '$' && !isIdentifierPart(sql[i - 1])) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 64));
      if (tag !== null) {
        const close = sql.indexOf(tag[0], i + tag[0].length);
        if (close === -1) throw new SqlTemplateError(`unterminated dollar-quoted string ${tag[0]} ${where(i)}`);
        refusePlaceholderIn(sql, i, close + tag[0].length, 'a dollar-quoted string');
        literal += sql.slice(i, close + tag[0].length);
        i = close + tag[0].length;
        continue;
      }
    }
    if (c === "'") {
      const escapes = (sql[i - 1] === 'E' || sql[i - 1] === 'e') && !isIdentifierPart(sql[i - 2]);
      const end = endOfQuoted(sql, i, "'", escapes);
      if (end === -1) throw new SqlTemplateError(`unterminated string literal ${where(i)}`);
      refusePlaceholderIn(sql, i, end, 'a quoted string');
      literal += sql.slice(i, end);
      i = end;
      continue;
    }
    if (c === '"') {
      const end = endOfQuoted(sql, i, '"', false);
      if (end === -1) throw new SqlTemplateError(`unterminated quoted identifier ${where(i)}`);
      refusePlaceholderIn(sql, i, end, 'a quoted identifier');
      literal += sql.slice(i, end);
      i = end;
      continue;
    }
    if (c === '-' && next === '-') {
      const newline = sql.indexOf('\n', i);
      const end = newline === -1 ? sql.length : newline;
      refusePlaceholderIn(sql, i, end, 'a comment');
      literal += sql.slice(i, end);
      i = end;
      continue;
    }
    if (c === '/' && next === '*') {
      const end = endOfBlockComment(sql, i);
      if (end === -1) throw new SqlTemplateError(`unterminated comment "/*" ${where(i)}`);
      refusePlaceholderIn(sql, i, end, 'a comment');
      literal += sql.slice(i, end);
      i = end;
      continue;
    }
    // --- words and parentheses: where the VALUES tuple is ----------------------------------------------
    if (isIdentifierStart(c) && !isIdentifierPart(sql[i - 1])) {
      let end = i + 1;
      while (end < sql.length && isIdentifierPart(sql[end])) end++;
      const word = sql.slice(i, end).toUpperCase();
      firstWord ??= word;
      if (depth === 0 && word === 'VALUES' && tupleStart === -1) afterValues = true;
      literal += sql.slice(i, end);
      i = end;
      continue;
    }
    if (c === '(') {
      if (afterValues && depth === 0) {
        afterValues = false;
        flush();
        tupleStart = pieces.length;
        tuples = 1;
      }
      depth++;
    } else if (c === ')') {
      depth--;
      if (depth < 0) throw new SqlTemplateError(`unbalanced ")" ${where(i)}`);
      if (depth === 0 && tupleStart !== -1 && tupleEnd === -1) {
        literal += c;
        flush();
        tupleEnd = pieces.length;
        i++;
        continue;
      }
    } else if (c === ',' && depth === 0 && tupleEnd !== -1 && tupleEnd === pieces.length && literal.trim() === '') {
      tuples++; // VALUES (...), (...): already several rows per output
    } else if (c === ';' && sql.slice(i + 1).trim() !== '') {
      throw new SqlTemplateError(`"${';'}" ${where(i)}: give one statement (bind parameters work on a single statement)`);
    } else if (!/\s/.test(c) && afterValues && depth === 0) {
      afterValues = false; // VALUES not followed by a tuple (e.g. a VALUES list in a sub-select): no multi-row
    }
    literal += c;
    i++;
  }
  flush();
  if (depth !== 0) throw new SqlTemplateError('unbalanced "(": a parenthesis is not closed');

  const text = pieces.map(pieceText).join('');
  const multiRow = firstWord === 'INSERT' && tupleStart !== -1 && tupleEnd !== -1 && tuples === 1 && placeholdersOutsideTuple === 0;
  const rows = multiRow
    ? {
      head: pieces.slice(0, tupleStart).join(''),
      tuple: pieces.slice(tupleStart, tupleEnd),
      tail: pieces.slice(tupleEnd).join(''),
    }
    : undefined;
  return { source: sql, text, paths, rows };
}

/** The text of a multi-row INSERT of `count` rows: the parameters of row r are numbered after rows 0 .. r-1. */
export function multiRowText(rows: MultiRowInsert, parametersPerRow: number, count: number): string {
  const tuples: string[] = [];
  for (let r = 0; r < count; r++) {
    const offset = r * parametersPerRow;
    tuples.push(rows.tuple.map((piece) => (typeof piece === 'number' ? `$${piece + offset + 1}` : piece)).join(''));
  }
  return rows.head + tuples.join(', ') + rows.tail;
}

/** How many rows one multi-row INSERT may carry within the protocol's parameter limit. */
export function maxRowsPerStatement(parametersPerRow: number): number {
  return parametersPerRow === 0 ? Number.MAX_SAFE_INTEGER : Math.floor(MAX_BIND_PARAMETERS / parametersPerRow);
}

function pieceText(piece: SqlPiece): string {
  return typeof piece === 'number' ? `$${piece + 1}` : piece;
}

function refusePlaceholderIn(sql: string, start: number, end: number, what: string): void {
  const inside = sql.slice(start, end).indexOf('${');
  if (inside === -1) return;
  throw new SqlTemplateError(
    `placeholder at character ${start + inside + 1} of the sql is inside ${what}, where it would not be replaced: `
      + "write it outside the quotes, e.g. VALUES (${clientid}) rather than VALUES ('${clientid}'); it is sent as a bind parameter, never as SQL text",
  );
}

/** Index just after the closing quote; a doubled quote is part of the text; -1 when unterminated. */
function endOfQuoted(sql: string, start: number, quote: string, backslashEscapes: boolean): number {
  let i = start + 1;
  while (i < sql.length) {
    const c = sql[i];
    if (backslashEscapes && c === '\\') {
      i += 2;
      continue;
    }
    if (c === quote) {
      if (sql[i + 1] === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return -1;
}

/** PostgreSQL block comments nest. */
function endOfBlockComment(sql: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < sql.length) {
    if (sql.startsWith('/*', i)) {
      depth++;
      i += 2;
    } else if (sql.startsWith('*/', i)) {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else {
      i++;
    }
  }
  return -1;
}

function isIdentifierStart(c: string): boolean {
  return /[A-Za-z_\u0080-\uffff]/.test(c);
}

function isIdentifierPart(c: string | undefined): boolean {
  return c !== undefined && /[A-Za-z0-9_$\u0080-\uffff]/.test(c);
}
