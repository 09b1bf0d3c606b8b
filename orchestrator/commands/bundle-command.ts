// `vm-test bundle RUN_DIR`: the whole run directory as one .tar.gz for a bug report or a CI artifact.
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import * as tar from 'tar';
import type { CommandModule } from 'yargs';
import { VmTestError } from '../outcome.ts';
import type { CliContext } from './context.ts';

export async function bundleRunDir(runDir: string, out: string): Promise<void> {
  await tar.create({ gzip: true, file: out, cwd: dirname(runDir), portable: true }, [basename(runDir)]);
}

export function bundleCommand(ctx: CliContext): CommandModule<object, { 'run-dir': string; out?: string }> {
  return {
    command: 'bundle <run-dir>',
    describe: 'pack a run directory as a .tar.gz',
    builder: (y) => y.positional('run-dir', { type: 'string', demandOption: true }).option('out', { type: 'string', describe: 'output file (default <run-dir>.tar.gz)' }) as never,
    handler: async (argv) => {
      const runDir = resolve(argv['run-dir']);
      if (!existsSync(runDir) || !statSync(runDir).isDirectory()) throw new VmTestError('usage', `${argv['run-dir']}: no such run directory`, { file: runDir });
      const out = resolve(argv.out ?? `${runDir.replace(/\/$/, '')}.tar.gz`);
      await bundleRunDir(runDir, out);
      ctx.stdout.write(`${out}\n`);
    },
  };
}
