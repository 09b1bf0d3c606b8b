// Every way a run can end, as a value with its evidence; every way a command ends, as a value; and the one
// function that maps the latter to a process exit code (README "Exit codes"), which only the CLI calls.

export const EXIT = {
  passed: 0,
  testsFailed: 1,
  usage: 2,
  kernelCrash: 3,
  bootFailure: 4,
  timeout: 5,
  patchDidNotApply: 10,
  configDropped: 11,
  buildFailed: 12,
  missingTool: 13,
  vmInfra: 14,
  infra: 15,
  interrupted: 130,
} as const;

/** How a run ended: passed, tests failed, kernel crash, boot failure, timeout or hang, QEMU failure, a stage that could not go on, interrupted. */
export type OutcomeKind = keyof typeof EXIT;

/** Every ending's name, for a schema that lists them (vm-test mcp's tool results). */
export const OUTCOME_KINDS = Object.keys(EXIT) as [OutcomeKind, ...OutcomeKind[]];

/** The endings a stage reports by throwing VmTestError (the others come from the VM and the results). */
export type FailureKind = Exclude<OutcomeKind, 'passed' | 'testsFailed' | 'kernelCrash' | 'bootFailure' | 'timeout'>;

/** A stop asked for by a signal exits 128 + its number, as a shell reports it: Ctrl-C sends SIGINT; kill, systemd and CI cancels send SIGTERM. */
export const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;
export type StopSignal = keyof typeof SIGNAL_EXIT;

/** mutate: the --time-budget ran out before every chosen mutant ran; the report covers those that did. */
export const EXIT_INCOMPLETE = 6;

/** vm-test exec and shell exit with the command's own code; their own endings use codes a command rarely does. */
export const EXEC_EXIT = {
  /** A kernel splat (WARNING, BUG, Oops, stall, ...) or a crash while the command ran. */
  kernelCrash: 250,
  /** The guest never reached init. */
  bootFailure: 251,
  /** The command ran past --test-timeout, or the whole VM past --timeout, or the kernel got stuck. */
  timeout: 252,
  /** No kernel to boot: the series did not apply, a config option dropped, the build failed, a tool or an input is missing. */
  notBooted: 253,
  /** QEMU or the tool itself failed. */
  infra: 254,
} as const;

/** What git bisect run reads from an exit code: good, bad, untestable, stop bisecting. */
export const GIT_BISECT_EXIT = { good: 0, bad: 1, skip: 125, abort: 128 } as const;

/** How a command ended: the value the CLI turns into the exit code. */
export type CommandResult =
  /** run and parse, and any command a VmTestError, a signal or a bug stopped: that ending's code. */
  | { type: 'ended'; kind: OutcomeKind }
  /** exec and shell: the guest command's own code once it ran; exec's own codes for the other endings. */
  | { type: 'exec'; kind: OutcomeKind; guestExit?: number }
  /** bisect: whether the search named a first bad candidate. */
  | { type: 'bisect'; firstBad: string | undefined }
  /** bisect-run: the run's ending, and how git bisect run is to read it. */
  | { type: 'bisect-run'; kind: OutcomeKind; verdict: keyof typeof GIT_BISECT_EXIT }
  /** mutate: every chosen mutant ran, or the --time-budget ran out first. */
  | { type: 'mutate'; complete: boolean }
  /** doctor: the apt packages still missing. */
  | { type: 'doctor'; missing: readonly string[] }
  /** What was asked is printed or written: a --dry-run plan, a matrix, an archive, C files, help. */
  | { type: 'done' };

/** The one mapping from how a command ended to the process exit code (README "Exit codes"); only the CLI calls it. */
export function exitCodeFor(result: CommandResult, stoppedBy: StopSignal = 'SIGINT'): number {
  // A signal's stop reads the same whatever the command was doing.
  if ('kind' in result && result.kind === 'interrupted') return SIGNAL_EXIT[stoppedBy];
  switch (result.type) {
    case 'ended':
      return EXIT[result.kind];
    case 'exec':
      switch (result.kind) {
        case 'passed':
        case 'testsFailed':
          return result.guestExit ?? EXEC_EXIT.infra;
        case 'kernelCrash':
          return EXEC_EXIT.kernelCrash;
        case 'bootFailure':
          return EXEC_EXIT.bootFailure;
        case 'timeout':
          return EXEC_EXIT.timeout;
        case 'vmInfra':
        case 'infra':
          return EXEC_EXIT.infra;
        default:
          return EXEC_EXIT.notBooted;
      }
    case 'bisect':
      return result.firstBad ? EXIT.passed : EXIT.testsFailed;
    case 'bisect-run':
      return GIT_BISECT_EXIT[result.verdict];
    case 'mutate':
      return result.complete ? EXIT.passed : EXIT_INCOMPLETE;
    case 'doctor':
      return result.missing.length ? EXIT.missingTool : EXIT.passed;
    case 'done':
      return EXIT.passed;
  }
}

export interface Evidence {
  file?: string;
  line?: number;
  logPath?: string;
  /** A few lines that show the problem (compiler errors, the failing hunk, ...). */
  excerpt?: string[];
}

/** A stage that cannot go on: a value with its evidence, which runPipeline turns into a RunOutcome. */
export class VmTestError extends Error {
  readonly kind: FailureKind;
  readonly evidence: Evidence;

  constructor(kind: FailureKind, message: string, evidence: Evidence = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VmTestError';
    this.kind = kind;
    this.evidence = evidence;
  }
}

/** What the error printer shows: the message, where, an excerpt, the log, the run directory, the exit code. */
export function describeFailure(kind: OutcomeKind, message: string, evidence: Evidence, runDir: string | undefined, exitCode: number): string[] {
  const lines = [`vm-test: error: ${message}`];
  if (evidence.file) lines.push(`  at ${evidence.file}${evidence.line ? `:${evidence.line}` : ''}`);
  for (const x of evidence.excerpt ?? []) lines.push(`  | ${x}`);
  if (evidence.logPath) lines.push(`  full log: ${evidence.logPath}`);
  if (runDir) lines.push(`  run directory: ${runDir}`);
  lines.push(`  exit code ${exitCode} (${kind})`);
  return lines;
}

/**
 * A bug's report: one line for the user, the stack kept in the run directory's error.txt (or printed with
 * VM_TEST_DEBUG=1), so a stack trace is never all a user sees.
 */
export function describeInternalError(error: unknown, runDir: string | undefined, exitCode: number, debug: boolean): { stderr: string[]; file: string[] } {
  const message = error instanceof Error ? error.message : String(error);
  const stack = error instanceof Error && error.stack ? error.stack.split('\n') : [message];
  const stderr = [`vm-test: internal error (a bug in vm-test, not in the kernel or the series): ${message.split('\n')[0]}`];
  if (runDir) stderr.push(`  run directory: ${runDir}`, `  the stack trace is in ${runDir}/error.txt`);
  if (debug) stderr.push(...stack.map((l) => `  | ${l}`));
  else if (!runDir) stderr.push('  VM_TEST_DEBUG=1 prints the stack trace');
  stderr.push(`  exit code ${exitCode} (infra)`);
  return { stderr, file: [`vm-test: internal error: ${message}`, ...stack, `exit code ${exitCode} (infra)`] };
}
