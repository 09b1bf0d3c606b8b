// The one mapping from how a command ended to the process exit code: every result kind, the README's table,
// and no other file deciding a code.
import test from 'ava';
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import {
  EXEC_EXIT, EXIT, EXIT_INCOMPLETE, GIT_BISECT_EXIT, SIGNAL_EXIT, describeFailure, describeInternalError, exitCodeFor,
  type CommandResult, type OutcomeKind,
} from '../orchestrator/outcome.ts';

const root = new URL('../', import.meta.url).pathname;
const KINDS = Object.keys(EXIT) as OutcomeKind[];

test('a run\'s ending (run, parse, anything a VmTestError stopped) exits with its own code', (t) => {
  for (const kind of KINDS.filter((k) => k !== 'interrupted')) t.is(exitCodeFor({ type: 'ended', kind }), EXIT[kind], kind);
  t.deepEqual([EXIT.passed, EXIT.testsFailed, EXIT.usage, EXIT.kernelCrash, EXIT.bootFailure, EXIT.timeout], [0, 1, 2, 3, 4, 5]);
  t.deepEqual([EXIT.patchDidNotApply, EXIT.configDropped, EXIT.buildFailed, EXIT.missingTool, EXIT.vmInfra, EXIT.infra], [10, 11, 12, 13, 14, 15]);
});

test('a stop by a signal is 128 + its number, whatever the command: Ctrl-C 130, SIGTERM 143', (t) => {
  const interrupted: CommandResult[] = [
    { type: 'ended', kind: 'interrupted' },
    { type: 'exec', kind: 'interrupted' },
    { type: 'exec', kind: 'interrupted', guestExit: 0 },
    { type: 'bisect-run', kind: 'interrupted', verdict: 'abort' },
  ];
  for (const r of interrupted) {
    t.is(exitCodeFor(r), 130, r.type);
    t.is(exitCodeFor(r, 'SIGINT'), 130, r.type);
    t.is(exitCodeFor(r, 'SIGTERM'), 143, r.type);
  }
  t.deepEqual(SIGNAL_EXIT, { SIGINT: 130, SIGTERM: 143 });
  // A signal that came after the command ended does not change its code.
  t.is(exitCodeFor({ type: 'ended', kind: 'passed' }, 'SIGTERM'), 0);
});

test('exec and shell: the command\'s own code once it ran, 250-254 for their own endings (README)', (t) => {
  t.is(exitCodeFor({ type: 'exec', kind: 'passed', guestExit: 0 }), 0);
  t.is(exitCodeFor({ type: 'exec', kind: 'passed', guestExit: 7 }), 7);
  t.is(exitCodeFor({ type: 'exec', kind: 'testsFailed', guestExit: 1 }), 1);
  t.is(exitCodeFor({ type: 'exec', kind: 'passed' }), 254, 'no exit code from the guest: vm-test failed');
  t.is(exitCodeFor({ type: 'exec', kind: 'kernelCrash', guestExit: 0 }), 250);
  t.is(exitCodeFor({ type: 'exec', kind: 'bootFailure' }), 251);
  t.is(exitCodeFor({ type: 'exec', kind: 'timeout' }), 252);
  for (const kind of ['usage', 'patchDidNotApply', 'configDropped', 'buildFailed', 'missingTool'] as const) t.is(exitCodeFor({ type: 'exec', kind }), 253, kind);
  for (const kind of ['vmInfra', 'infra'] as const) t.is(exitCodeFor({ type: 'exec', kind }), 254, kind);
  t.deepEqual(EXEC_EXIT, { kernelCrash: 250, bootFailure: 251, timeout: 252, notBooted: 253, infra: 254 });
});

test('bisect: 0 when it names the first bad candidate, 1 when it cannot; bisect-run: git bisect run\'s codes', (t) => {
  t.is(exitCodeFor({ type: 'bisect', firstBad: 'v3' }), 0);
  t.is(exitCodeFor({ type: 'bisect', firstBad: undefined }), 1);
  t.is(exitCodeFor({ type: 'bisect-run', kind: 'passed', verdict: 'good' }), 0);
  t.is(exitCodeFor({ type: 'bisect-run', kind: 'testsFailed', verdict: 'bad' }), 1);
  t.is(exitCodeFor({ type: 'bisect-run', kind: 'buildFailed', verdict: 'skip' }), 125);
  t.is(exitCodeFor({ type: 'bisect-run', kind: 'missingTool', verdict: 'abort' }), 128);
  t.deepEqual(GIT_BISECT_EXIT, { good: 0, bad: 1, skip: 125, abort: 128 });
});

test('mutate: 0 when every chosen mutant ran, 6 when the time budget ran out first; doctor: 13 while a tool is missing; done: 0', (t) => {
  t.is(exitCodeFor({ type: 'mutate', complete: true }), 0);
  t.is(exitCodeFor({ type: 'mutate', complete: false }), 6);
  t.is(EXIT_INCOMPLETE, 6);
  t.is(exitCodeFor({ type: 'doctor', missing: [] }), 0);
  t.is(exitCodeFor({ type: 'doctor', missing: ['qemu-system-x86'] }), 13);
  t.is(exitCodeFor({ type: 'done' }), 0);
});

