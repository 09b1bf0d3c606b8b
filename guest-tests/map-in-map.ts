// Suite 4: map-in-map replacement. Once the BPF_MAP_UPDATE_ELEM that puts a new inner map in slot 0 of an
// ARRAY_OF_MAPS returns, programs no longer use the old one (the syscall waits for an RCU grace period), so
// the old inner map's counter stays still while the program keeps running.
import { defineSuite } from '../orchestrator/guest/suite-model.ts';

export default defineSuite({
  name: 'map-in-map',
  source: 'guest-tests/map-in-map.ts',
  summary: 'ARRAY_OF_MAPS slot replacement: the old inner map is unused once the update returns',
  maps: {
    inner: { type: 'ARRAY', keySize: 4, maxEntries: 1, value: [{ name: 'count', type: 'u64' }] },
    outer: { type: 'ARRAY_OF_MAPS', keySize: 4, maxEntries: 1, value: [], inner: 'inner' },
  },
  cases: [
    {
      kind: 'inner-map-replace',
      name: 'old-inner-map-unused-after-replace',
      claim: 'after the replacing BPF_MAP_UPDATE_ELEM returns, the old inner map counter never moves again',
      outer: 'outer', counterField: 'count',
      bounds: { rounds: 40, settleIncrements: 500, runRepeat: 32, maxSeconds: 15 },
    },
  ],
});
