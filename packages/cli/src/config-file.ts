import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError, RuleDefinition, parseConfig, type ConfigIssue } from '@sluice/core';
import { checkListenerExposure } from './http-guards';
import { loadPlugins } from './plugin-loader';
import type { PluginRegistry } from './plugins';
import { scrub } from './secret-scrub';
import { referencesInIds } from './config-store/plain-ids';
import { ClusterConfig } from './cluster/cluster-config';
import { assertClusterConnector, clusterSources } from './cluster/cluster-sources';
import { readSchemaFiles } from './schema-files';
import { resolveSecrets } from './secrets';
import { secretReferencePaths } from './secret-fields';

/** One source or connector entry: `type` picks the plugin, every other key is that plugin's options. */
const PluginEntry = z.looseObject({ type: z.string().min(1) });

/** The HTTP endpoint of `sluice run`: metrics, health, and the REST API. */
export const HttpConfig = z.strictObject({
  enabled: z.boolean().default(true).describe('Start the HTTP endpoint.'),
  host: z.string().default('127.0.0.1').describe('Interface to bind; 127.0.0.1 keeps the endpoint local. Any address other than a loopback one (127.x, ::1, localhost), e.g. 0.0.0.0 for Prometheus on another machine, needs `http.token`: without one the config is refused.'),
  port: z.number().int().min(0).max(65535).default(8081).describe('TCP port; 0 picks a free one (logged at start-up).'),
  token: z.string().min(1).optional().describe('Bearer token (`Authorization: Bearer <token>`) required by every route under `/api/`, reads and event streams included, and asked for by the console\'s login page; /metrics, /healthz and /readyz stay open to probes and scrapers. Without it, the API is open to whoever reaches the bound address. Use `${env:NAME}` or `${file:/path}`.'),
  allowedHosts: z.array(z.string().regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(:\d{1,5})?$/, 'a host name or address, optionally with :port, e.g. sluice.example.com')).optional()
    .describe('Further names the `Host` header of a request may carry, e.g. `[sluice.example.com]` behind a proxy or DNS name (`name:port` pins the port). IP addresses, `localhost` and `http.host` are always accepted; any other name is refused (421) on every request, reads included, so that a page using DNS rebinding cannot reach the API.')
    .meta({ examples: [['sluice.example.com'], ['sluice.example.com:443']] }),
  console: z.boolean().default(true).describe('Serve the web console (@sluice/console) at `/` of this endpoint: status, connectors, rules with their SQL editor and test, metrics, and the Kafka messages, changes written into this file. Its pages are public files that hold no data; everything they show comes from the REST API, which asks for `http.token` when one is set (the console has a login page for it). `false`: the API only.'),
  dataDir: z.string().min(1).optional().describe('The directory under which rules created or replaced through the REST API may keep disk buffers: their `buffer.dir` must lie inside it (a relative one is taken relative to it) or be one that a running rule already uses. Without it, the API refuses a new `buffer.dir`; the config file may use any directory.'),
}).superRefine((http, ctx) => {
  const exposed = http.enabled ? checkListenerExposure(http.host, http.token) : undefined;
  if (exposed !== undefined) ctx.addIssue({ code: 'custom', path: ['token'], message: exposed });
});

export const LogConfig = z.strictObject({
  level: z.enum(['debug', 'info', 'warn', 'error']).default('info').describe('Least severe level written.'),
  format: z.enum(['json', 'pretty']).optional().describe('`json`: one JSON object per line; `pretty`: readable lines. Default: pretty when stderr is a terminal, json otherwise.'),
});

