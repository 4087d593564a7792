// The console journey of issue #12 in a real headless Chromium (Debian's package, driven by playwright-core)
// against the built `sluice run` with the real Mosquitto and the Kafka test broker's SASL_SSL/SCRAM
// listener: log in, create a Kafka connector and Test it, fail the SASL stage with a wrong password, write
// the seed rule, Enable Test, add the Kafka action, publish with mosquitto_pub, watch the rule detail's
// counters and charts, read the records on the Messages page, restart, and find everything still there in
// the UI and in the config file (comments kept, the password in a 0600 file of its own).
//
// Each step is a test of its own, in order, so a run says which steps of the journey pass; a step whose
// predecessors failed fails with "not run: needs …" rather than with a confusing timeout. A failing step
// reports the visible alerts, the failed API calls, page errors and a screenshot (.cache/console-failures/).
// It writes the page screenshots of docs/console.md to SLUICE_CONSOLE_SCREENSHOTS (`npm run console:screenshots`).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Locator } from 'playwright-core';
import { parseDocument } from 'yaml';
import { createTopic, deleteTopic, kafkaBroker, launchChromium, mqttUrl, randomName } from '@sluice/testkit';
import { ConsoleUi } from './console-ui';
import { commentsOf, eventually, freePort, JourneyPage, screenshotDir } from './journey-harness';
import { SluiceRunner } from './sluice-runner';

const SEED_RULE = 'SELECT timestamp, clientid, payload.temp as temp, payload.hum as hum FROM "temp_hum/emqx"';
const MQTT_TOPIC = 'temp_hum/emqx';
const KAFKA_TOPIC = 'emqx';
const VALUE_TEMPLATE = '{"temp": ${temp}, "hum": ${hum}}';
const TEST_PAYLOAD = '{"temp": "27.5", "hum": "41.8"}';
const RENDERED_TEST_VALUE = '{"temp": 27.5, "hum": 41.8}';
const CONNECTOR_ID = 'kafka-scram';
const RULE_ID = 'temp_hum';
const SOURCE_ID = 'plant';
/** The page screenshots docs/console.md shows (`<name>.png`). */
const SCREENSHOTS = ['login', 'overview', 'connectors', 'connector-test', 'rule-editor', 'rules', 'rule-detail', 'messages'];
/** Messages published with mosquitto_pub; the counters must reach exactly this. */
const PUBLISHED = 5;

const broker = kafkaBroker();
const scram = broker.users.scram256;
const token = randomBytes(24).toString('hex');
const dir = mkdtempSync(join(tmpdir(), 'sluice-console-'));
const configFile = join(dir, 'sluice.yaml');
/** Sets this run's published values apart from records an earlier run left in `emqx`. */
const runTag = String(Date.now() % 100000).padStart(5, '0');
const publisherId = randomName('console-sensor');
const published = Array.from({ length: PUBLISHED }, (_, i) => ({
  payload: `{"temp": "2${i}.5", "hum": "4${i}.${runTag}"}`,
  rendered: `{"temp": 2${i}.5, "hum": 4${i}.${runTag}}`,
}));

function configText(port: number): string {
  return `# Sluice console journey: written by test/console/console-journey.int.spec.ts.
# Connectors and rules are added through the console; they land in this file, and these comments stay.

# Where messages come from: the shared test Mosquitto.
sources:
  - type: mqtt
    id: ${SOURCE_ID}  # the name the console shows
    url: ${mqttUrl()}
    clientId: ${randomName('console-journey')}
    protocolVersion: 5
    session: { persistent: false }
    # MQTT does not pass on the publisher's client id: devices send it as a user property
    identity: { clientid: { userProperty: clientid } }

# The HTTP endpoint: the REST API and the console, behind a token.
http:
  host: 127.0.0.1
  port: ${port}
  token: ${token}  # typed into the login page

log:
  format: json  # one object per line, read by the test
`;
}

/** A step of the journey, run only when the steps it needs passed. */
const passed = new Set<string>();
let journey: JourneyPage | undefined;
let runner: SluiceRunner | undefined;

