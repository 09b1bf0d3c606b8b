// What a verdict is about: the kernel that was built and the one that booted, the tree, config, series and test binaries.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIdFromNotesHex } from './build/kernel-identity.ts';
import { planText, type GuestTest } from './guest/guest-plan.ts';
import { VmTestError } from './outcome.ts';
import { splitResults } from './results/sections.ts';

export interface RunIdentity {
  kernel: {
    /** GNU build ID of the vmlinux built. */
    built?: string;
    /** GNU build ID the guest read from /sys/kernel/notes; undefined when no guest reported one (it never reached init). */
    booted?: string;
    /** How the bzImage was tied to vmlinux on the host: its payload holds the build ID, or why it was not checked. */
    image: 'holds the built vmlinux' | string;
    bzImageSha256: string;
    release?: string;
  };
  /** git tree id of the source tested (series applied). */
  tree: string;
  /** sha256 of the .config the kernel was built with. */
  config: string;
  /** The series' content hash (its patches in order), or undefined for a pristine tree. */
  series?: string;
  /** sha256 of rootfs/init, the guest's PID 1. */
  init: string;
  /** sha256 of each test's binary and inputs. */
  tests: { name: string; sha256: string }[];
}

export const sha256File = async (path: string): Promise<string> => createHash('sha256').update(await readFile(path)).digest('hex');

/**
 * Each test's binary (argv[0], relative to its cwd) and declared inputs, hashed together: the binary by its path
 * and bytes, each input by its name and bytes (a run's own copy of a list lives in that run's directory, and
 * another run's copy with the same bytes is the same input).
 */
export async function testHashes(tests: readonly GuestTest[]): Promise<RunIdentity['tests']> {
  const out: RunIdentity['tests'] = [];
  for (const t of tests) {
    const hash = createHash('sha256');
    const binary = t.argv[0] && t.cwd ? join(t.cwd, t.argv[0]) : t.argv[0];
    for (const [file, name] of [[binary, binary], ...(t.inputs ?? []).map((f) => [f, basename(f)])]) {
      if (file && existsSync(file)) hash.update(name!).update('\0').update(await readFile(file)).update('\0');
    }
    out.push({ name: t.name, sha256: hash.digest('hex') });
  }
  return out;
}

/**
 * The key under which a verdict may be reused (bisect, mutate): the built kernel's build ID and image, the
 * init, every test's binary and plan line, the VM's shape, and what else makes the verdict. Equal keys, equal runs.
 */
export function reuseKey(identity: RunIdentity, tests: readonly GuestTest[], vm: { cpus: number; memoryMb: number; mitigations?: boolean; singleThreadTcg?: boolean }, verdict?: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify({
    built: identity.kernel.built, image: identity.kernel.bzImageSha256, init: identity.init, tests: identity.tests, plan: planText(tests), vm,
    // What the verdict holds besides the boot's output (bpf-ci's host tests), when it holds anything.
    ...(verdict ? { verdict } : {}),
  })).digest('hex');
}

/** The code that turns a boot's output into a verdict: the parsers, the splat scanner, the assembly. */
export const VERDICT_CODE_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results');

/**
 * A hash of that code, for a verdict kept across vm-test versions (bpf-ci's base): one made by an older scanner or
 * parser is not reused, since the same console may read otherwise now.
 */
export async function verdictCodeHash(dir = VERDICT_CODE_DIR): Promise<string> {
  const hash = createHash('sha256');
  for (const name of (await readdir(dir)).filter((f) => f.endsWith('.ts')).sort()) hash.update(name).update('\0').update(await readFile(join(dir, name))).update('\0');
  return hash.digest('hex');
}

/** The build ID the guest's init reported at start, from the results channel. */
export function bootedBuildId(resultsText: string): { reported: boolean; buildId?: string; release?: string } {
  const stream = splitResults(resultsText);
  if (!stream.initStarted) return { reported: false };
  const buildId = stream.kernelNotes && stream.kernelNotes !== 'none' ? buildIdFromNotesHex(stream.kernelNotes) : undefined;
  return { reported: true, ...(buildId ? { buildId } : {}), ...(stream.kernelRelease ? { release: stream.kernelRelease } : {}) };
}

/**
 * The end-to-end check: the kernel the guest runs is the one vm-test built. A mismatch is not a verdict on
 * the series; it is an infrastructure error that names both IDs.
 */
export function checkBooted(identity: RunIdentity, resultsLog: string): void {
  const { built, booted } = identity.kernel;
  if (built && booted && built !== booted) {
    throw new VmTestError('infra', `the kernel that booted is not the kernel that was built: the guest reports build ID ${booted}, the vmlinux built has ${built}. No verdict is given: the bzImage does not hold this build's kernel`, { logPath: resultsLog });
  }
}

/** One line for the terminal and the summaries. */
export function describeIdentity(identity: RunIdentity): string {
  const k = identity.kernel;
  const booted = k.booted === undefined ? 'booted kernel not reported' : k.booted === k.built ? 'booted = built' : `booted ${k.booted}`;
  return `kernel ${k.release ?? ''} build ID ${k.built ?? 'unknown'} (${booted}); tree ${identity.tree.slice(0, 12)}, config ${identity.config.slice(0, 12)}, series ${identity.series ?? 'none'}`;
}

/** The identity as name/value pairs: JUnit properties and the step summary's table. */
export function identityProperties(identity: RunIdentity): [string, string][] {
  const k = identity.kernel;
  return [
    ['kernel.release', k.release ?? 'not reported'],
    ['kernel.build_id', k.built ?? 'unknown'],
    ['kernel.booted_build_id', k.booted ?? 'not reported'],
    ['kernel.image', k.image],
    ['kernel.bzimage_sha256', k.bzImageSha256],
    ['tree', identity.tree],
    ['config_sha256', identity.config],
    ['series', identity.series ?? 'none (pristine tree)'],
    ['init_sha256', identity.init],
    ...identity.tests.map((t): [string, string] => [`test.${t.name}.sha256`, t.sha256]),
  ];
}
