import {
  type Action, type ActionContext, type ActionMetricKind, type ActionRef, ActionWriteError, type RuleOutput, valueRenderer,
} from '@sluice/core';
import type { PostgresActionSettings } from './postgres-config';
import { classifyPostgresError, postgresWriteError } from './postgres-errors';
import type { Statement, StatementRunner } from './postgres-pool';
import { maxRowsPerStatement, multiRowText, type SqlTemplate } from './sql-template';

/** Renders the bind parameters of one output. */
export type ParameterRenderer = (output: RuleOutput) => unknown[];

/**
 * One renderer per placeholder, compiled by the rule engine (the same value text as any other action's
 * template). A missing value binds NULL, as in EMQX: the template renders '' for it, and a second template
 * that renders missing values as 'undefined' tells a missing value from an empty string.
 */
export function compileParameters(template: SqlTemplate, templates: ActionContext['templates']): ParameterRenderer {
  const readers = template.paths.map((path) => {
    const placeholder = `\${${path}}`;
    const value = valueRenderer(templates.compileTemplate(placeholder));
    const probe = templates.compileTemplate(placeholder, { missing: 'undefined' });
    return (output: RuleOutput): unknown => {
      const rendered = value(output);
      return rendered === '' && probe.render(output) === 'undefined' ? null : rendered;
    };
  });
  return (output) => readers.map((read) => read(output));
}

interface Pending {
  readonly params: readonly unknown[];
  readonly resolve: () => void;
  readonly reject: (error: ActionWriteError) => void;
}

export const POSTGRES_METRIC_KINDS: Readonly<Record<string, ActionMetricKind>> = Object.freeze({
  batches: 'counter',
  'retried.row': 'counter',
});

/**
 * A postgres action: sends collect for `batchTimeMs` or until `batchSize`, then the batch is written as one
 * multi-row INSERT (or, for other statements, one transaction). When a batch fails for a reason of its own
 * (a constraint, a bad value), its rows are written again one by one, so only the bad row fails. When the
 * connection fails (the batch, or any row written one by one), every row not yet written fails retriable at
 * once: the broker delivers them again.
 */
export class PostgresAction implements Action {
  readonly metricKinds = POSTGRES_METRIC_KINDS;
  private pending: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;
  private batches = 0;
  private retriedRows = 0;
  private readonly parametersPerRow: number;
  private readonly rowsPerStatement: number;
  /** Multi-row statement texts by row count: a batch of the same size does not rebuild its text. */
  private readonly texts = new Map<number, string>();

  constructor(
    readonly id: string,
    private readonly where: ActionRef,
    private readonly template: SqlTemplate,
    private readonly parameters: ParameterRenderer,
    private readonly settings: PostgresActionSettings,
    private readonly runner: StatementRunner,
    private readonly password: string | undefined,
    private readonly onResult: (error: ActionWriteError | undefined) => void,
  ) {
    this.parametersPerRow = template.paths.length;
    this.rowsPerStatement = maxRowsPerStatement(this.parametersPerRow);
  }

  send(output: RuleOutput): Promise<void> {
    if (this.closed) {
      return Promise.reject(new ActionWriteError(this.where, `postgres action "${this.id}" is closed (its connector stopped)`, { retriable: true }));
    }
    let params: unknown[];
    try {
      params = this.parameters(output);
    } catch (error) {
      // this output's own values cannot be rendered (e.g. a value past the engine's size limit): its failure alone
      return Promise.reject(new ActionWriteError(this.where, `postgres action "${this.id}": cannot render the bind parameters: ${(error as Error).message}`, { retriable: false, cause: error }));
    }
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ params, resolve, reject });
      if (this.pending.length >= this.settings.batchSize) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.settings.batchTimeMs);
    });
  }

  queued(): number {
    return this.pending.length + this.writing;
  }

  metrics(): Readonly<Record<string, number>> {
    return { batches: this.batches, 'retried.row': this.retriedRows };
  }

  /** Writes what is collected and waits for every write in flight; later sends reject retriable. */
  async close(): Promise<void> {
    this.closed = true;
    this.flush();
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.writing += batch.length;
    const written: Promise<void> = this.write(batch).finally(() => {
      this.writing -= batch.length;
      this.inFlight.delete(written);
    });
    this.inFlight.add(written);
  }

  /** Settles every entry of the batch; never rejects. */
  private async write(batch: readonly Pending[]): Promise<void> {
    this.batches++;
    try {
      await this.writeTogether(batch);
      for (const entry of batch) entry.resolve();
      this.onResult(undefined);
      return;
    } catch (error) {
      if (batch.length === 1 || classifyPostgresError(error).retriable) {
        const failure = postgresWriteError(this.where, error, this.password);
        for (const entry of batch) entry.reject(failure);
        this.onResult(failure);
        return;
      }
    }
    // The batch failed because of some row: one by one, each row succeeds or fails alone.
    this.retriedRows += batch.length;
    for (let i = 0; i < batch.length; i++) {
      const entry = batch[i] as Pending;
      if (this.closed) {
        // close() waits for this loop: the rest goes back to the broker instead of holding the shutdown up
        // (not reported to the connector's status: closing says nothing about the connection)
        const closing = new ActionWriteError(this.where, `postgres action "${this.id}" is closing: the rest of a batch being written row by row was not written`, { retriable: true });
        for (const rest of batch.slice(i)) rest.reject(closing);
        return;
      }
      try {
        await this.runner.query({ text: this.template.text, params: entry.params });
        entry.resolve();
        this.onResult(undefined);
      } catch (error) {
        const failure = postgresWriteError(this.where, error, this.password);
        if (failure.retriable) {
          // the connection died or the server refuses everything: each remaining row would only wait out its
          // own timeout; they all go back to the broker now, with this error
          for (const rest of batch.slice(i)) rest.reject(failure);
          this.onResult(failure);
          return;
        }
        entry.reject(failure);
        this.onResult(failure);
      }
    }
  }

  private writeTogether(batch: readonly Pending[]): Promise<void> {
    if (batch.length === 1) return this.runner.query({ text: this.template.text, params: (batch[0] as Pending).params });
    const rows = this.template.rows;
    if (rows === undefined) {
      return this.runner.transaction(batch.map((entry) => ({ text: this.template.text, params: entry.params })));
    }
    const statements: Statement[] = [];
    for (let start = 0; start < batch.length; start += this.rowsPerStatement) {
      const chunk = batch.slice(start, start + this.rowsPerStatement);
      let text = this.texts.get(chunk.length);
      if (text === undefined) {
        text = multiRowText(rows, this.parametersPerRow, chunk.length);
        this.texts.set(chunk.length, text);
      }
      statements.push({ text, params: chunk.flatMap((entry) => entry.params) });
    }
    return statements.length === 1 ? this.runner.query(statements[0] as Statement) : this.runner.transaction(statements);
  }
}
