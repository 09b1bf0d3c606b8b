// The plan the guest init runs: one line per test, "name<TAB>timeout<TAB>shell command".
import type { GuestView } from './guest-view.ts';

export type GuestTestKind = 'test_progs' | 'ktap' | 'exec' | 'shell';

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
  /** Its stderr on the guest's stderr port (fd 4 in the init), apart from stdout (vm-test exec). */
  stderrPort?: boolean;
}

export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}

/** One plan line; with a view, host paths in the command and the directory become their guest paths. */
export function planLine(test: GuestTest, view?: GuestView): string {
  if (/[\t\n]/.test(test.name)) throw new Error(`guest test name has a tab or newline: ${JSON.stringify(test.name)}`);
  const guest = (word: string) => (view?.maps(word) ? view.toGuest(word) : word);
  // Paths outside the shares (/bin/sh) are read through the root, which the init does not cover.
  const command = test.argv.map(guest).map(shellQuote).join(' ');
  const cwd = test.cwd && view ? view.toGuest(test.cwd) : test.cwd;
  const redirect = test.stderrPort ? ' 2>&4' : '';
  return `${test.name}\t${Math.ceil(test.timeoutSec)}\t${cwd ? `cd ${shellQuote(cwd)} && exec ${command}${redirect}` : `${command}${redirect}`}`;
}

export function planText(tests: readonly GuestTest[], view?: GuestView): string {
  return tests.map((t) => planLine(t, view)).join('\n') + '\n';
}

export function testProgsEntry(binary: string, filters: readonly string[], jsonPath: string, timeoutSec: number, name = 'test_progs'): GuestTest {
  return { name, kind: 'test_progs', argv: [binary, ...(filters.length ? ['-t', filters.join(',')] : []), '-J', jsonPath], timeoutSec };
}

/** The full build's test_progs runs in its output directory, beside its BPF objects and bpf_testmod.ko. */
export function fullTestProgsEntry(dir: string, filters: readonly string[], jsonPath: string, timeoutSec: number, inputs: string[]): GuestTest {
  return { ...testProgsEntry('./test_progs', filters, jsonPath, timeoutSec), cwd: dir, inputs };
}
