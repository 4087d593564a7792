import { afterAll, afterEach, beforeAll, describe, jest } from '@jest/globals';
import { startMosquitto, type TestMosquitto } from '../../../../scripts/testkit';
import { shareGroupLeaveSpecs } from '../share-group-leave-suite';
import { Closer } from '../source-harness';

// Issue #13: on Mosquitto 2.0 an offline persistent member keeps its share of a `$share` group
// (shared-subscription-departure.int.spec.ts); a Sluice member now leaves the group when it stops.
jest.setTimeout(30_000);
const closer = new Closer();
let broker: TestMosquitto;

beforeAll(async () => {
  broker = await startMosquitto({ settings: { max_queued_messages: 0, max_inflight_messages: 1000 } });
});

afterAll(async () => {
  await broker?.dispose();
});

afterEach(async () => {
  await closer.closeAll();
});

describe('MqttSource leaving a shared subscription on stop, on Mosquitto 2.0', () => {
  shareGroupLeaveSpecs(() => broker, closer);
});
