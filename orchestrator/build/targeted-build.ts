// The targeted test_progs build as a handle: started beside the kernel build (it needs only the tree), awaited
// after it, and stopped with it. The handle owns its abort controller, so nothing it starts outlives the run.
import { RunEvents } from '../events.ts';
import { buildTestProgs, type SelftestsContext, type TestProgsBuild } from './selftests-build.ts';
import type { TestProgsSelection } from '../guest/guest-plan.ts';

/** The targeted test_progs' name in a --full-selftests run, where 'test_progs' is the full build's. */
export const TARGETED = 'test_progs-targeted';

export interface TargetedBuildRequest extends Omit<SelftestsContext, 'signal'> {
  selection: TestProgsSelection;
  /** A selection the tree lacks is no error (undefined): exec and shell, bisect prefixes, --full-selftests. */
  allowMissing: boolean;
  /** A selection that needs BPF skeletons is no error (undefined): the full build runs it. */
  allowSkeletons: boolean;
  /** Build now, quietly (its events are dropped), while the kernel builds; otherwise when result() is first asked, with ctx's events. */
  beside: boolean;
  /** The run's signal: aborting it stops the build. */
  signal?: AbortSignal;
}

export interface TargetedBuild {
  /** Whether it was started beside the kernel build. */
  readonly beside: boolean;
  /** The build's result, or its error (undefined: the selection is not in this tree, as allowed). The same promise on every call. */
  result(): Promise<TestProgsBuild | undefined>;
  /** Stops the build if it runs and waits until it has stopped; never rejects. A no-op once it has settled or if it never started. */
  cancel(): Promise<void>;
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** A promise that never rejects, so work started early cannot fail unobserved while something else runs. */
function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }));
}

function unsettle<T>(settled: Settled<T>): T {
  if (settled.ok) return settled.value;
  throw settled.error;
}

/** build is buildTestProgs; a test passes its own. */
export function startTargetedBuild(request: TargetedBuildRequest, build: typeof buildTestProgs = buildTestProgs): TargetedBuild {
  const { selection, allowMissing, allowSkeletons, beside, signal, ...ctx } = request;
  const controller = new AbortController();
  let running: Promise<Settled<TestProgsBuild | undefined>> | undefined;
  let result: Promise<TestProgsBuild | undefined> | undefined;
  const start = () => {
    // The run's signal stops it for as long as it runs.
    const stop = () => controller.abort();
    if (signal?.aborted) controller.abort();
    signal?.addEventListener('abort', stop);
    running = settle(build({ ...ctx, events: beside ? new RunEvents() : ctx.events, signal: controller.signal }, selection, allowMissing, allowSkeletons))
      .finally(() => signal?.removeEventListener('abort', stop));
    return running;
  };
  if (beside) start();
  return {
    beside,
    result() {
      result ??= (running ?? start()).then(unsettle);
      return result;
    },
    async cancel() {
      controller.abort();
      await running;
    },
  };
}
