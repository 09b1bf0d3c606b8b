// A long guest test's progress as its lines arrive: under TCG a whole test_progs runs for an hour and test_maps for
// more, and "[test] test_maps ..." alone does not say whether it moves. Counts what each runner prints once per unit of
// its work (the parsers' own line readers) and emits progress events; the verdict is read from the logs afterwards.
import type { RunEvents } from '../events.ts';
import type { GuestTest } from '../guest/guest-plan.ts';
import { verifierRunLine } from '../results/selftest-runners.ts';
import { testResultLine } from '../results/test-progs-parser.ts';

/** test_maps' line before each batch of forked tasks (run_parallel): progress only, the parser needs it not. */
const MAPS_BATCH = /^Fork (\d+) tasks to '(\w+)'/;

/** The unit a line of this kind of test completes or begins, and its label; undefined for any other line. */
export function progressStep(kind: GuestTest['kind'], line: string): { unit: string; label: string } | undefined {
  if (kind === 'test_progs') {
    const r = testResultLine(line);
    return r ? { unit: 'tests done', label: `${r.name} ${r.result}` } : undefined;
  }
  if (kind === 'test_verifier') {
    const r = verifierRunLine(line);
    return r ? { unit: 'programs run', label: `${r.name} ${r.result}` } : undefined;
  }
  if (kind === 'test_maps') {
    const m = MAPS_BATCH.exec(line);
    return m ? { unit: `batches of forked tasks begun`, label: m[2]! } : undefined;
  }
  return undefined;
}

/** Emits a 'vm' progress event for each unit the running test's output completes; returns the unsubscribe. */
export function watchTestProgress(events: RunEvents, tests: readonly Pick<GuestTest, 'name' | 'kind'>[]): () => void {
  const kinds = new Map(tests.map((t) => [t.name, t.kind]));
  let done = 0;
  return events.subscribe((e) => {
    if (e.type === 'test-start') done = 0;
    if (e.type !== 'guest-output' || e.stream !== 'stdout') return;
    const kind = kinds.get(e.name);
    const step = kind && progressStep(kind, e.line);
    if (!step) return;
    done += 1;
    events.emit({ type: 'progress', stage: 'vm', step: `${e.name} ${step.unit}, last: ${step.label}`, done });
  });
}
