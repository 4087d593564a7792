// Labels from settings keys: `bootstrapHosts` → "Bootstrap hosts", `clientId` → "Client ID". The E2E test
// finds controls by these labels (CONSOLE-API "UI conventions"), so the rule is fixed: words split at
// camelCase humps, `_`, `-` and `.`, the first capitalised, the rest lower case, known acronyms upper case.

const ACRONYMS: Readonly<Record<string, string>> = {
  id: 'ID',
  ids: 'IDs',
  sasl: 'SASL',
  tls: 'TLS',
  ssl: 'SSL',
  qos: 'QoS',
  mqtt: 'MQTT',
  url: 'URL',
  ca: 'CA',
};

/** The words of a key: `partitionCountRefreshInterval` → ['partition', 'count', 'refresh', 'interval']. */
export function words(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[\s_.-]+/)
    .filter((word) => word !== '')
    .map((word) => word.toLowerCase());
}

/** The label of a settings key. */
export function humanize(key: string): string {
  return words(key)
    .map((word, index) => ACRONYMS[word] ?? (index === 0 ? word.charAt(0).toUpperCase() + word.slice(1) : word))
    .join(' ');
}
