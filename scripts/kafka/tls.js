'use strict';
// A self-signed certificate for the SASL_SSL listener, made with the JDK's keytool. It is marked
// as a CA (basicConstraints ca:true, keyCertSign) so clients can trust the exported PEM as their CA
// and still verify the host name (SAN DNS:localhost, IP:127.0.0.1).
// A second, unrelated certificate is exported as "untrusted CA" for tests that must see TLS fail.
const fs = require('node:fs');
const path = require('node:path');
const { KEYSTORE_PASSWORD } = require('./settings');
const { run } = require('./proc');

async function keytool(args) {
  const result = await run('keytool', args);
  if (result.code !== 0) throw new Error(`keytool ${args[0]} failed (exit ${result.code}): ${result.output.trim()}`);
}

async function selfSigned(keystore, alias, cn) {
  await keytool([
    '-genkeypair', '-alias', alias,
    '-keyalg', 'RSA', '-keysize', '2048', '-validity', '3650',
    '-dname', `CN=${cn}, O=Sluice test broker`,
    '-ext', 'SAN=DNS:localhost,IP:127.0.0.1',
    '-ext', 'BC:c=ca:true',
    '-ext', 'KU=digitalSignature,keyEncipherment,keyCertSign',
    '-ext', 'EKU=serverAuth',
    '-keystore', keystore, '-storetype', 'PKCS12',
    '-storepass', KEYSTORE_PASSWORD, '-keypass', KEYSTORE_PASSWORD,
  ]);
}

async function exportPem(keystore, alias, file) {
  await keytool([
    '-exportcert', '-rfc', '-alias', alias,
    '-keystore', keystore, '-storetype', 'PKCS12', '-storepass', KEYSTORE_PASSWORD,
    '-file', file,
  ]);
}

/** @returns {Promise<{ keystore: string, caFile: string, untrustedCaFile: string }>} */
async function makeBrokerTls(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const keystore = path.join(dir, 'broker.p12');
  const caFile = path.join(dir, 'ca.pem');
  const other = path.join(dir, 'untrusted.p12');
  const untrustedCaFile = path.join(dir, 'untrusted-ca.pem');
  await Promise.all([
    selfSigned(keystore, 'sluice-kafka', 'localhost'),
    selfSigned(other, 'untrusted', 'localhost'),
  ]);
  await Promise.all([exportPem(keystore, 'sluice-kafka', caFile), exportPem(other, 'untrusted', untrustedCaFile)]);
  fs.rmSync(other, { force: true });
  return { keystore, caFile, untrustedCaFile };
}

module.exports = { makeBrokerTls };
