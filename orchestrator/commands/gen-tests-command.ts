// `vm-test gen-tests --out DIR`: write the guest suites' C, with the fixed C it includes and a README saying how to
// build it (and with --compile, build them) without a VM.
import { join, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { createExecaPort, type ExecPort } from '../exec/exec-port.ts';
import { caseNeedsCompare } from '../guest/suite-model.ts';
import { detectUapi, generateSuitesC, prepareGuestSuites, selectSuites } from '../guest/guest-suites.ts';
import { planText } from '../guest/guest-plan.ts';
import { VmTestError } from '../outcome.ts';
import { dirProblem } from '../paths.ts';
import { done, type CliContext, type ResultCommand } from './context.ts';

type GenTestsArgs = { out?: string; headers?: string; suites?: string; compile: boolean; list: boolean; 'test-timeout': number };

export function genTestsCommand(ctx: CliContext, exec: ExecPort = createExecaPort()): ResultCommand<GenTestsArgs> {
  return {
    command: 'gen-tests',
    describe: 'generate the guest suites as C programs (KTAP on stdout) from guest-tests/*.ts',
    builder: (y: Argv) => y
      .option('out', { type: 'string', describe: 'directory for the .c files, the vmt-* files they include and a README (and binaries with --compile)' })
      .option('headers', { type: 'string', describe: 'installed UAPI headers (make headers_install): decides whether the compare cases are generated or SKIP' })
      .option('suites', { type: 'string', describe: 'glob on suite names, comma-separated (default: all)' })
      .option('compile', { type: 'boolean', default: false, describe: 'also compile each suite statically with gcc against --headers' })
      .option('list', { type: 'boolean', default: false, describe: 'list the suites, their cases and parameters, and stop' })
      .option('test-timeout', { type: 'number', default: 300, describe: 'per-suite limit written into the plan (with --compile)' }) as unknown as Argv<GenTestsArgs>,
    handler: async (argv) => {
      if (argv.list) {
        for (const suite of selectSuites(argv.suites)) {
          ctx.stdout.write(`${suite.name}: ${suite.summary}\n`);
          for (const c of suite.cases) ctx.stdout.write(`  ${c.name}${caseNeedsCompare(c) ? ' [BPF_F_COMPARE]' : ''}: ${c.claim}\n`);
          for (const [name, p] of Object.entries(suite.params ?? {})) ctx.stdout.write(`  param ${name}=${p.default} [${p.min}..${p.max}] ${p.doc}\n`);
          for (const c of suite.cases) if (c.kind !== 'steps') ctx.stdout.write(`  param ${c.name}.{${Object.entries(c.bounds).map(([k, v]) => `${k}=${v}`).join(', ')}}\n`);
        }
        return done();
      }
      if (!argv.out) throw new VmTestError('usage', 'gen-tests needs --out DIR (or --list)');
      const out = resolve(argv.out);
      const outProblem = await dirProblem(out);
      if (outProblem) throw new VmTestError('usage', `--out ${argv.out}: ${outProblem}`, { file: out });
      // A wrong --headers is bad input here, not a failed build.
      const uapi = argv.headers ? await detectUapi(argv.headers).catch((error: unknown) => {
        throw error instanceof VmTestError ? new VmTestError('usage', error.message, error.evidence) : error;
      }) : undefined;
      if (argv.compile) {
        if (!argv.headers) throw new VmTestError('usage', '--compile needs --headers DIR (the output of make headers_install)');
        const build = await prepareGuestSuites({ exec, headersDir: argv.headers, outDir: out, select: argv.suites, timeoutSec: argv['test-timeout'], logFile: join(out, 'gcc.log'), signal: ctx.signal });
        for (const test of build.tests) ctx.stdout.write(`${test.argv[0]}\n`);
        ctx.stdout.write(`# plan.tsv lines:\n${planText(build.tests)}`);
        return done();
      }
      const hasCompare = uapi ? uapi.hasCompare : true;
      if (!uapi) ctx.stderr.write('gen-tests: no --headers; generating for the series UAPI (BPF_F_COMPARE present)\n');
      for (const path of await generateSuitesC(out, { hasCompare }, argv.suites)) ctx.stdout.write(`${path}\n`);
      return done();
    },
  };
}
