import { ConfigError, type ConfigIssue } from './errors';

/**
 * The part of the Standard Schema interface (https://standardschema.dev) that parseConfig needs, so
 * plugins may validate with zod, valibot or anything else that implements it.
 */
export interface StandardSchema<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}
type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<{ readonly message: string; readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined }> };

/**
 * Validates `input` against `schema` and returns the parsed value, deeply frozen.
 * Throws ConfigError naming every issue with its path (`actions[0].topic`) and message; values are
 * never echoed, so a mistyped password does not end up in a log. Defaults live in the schema only.
 */
export function parseConfig<Output>(plugin: string, schema: StandardSchema<unknown, Output>, input: unknown, pathPrefix = ''): Output {
  const result = schema['~standard'].validate(input);
  if (result instanceof Promise) {
    throw new TypeError(`the ${plugin} configuration schema is asynchronous; parseConfig needs a synchronous schema`);
  }
  if (result.issues !== undefined) {
    throw new ConfigError(plugin, result.issues.map((issue): ConfigIssue => ({
      path: joinPath(pathPrefix, formatPath(issue.path ?? [])),
      message: issue.message,
    })));
  }
  return deepFreeze(result.value);
}

/** `['rules', 2, 'actions', 0, 'topic']` → `rules[2].actions[0].topic`. */
export function formatPath(path: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>): string {
  let text = '';
  for (const segment of path) {
    const key = typeof segment === 'object' ? segment.key : segment;
    if (typeof key === 'number') text += `[${key}]`;
    else text += text === '' ? String(key) : `.${String(key)}`;
  }
  return text;
}

function joinPath(prefix: string, path: string): string {
  if (prefix === '') return path;
  if (path === '') return prefix;
  return path.startsWith('[') ? `${prefix}${path}` : `${prefix}.${path}`;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value) && !Buffer.isBuffer(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
