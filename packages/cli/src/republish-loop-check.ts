import { ConfigError, type ConfigIssue } from '@sluice/core';
import { republishLoops } from '@sluice/mqtt';
import { compileRule } from '@sluice/sql';
import type { LoadedConfig } from './config-file';

type Config = LoadedConfig['config'];
type Entry = Config['connectors'][number];

/**
 * Refuses a republish (an action or fallback on an `mqtt` connector) whose fixed topic falls under its own
 * rule's FROM while the rule reads from the same broker the connector publishes to: every output would
 * come back as input, forever. "The same broker" is judged by host and port, so a broker reached under
 * two names is not caught; nor is a templated topic, which only a message can resolve (docs/mqtt.md).
 */
export function assertNoRepublishLoops(config: Config): void {
  const publishers = new Map<unknown, string>();
  for (const connector of config.connectors) {
    const address = connector.type === 'mqtt' ? brokerAddress(connector['url']) : undefined;
    if (address !== undefined) publishers.set(connector['id'], address);
  }
  if (publishers.size === 0) return;
  const issues: ConfigIssue[] = [];
  config.rules.forEach((rule, r) => {
    const readFrom = new Set(config.sources.filter((s) => rule.sources === undefined || rule.sources.includes(String(s['id']))).map(sourceAddress));
    let filters: readonly string[] | undefined;
    const check = (action: Record<string, unknown>, path: string): void => {
      const address = publishers.get(action['connector']);
      if (address === undefined || !readFrom.has(address)) return;
      const topic = action['topic'];
      if (typeof topic !== 'string' || topic.includes('$')) return; // templated (or escaped): resolved per message
      try {
        filters ??= compileRule(rule.sql).topics;
      } catch {
        return; // the rule's own syntax error is reported where the rules are compiled
      }
      const loops = republishLoops(topic, filters);
      if (loops.length > 0) {
        issues.push({ path: `${path}.topic`, message: `"${topic}" matches the rule's own FROM "${loops[0]}" on the broker it reads (${address}): each republished output would come back to the rule. Publish under a topic the rule does not read, e.g. dead/${topic}` });
      }
    };
    rule.actions.forEach((action, a) => {
      check(action, `rules[${r}].actions[${a}]`);
      action.fallbackActions?.forEach((fallback, f) => check(fallback, `rules[${r}].actions[${a}].fallbackActions[${f}]`));
    });
  });
  if (issues.length > 0) throw new ConfigError('sluice', issues);
}

/** `host:port` of a broker URL, with the scheme's default port; undefined when it is not a URL. */
function brokerAddress(url: unknown): string | undefined {
  if (typeof url !== 'string' || !URL.canParse(url)) return undefined;
  const parsed = new URL(url);
  const port = parsed.port !== '' ? parsed.port : { 'mqtt:': '1883', 'mqtts:': '8883', 'ws:': '80', 'wss:': '443' }[parsed.protocol] ?? '';
  return `${normalHost(parsed.hostname)}:${port}`;
}

/** Where a source's messages come from: its broker, or the embedded broker's own port on this machine. */
function sourceAddress(source: Entry): string | undefined {
  if (source.type === 'mqtt') return brokerAddress(source['url']);
  if (source.type === 'mqtt-broker') return `localhost:${String(source['port'] ?? 1883)}`;
  return undefined;
}

function normalHost(host: string): string {
  return host === '127.0.0.1' || host === '[::1]' || host === '::1' ? 'localhost' : host.toLowerCase();
}
