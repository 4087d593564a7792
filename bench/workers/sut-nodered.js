'use strict';
// Node-RED as users would wire it: MQTT-in (QoS 1, parsed JSON) -> a function node doing what the seed
// rule does -> Kafka-out (node-red-contrib-kafkajs, acks=all). Embedded without its editor.
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

const FUNCTION = `
const p = msg.payload;
msg.payload = JSON.stringify({ timestamp: Date.now(), clientid: null, temp: p.temp, hum: p.hum, ts: p.ts, seq: p.seq });
return msg;`;

module.exports = async function startNodeRed(config) {
  const RED = require('node-red');
  const url = new URL(config.mqttUrl);
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-nodered-'));
  const flows = [
    { id: 'tab', type: 'tab', label: 'bench' },
    { id: 'broker', type: 'mqtt-broker', broker: url.hostname, port: url.port, clientid: config.clientId, autoConnect: true, usetls: false,
      protocolVersion: '4', keepalive: '60', cleansession: true },
    { id: 'in', type: 'mqtt in', z: 'tab', topic: 'temp_hum/emqx', qos: '1', datatype: 'json', broker: 'broker', nl: false, rap: true, rh: 0, inputs: 0, wires: [['fn']] },
    { id: 'fn', type: 'function', z: 'tab', func: FUNCTION, outputs: 1, noerr: 0, wires: [['out']] },
    { id: 'kclient', type: 'kafkajs-client', brokers: config.bootstrap, clientid: 'bench-nodered', logLevel: 'none', connectiontimeout: '3000', requesttimeout: '30000', auth: 'none' },
    { id: 'out', type: 'kafkajs-producer', z: 'tab', client: 'kclient', topic: config.topic, acknowledge: 'all', responsetimeout: 30000, headeritems: {}, wires: [] },
  ];
  fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flows));
  const server = http.createServer();
  RED.init(server, {
    userDir,
    flowFile: 'flows.json',
    httpAdminRoot: false,
    httpNodeRoot: false,
    credentialSecret: false,
    logging: { console: { level: 'warn', metrics: false, audit: false } },
    telemetry: { enabled: false },
    diagnostics: { enabled: false },
    runtimeState: { enabled: false },
  });
  await RED.start();
  // The MQTT-in node subscribes once its broker connection is up; give it the time to.
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline) {
    const node = RED.nodes.getNode('out');
    const broker = RED.nodes.getNode('broker');
    if (node && node.ready && broker && broker.connected) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 500));
  return {
    stats: () => ({}),
    async stop() {
      await RED.stop();
      fs.rmSync(userDir, { recursive: true, force: true });
    },
  };
};
