// What the console journey needs around the browser: a free port, the config file with comments, the
// browser page with its failure evidence (visible alerts, failed API calls, page errors, a screenshot),
// screenshots for the docs, and a retrying wait for assertions (no timing is asserted, only waited for).
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import { join, relative, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';

export const ROOT = resolve(__dirname, '..', '..');

/** Where the journey writes its page screenshots: SLUICE_CONSOLE_SCREENSHOTS, default .cache/console-screenshots/. */
export function screenshotDir(): string {
  const dir = resolve(ROOT, process.env['SLUICE_CONSOLE_SCREENSHOTS'] || '.cache/console-screenshots');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Screenshots of failed steps, never committed. */
export function failureDir(): string {
  const dir = resolve(ROOT, '.cache/console-failures');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A TCP port that was free a moment ago (the config needs a fixed one: the restart must keep the origin). */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * Retries `check` (an assertion that throws) until it passes or `timeoutMs` ran out, then throws its last
 * error prefixed with `what`. The console updates live (SSE, fetches): the test waits for what it expects.
 */
export async function eventually<T>(what: string, check: () => Promise<T>, timeoutMs = 20_000, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() >= deadline) {
        const message = error instanceof Error ? error.message : String(error);
        throw new Error(`${what} (still not so after ${timeoutMs} ms): ${message}`);
      }
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** A page at 1280×800 that records what went wrong in it, for the failure message of a step. */
export class JourneyPage {
  readonly failedCalls: string[] = [];
  readonly pageErrors: string[] = [];
  private stepStart = { calls: 0, errors: 0 };
  /** Names of the screenshots written by this run (a file left by an earlier run does not count). */
  readonly screenshots = new Set<string>();

  private constructor(readonly page: Page) {
    page.on('response', (response) => {
      const url = new URL(response.url());
      if (url.pathname.includes('/api/') && response.status() >= 400) {
        this.failedCalls.push(`${response.request().method()} ${url.pathname}${url.search} → ${response.status()}`);
      }
    });
    page.on('pageerror', (error) => this.pageErrors.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') this.pageErrors.push(`console error: ${message.text()}`);
    });
    // In-page dialogs are the console's own; a native confirm() would block the page: accept and note it.
    page.on('dialog', (dialog) => {
      this.pageErrors.push(`native ${dialog.type()} dialog: ${dialog.message()}`);
      void dialog.accept();
    });
  }

  static async open(browser: Browser): Promise<JourneyPage> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, reducedMotion: 'reduce' });
    context.setDefaultTimeout(15_000);
    return new JourneyPage(await context.newPage());
  }

  /** A step begins: its failure reports the failed calls and page errors from here on only. */
  beginStep(): void {
    this.stepStart = { calls: this.failedCalls.length, errors: this.pageErrors.length };
  }

  /** Writes `<name>.png` (the viewport, 1280×800) to the screenshot directory; returns its path. */
  async screenshot(name: string): Promise<string> {
    const file = join(screenshotDir(), `${name}.png`);
    // Let fonts, charts and transitions settle: screenshots are for people, not for assertions.
    await this.page.evaluate('document.fonts.ready.then(() => undefined)').catch(() => undefined);
    await this.page.screenshot({ path: file, animations: 'disabled', caret: 'hide' });
    this.screenshots.add(name);
    return file;
  }

  /**
   * Everything a failure message should carry: the URL, visible alerts, failed API calls, page errors, a
   * screenshot. Each probe has its own time limit: a page stuck in a loop must not hang the report.
   */
  async evidence(stepName: string): Promise<string> {
    const lines: string[] = [`page: ${this.page.url()}`];
    const probe = async <T>(what: string, run: () => Promise<T>): Promise<T | undefined> => {
      let timer: NodeJS.Timeout | undefined;
      try {
        return await Promise.race([run(), new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('no answer within 5 s: is the page stuck?')), 5_000); })]);
      } catch (error) {
        lines.push(`(${what}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)})`);
        return undefined;
      } finally {
        clearTimeout(timer);
      }
    };
    const alerts = await probe('alerts', () => this.page.getByRole('alert').allInnerTexts());
    if (alerts !== undefined) {
      const visible = alerts.map((a) => a.trim()).filter((a) => a !== '');
      lines.push(`visible alerts: ${visible.length === 0 ? '(none)' : visible.map((a) => JSON.stringify(a)).join(' | ')}`);
    }
    const file = join(failureDir(), `${stepName.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}.png`);
    const shot = await probe('screenshot', () => this.page.screenshot({ path: file, fullPage: true, timeout: 4_000 }));
    if (shot !== undefined) lines.push(`screenshot: ${relative(ROOT, file)}`);
    const calls = this.failedCalls.slice(this.stepStart.calls);
    const errors = this.pageErrors.slice(this.stepStart.errors);
    lines.push(`failed API calls in this step: ${calls.length === 0 ? '(none)' : calls.slice(-10).join('; ')}`);
    if (errors.length > 0) lines.push(`page errors in this step: ${errors.slice(-10).join('; ')}`);
    return lines.join('\n');
  }
}

/** The comment texts of a YAML file: whole comment lines, and the `# …` tail of lines that carry one. */
export function commentsOf(text: string): string[] {
  const comments: string[] = [];
  for (const line of text.split('\n')) {
    const at = line.indexOf('#');
    if (at >= 0) comments.push(line.slice(at).trim());
  }
  return comments;
}
