#!/usr/bin/env node
'use strict';
// Proves the published shape of the packages works: builds them, `npm pack`s each into a temp folder,
// installs the tarballs into an empty scratch project (third-party dependencies come from the npm
// registry), then, from that project only, loads every package through its `exports` map, runs a rule
// through an integration without brokers, and runs the installed `sluice` bin.
// Usage: node scripts/pack-check.js [--keep]   (--keep leaves the scratch project for inspection)
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const PACKAGES = ['core', 'sql', 'mqtt', 'kafka', 'cli', 'console'];
// Packages compiled by tsc -b; the console is bundled by Vite instead (npm run build -w @sluice/console).
const TS_PACKAGES = PACKAGES.filter((p) => p !== 'console');
// What each tarball must hold: TypeScript packages their compiled entry, the console its CommonJS entry
// (which only says where the assets are) and the built assets.
const NEEDED = {
  default: ['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts'],
  console: ['package.json', 'README.md', 'index.js', 'index.d.ts', 'dist/index.html'],
};
const keep = process.argv.includes('--keep');
const started = Date.now();

function step(label) {
  console.log(`[pack-check] ${label} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

function run(cmd, args, cwd) {
  const result = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error || result.status !== 0) {
    const output = `${result.stdout || ''}${result.stderr || ''}`.trim();
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed: ${result.error ? result.error.message : `exit ${result.status}`}\n${output}`);
  }
  return result.stdout;
}

// The check runs in the scratch project: nothing here may resolve to the monorepo's sources.
const CHECK = `'use strict';
const assert = require('node:assert/strict');
const path = require('node:path');

async function main() {
  for (const name of ['@sluice/core', '@sluice/core/testing', '@sluice/sql', '@sluice/mqtt', '@sluice/kafka', '@sluice/cli', '@sluice/console']) {
    const file = require.resolve(name);
    assert.ok(file.startsWith(path.join(__dirname, 'node_modules')), name + ' resolved outside the scratch project: ' + file);
  }
  const { createIntegration, connectorModule, sourceModule } = require('@sluice/core');
  const { InMemoryConnector, InMemorySource } = require('@sluice/core/testing');
  const { compileRule, compileTemplate, sqlModule } = require('@sluice/sql');
  const { mqttModule, AedesSource } = require('@sluice/mqtt');
  const { kafkaModule } = require('@sluice/kafka');
  assert.equal(typeof mqttModule, 'function');
  assert.equal(typeof AedesSource, 'function');
  assert.equal(typeof kafkaModule, 'function');

  // The console: its entry names the built assets, and index.html's scripts and styles are among them.
  const fs = require('node:fs');
  const { assetsDir } = require('@sluice/console');
  const html = fs.readFileSync(path.join(assetsDir, 'index.html'), 'utf8');
  assert.match(html, /<base href="\\/"/);
  const assets = [...html.matchAll(/(?:src|href)="\\.\\/(assets\\/[^"]+)"/g)].map((m) => m[1]);
  assert.ok(assets.some((a) => a.endsWith('.js')), 'index.html loads no script from assets/');
  for (const asset of assets) assert.ok(fs.existsSync(path.join(assetsDir, asset)), 'index.html names a missing asset: ' + asset);
  assert.doesNotMatch(html, /<script(?![^>]*\\bsrc=)[^>]*>/, 'index.html has an inline script');

  // The SQL engine on its own.
  const rule = compileRule('SELECT payload.temp as temp, clientid FROM "temp_hum/#" WHERE payload.temp > 20');
  assert.deepEqual(rule.topics, ['temp_hum/#']);
  const outputs = rule.evaluate({ topic: 'temp_hum/emqx', clientid: 'c1', payload: '{"temp": 27.5}' });
  assert.equal(outputs.length, 1);
  assert.equal(compileTemplate('{"temp": \${temp}, "by": "\${clientid}"}').render(outputs[0]), '{"temp": 27.5, "by": "c1"}');

  // Schemas: protobufjs, avsc and ajv (its draft-06 meta-schema is a JSON file) load from the installed package.
  const { SqlRuleEngine } = require('@sluice/sql');
  const schemaEngine = new SqlRuleEngine({ schemas: [
    { name: 'p', type: 'protobuf', source: 'syntax = "proto3"; message R { string d = 1; }' },
    { name: 'a', type: 'avro', source: '{"type": "record", "name": "R", "fields": [{"name": "d", "type": "string"}]}' },
    { name: 'j', type: 'json', source: '{"type": "object", "required": ["d"]}' },
  ] });
  const schemaRule = schemaEngine.compileRule(\`SELECT schema_decode('p', schema_encode('p', json_decode(payload), 'R'), 'R') AS p,
    schema_decode('a', schema_encode('a', json_decode(payload))) AS a, schema_check('j', payload) AS j,
    sparkplug_decode(sparkplug_encode(json_decode('{"seq": 1}'))) AS s FROM "t"\`);
  assert.deepEqual(schemaRule.evaluate({ topic: 't', payload: '{"d": "x"}' }), [{ p: { d: 'x' }, a: { d: 'x' }, j: true, s: { metrics: [], seq: 1 } }]);

  // jq: jq-wasm's WebAssembly module is found from the installed package and runs on its worker thread.
  const jqRule = compileRule(\`FOREACH jq('.items[] | select(.v > 1)', payload) AS i DO i.v AS v FROM "t"\`);
  assert.deepEqual(jqRule.evaluate({ topic: 't', payload: '{"items": [{"v": 1}, {"v": 2}, {"v": 3}]}' }), [{ v: 2 }, { v: 3 }]);

  // The root README's composition, with the in-memory source and connector in place of the brokers; the MQTT and
  // Kafka modules are built (config validated) but not started.
  mqttModule({ id: 'plant', url: 'mqtt://127.0.0.1:1883', qos: 1 });
  kafkaModule({ id: 'upstash', bootstrapHosts: ['127.0.0.1:9092'] });
  const source = new InMemorySource('plant');
  const connector = new InMemoryConnector('upstash');
  const app = await createIntegration({
    modules: [sourceModule(source), sqlModule(), connectorModule(connector)],
    rules: [{
      id: 'temp_hum',
      sql: 'SELECT timestamp, clientid, payload.temp as temp, payload.hum as hum FROM "devices/+/telemetry"',
      actions: [{ connector: 'upstash', template: '{"temp": \${temp}, "hum": \${hum}}' }],
    }],
  });
  await app.start();
  await source.push('devices/d1/telemetry', '{"temp": 21.5, "hum": 40}', { clientId: 'd1' }).settled;
  await source.push('devices/d2/telemetry', '{"temp": 19, "hum": 55}', { clientId: 'd2' }).settled;
  await source.push('elsewhere', '{}').settled;
  assert.deepEqual(connector.records.map((r) => r.rendered), ['{"temp": 21.5, "hum": 40}', '{"temp": 19, "hum": 55}']);
  const metrics = app.metrics.rule('temp_hum');
  assert.equal(metrics.matched, 2);
  assert.equal(metrics['actions.success'], 2);
  await app.stop();
  console.log('packed packages load and run: rule metrics', JSON.stringify(metrics));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
`;

