// The plan the guest init runs: one line per test, "name<TAB>timeout<TAB>shell command".

export type GuestTestKind = 'test_progs' | 'ktap';

export interface GuestTest {
  name: string;
  kind: GuestTestKind;
  /** argv, quoted here for the guest's /bin/sh -c. */
  argv: string[];
  timeoutSec: number;
}

export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}

export function planLine(test: GuestTest): string {
  if (/[\t\n]/.test(test.name)) throw new Error(`guest test name has a tab or newline: ${JSON.stringify(test.name)}`);
  return `${test.name}\t${Math.ceil(test.timeoutSec)}\t${test.argv.map(shellQuote).join(' ')}`;
}

export function planText(tests: readonly GuestTest[]): string {
  return tests.map(planLine).join('\n') + '\n';
}

export function testProgsEntry(binary: string, filters: readonly string[], jsonPath: string, timeoutSec: number): GuestTest {
  return { name: 'test_progs', kind: 'test_progs', argv: [binary, '-t', filters.join(','), '-J', jsonPath], timeoutSec };
}
