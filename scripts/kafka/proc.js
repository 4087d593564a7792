'use strict';
// Small child-process helpers: run to completion with captured output, and check a tool exists.
const { spawn } = require('node:child_process');

/** @returns {Promise<{ code: number, output: string }>} stdout and stderr interleaved */
function run(command, args, opts = {}) {
  return new Promise((resolve) => {
    let output = '';
    let child;
    try {
      child = spawn(command, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      resolve({ code: -1, output: String(err) });
      return;
    }
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    child.on('error', (err) => resolve({ code: -1, output: `${output}${err.message}` }));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : -1), output }));
  });
}

async function requireCommand(command, args, hint) {
  const result = await run(command, args);
  if (result.code !== 0) throw new Error(`${command} is not available: ${hint}`);
  return result.output;
}

module.exports = { run, requireCommand };
