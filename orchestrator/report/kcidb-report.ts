// --kcidb FILE and `vm-test report --format kcidb`: a saved run as a KCIDB v5.3 submission (checkout, build, tests, issues, incidents).
import { createHash } from 'node:crypto';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isTested, type NodeRecord, type RunRecord } from './run-record.ts';

/** Every object's origin, and the prefix of its id. */
export const KCIDB_ORIGIN = 'vm_test';

/** KCIDB's statuses, highest priority first: a collection's status is the first of its members'. */
export const KCIDB_STATUSES = ['FAIL', 'ERROR', 'MISS', 'PASS', 'DONE', 'SKIP'] as const;
export type KcidbStatus = (typeof KCIDB_STATUSES)[number];

// The schema's limit on every log_excerpt.
const EXCERPT_MAX = 16384;

interface Resource { name: string; url: string }

export interface KcidbCheckout {
  id: string; origin: string; tree_name?: string; git_repository_url?: string; git_repository_branch?: string; git_commit_hash?: string;
  patchset_files?: Resource[]; patchset_hash?: string; message_id?: string; comment?: string; valid?: boolean;
  log_url?: string; log_excerpt?: string; misc?: Record<string, unknown>;
}
export interface KcidbBuild {
  id: string; checkout_id: string; origin: string; architecture?: string; compiler?: string; config_name?: string; config_url?: string;
  command?: string; duration?: number; status?: KcidbStatus; log_url?: string; log_excerpt?: string; misc?: Record<string, unknown>;
}
export interface KcidbTest {
  id: string; build_id: string; origin: string; path: string; status: KcidbStatus; duration?: number; comment?: string;
  log_url?: string; log_excerpt?: string; output_files?: Resource[]; misc?: Record<string, unknown>;
}
export interface KcidbIssue { id: string; version: number; origin: string; comment: string; culprit: { code: boolean }; misc?: Record<string, unknown> }
export interface KcidbIncident { id: string; origin: string; issue_id: string; issue_version: number; test_id: string; present: boolean; comment?: string; misc?: Record<string, unknown> }

export interface KcidbSubmission {
  version: { major: 5; minor: 3 };
  checkouts: KcidbCheckout[];
  builds: KcidbBuild[];
  tests: KcidbTest[];
  issues: KcidbIssue[];
  incidents: KcidbIncident[];
}

/** A saved run as the KCIDB report reads it: results.json, the run directory's file names, and build.log's text. */
export interface KcidbInput {
  record: RunRecord;
  /** Where the run directory is now (file URLs point there); ids come from the record, not from this path. */
  runDir: string;
  files: ReadonlySet<string>;
  buildLog?: string;
  /** kernel.config's text: the build's own record of its compiler and architecture. */
  kernelConfig?: string;
}

/** The first status of a collection in KCIDB's order. */
export function worstStatus(statuses: readonly KcidbStatus[]): KcidbStatus | undefined {
  return KCIDB_STATUSES.find((s) => statuses.includes(s));
}

const hash16 = (...parts: (string | undefined)[]) => createHash('sha256').update(parts.map((p) => p ?? '').join('\0')).digest('hex').slice(0, 16);
// NUL is the one character the schema's strings cannot hold.
const clean = (text: string) => text.replaceAll('\0', '');
const excerpt = (lines: readonly string[]) => {
  const text = clean(lines.join('\n'));
  return text.length <= EXCERPT_MAX ? text : text.slice(text.length - EXCERPT_MAX);
};

/** A test name as one component of a KCIDB path ([a-zA-Z0-9_-]+): compare-contract becomes compare_contract. */
export function pathComponent(name: string): string {
  return name.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
}

/** Components for siblings, unique among them (test_progs names can differ only in punctuation). */
function componentsOf(nodes: readonly NodeRecord[]): string[] {
  const seen = new Map<string, number>();
  return nodes.map((n, i) => {
    const base = pathComponent(n.name) || `test_${i + 1}`;
    const count = (seen.get(base) ?? 0) + 1;
    seen.set(base, count);
    return count === 1 ? base : `${base}_${count}`;
  });
}

