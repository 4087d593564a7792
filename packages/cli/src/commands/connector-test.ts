import { parseArgs } from 'node:util';
import { silentLogger } from '@sluice/core';
import { composeFromConfig } from '../compose';
import { loadConfigFile } from '../config-file';
import { CliError, ExitCode } from '../exit-codes';
import type { CommandIo } from './io';

export const connectorTestHelp = `Usage: sluice connector test -c <config> [connector-id]

Runs the staged connection test of each connector (or only the one named): TCP, TLS, SASL, metadata,
then the topics its actions write to. Prints one table row per stage; stops a connector's test at its
first failing stage and says what to fix.

Exit codes: 0 every tested connector is reachable, 1 at least one failed, 2 invalid config or unknown id.`;

export async function connectorTest(args: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...args], allowPositionals: true, options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help === true) {
    io.out(connectorTestHelp);
    return ExitCode.ok;
  }
  if (values.config === undefined) throw new CliError('-c <config> is required\n\n' + connectorTestHelp, ExitCode.invalid);
  const loaded = loadConfigFile(values.config, io.env);
  const app = await composeFromConfig(loaded, silentLogger);
  const wanted = positionals[0];
  const reports = (await app.testConnections()).filter((r) => wanted === undefined || r.connectorId === wanted);
  if (wanted !== undefined && reports.length === 0) {
    throw new CliError(`no testable connector has the id "${wanted}"`, ExitCode.invalid);
  }
  const rows = reports.flatMap((report) => report.stages.map((stage) => [report.connectorId, stage.stage, stage.ok ? 'ok' : 'FAILED', stage.detail]));
  io.out(table(['connector', 'stage', 'result', 'detail'], rows));
  return reports.every((r) => r.ok) ? ExitCode.ok : ExitCode.failed;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => Math.min((r[i] ?? '').length, 80))));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
