// The system Chromium for browser tests (the console's end-to-end journey), driven by playwright-core.
// No browser is downloaded at install time: CI installs Debian's `chromium` package (.ci/run), developers
// install it the same way or point CHROMIUM_PATH at any Chromium/Chrome build.
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { chromium, type Browser, type LaunchOptions } from 'playwright-core';

const INSTALL_HINT = 'install chromium: apt-get install chromium (or set CHROMIUM_PATH to a Chromium or Chrome executable)';

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The first executable named `command` in the directories of PATH, or undefined. */
function onPath(command: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    const file = join(dir, command);
    if (isExecutable(file)) return file;
  }
  return undefined;
}

/**
 * The Chromium executable to drive: CHROMIUM_PATH when set (it must then exist: a wrong path is an error,
 * not a reason to fall back silently), else /usr/bin/chromium (Debian's package), else `chromium` or
 * `chromium-browser` on PATH. Throws, saying how to install it, when none is found.
 */
export function chromiumExecutable(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env['CHROMIUM_PATH'];
  if (configured !== undefined && configured !== '') {
    if (isExecutable(configured)) return configured;
    throw new Error(`CHROMIUM_PATH=${configured} is not an executable file; ${INSTALL_HINT}`);
  }
  if (isExecutable('/usr/bin/chromium')) return '/usr/bin/chromium';
  for (const command of ['chromium', 'chromium-browser']) {
    const found = onPath(command, env);
    if (found !== undefined) return found;
  }
  throw new Error(`no Chromium found (looked at CHROMIUM_PATH, /usr/bin/chromium, chromium and chromium-browser on PATH); ${INSTALL_HINT}`);
}

/** Launches the system Chromium headless (close it in afterAll). */
export async function launchChromium(options: LaunchOptions = {}): Promise<Browser> {
  const executablePath = chromiumExecutable();
  return chromium.launch({
    headless: true,
    ...options,
    executablePath,
    // --no-sandbox: CI runs as root, where Chromium refuses its sandbox.
    args: ['--no-sandbox', '--disable-dev-shm-usage', ...(options.args ?? [])],
  });
}
