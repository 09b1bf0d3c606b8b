// Every guest suite, in the order they run.
import type { GuestSuite } from '../orchestrator/guest/suite-model.ts';
import compareContract from './compare-contract.ts';
import gcRace from './gc-race.ts';
import mapInMap from './map-in-map.ts';
import updateAtomicity from './update-atomicity.ts';

export const guestSuites: readonly GuestSuite[] = [compareContract, gcRace, updateAtomicity, mapInMap];
