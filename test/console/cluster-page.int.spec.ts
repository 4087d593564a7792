// The console's Cluster page (issue #13, "any member's console shows every member") in a real headless
// Chromium, against two built `sluice run` members of one cluster on the real Mosquitto and Kafka: both members
// listed, this server marked, the rule's and the action's counters summed over both; and on a server outside
// cluster mode, the page says how to enable it. Writes docs/console/cluster.png with `npm run console:screenshots`.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import mqtt from 'mqtt';
import type { Browser } from 'playwright-core';
import { createTopic, deleteTopic, kafkaBroker, launchChromium, mqttUrl, randomName } from '@sluice/testkit';
import { startSluice, stopAll, type SluiceProcess } from '../delivery/support/processes';
import { eventually, JourneyPage } from './journey-harness';

const PUBLISHED = 40;

describe('the console\'s Cluster page', () => {
  // short: the page heading shows it (and the docs' screenshot); unique per run: the topics stay in the test Kafka
  const cluster = `plant-a-${Date.now().toString(36).slice(-5)}`;
  const kafkaTopic = randomName('console-cluster-out');
  const mqttTopic = `${randomName('console-cluster')}/readings`;
  const sluices: SluiceProcess[] = [];
  let browser: Browser;

  const member = async (id: string, extra: Record<string, unknown> = {}): Promise<SluiceProcess> => {
    const sluice = await startSluice({
      cluster: { name: cluster, connector: 'kafka', member: id, statusIntervalMs: 300 },
      sources: [{ type: 'mqtt', id: 'plant', url: mqttUrl() }],
      connectors: [{ type: 'kafka', id: 'kafka', bootstrapHosts: [kafkaBroker().bootstrap] }],
      rules: [{ id: 'readings', sql: `SELECT payload.n as n FROM "${mqttTopic}"`, actions: [{ connector: 'kafka', topic: kafkaTopic, value: '${n}' }] }],
      ...extra,
    });
    sluices.push(sluice);
    return sluice;
  };

  beforeAll(async () => {
    await createTopic(kafkaTopic, 1);
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await stopAll(sluices);
    await browser?.close();
    for (const topic of [kafkaTopic, `_sluice-${cluster}-config`, `_sluice-${cluster}-status`]) await deleteTopic(topic).catch(() => undefined);
  });

  it('lists every member and the rule\'s and the action\'s counters summed over them', async () => {
    const first = await member('plant-a-0');
    await member('plant-a-1');
    const publisher = await mqtt.connectAsync(mqttUrl(), { clientId: randomName('console-cluster-pub') });
    for (let n = 0; n < PUBLISHED; n++) await publisher.publishAsync(mqttTopic, JSON.stringify({ n }), { qos: 1 });
    await publisher.endAsync();

    const journey = await JourneyPage.open(browser);
    const { page } = journey;
    try {
      await page.goto(`http://127.0.0.1:${first.port}/cluster`);
      await eventually('the heading naming the cluster', async () => {
        expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe(`Cluster ${cluster}`);
      });
      const members = page.getByRole('table').first();
      await eventually('both members listed as running', async () => {
        const rows = await members.locator('tbody tr').allInnerTexts();
        expect(rows).toHaveLength(2);
        expect(rows[0]).toMatch(/plant-a-0 \(this server\)[\s\S]*running/);
        expect(rows[1]).toMatch(/plant-a-1[\s\S]*running/);
      });
      await eventually('the rule\'s matched count summed over both members', async () => {
        const row = await page.getByRole('table').nth(1).locator('tbody tr').first().innerText();
        expect(row).toMatch(new RegExp(`readings\\s+${PUBLISHED}\\s+${PUBLISHED}`));
      });
      await eventually('the action\'s counters summed over both members: every record stored, nothing waiting', async () => {
        const row = await page.getByRole('table').nth(2).locator('tbody tr').first().innerText();
        expect(row.split(/\s+/)).toEqual(['readings:kafka', String(PUBLISHED), String(PUBLISHED), '0', '0', '0', '0']);
      });
      await journey.screenshot('cluster');
      expect(journey.pageErrors).toEqual([]);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${await journey.evidence('cluster-page')}`, { cause: error });
    } finally {
      await page.context().close();
    }
  }, 120_000);

  it('says how to enable cluster mode on a server that runs alone', async () => {
    const alone = await startSluice({ sources: [{ type: 'mqtt', id: 'plant', url: mqttUrl() }], rules: [] });
    sluices.push(alone);
    const journey = await JourneyPage.open(browser);
    try {
      await journey.page.goto(`http://127.0.0.1:${alone.port}/cluster`);
      await eventually('the not-in-cluster-mode text', async () => {
        expect(await journey.page.getByText('This server runs alone').count()).toBe(1);
      });
    } finally {
      await journey.page.context().close();
    }
  }, 60_000);
});
