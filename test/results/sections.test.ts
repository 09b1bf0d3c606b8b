import test from 'ava';
import { splitResults } from '../../orchestrator/results/sections.ts';

test('splits the stream at the init markers and keeps exit codes', (t) => {
  const s = splitResults('# vm-test: init started kernel=6.12.117\n# vm-test: begin a\nx\ny\n# vm-test: end a exit=0\n# vm-test: begin b\nz\n# vm-test: end b exit=3\n# vm-test: done\n');
  t.true(s.initStarted);
  t.true(s.done);
  t.is(s.kernelRelease, '6.12.117');
  t.deepEqual(s.sections, [{ name: 'a', lines: ['x', 'y'], exitCode: 0 }, { name: 'b', lines: ['z'], exitCode: 3 }]);
});

test('a section cut off has no exit code, and garbage outside sections is kept aside', (t) => {
  const s = splitResults('\x00\x01garbage\n# vm-test: init started\n# vm-test: begin a\npartial out');
  t.false(s.done);
  t.is(s.sections[0]!.exitCode, undefined);
  t.deepEqual(s.sections[0]!.lines, ['partial out']);
  t.deepEqual(s.stray, ['\x00\x01garbage']);
});

test('the init marks a test it killed at its time limit', (t) => {
  const s = splitResults('# vm-test: init started\n# vm-test: begin slow\n# vm-test: end slow exit=143 timed-out\n# vm-test: done\n');
  t.deepEqual(s.sections[0], { name: 'slow', lines: [], exitCode: 143, timedOut: true });
});