/**
 * A node's own status: a result is PASS, FAIL or SKIP; a test that never started is MISS (the guest stopped
 * before it); one that did not finish is FAIL when the kernel crashed under it, else ERROR (it died, timed out,
 * or printed what does not parse: the test is broken, the code's status unknown).
 */
function ownStatus(node: NodeRecord, kernelCrashed: boolean): KcidbStatus {
  switch (node.status) {
    case 'pass':
    case 'xfail':
      return node.errors?.length ? 'ERROR' : 'PASS';
    case 'fail':
      return 'FAIL';
    case 'skip':
    case 'todo':
      return 'SKIP';
    case 'crashed':
      if (node.errors?.some((e) => e.startsWith('never started'))) return 'MISS';
      if (node.splats?.some((s) => !s.allowed_by) || kernelCrashed) return 'FAIL';
      return 'ERROR';
  }
}

const fileUrl = (dir: string, name: string) => pathToFileURL(join(dir, name)).href;

function checkoutOf(input: KcidbInput): KcidbCheckout {
  const { run } = input.record;
  const co = run.checkout;
  const series = co?.series;
  const kernel = co?.kernel ?? run.kernel?.replace(/ \(.*$/s, '');
  const id = `${KCIDB_ORIGIN}:checkout-${hash16(kernel, co?.baseCommit ?? run.kernel, series?.hash ?? run.identity?.series)}`;
  const git = kernel?.startsWith('git:') ? /^git:(https:\/\/.+)#([^#]+)$/.exec(kernel) : null;
  const seriesStage = run.stages.find((s) => s.stage === 'series');
  const failed = run.kind === 'patchDidNotApply';
  return {
    id, origin: KCIDB_ORIGIN,
    ...(kernel ? { tree_name: clean(kernel) } : {}),
    ...(git ? { git_repository_url: git[1]!, git_repository_branch: clean(git[2]!) } : {}),
    ...(co?.baseCommit && /^[0-9a-f]{40}$/.test(co.baseCommit) ? { git_commit_hash: co.baseCommit } : {}),
    ...(series ? {
      patchset_files: series.patches.map((p, i) => ({ name: `${String(i + 1).padStart(4, '0')}-${basename(p.file)}${p.line === undefined ? '' : `-line${p.line}`}`, url: pathToFileURL(p.file).href })),
      // KCIDB's: sha256 over each patch's newline-terminated sha256, in order (sha256sum *.patch | cut -c-64 | sha256sum).
      patchset_hash: createHash('sha256').update(series.patches.map((p) => `${p.sha256}\n`).join('')).digest('hex'),
      ...(series.messageId ? { message_id: series.messageId } : {}),
      comment: clean(series.subject ?? series.name),
    } : co ? { patchset_hash: '' } : {}),
    ...(failed ? { valid: false } : seriesStage && seriesStage.status !== 'failed' ? { valid: true } : {}),
    ...(input.files.has('series.log') ? { log_url: fileUrl(input.runDir, 'series.log') } : {}),
    ...(failed && run.evidence?.excerpt?.length ? { log_excerpt: excerpt([run.headline, ...run.evidence.excerpt]) } : {}),
    misc: {
      ...(run.kernel ? { kernel: run.kernel } : {}), ...(co?.version ? { version: co.version } : {}),
      ...(co?.baseCommit ? { base_commit: co.baseCommit } : {}),
      ...(series ? { series: series.name, series_hash: series.hash, ...(series.postedFor ? { posted_for: series.postedFor } : {}) } : {}),
      ...(co ? {} : { note: 'recorded before vm-test kept the checkout in results.json: base commit and patches unknown' }),
    },
  };
}

/** The make command that built the kernel, as the exec port logged it (the last `$ make` line naming bzImage). */
export function kernelMakeCommand(buildLog: string): string | undefined {
  return buildLog.split('\n').filter((l) => /^\$ make .*\bbzImage\b/.test(l)).pop()?.slice(2);
}

/** gcc's version and the architecture, as the .config built has them (CONFIG_CC_VERSION_TEXT, CONFIG_X86_64). */
export function configFacts(config: string): { compiler?: string; arch?: string } {
  const compiler = /^CONFIG_CC_VERSION_TEXT="(.*)"$/m.exec(config)?.[1];
  const arch = /^CONFIG_X86_64=y$/m.test(config) ? 'x86_64' : /^CONFIG_X86_32=y$/m.test(config) ? 'i386' : /^CONFIG_ARM64=y$/m.test(config) ? 'arm64' : undefined;
  return { ...(compiler ? { compiler } : {}), ...(arch ? { arch } : {}) };
}

function buildOf(input: KcidbInput, checkoutId: string): KcidbBuild | undefined {
  const { run } = input.record;
  // The first build stage is the kernel's; a run that stopped before it has no build.
  const stage = run.stages.find((s) => s.stage === 'build');
  if (!stage) return undefined;
  const runName = basename(run.runDir);
  const built = run.identity?.kernel.built;
  const failed = stage.status === 'failed';
  const command = input.buildLog ? kernelMakeCommand(input.buildLog) : undefined;
  const config = input.kernelConfig ? configFacts(input.kernelConfig) : {};
  const arch = config.arch ?? run.build?.arch;
  const compiler = config.compiler ?? run.build?.compiler;
  return {
    // A kernel's build ID names the build (a cached one is the same build); a failed build is this run's.
    id: `${KCIDB_ORIGIN}:build-${built ?? runName}`, checkout_id: checkoutId, origin: KCIDB_ORIGIN,
    ...(arch ? { architecture: arch.replace(/[^a-z0-9_]/g, '_') } : {}),
    ...(compiler ? { compiler: clean(compiler) } : {}),
    ...(run.build ? { config_name: clean(run.build.config.join('+')) } : {}),
    ...(input.files.has('kernel.config') ? { config_url: fileUrl(input.runDir, 'kernel.config') } : {}),
    ...(command ? { command: clean(command) } : {}),
    duration: stage.elapsed_ms / 1000,
    // A build error or a dropped option is the code's; a missing tool, a bug or Ctrl-C stopped the build itself.
    status: !failed ? 'PASS' : run.kind === 'buildFailed' || run.kind === 'configDropped' ? 'FAIL' : 'ERROR',
    ...(input.files.has('build.log') ? { log_url: fileUrl(input.runDir, 'build.log') } : {}),
    ...(failed ? { log_excerpt: excerpt([run.headline, ...(run.evidence?.excerpt ?? [])]) } : {}),
    misc: {
      cached: stage.status === 'cached',
      ...(built ? { build_id: built } : {}),
      ...(run.identity ? { config_sha256: run.identity.config, bzimage_sha256: run.identity.kernel.bzImageSha256 } : {}),
    },
  };
}

/** The run as KCIDB objects; ids are stable: the same results.json always gives the same submission. */
export function toKcidb(input: KcidbInput): KcidbSubmission {
  const { record } = input;
  const { run } = record;
  const checkout = checkoutOf(input);
  const build = buildOf(input, checkout.id);
  const out: KcidbSubmission = { version: { major: 5, minor: 3 }, checkouts: [checkout], builds: build ? [build] : [], tests: [], issues: [], incidents: [] };
  if (!build || build.status !== 'PASS') return out;
  // A reused verdict's tests are the earlier run's test runs: the same ids.
  const runName = basename(run.reusedFrom ?? run.runDir);
  const testId = (path: string) => `${KCIDB_ORIGIN}:test-${runName}-${path}`;
  const root = KCIDB_ORIGIN;
  const logs = ['console.log', 'results.log'].filter((f) => input.files.has(f));
  const rootTest = (status: KcidbStatus, extra: Partial<KcidbTest>): KcidbTest => ({
    id: testId(root), build_id: build.id, origin: KCIDB_ORIGIN, path: root, status, comment: clean(run.headline),
    ...(input.files.has('console.log') ? { log_url: fileUrl(input.runDir, 'console.log') } : {}),
    ...(logs.length ? { output_files: logs.map((f) => ({ name: f, url: fileUrl(input.runDir, f) })) } : {}),
    ...extra, misc: { kind: run.kind, exit_code: run.exitCode, ...(run.accel ? { accel: run.accel } : {}), ...(run.reusedFrom ? { reused_from: run.reusedFrom } : {}) },
  });
  if (!isTested(record)) {
    // The kernel built, the tests never ran: they did not build (the selftests or a guest suite: ERROR), or QEMU, a
    // tool or vm-test itself failed, or the run was stopped (MISS: the harness's failure).
    const status = run.kind === 'buildFailed' || run.kind === 'configDropped' ? 'ERROR' : 'MISS';
    out.tests.push(rootTest(status, { ...(run.evidence?.excerpt?.length ? { log_excerpt: excerpt([run.headline, ...run.evidence.excerpt]) } : {}) }));
    return out;
  }
  const kernelCrashed = run.kind === 'kernelCrash';
  const tests: KcidbTest[] = [];
  const bootPath = `${root}.boot`;
  tests.push({
    id: testId(bootPath), build_id: build.id, origin: KCIDB_ORIGIN, path: bootPath, status: run.kind === 'bootFailure' ? 'FAIL' : 'PASS',
    ...(run.bootMs !== undefined ? { duration: run.bootMs / 1000 } : {}), ...(run.kind === 'bootFailure' ? { comment: clean(run.headline) } : {}),
  });
  const pathOf = new Map<string, string>();
  const visit = (node: NodeRecord, path: string): KcidbStatus => {
    // Parents before their children, as the tree reads.
    const at = tests.push({} as KcidbTest) - 1;
    const components = componentsOf(node.tests);
    const childStatuses = node.tests.map((c, i) => visit(c, `${path}.${components[i]}`));
    const status = worstStatus([ownStatus(node, kernelCrashed), ...childStatuses])!;
    const leaf = node.tests.length === 0;
    const lines = [...(node.errors ?? []), ...(leaf ? node.log.slice(status === 'PASS' || status === 'SKIP' ? -20 : -200) : [])];
    const note = node.errors?.[0] ?? node.directive?.reason;
    tests[at] = {
      id: testId(path), build_id: build.id, origin: KCIDB_ORIGIN, path, status,
      ...(node.duration_ms !== undefined ? { duration: node.duration_ms / 1000 } : {}),
      ...(note ? { comment: clean(note) } : {}),
      ...(lines.length ? { log_excerpt: excerpt(lines) } : {}),
      misc: { name: node.name, status: node.status, ...(node.number !== undefined ? { number: node.number } : {}) },
    };
    return status;
  };
  const components = componentsOf(record.tests);
  const statuses = record.tests.map((t, i) => {
    const path = `${root}.${components[i]}`;
    pathOf.set(t.name, path);
    return visit(t, path);
  });
  out.tests.push(rootTest(worstStatus([tests[0]!.status, ...statuses]) ?? 'PASS', { ...(run.vmMs !== undefined ? { duration: run.vmMs / 1000 } : {}) }), ...tests);
  // One issue per bug title (syzkaller's style: the same bug in two runs is one issue); an incident per occurrence, on the test it interrupted.
  record.splats.forEach((s, i) => {
    // Runs recorded before bug titles: the first line, less what changes from run to run (CPU, PID, offsets).
    const key = s.bug_title ?? s.title.replace(/\b(CPU|PID): \d+/g, '$1: N').replace(/\+0x[0-9a-f]+\/0x[0-9a-f]+/g, '');
    const issueId = `${KCIDB_ORIGIN}:issue-${hash16(s.kind, key)}`;
    if (!out.issues.some((x) => x.id === issueId)) {
      out.issues.push({
        id: issueId, version: 1, origin: KCIDB_ORIGIN, comment: clean(s.bug_title ?? s.title), culprit: { code: true },
        misc: { kind: s.kind, ...(s.bug_title ? { bug_title: s.bug_title } : {}), first_line: clean(s.title), report: excerpt(s.lines.slice(0, 80)) },
      });
    }
    const on = (s.test && pathOf.get(s.test)) || root;
    out.incidents.push({
      id: `${KCIDB_ORIGIN}:incident-${runName}-${i + 1}`, origin: KCIDB_ORIGIN, issue_id: issueId, issue_version: 1, test_id: testId(on), present: true,
      comment: clean(`kernel ${s.kind}${s.test ? ` during ${s.test}` : ''}${s.allowed_by ? ` (allowed by ${s.allowed_by})` : ''}`),
      misc: { console_line: s.start_line, ...(s.allowed_by ? { allowed_by: s.allowed_by } : {}) },
    });
  });
  return out;
}
