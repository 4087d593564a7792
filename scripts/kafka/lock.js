'use strict';
// A cross-process lock (an atomic mkdir holding the owner's pid), so two test runs in the same
// checkout never format and start the broker at the same time. A lock whose owner died is taken over.
const fs = require('node:fs');
const path = require('node:path');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function ownerAlive(dir) {
  try {
    const pid = Number(fs.readFileSync(path.join(dir, 'owner'), 'utf8'));
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return Boolean(err && err.code === 'EPERM');
  }
}

async function withLock(dir, timeoutMs, fn) {
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'owner'), String(process.pid));
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      // A lock without an owner file may be one being written right now: give it a moment.
      const stat = fs.statSync(dir, { throwIfNoEntry: false });
      const young = stat !== undefined && Date.now() - stat.mtimeMs < 2000;
      if (!young && !ownerAlive(dir)) {
        fs.rmSync(dir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for the lock ${dir} (held by another start)`);
      await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

module.exports = { withLock };
