// Makes sure the PostgreSQL at 127.0.0.1:5432 has what the integration tests need, on a fresh machine too:
// a role and a database of their own (created when missing), and a server that really checks that role's
// password (the wrong-password test needs it; a server that trusts every local connection gets two
// pg_hba.conf lines for this role only, ahead of the others, and reloads).
// `node examples/postgres-connector/scripts/ensure-db.js` runs it by hand; the tests call ensureTestDatabase().
'use strict';
const { execFileSync } = require('node:child_process');
const { chmodSync, chownSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } = require('node:fs');
const { Client } = require('pg');

const HOST = '127.0.0.1';
const PORT = 5432;
const ROLE = 'sluice_pg_test';
const DATABASE = 'sluice_pg_test';
// A password for a throw-away test role on a local test server, not a secret.
const PASSWORD = 'sluice-pg-test-5c1e';
const HBA_MARKER = '# sluice postgres-connector tests: this role must log in with its password';

/**
 * Runs SQL as a superuser: over TCP as `postgres` (trust), else, when that login fails and this runs as root,
 * through psql as the postgres OS user (peer). An error of the SQL itself is thrown as it is: running the same
 * statements a second time through psql would only repeat it (or run half of them twice).
 */
async function asSuperuser(sql) {
  const url = process.env.SLUICE_PG_ADMIN_URL;
  const client = new Client(url === undefined ? { host: HOST, port: PORT, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 5000 } : { connectionString: url });
  client.on('error', () => {});
  let connected = false;
  try {
    await client.connect();
    connected = true;
  } catch (error) {
    await client.end().catch(() => undefined);
    if (url !== undefined || typeof process.getuid !== 'function' || process.getuid() !== 0) throw error;
  }
  if (connected) {
    try {
      const result = await client.query(sql);
      const results = Array.isArray(result) ? result : [result];
      return results.flatMap((r) => r.rows.map((row) => Object.values(row).join('|'))).join('\n');
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  // root on a server that wants a password over TCP (Debian's default): peer authentication on the socket
  return execFileSync('runuser', ['-u', 'postgres', '--', 'psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', 'postgres', '-c', sql],
    { encoding: 'utf8', cwd: '/' }).trim();
}

/** Replaces the file's text in one step (a reader never sees half a file), keeping its mode and owner. */
function replaceFileAtomically(file, text) {
  const { mode, uid, gid } = statSync(file);
  const temporary = `${file}.sluice-${process.pid}.tmp`; // same directory: rename stays on one file system
  try {
    writeFileSync(temporary, text, { mode: mode & 0o7777, flag: 'wx' });
    chmodSync(temporary, mode & 0o7777); // the umask may have narrowed the mode given to writeFileSync
    chownSync(temporary, uid, gid);
    renameSync(temporary, file);
  } catch (error) {
    try { unlinkSync(temporary); } catch { /* not created */ }
    throw error;
  }
}

async function canLogIn(password) {
  const client = new Client({ host: HOST, port: PORT, user: ROLE, database: DATABASE, password, connectionTimeoutMillis: 5000 });
  client.on('error', () => {});
  try {
    await client.connect();
    return true;
  } catch (error) {
    if (error.code === '28P01' || error.code === '28000') return false;
    throw error;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function requirePasswordForTestRole() {
  if (!(await canLogIn(`${PASSWORD}-wrong`))) return;
  const hbaFile = await asSuperuser('SHOW hba_file');
  const text = readFileSync(hbaFile, 'utf8');
  if (!text.includes(HBA_MARKER)) {
    // md5, not scram-sha-256: md5 accepts a password stored either way (servers before 14 store md5 by
    // default, and with scram-sha-256 lines such a role could never log in); a SCRAM-stored one still logs in by SCRAM
    const lines = [HBA_MARKER,
      `host ${DATABASE} ${ROLE} 127.0.0.1/32 md5`,
      `host ${DATABASE} ${ROLE} ::1/128 md5`, ''];
    replaceFileAtomically(hbaFile, lines.join('\n') + text);
  }
  await asSuperuser('SELECT pg_reload_conf()');
  for (let i = 0; i < 50 && (await canLogIn(`${PASSWORD}-wrong`)); i++) await new Promise((r) => setTimeout(r, 100));
  if (await canLogIn(`${PASSWORD}-wrong`)) throw new Error(`PostgreSQL still lets role ${ROLE} in with a wrong password after adding password lines to ${hbaFile}`);
}

/** Creates the role and the database when missing; resolves with the settings the tests connect with. */
async function ensureTestDatabase() {
  try {
    await asSuperuser(`DO $$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${ROLE}') THEN CREATE ROLE ${ROLE} LOGIN; END IF;
      ALTER ROLE ${ROLE} LOGIN PASSWORD '${PASSWORD}';
    END $$`);
    const exists = await asSuperuser(`SELECT 1 FROM pg_database WHERE datname = '${DATABASE}'`);
    if (exists === '' || exists === undefined) await asSuperuser(`CREATE DATABASE ${DATABASE} OWNER ${ROLE}`);
    await requirePasswordForTestRole();
  } catch (error) {
    throw new Error(`the PostgreSQL test database could not be prepared at ${HOST}:${PORT}: ${error.message}. `
      + 'Start PostgreSQL (bash scripts/testkit/ensure-postgres.sh, as root), or give a superuser as SLUICE_PG_ADMIN_URL', { cause: error });
  }
  return { host: HOST, port: PORT, server: `${HOST}:${PORT}`, database: DATABASE, username: ROLE, password: PASSWORD };
}

module.exports = { ensureTestDatabase, replaceFileAtomically };

if (require.main === module) {
  ensureTestDatabase().then(
    (db) => console.log(`PostgreSQL test database ready: ${db.username}@${db.server}/${db.database}`),
    (error) => {
      console.error(error.message);
      process.exitCode = 1;
    },
  );
}