function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-pack-check-'));
  const tarballs = path.join(work, 'tarballs');
  const scratch = path.join(work, 'scratch');
  fs.mkdirSync(tarballs);
  fs.mkdirSync(scratch);
  try {
    step('building the packages');
    run(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', ...TS_PACKAGES.map((p) => `packages/${p}`)], ROOT);
    run('npm', ['run', 'build', '-w', '@sluice/console'], ROOT);

    step('npm pack');
    const files = [];
    for (const pkg of PACKAGES) {
      const [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', tarballs, '-w', `@sluice/${pkg}`], ROOT));
      const names = packed.files.map((f) => f.path);
      for (const needed of NEEDED[pkg] ?? NEEDED.default) {
        if (!names.includes(needed)) throw new Error(`${packed.filename} lacks ${needed}`);
      }
      const stray = names.filter((n) => /\.spec\.|tsbuildinfo|^src\//.test(n));
      if (stray.length > 0) throw new Error(`${packed.filename} ships files it should not: ${stray.join(', ')}`);
      console.log(`  ${packed.filename}: ${packed.entryCount} files, ${(packed.size / 1024).toFixed(0)} KiB packed`);
      files.push(path.join(tarballs, packed.filename));
    }

    step('npm install of the tarballs into an empty project');
    fs.writeFileSync(path.join(scratch, 'package.json'), `${JSON.stringify({ name: 'sluice-pack-check', version: '0.0.0', private: true }, null, 2)}\n`);
    run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...files], scratch);

    // Every @sluice package must be the local tarball, never a same-named package from the registry.
    const lock = JSON.parse(fs.readFileSync(path.join(scratch, 'package-lock.json'), 'utf8'));
    for (const [where, entry] of Object.entries(lock.packages)) {
      if (!/(^|\/)node_modules\/@sluice\//.test(where)) continue;
      if (!String(entry.resolved || '').startsWith('file:')) throw new Error(`${where} was not installed from a packed tarball (resolved: ${entry.resolved})`);
      if (where.split('node_modules/').length > 2) throw new Error(`${where} is a nested copy: the tarballs' versions do not line up`);
    }

    step('running the check in the scratch project');
    fs.writeFileSync(path.join(scratch, 'check.js'), CHECK);
    process.stdout.write(run(process.execPath, ['check.js'], scratch));
    const version = run(process.execPath, [path.join(scratch, 'node_modules', '.bin', 'sluice'), '--version'], scratch).trim();
    const expected = JSON.parse(fs.readFileSync(path.join(ROOT, 'packages', 'cli', 'package.json'), 'utf8')).version;
    if (!version.includes(expected)) throw new Error(`the installed sluice --version printed "${version}", expected ${expected}`);
    console.log(`  installed bin: sluice --version → ${version}`);
    step('OK');
  } finally {
    if (keep) console.log(`[pack-check] scratch project kept in ${scratch}`);
    else fs.rmSync(work, { recursive: true, force: true });
  }
}

try {
  main();
} catch (error) {
  console.error(`[pack-check] FAILED: ${error.message}`);
  process.exit(1);
}
