// `vm-test report RUN_DIR --format F`: a saved run written out again, as KCIDB, JSON, JUnit, a step summary, text or a mail.
import type { Argv } from 'yargs';
import { REPORT_FORMAT_NAMES, REPORT_FORMATS, readSavedRun, type ReportFormat } from '../report/formats.ts';
import { done, type CliContext, type ResultCommand } from './context.ts';

type ReportArgs = { 'run-dir': string; format: ReportFormat };

export function reportCommand(ctx: CliContext): ResultCommand<ReportArgs> {
  return {
    command: 'report <run-dir>',
    describe: 'write a finished run (its directory\'s results.json) as KCIDB, JSON, JUnit, a GitHub step summary or text',
    builder: (y: Argv) => y
      .positional('run-dir', { type: 'string', demandOption: true, describe: 'a run directory (<cache>/runs/<timestamp>-<series>)' })
      .option('format', { choices: REPORT_FORMAT_NAMES, default: 'text' as const, describe: 'kcidb: a KCIDB v5.3 submission; summary: GitHub\'s step summary (Markdown); text: the terminal summary; mail: a reply on the list (what was tested, failures, kernel reports with their titles and symbolised stacks, the command that reproduces it)' }) as unknown as Argv<ReportArgs>,
    handler: async (argv) => {
      const run = await readSavedRun(argv['run-dir']);
      ctx.stdout.write(REPORT_FORMATS[argv.format](run, ctx.stdout.isTTY === true));
      return done();
    },
  };
}
