/** Exit codes of the `sluice` command (documented in docs/cli.md). */
export const ExitCode = {
  /** Done; for `run`, stopped cleanly after SIGTERM/SIGINT. */
  ok: 0,
  /** The operation failed: a rule that does not compile or match in `rule test`, a failing connection test, a runtime failure. */
  failed: 1,
  /** Bad usage or an invalid config file; nothing was started. */
  invalid: 2,
  /** `run` could not start (a connector unreachable at start-up). */
  startFailed: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A failure the CLI reports with a message (no stack trace) and an exit code. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: ExitCode) {
    super(message);
  }
}
