// Every way a run can end, and the one exit code each maps to (documented in the README).

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

export type FailureKind = Exclude<keyof typeof EXIT, 'passed' | 'testsFailed' | 'kernelCrash' | 'bootFailure' | 'timeout'>;

export interface Evidence {
  file?: string;
  line?: number;
  logPath?: string;
  /** A few lines that show the problem (compiler errors, the failing hunk, ...). */
  excerpt?: string[];
}

/** A stage that cannot go on: a value with its evidence, thrown to the one place that maps it to an exit code. */
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

export function exitCodeFor(kind: FailureKind): number {
  return EXIT[kind];
}
