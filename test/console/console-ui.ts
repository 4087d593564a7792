// The console driven the way a user drives it, through accessible names only (the UI conventions of the
// console ↔ API contract: labels, roles, button names; no test ids, no CSS classes except CodeMirror's
// own lint underline, which has no accessible form). Controls are found by role and accessible name rather
// than getByLabel(…, { exact: true }): Playwright matches a label's whole text there, the aria-hidden " *"
// of required fields included.
import type { Locator, Page } from 'playwright-core';
import { eventually } from './journey-harness';

export interface KafkaConnectorInput {
  readonly id: string;
  readonly bootstrapHosts: string;
  readonly username: string;
  readonly password: string;
  /** Path of the PEM file of the CA that signed the broker certificate. */
  readonly caFile: string;
}

export interface StageResult {
  readonly stage: string;
  readonly ok: boolean;
  readonly failed: boolean;
  readonly text: string;
}

export class ConsoleUi {
  constructor(readonly page: Page) {}

  nav(): Locator {
    return this.page.getByRole('navigation', { name: 'Main' });
  }

  async goTo(section: 'Overview' | 'Connectors' | 'Rules' | 'Messages'): Promise<void> {
    await this.nav().getByRole('link', { name: section, exact: true }).click();
  }

  /**
   * A control named `name` that is a button or a link: "New connector" and "New rule" may be links styled as
   * buttons (they navigate to a page), which is what a screen reader should hear.
   */
  command(name: string): Locator {
    const page = this.page;
    return page.getByRole('button', { name, exact: true }).or(page.getByRole('link', { name, exact: true })).first();
  }

  /** The login page: type the token, press Sign in. */
  async signIn(token: string): Promise<void> {
    await this.page.getByLabel('API token').fill(token);
    await this.page.getByRole('button', { name: 'Sign in' }).click();
  }

  /** The visible texts of role=alert elements, trimmed, empty ones left out. */
  async alerts(scope: Page | Locator = this.page): Promise<string[]> {
    return (await scope.getByRole('alert').allInnerTexts()).map((t) => t.trim()).filter((t) => t !== '');
  }

  /** Opens "More settings" (a <details>) inside `scope` when it is closed. */
  async openMoreSettings(scope: Locator): Promise<void> {
    const details = scope.locator('details').filter({ has: this.page.locator('summary', { hasText: 'More settings' }) }).first();
    if ((await details.count()) === 0) return;
    if ((await details.getAttribute('open')) === null) await details.locator('summary').first().click();
  }

  /** The connector form (the one holding the "Bootstrap hosts" input). */
  connectorForm(): Locator {
    return this.page.locator('form').filter({ has: this.page.getByRole('textbox', { name: 'Bootstrap hosts', exact: true }) });
  }

  /**
   * Fills a new Kafka connector: ID, Type, Bootstrap hosts, then under "More settings" the authentication
   * (SASL SCRAM-SHA-256, username, password) and TLS with the CA file.
   */
  async fillNewKafkaConnector(input: KafkaConnectorInput): Promise<void> {
    const page = this.page;
    const type = page.getByRole('combobox', { name: 'Type', exact: true });
    if ((await type.count()) > 0 && (await type.isEditable())) await type.selectOption('kafka');
    const form = this.connectorForm();
    await form.getByRole('textbox', { name: 'ID', exact: true }).fill(input.id);
    await form.getByRole('textbox', { name: 'Bootstrap hosts', exact: true }).fill(input.bootstrapHosts);
    await this.fillAuthentication(form, input);
    await this.fillTls(form, input.caFile);
  }

  /**
   * `authentication` is `"none"` or an object with mechanism/username/password: the generated form shows a
   * "Mechanism" select (the variant), then the variant's fields.
   */
  async fillAuthentication(form: Locator, input: { username: string; password: string }): Promise<void> {
    const mechanism = form.getByRole('combobox', { name: 'Mechanism', exact: true });
    if (!(await mechanism.isVisible())) await this.openMoreSettings(form);
    await selectOptionMatching(form.getByRole('combobox', { name: 'Mechanism', exact: true }), /^scram-sha-256$/i);
    await form.getByRole('textbox', { name: 'Username', exact: true }).fill(input.username);
    await this.passwordField(form).fill(input.password);
  }

