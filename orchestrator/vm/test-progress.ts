// A long guest test's progress as its lines arrive: under TCG a whole test_progs runs for an hour and test_maps for
// more, and "[test] test_maps ..." alone does not say whether it moves. Counts what each runner prints once per unit of
// its work and emits progress events; the verdict is read from the logs afterwards, never from this.
import type { RunEvents } from '../events.ts';
import type { GuestTest } from '../guest/guest-plan.ts';

/** test_progs' line for a whole test (print_test_result): "#12     name:OK", not a subtest's "#12/3 name/sub:OK". */
const TEST_PROGS_TEST = /^#\d+\s+([^\s/]+):(OK|FAIL|SKIP)/;
/** test_verifier's line for one run of one program: "#123/u name OK", "#12/p name FAIL". */
const VERIFIER_RUN = /^#\d+\/[up] (.*?) (OK|FAIL|SKIP)/;
/** test_maps' line before each batch of forked tasks (run_parallel). */
const MAPS_BATCH = /^Fork (\d+) tasks to '(\w+)'/;

/** The unit a line of this kind of test completes or begins, and its label; undefined for any other line. */
export function progressStep(kind: GuestTest['kind'], line: string): { unit: string; label: string } | undefined {
  if (kind === 'test_progs') {
    const m = TEST_PROGS_TEST.exec(line);
    return m ? { unit: 'tests done', label: `${m[1]} ${m[2]}` } : undefined;
  }
  if (kind === 'test_verifier') {
    const m = VERIFIER_RUN.exec(line);
    return m ? { unit: 'programs run', label: `${m[1]} ${m[2]}` } : undefined;
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
