'use strict';
// mqtt.js and kafkajs of the monorepo (the versions Sluice runs on), not the copies that Node-RED's
// Kafka node brings into bench/node_modules (kafkajs 1.x).
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const fromRoot = (name) => require(require.resolve(name, { paths: [ROOT] }));

module.exports = {
  ROOT,
  kafkajs: () => fromRoot('kafkajs'),
  mqtt: () => fromRoot('mqtt'),
  sluice: (pkg) => require(path.join(ROOT, 'packages', pkg, 'dist', 'index.js')),
};