/** Per-evaluation limits of the rule engine (@sluice/sql's EvaluationLimits; defaults there, so none here). */
const SqlLimits = z.strictObject({
  maxStringSize: z.number().int().min(1).max(256 * 1024 * 1024).optional().describe('Largest string (characters) or binary (bytes) a built-in, `+` or a JSON encoding may produce. Default 4194304 (4 MiB).'),
  maxListLength: z.number().int().min(1).max(256 * 1024 * 1024).optional().describe('Most items a built-in (`split`, `tokens`, ...), a range literal `[a..b]` or a FOREACH collection may have (what a FOREACH makes of them is bounded by `maxOutputs` and `maxFanoutSize`). Default 100000.'),
  maxInflateSize: z.number().int().min(1).max(256 * 1024 * 1024).optional().describe('Largest output, in bytes, of `gunzip`, `unzip` and `zip_uncompress`: inflating stops there. Default 4194304 (4 MiB).'),
  maxOutputs: z.number().int().min(1).max(256 * 1024 * 1024).optional().describe('Most outputs one FOREACH may make from one message (each becomes a record of every action). Default 10000.'),
  maxFanoutSize: z.number().int().min(1).max(64 * 1024 * 1024 * 1024).optional().describe('Most that the outputs of one FOREACH may carry together for one message, summed over the outputs: characters of strings, bytes of binaries, items of lists and keys of maps at the top level of each output (without DO each output holds the columns, the payload among them, the FOREACH aliases, the collection among them, and its item). Default 67108864 (64 MiB); at most 68719476736.'),
  jqTimeout: z.number().int().min(1).max(60_000).optional().describe('How long, in milliseconds, a `jq(Program, JSON)` call may run before it is stopped and fails the message (EMQX\'s `jq_function_default_timeout`, 10 s there). jq runs on a worker thread the rule engine waits for, so this is how long one message can hold the engine. Default 100; at most 60000.'),
  jqMaxTimeout: z.number().int().min(1).max(60_000).optional().describe('The largest budget, in milliseconds, a `jq(Program, JSON, TimeoutMs)` call is granted; a larger `TimeoutMs` is cut to it. Default 1000; at most 60000.'),
  jqMaxMemory: z.number().int().min(16 * 1024 * 1024).max(256 * 1024 * 1024).optional().describe('Largest memory of jq\'s WebAssembly instance, in bytes; a program that needs more (`[range(1e9)]`) fails the message and jq is restarted. Default 67108864 (64 MiB); from 16777216 to 268435456.'),
  maxRuleLength: z.number().int().min(1).max(1024 * 1024).optional().describe('Longest rule text, in characters; a longer rule is refused with a `RuleSyntaxError`. Default 32768; at most 1048576.'),
  maxDepth: z.number().int().min(1).max(1000).optional().describe('Deepest nesting of a rule (brackets, CASE, operators, path steps); a deeper rule is refused with a `RuleSyntaxError`. Default 500; at most 1000 (V8\'s stack).'),
});

export const SqlConfig = z.strictObject({
  limits: SqlLimits.optional().describe('Limits of the rule engine. `maxRuleLength` and `maxDepth` bound a rule\'s text (a rule over them is refused). The others are per-evaluation limits: a built-in function, range literal or FOREACH whose result would pass one fails the rule for that message alone (`RuleEvaluationError`, counted `failed.exception`; the message is acknowledged). See docs/sql-functions.md, "Limits". A change needs a restart.'),
});

/** One schema for schema_decode/schema_encode/schema_check (EMQX's schema registry, declared here). */
const SchemaEntry = z.strictObject({
  name: z.string().min(1).describe('The name rules use: `schema_decode(\'<name>\', payload, ...)`. Unique among the schemas.'),
  type: z.enum(['avro', 'protobuf', 'json']).describe('`avro` (an Avro schema in JSON), `protobuf` (a .proto file: name the message type in each call) or `json` (a JSON Schema: draft-06, draft-07, 2019-09 or 2020-12, picked by `$schema`).'),
  source: z.string().min(1).optional().describe('The schema text itself. Give `source` or `file`, not both.'),
  file: z.string().min(1).optional().describe('A file holding the schema text, relative to this config file\'s directory. Read at start-up.'),
  description: z.string().optional().describe('For people; not used.'),
}).superRefine((entry, ctx) => {
  if ((entry.source === undefined) === (entry.file === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['source'], message: `schema "${entry.name}": give its text as \`source\` or a \`file\` to read it from (one of the two)` });
  }
});

