// A long runner's progress from its lines as they arrive (lines as the real runners printed them on 7.2.6).
import test from 'ava';
import { RunEvents, type RunEvent } from '../../orchestrator/events.ts';
import { progressStep, watchTestProgress } from '../../orchestrator/vm/test-progress.ts';

test('each runner\'s unit of work, from its own line; other lines are none', (t) => {
  t.deepEqual(progressStep('test_progs', '#146     get_func_ip_test:FAIL'), { unit: 'tests done', label: 'get_func_ip_test FAIL' });
  t.deepEqual(progressStep('test_progs', '#221     map_kptr:OK'), { unit: 'tests done', label: 'map_kptr OK' });
  t.is(progressStep('test_progs', '#221/20  map_kptr/reject_scalar_store_to_kptr:FAIL'), undefined);
  t.is(progressStep('test_progs', 'validate_msgs:FAIL:979 expect_msg'), undefined);
  t.deepEqual(progressStep('test_verifier', '#0/u BPF_ATOMIC_AND without fetch OK'), { unit: 'programs run', label: 'BPF_ATOMIC_AND without fetch OK' });
  t.deepEqual(progressStep('test_maps', "Fork 100 tasks to 'test_update_delete'"), { unit: 'batches of forked tasks begun', label: 'test_update_delete' });
  t.is(progressStep('ktap', 'ok 1 compare-contract'), undefined);
});

test('progress events count the running test\'s units, and start again with the next test', (t) => {
  const events = new RunEvents();
  const seen: Extract<RunEvent, { type: 'progress' }>[] = [];
  events.subscribe((e) => { if (e.type === 'progress') seen.push(e); });
  const unwatch = watchTestProgress(events, [{ name: 'test_progs', kind: 'test_progs' }, { name: 'test_maps', kind: 'test_maps' }]);
  const out = (name: string, line: string) => events.emit({ type: 'guest-output', name, stream: 'stdout', line });
  events.emit({ type: 'test-start', name: 'test_progs' });
  out('test_progs', '#1       align:OK');
  out('test_progs', '#2/1     arena_atomics/add:OK');
  out('test_progs', '#2       arena_atomics:OK');
  events.emit({ type: 'test-start', name: 'test_maps' });
  out('test_maps', "Fork 100 tasks to 'test_update_delete'");
  unwatch();
  out('test_maps', "Fork 100 tasks to 'test_update_delete'");
  t.deepEqual(seen.map((e) => [e.done, e.step]), [[1, 'test_progs tests done, last: align OK'], [2, 'test_progs tests done, last: arena_atomics OK'], [1, 'test_maps batches of forked tasks begun, last: test_update_delete']]);
});
