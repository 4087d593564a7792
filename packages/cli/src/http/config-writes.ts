import type { FastifyRequest } from 'fastify';
import { ConfigError, IntegrationError, RuleSyntaxError, type ConfigIssue, type Logger } from '@sluice/core';
import { ConfigConflictError, ConfigEntryNotFoundError, ConfigStoreError, type ConfigEdit, type ConfigSnapshot, type ConfigStore } from '../config-store/config-store';
import { scrub } from '../logger';
import type { ReloadOutcome } from '../reload';
import { ApiError } from './api-error';
import { storedEntries } from './api-views';

/** What applies the stored config to the running integration (ConfigReloader). */
export interface Reloader {
  reload(trigger: string): Promise<ReloadOutcome>;
}

/** The entry a write is about, so that issue paths can be answered relative to it (`bootstrapHosts`, `sql`). */
export interface WriteTarget {
  readonly section: 'sources' | 'connectors' | 'rules';
  readonly id: string;
}

/** What a write did: the new snapshot, and the reload that applied it. */
export interface WriteResult {
  readonly snapshot: ConfigSnapshot;
  readonly outcome: Extract<ReloadOutcome, { applied: true }>;
}

/**
 * The one way the API changes the config: store.change (on the revision of `If-Match`, else the current
 * one) → reload → keep; when the reload is refused or fails, the change is undone (the file back byte for
 * byte; the reloader has already taken back whatever it had applied), and the error is answered. Writes
 * are serialised: one change, reload and keep/undo at a time.
 */
export class ConfigWriter {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: ConfigStore,
    private readonly reloader: Reloader,
    private readonly logger: Logger,
    /** Resolved secret values, scrubbed from error messages a connector library wrote. */
    private readonly secrets: ReadonlySet<string> | undefined,
  ) {}

  read(): Promise<ConfigSnapshot> {
    return this.store.read().catch((error: unknown) => {
      // the file cannot be read or does not parse (a hand edit in progress): not the caller's doing
      if (error instanceof ConfigStoreError) throw new ApiError(503, { error: error.message, code: error.code });
      throw error;
    });
  }

  write(request: FastifyRequest, target: WriteTarget, edits: readonly ConfigEdit[]): Promise<WriteResult> {
    const next = this.queue.then(() => this.writeNow(ifMatchOf(request), target, edits));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async writeNow(ifMatch: string | undefined, target: WriteTarget, edits: readonly ConfigEdit[]): Promise<WriteResult> {
    const current = await this.read();
    const index = indexOf(current, target);
    if (ifMatch !== undefined && ifMatch !== current.revision) {
      throw new ApiError(409, { error: 'the config changed since it was read (another edit, or by hand): read it again (GET /api/config) and re-apply the change', code: 'ERR_CONFIG_CONFLICT' });
    }
    let change;
    try {
      change = await this.store.change(ifMatch ?? current.revision, edits);
    } catch (error) {
      throw storeError(error, { ...target, index });
    }
    const outcome = await this.reloader.reload('api');
    if (outcome.applied) {
      await change.keep();
      return { snapshot: change.snapshot, outcome };
    }
    try {
      await change.undo();
      // What runs follows the file again: the reloader took back what it had applied, but a SIGHUP or a
      // file watch may have reloaded the changed file meanwhile. Usually there is nothing to change.
      await this.reloader.reload('api: change undone');
    } catch (error) {
      this.logger.error('the config file could not be put back after a refused change; check it before the next reload', { error: error instanceof Error ? error.message : String(error) });
    }
    throw this.reloadError(outcome, { ...target, index });
  }

  private reloadError(outcome: Extract<ReloadOutcome, { applied: false }>, target: WriteTarget & { index: number }): ApiError {
    const cause = outcome.cause;
    if (cause instanceof ConfigError) return invalid(cause, target);
    if (IntegrationError.is(cause) && cause.code === 'ERR_STOPPED') return new ApiError(503, { error: cause.message, code: cause.code });
    // a connector or source that could not start: the library's words, without the config's secrets
    const message = this.secrets === undefined ? outcome.error : scrub(outcome.error, this.secrets);
    return new ApiError(502, { error: `the change was not applied, and the config file is as it was: ${message}`, code: 'ERR_NOT_APPLIED' });
  }
}

/** The `If-Match` revision (quotes and a weak `W/` dropped; `*` means any), or undefined. */
function ifMatchOf(request: FastifyRequest): string | undefined {
  const header = request.headers['if-match'];
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (value === undefined || value === '' || value === '*') return undefined;
  return value.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

/** The position of the target entry in its section: where it is, or where an upsert appends it. */
function indexOf(snapshot: ConfigSnapshot, target: WriteTarget): number {
  const list = storedEntries(snapshot.document, target.section);
  const at = list.findIndex((entry) => entry.id === target.id);
  return at === -1 ? list.length : at;
}

/** The answer for an error of the store (conflict, not found, refused edit) or of an invalid config. */
function storeError(error: unknown, target: (WriteTarget & { index: number }) | undefined): unknown {
  if (error instanceof ConfigConflictError) return new ApiError(409, { error: error.message, code: 'ERR_CONFIG_CONFLICT' });
  if (error instanceof ConfigEntryNotFoundError) return new ApiError(404, { error: error.message, code: error.code });
  if (error instanceof ConfigError) return invalid(error, target);
  // the store refused the edit itself (a [redacted] with nothing stored, an anchor another part uses ...)
  if (error instanceof ConfigStoreError) return new ApiError(400, { error: error.message, code: error.code });
  return error;
}

/**
 * 400 for a config that would not load: issues with paths relative to the target entry when they are in
 * it (`bootstrapHosts`, not `connectors[2].bootstrapHosts`); a rule's syntax error as ERR_RULE_SYNTAX with
 * its line and column (1-based, in the SQL).
 */
export function invalid(error: ConfigError, target: (WriteTarget & { index: number }) | undefined): ApiError {
  const prefix = target === undefined ? undefined : `${target.section}[${target.index}]`;
  const relative = (path: string): string => {
    if (prefix === undefined) return path;
    if (path === prefix) return '';
    return path.startsWith(`${prefix}.`) ? path.slice(prefix.length + 1) : path;
  };
  const issues: ConfigIssue[] = error.issues.map((issue) => ({ path: relative(issue.path), message: issue.message }));
  const syntax = syntaxErrorIn(error);
  const text = issues.map((issue) => (issue.path === '' ? issue.message : `${issue.path}: ${issue.message}`)).join('; ');
  return new ApiError(400, {
    error: text === '' ? error.message : text,
    code: syntax === undefined ? 'ERR_CONFIG_INVALID' : syntax.code,
    issues,
    ...(syntax === undefined ? {} : { line: syntax.line, column: syntax.column }),
  });
}

function syntaxErrorIn(error: unknown): RuleSyntaxError | undefined {
  for (let cause: unknown = error, depth = 0; cause !== undefined && depth < 5; cause = (cause as { cause?: unknown }).cause, depth++) {
    if (cause instanceof RuleSyntaxError) return cause;
  }
  return undefined;
}