  /** The SASL password: a password input has no ARIA role, so it is found by its label. */
  passwordField(form: Locator): Locator {
    return form.getByLabel('Password', { exact: false }).and(form.locator('input[type=password]')).first();
  }

  /** `ssl` is a boolean or TLS options: the "SSL" select picks the TLS options, which hold the CA file. */
  async fillTls(form: Locator, caFile: string): Promise<void> {
    const ssl = form.getByRole('combobox', { name: /^(ssl|tls)$/i }).first();
    if (!(await ssl.isVisible())) await this.openMoreSettings(form);
    await selectOptionMatching(ssl, /custom|options/i);
    const caFileInput = form.getByRole('textbox', { name: /^ca file$/i });
    if (!(await caFileInput.isVisible())) await this.openMoreSettings(form);
    await caFileInput.fill(caFile);
  }

  /** Presses Test and waits for the "Connection test" list to show a result per stage. */
  async runConnectionTest(scope: Locator = this.page.locator('body')): Promise<StageResult[]> {
    const list = this.page.getByRole('list', { name: 'Connection test' });
    const before = (await list.count()) > 0 ? await list.innerText() : undefined;
    await scope.getByRole('button', { name: 'Test', exact: true }).click();
    return eventually('the "Connection test" list shows a finished result', async () => {
      const items = (await list.count()) > 0 ? await list.getByRole('listitem').allInnerTexts() : [];
      if (items.length === 0) throw new Error(`no stage listed; alerts: ${JSON.stringify(await this.alerts())}`);
      const stages = items.map(parseStage);
      // a result is finished at its first failed stage, or at the metadata stage (the last one)
      const finished = stages.some((s) => s.failed) || stages.some((s) => s.stage === 'metadata' && s.ok);
      const fresh = before === undefined || (await list.innerText()) !== before;
      if (!finished || !fresh) throw new Error(`stages so far: ${JSON.stringify(items)}`);
      return stages;
    }, 40_000);
  }

  /** The rule SQL editor (CodeMirror, aria-label "Rule SQL"): replaces its text. */
  async setRuleSql(sql: string): Promise<void> {
    const editor = this.page.getByRole('textbox', { name: 'Rule SQL' });
    await editor.click();
    await this.page.keyboard.press('ControlOrMeta+A');
    await this.page.keyboard.press('Delete');
    // insertText: one input event per call, as a paste would be; typing key by key would let the
    // completion popup take an Enter.
    await this.page.keyboard.insertText(sql);
    await this.page.keyboard.press('Escape');
  }

  /** The fieldset of the n-th action (1-based) of the rule editor. */
  action(n: number): Locator {
    return this.page.getByRole('group', { name: `Action ${n}`, exact: true });
  }

  /**
   * The value shown for a term of a stats list (dl): `<dt>Matched</dt><dd>5</dd>`; the first line of the
   * definition (a line of explanation may follow it).
   */
  async statValue(scope: Locator, term: string): Promise<string> {
    const text = await scope.locator(`dt:text-is("${term}") + dd`).first().innerText();
    return (text.trim().split('\n')[0] ?? '').trim();
  }
}

/** "sasl ok SCRAM-SHA-256 accepted" → { stage: 'sasl', ok: true, failed: false, text } (neither while pending). */
export function parseStage(text: string): StageResult {
  const normalized = text.replace(/\s+/g, ' ').trim();
  const stage = (normalized.split(' ')[0] ?? '').toLowerCase();
  const failed = /\bfailed\b/i.test(normalized);
  const ok = !failed && /\bok\b/i.test(normalized);
  return { stage, ok, failed, text: normalized };
}

/** Selects the first option whose label or value matches. */
async function selectOptionMatching(select: Locator, pattern: RegExp): Promise<void> {
  const options = await select.locator('option').evaluateAll((els) => els.map((e) => ({ value: (e as unknown as { value: string }).value, label: e.textContent ?? '' })));
  const match = options.find((o) => pattern.test(o.label) || pattern.test(o.value));
  if (match === undefined) throw new Error(`no option matching ${String(pattern)} in select (options: ${JSON.stringify(options)})`);
  await select.selectOption(match.value);
}
