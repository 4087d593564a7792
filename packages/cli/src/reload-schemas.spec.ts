import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { createIntegration, connectorModule, silentLogger, sourceModule, type Integration } from '@sluice/core';
import { InMemoryConnector, InMemorySource } from '@sluice/core/testing';
import { sqlModule } from '@sluice/sql';
import { sqlEngineOptions } from './compose';
import { loadConfigFile } from './config-file';
import { ConfigReloader } from './reload';

const dir = mkdtempSync(join(tmpdir(), 'sluice-reload-schemas-'));

const config = (schemas: string, sql: string): string => `sources:
  - type: mqtt
    id: plant
    url: mqtt://127.0.0.1:1883
connectors:
  - type: kafka
    id: store
    bootstrapHosts: [127.0.0.1:19092]
schemas:
${schemas}
rules:
  - id: a
    sql: ${sql}
    actions:
      - connector: store
        template: \${ok}
`;

const EVENT = `  - { name: event, type: json, source: '{"type": "object", "required": ["v"]}' }`;
const OTHER = `  - { name: other, type: json, source: '{"type": "object"}' }`;

describe('ConfigReloader with schemas', () => {
  let app: Integration | undefined;
  afterEach(async () => {
    await app?.stop();
  });

  async function start(text: string): Promise<{ file: string; reloader: ConfigReloader; source: InMemorySource; connector: InMemoryConnector }> {
    const file = join(dir, `${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, text);
    const loaded = loadConfigFile(file, {});
    const source = new InMemorySource('plant');
    const connector = new InMemoryConnector('store');
    app = await createIntegration({ modules: [sourceModule(source), connectorModule(connector), sqlModule(sqlEngineOptions(loaded.config))], rules: loaded.config.rules });
    await app.start();
    return { file, reloader: new ConfigReloader(file, {}, app, loaded, silentLogger), source, connector };
  }

  it('refuses a rule naming a schema the running engine lacks, and says that schemas need a restart', async () => {
    const { file, reloader, source, connector } = await start(config(EVENT, `SELECT schema_check('event', payload) AS ok FROM "a/#"`));
    writeFileSync(file, config(`${EVENT}\n${OTHER}`, `SELECT schema_check('other', payload) AS ok FROM "a/#"`));
    const outcome = await reloader.reload('test');
    expect(outcome.applied).toBe(false);
    expect(outcome.applied === false && outcome.error).toContain('rules[0].sql: rule "a": schema_check(): no schema named "other" (declared: event)');
    await source.push('a/1', '{"v": 1}').settled;
    expect(connector.records.map((r) => r.rendered)).toEqual(['true']);
  });

  it('applies rule changes against the running schemas and reports a schema change as needing a restart', async () => {
    const { file, reloader } = await start(config(EVENT, `SELECT schema_check('event', payload) AS ok FROM "a/#"`));
    writeFileSync(file, config(`${EVENT}\n${OTHER}`, `SELECT schema_check('event', payload) AS ok, 1 AS x FROM "a/#"`));
    const outcome = await reloader.reload('test');
    expect(outcome).toMatchObject({ applied: true, rules: { replaced: ['a'] }, needsRestart: ['schemas'] });
  });
});
