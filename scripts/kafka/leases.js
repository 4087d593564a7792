'use strict';
// Who is using the local Kafka broker right now. A run that needs the broker (a jest run, the demo)
// leaves a file named by its pid in <state dir>.leases/ while it runs; a run that started the broker
// stops it at its end only when no other live process holds a lease, so one test run never stops the
// broker under another one (or under a demo) that reused it. Files of dead processes are ignored and
// removed. (Beside the state dir, not in it: a fresh start wipes the state dir.)
const fs = require('node:fs');
const path = require('node:path');
const { paths } = require('./settings');

const leaseDir = () => `${paths.stateDir}.leases`;

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return Boolean(err && err.code === 'EPERM');
  }
}

/** Records that `pid` (default: this process) uses the broker; `label` says who it is in messages. */
function acquire(label, pid = process.pid) {
  fs.mkdirSync(leaseDir(), { recursive: true });
  fs.writeFileSync(path.join(leaseDir(), String(pid)), `${label}\n`);
}

function release(pid = process.pid) {
  fs.rmSync(path.join(leaseDir(), String(pid)), { force: true });
}

/** Live holders other than `pid`, as [{ pid, label }]; stale files are removed on the way. */
function otherHolders(pid = process.pid) {
  let names;
  try {
    names = fs.readdirSync(leaseDir());
  } catch {
    return [];
  }
  const holders = [];
  for (const name of names) {
    const holder = Number(name);
    if (!Number.isInteger(holder) || holder <= 0 || holder === pid) continue;
    const file = path.join(leaseDir(), name);
    if (!alive(holder)) {
      fs.rmSync(file, { force: true });
      continue;
    }
    let label = '';
    try {
      label = fs.readFileSync(file, 'utf8').trim();
    } catch {
      // released meanwhile
      continue;
    }
    holders.push({ pid: holder, label: label || `pid ${holder}` });
  }
  return holders;
}

module.exports = { acquire, release, otherHolders };
