import test from 'ava';
import { tscKhzFromCpuinfo } from '../../orchestrator/vm/host-tsc.ts';

// This machine's /proc/cpuinfo, cut to the lines that matter.
const VM_HOST = 'model name\t: AMD EPYC\ncpu MHz\t\t: 2596.150\nflags\t\t: fpu tsc constant_tsc nonstop_tsc tsc_known_freq\n';

test('cpu MHz is the TSC rate when the TSC is constant and nothing scales the clock', (t) => {
  t.is(tscKhzFromCpuinfo(VM_HOST, false), 2596150);
});

test('no rate when a cpufreq driver scales the clock, or the TSC is not constant', (t) => {
  t.is(tscKhzFromCpuinfo(VM_HOST, true), undefined);
  t.is(tscKhzFromCpuinfo(VM_HOST.replace(' constant_tsc', ''), false), undefined);
  t.is(tscKhzFromCpuinfo('flags\t\t: constant_tsc nonstop_tsc\n', false), undefined);
});
