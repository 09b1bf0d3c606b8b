// The targeted test_progs build's handle: started beside the kernel build or on demand, stopped by cancel() and by the run's signal.
import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTargetedBuild, type TargetedBuildRequest } from '../../orchestrator/build/targeted-build.ts';
import type { SelftestsContext, TestProgsBuild } from '../../orchestrator/build/selftests-build.ts';
import type { CacheLayout } from '../../orchestrator/cache.ts';
import { RunEvents } from '../../orchestrator/events.ts';
import type { ExecPort } from '../../orchestrator/exec/exec-port.ts';
import type { TestProgsSelection } from '../../orchestrator/guest/guest-plan.ts';
import type { PreparedTree } from '../../orchestrator/source/workspace.ts';

const BUILT: TestProgsBuild = { binary: '/build/vm-test-selftests/test_progs-k/test_progs', tests: ['map_cmp_delete'], cached: false, elapsedMs: 1 };
const SELECTION: TestProgsSelection = { test: ['map_cmp_delete'], allow: [], deny: [] };

/** A build that ends when finish() or fail() is called, or rejects when its signal aborts (as the exec port's kill does). */
function fakeBuild() {
  const calls: { ctx: SelftestsContext; args: unknown[] }[] = [];
  let finish: (b: TestProgsBuild | undefined) => void = () => {};
  let fail: (e: unknown) => void = () => {};
  const build = (ctx: SelftestsContext, ...args: unknown[]) => {
    calls.push({ ctx, args });
    return new Promise<TestProgsBuild | undefined>((resolve, reject) => {
      finish = resolve;
      fail = reject;
      ctx.signal?.addEventListener('abort', () => reject(new Error('make was killed')));
    });
  };
  return { build, calls, finish: (b: TestProgsBuild | undefined) => finish(b), fail: (e: unknown) => fail(e) };
}

function request(events: RunEvents, beside: boolean, signal?: AbortSignal): TargetedBuildRequest {
  return {
    exec: {} as ExecPort, events, cache: {} as CacheLayout, tree: {} as PreparedTree, buildDir: '/build', ccache: true, logFile: '/run/selftests-build.log',
    selection: SELECTION, allowMissing: true, allowSkeletons: false, beside, ...(signal ? { signal } : {}),
  };
}

test('beside the kernel: starts at once with its events dropped, and result() is the build\'s (the same promise each time)', async (t) => {
  const events = new RunEvents();
  const fake = fakeBuild();
  const handle = startTargetedBuild(request(events, true), fake.build);
  t.true(handle.beside);
  t.is(fake.calls.length, 1, 'started before anything awaited it');
  t.not(fake.calls[0]!.ctx.events, events, 'quiet while the kernel build reports');
  t.deepEqual(fake.calls[0]!.args, [SELECTION, true, false]);
  t.is(fake.calls[0]!.ctx.buildDir, '/build');
  fake.finish(BUILT);
  t.is(await handle.result(), BUILT);
  t.is(handle.result(), handle.result());
  await handle.cancel();
  t.is(fake.calls.length, 1);
});

test('not beside: nothing runs until result() is asked, then it builds once with the run\'s events', async (t) => {
  const events = new RunEvents();
  const fake = fakeBuild();
  const handle = startTargetedBuild(request(events, false), fake.build);
  t.false(handle.beside);
  await sleep(10);
  t.is(fake.calls.length, 0);
  const result = handle.result();
  t.is(fake.calls.length, 1);
  t.is(fake.calls[0]!.ctx.events, events);
  fake.finish(undefined);
  t.is(await result, undefined, 'a selection the tree lacks, as allowed');
  await handle.result();
  t.is(fake.calls.length, 1);
});

test('cancel() stops a running build and waits for it to end, without rejecting; its error is result()\'s', async (t) => {
  const fake = fakeBuild();
  const handle = startTargetedBuild(request(new RunEvents(), true), fake.build);
  const signal = fake.calls[0]!.ctx.signal!;
  t.false(signal.aborted);
  await handle.cancel();
  t.true(signal.aborted);
  await t.throwsAsync(handle.result(), { message: 'make was killed' });
});

test('cancel() before a deferred build started: nothing ran, nothing to wait for', async (t) => {
  const fake = fakeBuild();
  const handle = startTargetedBuild(request(new RunEvents(), false), fake.build);
  await handle.cancel();
  t.is(fake.calls.length, 0);
});

test('a build that fails while nobody awaits it is not an unhandled rejection; result() gives its error', async (t) => {
  const fake = fakeBuild();
  const handle = startTargetedBuild(request(new RunEvents(), true), fake.build);
  fake.fail(new Error('libbpf build failed'));
  // Time for an unhandled rejection to be reported (ava fails the run on one).
  await sleep(20);
  await t.throwsAsync(handle.result(), { message: 'libbpf build failed' });
});

test('the run\'s signal stops it for as long as it runs (the code before the handle unlinked it once the kernel was built), and one already aborted stops it at once', async (t) => {
  const run = new AbortController();
  const fake = fakeBuild();
  const handle = startTargetedBuild(request(new RunEvents(), true, run.signal), fake.build);
  t.not(fake.calls[0]!.ctx.signal, run.signal, 'its own controller');
  run.abort();
  t.true(fake.calls[0]!.ctx.signal!.aborted);
  await t.throwsAsync(handle.result(), { message: 'make was killed' });

  const aborted = AbortSignal.abort();
  const late = fakeBuild();
  startTargetedBuild(request(new RunEvents(), false, aborted), late.build).result().catch(() => {});
  t.true(late.calls[0]!.ctx.signal!.aborted);
});