function step(key: string, title: string, needs: readonly string[], body: () => Promise<void>, timeoutMs = 120_000): void {
  it(`${key}: ${title}`, async () => {
    const missing = needs.filter((n) => !passed.has(n));
    if (missing.length > 0) throw new Error(`step "${key}" not run: it needs step(s) ${missing.map((m) => `"${m}"`).join(', ')}, which did not pass`);
    journey?.beginStep();
    // The step gives up 15 s before jest would, so that its failure still carries the page's evidence.
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`did not finish within ${(timeoutMs - 15_000) / 1000} s`)), timeoutMs - 15_000);
    });
    try {
      await Promise.race([body(), deadline]);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const evidence = journey === undefined ? '' : await journey.evidence(key);
      const log = runner === undefined ? '' : `\nsluice run log (last lines):\n${runner.logTail(15)}`;
      // The step's own stack frames stay: they say which line of the step failed.
      const failure = new Error(`step "${key}" failed: ${message}\n${evidence}${log}`);
      const frames = error instanceof Error ? (error.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l)) : [];
      failure.stack = [`Error: ${failure.message}`, ...frames].join('\n');
      throw failure;
    } finally {
      clearTimeout(timer);
    }
    passed.add(key);
  }, timeoutMs);
}

async function api<T>(path: string, init: { method?: string; body?: unknown; auth?: boolean } = {}): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = {};
  if (init.auth !== false) headers['authorization'] = `Bearer ${token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${baseUrl}${path}`, {
    method: init.method ?? 'GET',
    headers,
    ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body: body as T };
}

/** mosquitto_pub, one message per stdin line (-l), QoS 1, MQTT 5 with the client id as a user property. */
async function mosquittoPub(lines: readonly string[]): Promise<void> {
  const url = new URL(mqttUrl());
  const args = ['-h', url.hostname, '-p', url.port || '1883', '-q', '1', '-V', 'mqttv5', '-i', publisherId,
    '-D', 'publish', 'user-property', 'clientid', publisherId, '-t', MQTT_TOPIC, '-l'];
  await new Promise<void>((resolveRun, reject) => {
    const child = spawn('mosquitto_pub', args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolveRun() : reject(new Error(`mosquitto_pub exited with ${String(code)}: ${stderr}`))));
    child.stdin.end(lines.map((l) => `${l}\n`).join(''));
  });
}

/** The connector's password as the YAML file stores it (a `${file:…}` reference is expected). */
function storedPasswordReference(yamlText: string): unknown {
  const doc = parseDocument(yamlText).toJS() as { connectors?: Array<{ id?: string; authentication?: { password?: unknown } }> };
  return doc.connectors?.find((c) => c.id === CONNECTOR_ID)?.authentication?.password;
}

function secretFileOf(reference: unknown): string {
  const match = typeof reference === 'string' ? /^\$\{file:(.+)\}$/.exec(reference) : null;
  if (match === null) throw new Error(`the connector's password in ${configFile} is ${JSON.stringify(reference)}, not a \${file:…} reference`);
  const file = match[1] as string;
  return isAbsolute(file) ? file : resolve(dirname(configFile), file);
}

/** The HTTP endpoint of `sluice run`: the API and the console. */
let baseUrl = '';
let browser: Browser | undefined;
let ui: ConsoleUi;
let originalConfig = '';
let topicCreatedHere = false;
let actionId = '';

