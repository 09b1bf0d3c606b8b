// The plan the guest init runs: one line per test, "name<TAB>timeout<TAB>shell command".

export type GuestTestKind = 'test_progs' | 'ktap';

export interface GuestTest {
  name: string;
  kind: GuestTestKind;
  /** argv, quoted here for the guest's /bin/sh -c. */
  argv: string[];
  timeoutSec: number;
  /** Directory to run in (the full test_progs loads its BPF objects and bpf_testmod.ko from there). */
  cwd?: string;
  /** Host files whose bytes decide the result besides argv[0] (part of the boot key). */
  inputs?: string[];
}

export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}

export function planLine(test: GuestTest): string {
  if (/[\t\n]/.test(test.name)) throw new Error(`guest test name has a tab or newline: ${JSON.stringify(test.name)}`);
  const command = test.argv.map(shellQuote).join(' ');
  return `${test.name}\t${Math.ceil(test.timeoutSec)}\t${test.cwd ? `cd ${shellQuote(test.cwd)} && exec ${command}` : command}`;
}

export function planText(tests: readonly GuestTest[]): string {
  return tests.map(planLine).join('\n') + '\n';
}

export function testProgsEntry(binary: string, filters: readonly string[], jsonPath: string, timeoutSec: number, name = 'test_progs'): GuestTest {
  return { name, kind: 'test_progs', argv: [binary, ...(filters.length ? ['-t', filters.join(',')] : []), '-J', jsonPath], timeoutSec };
}

/** The full build's test_progs runs in its output directory, beside its BPF objects and bpf_testmod.ko. */
export function fullTestProgsEntry(dir: string, filters: readonly string[], jsonPath: string, timeoutSec: number, inputs: string[]): GuestTest {
  return { ...testProgsEntry('./test_progs', filters, jsonPath, timeoutSec), cwd: dir, inputs };
}