/** The shape of a config file. It mirrors the code API: sources, connectors, rules with their actions. */
export const ConfigFile = z.strictObject({
  plugins: z.array(z.string().min(1)).default([])
    .describe('Packages or files that add source and connector types (a PostgreSQL connector, your own webhook): each entry is a package name (`@acme/sluice-webhook`) or a path (`./plugins/webhook.js`), resolved from the directory of this file as `require` would, exporting a plugin made with `definePlugin` from @sluice/core. Their types are then usable under `sources:` and `connectors:`. Loading runs the plugin\'s code: list only plugins you trust. See docs/plugins.md.')
    .meta({ examples: [['@acme/sluice-webhook', './plugins/webhook.js']] }),
  sources: z.array(PluginEntry).min(1, 'at least one source is needed, e.g. { type: mqtt, id: plant, url: mqtt://127.0.0.1:1883 }')
    .describe('Where messages come from: MQTT brokers to subscribe to (`type: mqtt`) or an embedded broker devices connect to (`type: mqtt-broker`), or a type a plugin under `plugins:` adds. At least one.'),
  connectors: z.array(PluginEntry).default([]).describe('Connections to the systems actions write to: a Kafka cluster (`type: kafka`) or an MQTT broker to publish to (`type: mqtt`, EMQX\'s republish), or a type a plugin under `plugins:` adds. Actions name a connector by its `id`.'),
  rules: z.array(RuleDefinition).default([]).describe('SQL rules (EMQX dialect). Each rule reads the topics of its FROM clause and sends its output through its actions. May be empty: rules created in the console or through the REST API are written here.'),
  node: z.string().min(1).optional().describe('The `node` column rules see (EMQX puts its node name there). Default `sluice@127.0.0.1`.'),
  stopTimeoutMs: z.number().int().nonnegative().optional().describe('How long a stop (SIGTERM/SIGINT) waits for in-flight messages before leaving them unacknowledged for the broker to redeliver. Default 30000.'),
  rateIntervalMs: z.number().int().positive().optional().describe('Sampling interval of the rates (`matched.rate`, ...), in milliseconds. Default 5000.'),
  http: HttpConfig.default({ enabled: true, host: '127.0.0.1', port: 8081, console: true }).describe('The HTTP endpoint of `sluice run`: /metrics, /healthz, /readyz and the REST API.'),
  log: LogConfig.default({ level: 'info' }).describe('Logging of `sluice run` (pino, on stderr).'),
  sql: SqlConfig.optional().describe('Settings of the rule engine.'),
  cluster: ClusterConfig.optional()
    .describe('Run this process as a member of a cluster of `sluice run` processes: sources, connectors and rules are shared through a Kafka topic (a change through any member\'s API applies on all), each member publishes its status and metrics, MQTT sources split the stream through a share group named after the cluster. See docs/cluster.md.')
    .meta({ examples: [{ name: 'plant-a', connector: 'kafka', member: '${env:HOSTNAME}' }] }),
  schemas: z.array(SchemaEntry).default([])
    .describe('Schemas for the functions `schema_decode`, `schema_encode` and `schema_check` (Avro, Protobuf, JSON Schema), as EMQX\'s schema registry holds them. Each is compiled once at start-up; a bad one stops the start with an error naming it. See docs/sql-functions.md, "Schemas and binary formats". A change needs a restart.')
    .meta({ examples: [[{ name: 'reading', type: 'protobuf', file: './schemas/reading.proto' }]] }),
});
export type ConfigFile = z.output<typeof ConfigFile>;

export interface LoadedConfig {
  readonly file: string;
  readonly config: ConfigFile;
  /** The values secret references (`${env:X}`, `${file:/p}`) resolved to, for the logger to scrub. */
  readonly secrets: ReadonlySet<string>;
  /** Config paths (`rules[0].actions[1].value`) of the strings that held a secret reference, for the API to redact. */
  readonly secretPaths: readonly string[];
  /** Line and column (1-based) of a config path such as `rules[2].actions[0].topic`, when known. */
  locate(path: string): { line: number; column: number } | undefined;
  /** The source and connector types the file may use: the built-in plugins and those of its `plugins:`. */
  readonly plugins: PluginRegistry;
}