describe('console journey (headless Chromium, sluice run, real Mosquitto and Kafka SASL_SSL/SCRAM)', () => {
  beforeAll(async () => {
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    originalConfig = configText(port);
    writeFileSync(configFile, originalConfig);
    try {
      await createTopic(KAFKA_TOPIC, 1);
      topicCreatedHere = true;
    } catch (error) {
      // `emqx` is the journey's documented topic: one that another run left is reused, never deleted here.
      if (!/already exists/.test(String(error))) throw error;
    }
    browser = await launchChromium();
    journey = await JourneyPage.open(browser);
    ui = new ConsoleUi(journey.page);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await runner?.kill();
    if (topicCreatedHere) await deleteTopic(KAFKA_TOPIC);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  step('start', 'sluice run starts on a commented YAML (an MQTT source, no connector, no rule); GET /api/session needs the token', [], async () => {
    runner = await SluiceRunner.start(configFile);
    const refused = await api('/api/session', { auth: false });
    expect(refused.status).toBe(401);
    const session = await api<{ tokenRequired: boolean; version: string }>('/api/session');
    expect(session.status).toBe(200);
    expect(session.body.tokenRequired).toBe(true);
    const index = await fetch(`${baseUrl}/`);
    expect({ status: index.status, type: index.headers.get('content-type') }).toMatchObject({ status: 200, type: expect.stringContaining('text/html') });
  });

  step('login', 'the login page refuses a wrong token in an alert and signs in with the right one, typed and sent with Enter (screenshot: login)', ['start'], async () => {
    const page = ui.page;
    await page.goto(`${baseUrl}/`);
    await page.getByLabel('API token').waitFor();
    await journey!.screenshot('login');
    await ui.signIn(`${token}-wrong`);
    await eventually('the login page shows an alert for a wrong token', async () => {
      const alerts = await ui.alerts();
      if (alerts.length === 0) throw new Error('no alert');
    });
    // the right one with the keyboard alone: type it, press Enter
    const tokenInput = page.getByLabel('API token');
    await tokenInput.fill(token);
    await tokenInput.press('Enter');
    await ui.nav().waitFor();
    for (const section of ['Overview', 'Connectors', 'Rules', 'Messages']) {
      await ui.nav().getByRole('link', { name: section, exact: true }).waitFor();
    }
  });

  step('connector', 'a new Kafka connector (SASL_SSL, SCRAM-SHA-256, CA file) passes Test at every stage and is saved (screenshots: connector form, connectors list)', ['login'], async () => {
    const page = ui.page;
    await ui.goTo('Connectors');
    await ui.command('New connector').click();
    await ui.fillNewKafkaConnector({ id: CONNECTOR_ID, bootstrapHosts: broker.saslSsl, username: scram.username, password: scram.password, caFile: broker.caFile });
    const stages = await ui.runConnectionTest(ui.connectorForm());
    const failedStages = stages.filter((s) => !s.ok);
    if (failedStages.length > 0) throw new Error(`Test of the connector: stages not ok: ${JSON.stringify(failedStages)}`);
    expect(stages.map((s) => s.stage)).toEqual(expect.arrayContaining(['tcp', 'tls', 'sasl', 'metadata']));
    // the result is below the form: the screenshot shows it as a user scrolled to it would see it
    await page.getByRole('list', { name: 'Connection test' }).scrollIntoViewIfNeeded();
    await journey!.screenshot('connector-test');
    await ui.connectorForm().getByRole('button', { name: 'Save', exact: true }).click();
    await eventually(`GET /api/connectors/${CONNECTOR_ID} answers the saved connector`, async () => {
      const answer = await api<{ id: string; settings: Record<string, unknown> }>(`/api/connectors/${CONNECTOR_ID}`);
      if (answer.status !== 200) throw new Error(`${answer.status} ${JSON.stringify(answer.body)}`);
    });
    await ui.goTo('Connectors');
    await page.getByText(CONNECTOR_ID, { exact: true }).first().waitFor();
    await eventually('the connectors list shows the connector connected', async () => {
      const row = page.getByRole('row').filter({ hasText: CONNECTOR_ID });
      const text = (await row.count()) > 0 ? await row.first().innerText() : await page.locator('main').innerText();
      if (!/connected/i.test(text) || /disconnected/i.test(text)) throw new Error(`shows: ${JSON.stringify(text)}`);
    });
    await journey!.screenshot('connectors');
  });

  step('wrong-password', 'editing the connector with a wrong password: Test fails the SASL stage with its hint; not saved', ['connector'], async () => {
    const page = ui.page;
    const yamlBefore = readFileSync(configFile, 'utf8');
    const secretBefore = readFileSync(secretFileOf(storedPasswordReference(yamlBefore)), 'utf8');
    await ui.goTo('Connectors');
    await page.getByRole('link', { name: CONNECTOR_ID, exact: true }).first().click();
    const form = ui.connectorForm();
    await form.waitFor();
    const password = ui.passwordField(form);
    if (!(await password.isVisible())) await ui.openMoreSettings(form);
    expect(await password.getAttribute('type')).toBe('password');
    expect(await password.inputValue()).toBe('');
    await password.fill(`${scram.password}-wrong`);
    const stages = await ui.runConnectionTest(form);
    const sasl = stages.find((s) => s.stage === 'sasl');
    if (sasl === undefined || !sasl.failed) throw new Error(`the sasl stage did not fail: ${JSON.stringify(stages)}`);
    expect(sasl.text).toMatch(/SASL authentication failed/i);
    expect(sasl.text).toMatch(/check the username\/password/i);
    expect(stages.filter((s) => s.stage === 'tcp' || s.stage === 'tls').every((s) => s.ok)).toBe(true);
    // not saved: leave the form, the file and the running connector keep the right password
    await ui.goTo('Connectors');
    expect(readFileSync(configFile, 'utf8')).toBe(yamlBefore);
    expect(readFileSync(secretFileOf(storedPasswordReference(yamlBefore)), 'utf8')).toBe(secretBefore);
    const running = await api<{ ok: boolean; stages: unknown[] }>(`/api/connectors/${CONNECTOR_ID}/test`, { method: 'POST' });
    expect(running.status).toBe(200);
    if (!running.body.ok) throw new Error(`the saved connector no longer passes its test: ${JSON.stringify(running.body)}`);
  });

  step('syntax-error', 'a syntax error typed in the rule editor is shown, on Save, at its line (line 2) in the alert and underlined there', ['login'], async () => {
    const page = ui.page;
    await ui.goTo('Rules');
    await ui.command('New rule').click();
    await page.getByRole('textbox', { name: 'Rule ID', exact: true }).fill('syntax_check');
    await ui.setRuleSql('SELECT timestamp, clientid\nFROM WHERE');
    const syntaxAlert = async (): Promise<string> => {
      const alert = (await ui.alerts()).find((a) => /line \d+, column \d+/.test(a));
      if (alert === undefined) throw new Error(`no alert "line L, column C: …" (alerts: ${JSON.stringify(await ui.alerts())})`);
      return alert;
    };
    // Save asks the engine (PUT answers 400 ERR_RULE_SYNTAX with line and column); nothing is saved.
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    const alert = await eventually('the editor reports the syntax error after Save', syntaxAlert);
    expect(alert).toMatch(/line 2, column 6: /);
    expect(alert).toMatch(/unexpected keyword WHERE/);
    // the underline sits on line 2 (CodeMirror's lint mark; a canvas-free DOM class, the only way to see it)
    const underlinedLine = page.locator('.cm-line').filter({ has: page.locator('.cm-lintRange-error') });
    await underlinedLine.first().waitFor();
    expect((await underlinedLine.first().innerText()).trim()).toBe('FROM WHERE');
    expect((await api(`/api/rules/syntax_check`)).status).toBe(404);
  });

  step('rule', 'the seed rule: Enable Test shows the output; with the Kafka action to topic emqx the rendered value; saved (screenshot: rule editor)', ['connector'], async () => {
    const page = ui.page;
    await ui.goTo('Rules');
    await ui.command('New rule').click();
    await page.getByRole('textbox', { name: 'Rule ID', exact: true }).fill(RULE_ID);
    await ui.setRuleSql(SEED_RULE);
    await page.getByRole('button', { name: 'Enable Test' }).click();
    await page.getByRole('textbox', { name: 'Topic', exact: true }).fill(MQTT_TOPIC);
    await page.getByRole('textbox', { name: 'Payload', exact: true }).fill(TEST_PAYLOAD);
    await page.getByRole('textbox', { name: 'Client ID', exact: true }).fill('sensor-7');
    await page.getByRole('button', { name: 'Run test' }).click();
    const output = page.getByRole('region', { name: 'Test output' });
    await eventually('the test output shows the rule output', async () => {
      const text = await output.innerText();
      if (!/"temp":\s*"27\.5"/.test(text) || !/"hum":\s*"41\.8"/.test(text) || !text.includes('sensor-7')) throw new Error(`shows: ${JSON.stringify(text)}`);
    });

    await page.getByRole('button', { name: 'Add action' }).click();
    const action = ui.action(1);
    await action.getByRole('combobox', { name: 'Connector', exact: true }).selectOption(CONNECTOR_ID);
    await action.getByRole('textbox', { name: 'Topic', exact: true }).fill(KAFKA_TOPIC);
    expect(await action.getByRole('textbox', { name: 'Key', exact: true }).inputValue()).toBe('${clientid}');
    await action.getByRole('textbox', { name: 'Value', exact: true }).fill(VALUE_TEMPLATE);
    await page.getByRole('button', { name: 'Run test' }).click();
    await eventually('the test output shows the action\'s rendered value', async () => {
      const text = await output.innerText();
      if (!text.includes(RENDERED_TEST_VALUE)) throw new Error(`shows: ${JSON.stringify(text)}`);
    });
    await journey!.screenshot('rule-editor');

    await page.getByRole('button', { name: 'Save', exact: true }).click();
    const saved = await eventually(`GET /api/rules/${RULE_ID} answers the saved rule`, async () => {
      const answer = await api<{ sql: string; actions: Array<{ id: string; connector: string }> }>(`/api/rules/${RULE_ID}`);
      if (answer.status !== 200) throw new Error(`${answer.status} ${JSON.stringify(answer.body)}`);
      return answer.body;
    });
    expect(saved.actions.map((a) => a.connector)).toEqual([CONNECTOR_ID]);
    actionId = saved.actions[0]?.id ?? '';
  });

  let ruleStats: Locator;
  let actionSection: Locator;

  step('publish', `with the rule's page open (from the rule list), mosquitto_pub sends ${PUBLISHED} messages (QoS 1) and Kafka stores them`, ['rule'], async () => {
    const page = ui.page;
    await ui.goTo('Rules');
    await page.getByRole('row').filter({ hasText: RULE_ID }).first().waitFor();
    await journey!.screenshot('rules');
    await page.getByRole('link', { name: RULE_ID, exact: true }).first().click();
    await page.getByRole('heading', { name: RULE_ID, exact: true }).waitFor();
    ruleStats = page.locator('dl').filter({ has: page.locator('dt:text-is("Matched")') }).first();
    actionSection = page.locator('section').filter({ has: page.getByRole('heading', { name: actionId, exact: true }) }).last();
    await actionSection.waitFor();
    expect(await ui.statValue(ruleStats, 'Matched')).toBe('0');

    await mosquittoPub(published.map((p) => p.payload));
    await eventually(`the action ${actionId} reports ${PUBLISHED} records stored (GET /api/rules/${RULE_ID})`, async () => {
      const answer = await api<{ actions: Array<{ id: string; metrics: { success: number } }> }>(`/api/rules/${RULE_ID}`);
      expect(answer.body.actions.find((a) => a.id === actionId)?.metrics.success).toBe(PUBLISHED);
    }, 30_000);
  });

  step('rule-detail', `the rule detail's counters move to ${PUBLISHED} live (matched, passed, action success), its charts have points and its max rate is above zero (screenshot)`, ['publish'], async () => {
    const page = ui.page;
    expect(page.url()).toMatch(new RegExp(`/rules/${RULE_ID}$`));
    await eventually(`matched, passed and the action's success reach ${PUBLISHED} without a reload`, async () => {
      const seen = {
        matched: await ui.statValue(ruleStats, 'Matched'),
        passed: await ui.statValue(ruleStats, 'Passed'),
        failed: await ui.statValue(ruleStats, 'Failed'),
        success: await ui.statValue(actionSection, 'Success'),
      };
      expect(seen).toEqual({ matched: String(PUBLISHED), passed: String(PUBLISHED), failed: '0', success: String(PUBLISHED) });
    }, 30_000);
    const charts = page.getByRole('img', { name: /msg\/s over the last/ });
    await eventually('a chart of the rule detail shows a rate above zero', async () => {
      const labels = await Promise.all((await charts.all()).map((c) => c.getAttribute('aria-label')));
      if (!labels.some((l) => /\b(?!0\.00\b)\d+\.\d+\b/.test(l ?? ''))) throw new Error(`chart labels: ${JSON.stringify(labels)}`);
    }, 30_000);
    await journey!.screenshot('rule-detail');
    // the server samples its rates every 5 s; its max rate must follow what the chart drew
    await eventually('the rule\'s "Max rate" is above zero', async () => {
      const maxRate = await ui.statValue(ruleStats, 'Max rate');
      if (!(Number.parseFloat(maxRate) > 0)) throw new Error(`Max rate shows ${JSON.stringify(maxRate)}`);
    }, 30_000);
  });

  step('overview', 'the overview shows the source, the connector and the action with their state (screenshot)', ['publish'], async () => {
    const page = ui.page;
    await ui.goTo('Overview');
    await eventually('the overview lists the source and the connector, connected', async () => {
      const text = await page.locator('main').innerText();
      for (const id of [SOURCE_ID, CONNECTOR_ID]) if (!text.includes(id)) throw new Error(`no ${id} in ${JSON.stringify(text)}`);
      if (!/connected/i.test(text)) throw new Error(`no "connected" state in ${JSON.stringify(text)}`);
    });
    await journey!.screenshot('overview');
  });

  step('messages', 'the Messages page lists the records written to emqx with their values (screenshot)', ['publish'], async () => {
    const page = ui.page;
    await ui.goTo('Messages');
    await page.getByRole('combobox', { name: 'Connector', exact: true }).selectOption(CONNECTOR_ID);
    const topic = page.getByRole('combobox', { name: 'Topic', exact: true });
    await eventually('the Topic select offers emqx', async () => {
      const options = await topic.locator('option').allInnerTexts();
      if (!options.includes(KAFKA_TOPIC)) throw new Error(`options: ${JSON.stringify(options)}`);
    });
    await topic.selectOption(KAFKA_TOPIC);
    const table = page.getByRole('table');
    await eventually('the table shows every published record\'s value', async () => {
      for (const { rendered } of published) {
        if ((await table.getByRole('cell', { name: rendered, exact: true }).count()) === 0) {
          throw new Error(`no cell ${rendered}; table: ${JSON.stringify((await table.innerText()).slice(0, 2000))}`);
        }
      }
    }, 30_000);
    // textContent, not innerText: the header cells are upper-cased by CSS only
    const headers = (await table.getByRole('columnheader').allTextContents()).map((h) => h.trim());
    expect(headers).toEqual(expect.arrayContaining(['Partition', 'Offset', 'Timestamp', 'Key', 'Value', 'Headers']));
    expect(await table.getByRole('cell', { name: publisherId, exact: true }).count()).toBeGreaterThanOrEqual(PUBLISHED);
    await journey!.screenshot('messages');
  });

  step('restart', 'after SIGTERM and a new sluice run the connector, rule and action are still shown; the YAML keeps its comments; the password is in a 0600 file', ['connector', 'rule'], async () => {
    const page = ui.page;
    expect(await runner!.stop()).toBe(0);
    runner = await SluiceRunner.start(configFile);

    const yamlText = readFileSync(configFile, 'utf8');
    const lost = commentsOf(originalConfig).filter((c) => !yamlText.includes(c));
    if (lost.length > 0) throw new Error(`comments lost from ${configFile}: ${JSON.stringify(lost)}\nfile now:\n${yamlText}`);
    expect(yamlText).not.toContain(scram.password);
    const secretFile = secretFileOf(storedPasswordReference(yamlText));
    expect(existsSync(secretFile)).toBe(true);
    expect((statSync(secretFile).mode & 0o777).toString(8)).toBe('600');
    expect(readFileSync(secretFile, 'utf8').trim()).toBe(scram.password);
    const stored = parseDocument(yamlText).toJS() as { rules?: Array<{ id: string; sql: string; actions: Array<Record<string, unknown>> }> };
    const rule = stored.rules?.find((r) => r.id === RULE_ID);
    expect(rule?.sql).toBe(SEED_RULE);
    expect(rule?.actions[0]).toMatchObject({ connector: CONNECTOR_ID, topic: KAFKA_TOPIC, value: VALUE_TEMPLATE });

    // the same origin (the port is fixed): the tab keeps its token in sessionStorage
    await page.reload();
    await ui.goTo('Connectors');
    await page.getByRole('link', { name: CONNECTOR_ID, exact: true }).first().click();
    const form = ui.connectorForm();
    await form.waitFor();
    expect(await form.getByRole('textbox', { name: 'Bootstrap hosts', exact: true }).inputValue()).toBe(broker.saslSsl);
    expect(await ui.passwordField(form).getAttribute('placeholder')).toMatch(/stored/);
    expect(await ui.passwordField(form).inputValue()).toBe('');
    await ui.goTo('Rules');
    await page.getByRole('link', { name: RULE_ID, exact: true }).first().click();
    await page.getByRole('heading', { name: RULE_ID, exact: true }).waitFor();
    await page.getByRole('heading', { name: actionId, exact: true }).waitFor();
  });

  step('screenshots', 'every page screenshot was written by this run, a 1280×800 PNG', ['login'], async () => {
    const missing = SCREENSHOTS.filter((name) => !journey!.screenshots.has(name));
    if (missing.length > 0) throw new Error(`not written by this run: ${missing.join(', ')} (their steps failed before taking them)`);
    for (const name of SCREENSHOTS) {
      const png = readFileSync(join(screenshotDir(), `${name}.png`));
      // PNG IHDR: width and height, big-endian, at bytes 16 and 20
      expect({ name, width: png.readUInt32BE(16), height: png.readUInt32BE(20) }).toEqual({ name, width: 1280, height: 800 });
    }
  });
});
