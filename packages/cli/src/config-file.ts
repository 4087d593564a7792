import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError, RuleDefinition, parseConfig, type ConfigIssue } from '@sluice/core';
import { checkListenerExposure } from './http-guards';
import { loadPlugins } from './plugin-loader';
import type { PluginRegistry } from './plugins';
import { scrub } from './secret-scrub';
import { resolveSecrets } from './secrets';
import { secretReferencePaths } from './secret-fields';

/** One source or connector entry: `type` picks the plugin, every other key is that plugin's options. */
const PluginEntry = z.looseObject({ type: z.string().min(1) });

/** The HTTP endpoint of `sluice run`: metrics, health, and the REST API. */
export const HttpConfig = z.strictObject({
  enabled: z.boolean().default(true),
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8081),
  /** Bearer token required by the write endpoints (PUT/POST/DELETE); none = write endpoints open on the bound address. */
  token: z.string().min(1).optional(),
  /** Host names (optionally `name:port`) the Host header may carry besides IP addresses and localhost: a proxy's or DNS name. */
  allowedHosts: z.array(z.string().regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(:\d{1,5})?$/, 'a host name or address, optionally with :port, e.g. sluice.example.com')).optional(),
  /** The only directory under which actions created through the REST API may keep disk buffers. */
  dataDir: z.string().min(1).optional(),
}).superRefine((http, ctx) => {
  const exposed = http.enabled ? checkListenerExposure(http.host, http.token) : undefined;
  if (exposed !== undefined) ctx.addIssue({ code: 'custom', path: ['token'], message: exposed });
});

export const LogConfig = z.strictObject({
  level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  /** json (default) or pretty (human-readable; the default when stderr is a terminal). */
  format: z.enum(['json', 'pretty']).optional(),
});

/** Per-evaluation limits of the rule engine (@sluice/sql's EvaluationLimits; defaults there). */
const SqlLimits = z.strictObject({
  maxStringSize: z.number().int().min(1).max(256 * 1024 * 1024).optional(),
  maxListLength: z.number().int().min(1).max(256 * 1024 * 1024).optional(),
  maxInflateSize: z.number().int().min(1).max(256 * 1024 * 1024).optional(),
  maxOutputs: z.number().int().min(1).max(256 * 1024 * 1024).optional(),
  maxFanoutSize: z.number().int().min(1).max(64 * 1024 * 1024 * 1024).optional(),
  maxRuleLength: z.number().int().min(1).max(1024 * 1024).optional(),
  maxDepth: z.number().int().min(1).max(1000).optional(),
});

/** Settings of the rule engine. */
export const SqlConfig = z.strictObject({ limits: SqlLimits.optional() });

/** The shape of a config file. It mirrors the code API: sources, connectors, rules with their actions. */
export const ConfigFile = z.strictObject({
  plugins: z.array(z.string().min(1)).default([]),
  sources: z.array(PluginEntry).min(1, 'at least one source is needed, e.g. { type: mqtt, id: plant, url: mqtt://127.0.0.1:1883 }'),
  connectors: z.array(PluginEntry).default([]),
  rules: z.array(RuleDefinition).min(1, 'at least one rule is needed'),
  node: z.string().min(1).optional(),
  stopTimeoutMs: z.number().int().nonnegative().optional(),
  rateIntervalMs: z.number().int().positive().optional(),
  http: HttpConfig.default({ enabled: true, host: '127.0.0.1', port: 8081 }),
  log: LogConfig.default({ level: 'info' }),
  sql: SqlConfig.optional(),
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
  // `secrets` fills up while resolving: an error from the schema after that is scrubbed of them too
  const config = withLocations({ ...located, secrets }, () => parseConfig('sluice', ConfigFile, resolveSecrets(raw, env, '', secrets)));
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