/** Reads, parses (YAML or JSON), resolves secret references and validates a config file. */
export function loadConfigFile(file: string, env: NodeJS.ProcessEnv): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError('sluice', [{ path: '', message: `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})` }]);
  }
  const lineCounter = new LineCounter();
  // YAML is a superset of JSON, so one parser serves both; .json files are still parsed strictly.
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (extname(file) === '.json') {
    try {
      JSON.parse(text);
    } catch (error) {
      throw new ConfigError('sluice', [{ path: '', message: `${file} is not valid JSON: ${(error as Error).message}` }]);
    }
  }
  if (document.errors.length > 0) {
    const issues: ConfigIssue[] = document.errors.map((e) => ({ path: '', message: e.message.split('\n')[0] ?? '' }));
    // Syntax errors have no config path yet: they are located by their own offsets.
    const positions = document.errors.map((e) => lineCounter.linePos(e.pos[0]));
    let next = 0;
    throw new ConfigFileError(new ConfigError('sluice', issues), file, () => {
      const pos = positions[next++];
      return pos === undefined ? undefined : { line: pos.line, column: pos.col };
    });
  }
  const locate = (path: string): { line: number; column: number } | undefined => {
    const segments = parsePath(path);
    for (let n = segments.length; n > 0; n--) {
      const node = document.getIn(segments.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node?.range !== undefined) {
        const pos = lineCounter.linePos(node.range[0]);
        return { line: pos.line, column: pos.col };
      }
    }
    return undefined;
  };
  const located = { file, locate };
  const secrets = new Set<string>();
  const raw: unknown = document.toJS();
  // before anything is resolved: an id holding `${env:…}` would show the variable's value wherever ids are shown
  const idIssues = referencesInIds(raw);
  if (idIssues.length > 0) withLocations(located, () => { throw new ConfigError('sluice', idIssues); });
  // `secrets` fills up while resolving: an error from the schema after that is scrubbed of them too
  const checked = withLocations({ ...located, secrets }, () => parseConfig('sluice', ConfigFile, resolveSecrets(raw, env, '', secrets)));
  if (checked.cluster !== undefined) withLocations(located, () => assertClusterConnector(checked));
  const parsed = checked.cluster === undefined ? checked : Object.freeze({ ...checked, sources: clusterSources(checked.sources, checked.cluster) });
  // schema files are read now, once: the engine, `sluice rule test` and the API's rule test all see the same text
  const config = parsed.schemas.every((entry) => entry.file === undefined)
    ? parsed
    : Object.freeze({ ...parsed, schemas: withLocations(located, () => readSchemaFiles(parsed.schemas, file)) });
  const plugins = withLocations(located, () => loadPlugins(config.plugins, file));
  return { ...located, config, secrets, secretPaths: secretReferencePaths(raw), plugins };
}

/**
 * A ConfigError whose message points into the config file: `file:line:col: path: message` per issue.
 * The issues keep their config paths, so tools can still read them.
 */
export class ConfigFileError extends ConfigError {
  constructor(error: ConfigError, readonly file: string, locate: LoadedConfig['locate']) {
    super(error.plugin, error.issues, { cause: error });
    this.message = formatConfigError(error, { file, locate });
  }
}

/**
 * Runs `build`; a ConfigError it throws is rethrown as a ConfigFileError pointing into the file, with
 * the config's secret values scrubbed from its messages (a rule whose SQL holds a `${env:...}` value is
 * quoted in its syntax error, and `sluice validate`/`run` print that error as it is).
 */
export function withLocations<T>(loaded: Pick<LoadedConfig, 'file' | 'locate'> & { readonly secrets?: ReadonlySet<string> }, build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (error instanceof ConfigError && !(error instanceof ConfigFileError)) throw new ConfigFileError(withoutSecrets(error, loaded.secrets), loaded.file, loaded.locate);
    throw error;
  }
}

/** The error with every secret value scrubbed from its issues; the original (holding them) is not kept as the cause. */
function withoutSecrets(error: ConfigError, secrets: ReadonlySet<string> | undefined): ConfigError {
  if (secrets === undefined || secrets.size === 0) return error;
  const issues = error.issues.map((issue) => ({ ...issue, message: scrub(issue.message, secrets) }));
  return issues.every((issue, i) => issue.message === error.issues[i]?.message) ? error : new ConfigError(error.plugin, issues);
}

/** `rules[2].actions[0].topic` → ['rules', 2, 'actions', 0, 'topic']. */
export function parsePath(path: string): Array<string | number> {
  const segments: Array<string | number> = [];
  for (const match of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    if (match[2] !== undefined) segments.push(Number(match[2]));
    else if (match[1] !== undefined) segments.push(match[1]);
  }
  return segments;
}

/** Formats a ConfigError for a terminal: `file:line:col: path: message` per issue. */
export function formatConfigError(error: ConfigError, loaded: Pick<LoadedConfig, 'file' | 'locate'>): string {
  const lines = error.issues.map((issue) => {
    const where = loaded.locate(issue.path);
    const prefix = where === undefined ? `${loaded.file}: ` : `${loaded.file}:${where.line}:${where.column}: `;
    return `  ${prefix}${issue.path === '' ? '' : `${issue.path}: `}${issue.message}`;
  });
  return `invalid configuration (${error.plugin}):\n${lines.join('\n')}`;
}
