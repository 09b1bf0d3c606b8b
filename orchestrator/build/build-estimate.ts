// How far a kernel build is: its make steps against an estimate of its size, and the time left.

/**
 * Steps that take no time worth counting: a header copied (1000 of a 6.12 build's 2354 steps, all
 * early), a wrapper or generated file, a thin archive. Counted, they would make the first minute's
 * rate, and so its ETA, several times too optimistic; progress counts the other steps, the ones that
 * compile, assemble or link.
 */
const LIGHT_STEPS = new Set(['HDRINST', 'INSTALL', 'WRAP', 'UPD', 'SYSHDR', 'SYSTBL', 'GEN', 'MKDIR', 'DESCEND', 'CHKSHA1', 'AR', 'CHK']);

/** Whether a make step line ("CC kernel/bpf/hashtab.o") is work that progress counts. */
export function isWorkStep(step: string): boolean {
  return !LIGHT_STEPS.has(step.split(' ', 1)[0]!);
}

/**
 * Work steps (isWorkStep) of a cold build of our default config (allnoconfig + kernel-config/vm,
 * bpf, slim, and test-progs-keys where the tree needs it), by kernel VERSION.PATCHLEVEL, as this
 * project's builds counted them. A first build with no stamp of its own starts from here; the count
 * corrects it.
 */
export const KNOWN_STEPS: Record<string, number> = {
  '6.12': 920,
  '7.2': 1042,
  '7.3': 1032,
};

/**
 * The same for the --full-selftests kernel (the tree's selftests config on the Kconfig defaults, with modules):
 * no count measured yet for a version gives no total, not the default kernel's (a 20-minute build showed
 * "98%, ETA 20 s" for most of its time, its estimate being the default kernel's step count corrected upward).
 */
export const KNOWN_FULL_STEPS: Record<string, number> = {};

/** The table's entry for this VERSION.PATCHLEVEL, or for the nearest one of the same major version (7.4 takes 7.3's). */
function knownSteps(version: string | undefined, table: Record<string, number> = KNOWN_STEPS): number | undefined {
  const [major, minor] = (version ?? '').split('.').map(Number);
  if (major === undefined || minor === undefined || Number.isNaN(major) || Number.isNaN(minor)) return undefined;
  const sameMajor = Object.keys(table).map((k) => k.split('.').map(Number) as [number, number]).filter(([m]) => m === major);
  const nearest = sameMajor.sort((a, b) => Math.abs(a[1] - minor) - Math.abs(b[1] - minor))[0];
  return nearest ? table[nearest.join('.')] : undefined;
}

/**
 * The estimate a first build starts from: another build's count of the same source, or the table (a
 * version it lacks takes the nearest of its major version: the count corrects it as the build goes). An
 * incremental build (its directory built before) has none: it may be 3 steps or 350, and a total taken
 * from a cold build would show 5 % and an ETA of 8 minutes for a 3-minute build. It shows its count only.
 */
export function initialEstimate(incremental: boolean, sibling: number | undefined, version: string | undefined, base: 'allno' | 'defaults' = 'allno'): number | undefined {
  if (incremental) return undefined;
  if (sibling) return sibling;
  return knownSteps(version, base === 'defaults' ? KNOWN_FULL_STEPS : KNOWN_STEPS);
}

export interface Progress {
  total?: number;
  percent?: number;
  etaSec?: number;
}

/**
 * The estimate corrected as the build goes (never below what was done: a build past its estimate is
 * near its end), and the time left at the rate so far. No ETA in the first seconds, when the rate says nothing.
 */
export function progressAt(done: number, estimate: number | undefined, elapsedMs: number): Progress {
  if (!estimate) return {};
  const total = Math.max(estimate, Math.ceil(done * 1.02));
  const percent = Math.min(99, Math.floor((100 * done) / total));
  const etaSec = elapsedMs > 10_000 && done > 20 ? Math.round(((total - done) * elapsedMs) / done / 1000) : undefined;
  return { total, percent, ...(etaSec !== undefined ? { etaSec } : {}) };
}
