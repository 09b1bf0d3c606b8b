// Every way a run can end, as a value with its evidence, and the one exit code each maps to (README).

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

/** The endings a stage reports by throwing VmTestError (the others come from the VM and the results). */
export type FailureKind = Exclude<OutcomeKind, 'passed' | 'testsFailed' | 'kernelCrash' | 'bootFailure' | 'timeout'>;

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

/** The one mapping from an ending to a process exit code; only the CLI calls it. */
export function exitCodeFor(kind: OutcomeKind): number {
  return EXIT[kind];
}

export function kindForExitCode(code: number): OutcomeKind | undefined {
  return (Object.keys(EXIT) as OutcomeKind[]).find((k) => EXIT[k] === code);
}

/** What the error printer shows: the message, where, an excerpt, the log, the run directory. */
export function describeFailure(kind: OutcomeKind, message: string, evidence: Evidence, runDir?: string): string[] {
  const lines = [`vm-test: error: ${message}`];
  if (evidence.file) lines.push(`  at ${evidence.file}${evidence.line ? `:${evidence.line}` : ''}`);
  for (const x of evidence.excerpt ?? []) lines.push(`  | ${x}`);
  if (evidence.logPath) lines.push(`  full log: ${evidence.logPath}`);
  if (runDir) lines.push(`  run directory: ${runDir}`);
  lines.push(`  exit code ${exitCodeFor(kind)} (${kind})`);
  return lines;
}
