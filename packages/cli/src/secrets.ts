import { readFileSync } from 'node:fs';
import { ConfigError, type ConfigIssue } from '@sluice/core';

const SECRET_REFERENCE = /\$\{(env|file):([^}]+)\}/g;

/** True when `text` holds a `${env:NAME}` or `${file:/path}` reference (the HTTP API redacts such fields). */
export function hasSecretReference(text: string): boolean {
  return new RegExp(SECRET_REFERENCE.source).test(text);
}

/**
 * Replaces `${env:NAME}` and `${file:/path}` references in every string of a parsed config file, so
 * secrets stay out of the file. Other `${...}` placeholders (action templates such as `${clientid}`) are
 * left alone. A reference that cannot be resolved is a ConfigError naming the path and the reference,
 * never the value.
 */
export function resolveSecrets(value: unknown, env: NodeJS.ProcessEnv, path = '', found?: Set<string>): unknown {
  const issues: ConfigIssue[] = [];
  const resolved = walk(value, path, env, issues, found);
  if (issues.length > 0) throw new ConfigError('sluice', issues);
  return resolved;
}

function walk(value: unknown, path: string, env: NodeJS.ProcessEnv, issues: ConfigIssue[], found: Set<string> | undefined): unknown {
  if (typeof value === 'string') return substitute(value, path, env, issues, found);
  if (Array.isArray(value)) return value.map((item, i) => walk(item, `${path}[${i}]`, env, issues, found));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) out[key] = walk(child, path === '' ? key : `${path}.${key}`, env, issues, found);
    return out;
  }
  return value;
}

function substitute(text: string, path: string, env: NodeJS.ProcessEnv, issues: ConfigIssue[], found: Set<string> | undefined): string {
  return text.replace(SECRET_REFERENCE, (reference: string, kind: string, name: string) => {
    if (kind === 'env') {
      const value = env[name];
      if (value === undefined) issues.push({ path, message: `environment variable ${name} is not set (referenced as ${reference})` });
      else found?.add(value);
      return value ?? '';
    }
    try {
      // A trailing newline is almost always an accident of `echo secret > file`.
      const value = readFileSync(name, 'utf8').replace(/\r?\n$/, '');
      found?.add(value);
      return value;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      issues.push({ path, message: `cannot read secret file ${name} (${code}); referenced as ${reference}` });
      return '';
    }
  });
}