test('the README\'s exit-code table lists every code the mapping gives, and nothing else', async (t) => {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Exit codes'), readme.indexOf('\n## ', readme.indexOf('## Exit codes') + 1));
  const documented = [...section.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1])).sort((a, b) => a - b);
  const mapped = [...new Set([...Object.values(EXIT).filter((c) => c !== EXIT.interrupted), ...Object.values(SIGNAL_EXIT), EXIT_INCOMPLETE])].sort((a, b) => a - b);
  t.deepEqual(documented, mapped);
  // exec's and bisect-run's own codes are in their sections.
  for (const code of Object.values(EXEC_EXIT)) t.regex(readme, new RegExp(`\\*\\*${code}\\*\\*`));
  t.regex(readme, /`bisect-run` exits 0 good, 1 bad, 125 skip and 128/);
});

test('describeFailure names the code it was given', (t) => {
  const lines = describeFailure('usage', '--json out/r.json: no such directory', { file: '/w/out/r.json' }, undefined, 253);
  t.deepEqual(lines, ['vm-test: error: --json out/r.json: no such directory', '  at /w/out/r.json', '  exit code 253 (usage)']);
});

test('a bug prints one line and where its stack is, never the stack alone', (t) => {
  const error = new TypeError('Cannot read properties of undefined (reading \'tree\')');
  const withDir = describeInternalError(error, '/runs/r1', 15, false);
  t.regex(withDir.stderr[0]!, /^vm-test: internal error \(a bug in vm-test, not in the kernel or the series\): Cannot read properties of undefined/);
  t.true(withDir.stderr.includes('  the stack trace is in /runs/r1/error.txt'));
  t.false(withDir.stderr.some((l) => /^\s+at /.test(l)), withDir.stderr.join('\n'));
  t.true(withDir.file.some((l) => /^\s+at /.test(l)), 'the stack is kept for the file');
  const noDir = describeInternalError(error, undefined, 15, false);
  t.true(noDir.stderr.includes('  VM_TEST_DEBUG=1 prints the stack trace'));
  t.true(describeInternalError(error, undefined, 15, true).stderr.some((l) => /^ {2}\| +at /.test(l)), 'VM_TEST_DEBUG=1 prints it');
});

// --- no file but cli.ts and outcome.ts decides an exit code ---

/** The files that may: the mapping and its one caller. */
const DECIDERS = new Set(['orchestrator/cli.ts', 'orchestrator/outcome.ts']);
/** Programs of their own around the product: a check script's pass or fail, not an ending of vm-test's. */
const OWN_PROGRAMS = new Set(['scripts/test-full.ts', 'scripts/check-broken-variants.ts', 'scripts/check-sanitizer-variants.ts', 'scripts/splat-title-agreement.ts']);

/** The code of a TypeScript file with comments and string contents blanked (line numbers kept). */
export function codeOnly(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === '/' && next === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? text.length : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else if (c === '\'' || c === '"' || c === '`') {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += text[j] === '\\' ? 2 : 1;
      out += c + text.slice(i + 1, j).replace(/[^\n]/g, ' ') + c;
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

const RULES: [string, RegExp][] = [
  ['sets the process exit', /\bprocess\.exit(Code)?\b/],
  ['sets an exit code', /\bsetExitCode\b/],
  ['calls the mapping', /\bexitCodeFor\s*\(/],
  ['reads an exit-code table', /\b(EXIT|EXEC_EXIT|GIT_BISECT_EXIT|SIGNAL_EXIT|EXIT_INCOMPLETE)\b/],
  // The codes no other number in this code base takes, as a value (not a comparison or an argument).
  ['spells a code as a number', /(?:(?<![=!<>])=(?![=>])|=>|\?|:|\breturn)\s*(?:125|128|130|143|25[0-4])\b/],
  ['spells a code as a number', /\b(?:exit|code)\w*\s*(?:(?<![=!<>])=(?![=>])|:)\s*\d+\b/i],
];

export async function exitCodeDeciders(dirs: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const dir of dirs) {
    for (const entry of await readdir(join(root, dir), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !/\.(ts|js)$/.test(entry.name)) continue;
      const file = relative(root, join(entry.parentPath, entry.name));
      if (DECIDERS.has(file) || OWN_PROGRAMS.has(file)) continue;
      codeOnly(await readFile(join(root, file), 'utf8')).split('\n').forEach((line, n) => {
        for (const [what, rule] of RULES) if (rule.test(line)) found.push(`${file}:${n + 1}: ${what}: ${line.trim()}`);
      });
    }
  }
  return found;
}

test('no file other than cli.ts and outcome.ts decides an exit code (orchestrator/, scripts/)', async (t) => {
  t.deepEqual(await exitCodeDeciders(['orchestrator', 'scripts']), []);
});

test('the exit-code scan sees each way code used to decide one', (t) => {
  const lines = [
    'process.exit(13);',
    'ctx.setExitCode(EXIT.missingTool);',
    'ctx.setExitCode(state.stopped === \'interrupted\' ? 130 : exitCodeFor(\'infra\'));',
    'return verdict === \'good\' ? 0 : verdict === \'bad\' ? 1 : verdict === \'skip\' ? 125 : 128;',
    '  kernelCrash: 250,',
    'const exitCode = 2;',
  ];
  for (const line of lines) t.true(RULES.some(([, rule]) => rule.test(codeOnly(line))), line);
  for (const line of ['}, 250);', 'if (result.exitCode === 0) return;', '// exit 130 on Ctrl-C', 'write(`exit ${code} for git bisect`);', 'setTimeout(r, 1000);']) {
    t.false(RULES.some(([, rule]) => rule.test(codeOnly(line))), line);
  }
});
