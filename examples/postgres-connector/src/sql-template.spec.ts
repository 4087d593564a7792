import { describe, expect, it } from '@jest/globals';
import { compileSqlTemplate, MAX_BIND_PARAMETERS, maxRowsPerStatement, multiRowText, SqlTemplateError } from './sql-template';

const EMQX_EXAMPLE = 'INSERT INTO temp_hum(clientid, temp, hum, ts) VALUES (${clientid}, ${temp}, ${hum}, to_timestamp(${timestamp}::double precision / 1000))';

describe(compileSqlTemplate.name, () => {
  describe('placeholders', () => {
    it('become $1 .. $n in order of first appearance, their paths listed for the parameters', () => {
      const template = compileSqlTemplate(EMQX_EXAMPLE);
      expect(template.text).toBe('INSERT INTO temp_hum(clientid, temp, hum, ts) VALUES ($1, $2, $3, to_timestamp($4::double precision / 1000))');
      expect(template.paths).toEqual(['clientid', 'temp', 'hum', 'timestamp']);
    });

    it('share one parameter when a path is written twice; a leading dot and spaces do not make another path', () => {
      const template = compileSqlTemplate('INSERT INTO t(a, b, c) VALUES (${ payload.a }, ${.payload.a}, ${b})');
      expect(template.text).toBe('INSERT INTO t(a, b, c) VALUES ($1, $1, $2)');
      expect(template.paths).toEqual(['payload.a', 'b']);
    });

    it('read ${.} and ${} as the whole output', () => {
      expect(compileSqlTemplate('INSERT INTO t(doc) VALUES (${.}::jsonb)').paths).toEqual(['.']);
      expect(compileSqlTemplate('INSERT INTO t(doc) VALUES (${})').paths).toEqual(['.']);
    });

    it('leave quoted text, comments and dollar-quoted bodies without placeholders as they are', () => {
      const sql = "INSERT INTO \"T\"(a, b) VALUES (${a}, 'it''s $1' /* a comment */) -- trailing\n";
      const template = compileSqlTemplate(sql);
      expect(template.text).toBe("INSERT INTO \"T\"(a, b) VALUES ($1, 'it''s $1' /* a comment */) -- trailing\n");
      expect(compileSqlTemplate('SELECT $tag$ x $ y $tag$, ${a}').text).toBe('SELECT $tag$ x $ y $tag$, $1');
    });
  });

  describe('refuses', () => {
    it.each([
      ["a placeholder inside a quoted string", "INSERT INTO t(a) VALUES ('${a}')", /inside a quoted string/],
      ['a placeholder inside an E string with an escaped quote', "INSERT INTO t(a) VALUES (E'x\\' ${a}')", /inside a quoted string/],
      ['a placeholder inside a quoted identifier', 'INSERT INTO "${table}"(a) VALUES (1)', /inside a quoted identifier/],
      ['a placeholder inside a line comment', 'INSERT INTO t(a) VALUES (1) -- ${a}', /inside a comment/],
      ['a placeholder inside a nested block comment', 'INSERT INTO t(a) /* /* */ ${a} */ VALUES (1)', /inside a comment/],
      ['a placeholder inside a dollar-quoted body', 'SELECT $$ ${a} $$', /inside a dollar-quoted string/],
      ['a hand-written positional parameter', 'INSERT INTO t(a) VALUES ($1)', /numbers the bind parameters itself/],
      ['an unterminated placeholder', 'INSERT INTO t(a) VALUES (${a)', /unterminated placeholder/],
      ['an unterminated string', "INSERT INTO t(a) VALUES ('x)", /unterminated string literal/],
      ['two statements', 'INSERT INTO t(a) VALUES (${a}); DROP TABLE t', /one statement/],
      ['an unbalanced parenthesis', 'INSERT INTO t(a VALUES (${a})', /not closed/],
    ])('%s', (_what, sql, message) => {
      expect(() => compileSqlTemplate(sql)).toThrow(SqlTemplateError);
      expect(() => compileSqlTemplate(sql)).toThrow(message);
    });

    it('says where the placeholder is', () => {
      expect(() => compileSqlTemplate("VALUES ('${a}')")).toThrow(/character 10 of the sql/);
    });
  });

  describe('multi-row INSERT', () => {
    it('repeats the VALUES tuple per row, numbering each row after the ones before', () => {
      const template = compileSqlTemplate(EMQX_EXAMPLE);
      expect(template.rows).toBeDefined();
      const text = multiRowText(template.rows!, template.paths.length, 3);
      expect(text).toBe('INSERT INTO temp_hum(clientid, temp, hum, ts) VALUES '
        + '($1, $2, $3, to_timestamp($4::double precision / 1000)), '
        + '($5, $6, $7, to_timestamp($8::double precision / 1000)), '
        + '($9, $10, $11, to_timestamp($12::double precision / 1000))');
    });

    it('keeps what follows the tuple (ON CONFLICT without placeholders, RETURNING) once, after the last row', () => {
      const template = compileSqlTemplate('insert into t(id, v) values (${id}, ${v}) on conflict (id) do update set v = excluded.v');
      expect(multiRowText(template.rows!, 2, 2)).toBe('insert into t(id, v) values ($1, $2), ($3, $4) on conflict (id) do update set v = excluded.v');
    });

    it('is not used when a placeholder stands outside the tuple, the statement is no INSERT, or it has several tuples', () => {
      expect(compileSqlTemplate('INSERT INTO t(id, v) VALUES (${id}, ${v}) ON CONFLICT (id) DO UPDATE SET v = ${v}').rows).toBeUndefined();
      expect(compileSqlTemplate('UPDATE t SET v = ${v} WHERE id = ${id}').rows).toBeUndefined();
      expect(compileSqlTemplate('INSERT INTO t(v) VALUES (${a}), (${b})').rows).toBeUndefined();
      expect(compileSqlTemplate('INSERT INTO t(v) SELECT ${a}').rows).toBeUndefined();
    });

    it('is used for an INSERT whose VALUES tuple has no placeholder', () => {
      const template = compileSqlTemplate('INSERT INTO t(v) VALUES (now())');
      expect(multiRowText(template.rows!, 0, 2)).toBe('INSERT INTO t(v) VALUES (now()), (now())');
    });

    it('carries no more rows than the protocol has parameters for', () => {
      expect(maxRowsPerStatement(4) * 4).toBeLessThanOrEqual(MAX_BIND_PARAMETERS);
      expect((maxRowsPerStatement(4) + 1) * 4).toBeGreaterThan(MAX_BIND_PARAMETERS);
    });
  });
});
