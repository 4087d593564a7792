import { ActionWriteError, type ActionRef, quoteExcerpt } from '@sluice/core';

/** What a failed statement means for the record: try again later, or give up on it. */
export interface PostgresFailure {
  readonly retriable: boolean;
  /** The SQLSTATE (e.g. 23505), or the Node error code (ECONNREFUSED), or undefined. */
  readonly code: string | undefined;
  /** Words an operator can act on, without the server's message. */
  readonly meaning: string;
}

/**
 * SQLSTATE classes (the first two characters) that say the server, the connection or the database's setup is
 * the problem, not the record: the same record can succeed later. 08 connection exception, 53 insufficient
 * resources (53300 too many connections, disk full), 57 operator intervention (57P01 admin shutdown, 57014
 * cancelled by a timeout), 58 system error (I/O), 40 transaction rollback (serialization failure, deadlock),
 * 28 invalid authorization and 3D invalid catalog (a changed password or a database being restored), XX
 * internal error (a server bug or corrupted data). Like EMQX, an error that fails every record alike and that
 * an operator can fix keeps the messages with the broker until it is fixed, rather than counting each one failed.
 */
const RETRIABLE_CLASSES: ReadonlyMap<string, string> = new Map([
  ['08', 'connection exception'],
  ['53', 'insufficient resources'],
  ['57', 'operator intervention (server shutting down, statement cancelled)'],
  ['58', 'system error on the server'],
  ['40', 'transaction rollback (serialization failure or deadlock)'],
  ['28', 'authentication failed'],
  ['3D', 'the database does not exist'],
  ['55', 'object not in prerequisite state (e.g. a lock not available)'],
  ['XX', 'internal error of the server'],
]);

/**
 * Single SQLSTATEs of otherwise final classes that, too, fail every record alike until an operator acts: a
 * failover (the server name still points at a demoted primary) or a migration (the table or a column is being
 * created or renamed, a GRANT is missing). Counting each record failed during those minutes would lose them all.
 */
const RETRIABLE_CODES: ReadonlyMap<string, string> = new Map([
  ['25006', 'read-only transaction (the server is a standby, e.g. a demoted primary after a failover)'],
  ['42P01', 'undefined table (the table is missing: a migration not yet run?)'],
  ['42703', 'undefined column (the table lacks a column the statement names: a migration not yet run?)'],
  ['42501', 'insufficient privilege (the role lacks a GRANT on the table)'],
]);

/** Classes that say the statement or the record is wrong: trying the same record again cannot help. */
const FINAL_CLASSES: ReadonlyMap<string, string> = new Map([
  ['22', 'data exception (a value does not fit its column)'],
  ['23', 'integrity constraint violation'],
  ['42', 'syntax error or access rule violation'],
  ['0A', 'feature not supported'],
  ['21', 'cardinality violation'],
  ['25', 'invalid transaction state'],
  ['44', 'WITH CHECK OPTION violation'],
  ['P0', 'raised by PL/pgSQL (a trigger refused the row)'],
]);

const SQLSTATE = /^[0-9A-Z]{5}$/;

/** Classifies an error of `pg` (a server error with its SQLSTATE, or a socket / timeout error). */
export function classifyPostgresError(error: unknown): PostgresFailure {
  const code = typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : undefined;
  if (code !== undefined && SQLSTATE.test(code)) {
    const cls = code.slice(0, 2);
    const retriable = RETRIABLE_CODES.get(code) ?? RETRIABLE_CLASSES.get(cls);
    if (retriable !== undefined) return { retriable: true, code, meaning: retriable };
    return { retriable: false, code, meaning: FINAL_CLASSES.get(cls) ?? `SQLSTATE class ${cls}` };
  }
  // No SQLSTATE: the socket (ECONNREFUSED, ECONNRESET, ETIMEDOUT, ENOTFOUND), a TLS failure, or pg's own
  // "Connection terminated" and timeouts. None of these is the record's fault.
  return { retriable: true, code, meaning: code === undefined ? 'connection failure' : `connection failure (${code})` };
}

/**
 * The ActionWriteError for a failed statement: names the connector, the action and the SQLSTATE. The
 * server's own message is quoted (it may echo device text) and any occurrence of the password is cut out,
 * in case some layer ever puts it into a message.
 */
export function postgresWriteError(where: ActionRef, error: unknown, password: string | undefined): ActionWriteError {
  const failure = classifyPostgresError(error);
  const serverMessage = redact(error instanceof Error ? error.message : String(error), password);
  const code = failure.code === undefined ? '' : SQLSTATE.test(failure.code) ? ` (SQLSTATE ${failure.code})` : '';
  const message = `postgres connector "${where.connectorId}", action "${where.actionId ?? '-'}": ${failure.meaning}${code}: ${quoteExcerpt(serverMessage, 200)}`;
  return new ActionWriteError(where, message, { retriable: failure.retriable, cause: redactedCause(error, password) });
}

/** The text without the password (when one is configured). */
export function redact(text: string, password: string | undefined): string {
  return password === undefined || password === '' ? text : text.split(password).join('***');
}

/** pg errors carry no connection settings; keep the cause unless its message would carry the password. */
function redactedCause(error: unknown, password: string | undefined): unknown {
  if (password === undefined || !(error instanceof Error) || !error.message.includes(password)) return error;
  return new Error(redact(error.message, password));
}
